// Issue #13's question on a device (docs/notes/webgpu-matrix-gemm.md): how fast do WGSL subgroup matrices multiply
// when the operands come from workgroup memory (smem sweep) and from device memory through it (gemm sweep)? Beside
// them, the register-only MAC ceiling and the copy ceiling the decode benchmark records. One JSON object.
//   node build/scripts/webgpu-matrix-gemm-probe.js [--out FILE] [--size N] [--set N (a key of scripts/webgpu-gemm-sets.ts)] [--only I] [--no-smem] [--no-copy] [--copy-first] [--quick]
import { writeFileSync } from 'node:fs';
import { measureCeilings } from '../src/bench/webgpu-ceilings.js';
import { measureMatrixCeiling } from '../src/bench/webgpu-ceilings-matrix.js';
import { type SmemMacSpec, measureGemm, measureSmemMac } from '../src/bench/webgpu-matrix-gemm.js';
import { gemmSets } from './webgpu-gemm-sets.js';
import { createNodeWebGpuBackend } from '../src/backends/webgpu/node.js';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const quick = process.argv.includes('--quick');
const size = Number(arg('--size', quick ? '1024' : '4096'));
const be = await createNodeWebGpuBackend({ powerPreference: 'high-performance' });
const report: Record<string, unknown> = { device: be.info.device, date: new Date().toISOString(), subgroupMatrixF16: be.caps.subgroupMatrixF16 ?? null, maxComputeWorkgroupStorageSize: be.caps.maxComputeWorkgroupStorageSize };
const out = arg('--out', '');
const save = () => { if (out) writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`); };
const step = async (name: string, f: () => Promise<unknown>) => {
  const t0 = Date.now();
  try { report[name] = await f(); } catch (e) { report[name] = { error: (e as Error).message.slice(0, 400) }; }
  console.log(name, JSON.stringify(report[name]), `${Date.now() - t0} ms`);
  save();
};
await step('registerMac', () => measureMatrixCeiling(be, { chains: 8, iterations: quick ? 64 : 4096 }));
const skipSmem = process.argv.includes('--no-smem');
// --copy-first: the copy ceiling before the sweeps too (call 1 of session 59 read 1507 GB/s at its end on an H100
// whose earlier records say ~2765: a card that slowed down would show as a lower first-to-last ratio here).
if (process.argv.includes('--copy-first')) await step('copyFirst', async () => (await measureCeilings(be)).copy_GBps);
const smem: SmemMacSpec[] = [];
for (const subgroups of [4, 8]) for (const [lefts, rights] of [[1, 1], [2, 2], [4, 2], [4, 4]]) for (const stride of [128, 136]) smem.push({ subgroups, lefts, rights, stride });
if (!skipSmem) await step('smem', async () => {
  const rows = [];
  for (const s of smem) {
    try { rows.push(await measureSmemMac(be, s, { iterations: quick ? 64 : 2048 })); } catch (e) { rows.push({ ...s, error: (e as Error).message.slice(0, 300) }); }
  }
  return rows;
});
// --only I: form I of the set alone (a process of its own).
const only = arg('--only', '');
const set = gemmSets[arg('--set', '1')];
if (!set) throw new Error(`--set: one of ${Object.keys(gemmSets).join(', ')}`);
const gemms = only === '' ? set : [set[Number(only)]];
await step('gemm', async () => {
  const rows = [];
  for (const s of gemms) {
    try { rows.push(await measureGemm(be, s, { m: size, n: size, k: size })); } catch (e) { rows.push({ ...s, error: (e as Error).message.slice(0, 300) }); }
  }
  return rows;
});
if (!quick && !process.argv.includes('--no-copy')) await step('copy', async () => (await measureCeilings(be)).copy_GBps);
be.dispose();
process.exit(0);

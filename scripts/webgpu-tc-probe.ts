// One look at a WebGPU device's tensor-core side (docs/notes/webgpu-tensor-core.md): the features and decode path
// the Node backend gets, a 16x16x16 (or the adapter's) subgroup-matrix product checked against the host, the
// subgroup-matrix f16 MAC ceiling, and the copy / f32 FMA ceilings of ceilings.ts. Prints one JSON object.
//   node build/scripts/webgpu-tc-probe.js [--out FILE] [--quick] [--no-ceilings]   (after tsc; or through tsx)
// Dawn prints shader compilation warnings on stdout, so --out is the clean way to keep the JSON.
import { writeFileSync } from 'node:fs';
import { measureCeilings } from '../src/bench/webgpu-ceilings.js';
import { measureMatrixCeiling, probeSubgroupAddressing, probeSubgroupMatrix } from '../src/bench/webgpu-ceilings-matrix.js';
import { createNodeWebGpuBackend } from '../src/backends/webgpu/node.js';

const be = await createNodeWebGpuBackend({ powerPreference: 'high-performance' });
const report: Record<string, unknown> = {
  device: be.info.device,
  features: [...be.device.features].sort(),
  decodePath: be.decodePath,
  subgroupMatrixF16: be.caps.subgroupMatrixF16 ?? null,
  maxComputeWorkgroupStorageSize: be.caps.maxComputeWorkgroupStorageSize,
};
const step = async (name: string, f: () => Promise<unknown>) => {
  try { report[name] = await f(); } catch (e) { report[name] = { error: (e as Error).message }; }
};
if (be.caps.subgroupMatrixF16) {
  await step('probe', () => probeSubgroupMatrix(be));
  await step('addressing', () => probeSubgroupAddressing(be));
  for (const chains of [4, 8]) await step(`matrixCeiling${chains}`, () => measureMatrixCeiling(be, { chains, iterations: process.argv.includes('--quick') ? 16 : 4096 }));
}
if (!process.argv.includes('--no-ceilings')) await step('ceilings', () => measureCeilings(be, process.argv.includes('--quick') ? { iterations: 8, reps: 3 } : {}));
const json = JSON.stringify(report, null, 1);
const oi = process.argv.indexOf('--out');
if (oi > 0) writeFileSync(process.argv[oi + 1], `${json}\n`);
else console.log(json);
be.dispose();
process.exit(0);

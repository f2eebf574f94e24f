// Issue #13: does a WebGPU process's device slow down as it works? Session 59's gemm sweep read its copy ceiling at
// 2807 GB/s before and ~1550 after, and its best form at 116 TFLOPS first and 25-44 last, while the same forms, each
// in a process of its own, ran at full rate (docs/notes/webgpu-matrix-gemm.md). This runs a plan of steps in one
// process and prints each step's rate with its time since the start, so a slowdown can be tied to what came before it.
//   node build/scripts/webgpu-drift-probe.js [--plan "c g c g c s c n c g"] [--form I] [--size N] [--out FILE]
// Steps: c the copy ceiling; g gemm form I of the probe's set 2 (default 4: one buffer, kStep 64, the fastest form when
// alone); f the f32 FMA ceilings (the copy among them); s three seconds idle; n the backend disposed and a new one made
// (a new Dawn device in the same process); m the register-only subgroup-matrix MAC ceiling; w the copy timed by the
// host's clock (100 copies in one submission, onSubmittedWorkDone), which tells a slower device from slower timestamps.
import { writeFileSync } from 'node:fs';
import { measureCeilings, measureCopy, withCopy } from '../src/bench/webgpu-ceilings.js';
import type { WebGpuBackend } from '../src/backends/webgpu/backend.js';
import { measureMatrixCeiling } from '../src/bench/webgpu-ceilings-matrix.js';
import { measureGemm } from '../src/bench/webgpu-matrix-gemm.js';
import { gemmSets } from './webgpu-gemm-sets.js';
import { createNodeWebGpuBackend } from '../src/backends/webgpu/node.js';

const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const plan = arg('--plan', 'c g c g c g c g c g c s c n c g c').split(/\s+/).filter(Boolean);
for (const s of plan) if (!'cgfsnmw'.includes(s) || s.length !== 1) throw new Error(`--plan: unknown step '${s}' (c g f s n m w)`);
const size = Number(arg('--size', '4096'));
const forms = gemmSets[2]; // form 4 by default: one buffer, kStep 64
const form = forms[Number(arg('--form', '4'))];
if (!form) throw new Error(`--form: 0..${forms.length - 1}`);
/** The copy ceiling's kernel `calls` times in one submission, timed by the host from submit to onSubmittedWorkDone. */
function copyWall(b: WebGpuBackend, calls = 100): Promise<number> {
  const device = b.device;
  return withCopy(b, async (c) => {
    const run = async (n: number) => {
      const e = device.createCommandEncoder();
      for (let i = 0; i < n; i++) { const pass = e.beginComputePass(); pass.setPipeline(c.pipeline); pass.setBindGroup(0, c.group); pass.dispatchWorkgroups(c.workgroups); pass.end(); }
      const t = performance.now();
      device.queue.submit([e.finish()]);
      await device.queue.onSubmittedWorkDone();
      return performance.now() - t;
    };
    await run(2);
    return (2 * c.bytes * calls) / (await run(calls)) / 1e6;
  });
}
const open = () => createNodeWebGpuBackend({ powerPreference: 'high-performance' });
let be = await open();
const t0 = Date.now();
const steps: { step: string; t_ms: number; value: number | string; unit: string; ms: number }[] = [];
for (const s of plan) {
  const t = Date.now();
  let value: number | string = 0, unit = '';
  try {
    if (s === 'c') { value = await measureCopy(be); unit = 'GB/s copy'; }
    else if (s === 'w') { value = await copyWall(be); unit = 'GB/s copy (host clock)'; }
    else if (s === 'g') { const r = await measureGemm(be, form, { m: size, n: size, k: size }); value = r.ok ? r.TFLOPS : `check failed (${r.maxAbsErr})`; unit = 'TFLOPS gemm'; }
    else if (s === 'f') { const c = await measureCeilings(be); value = c.f32_fma_TFLOPS; unit = `TFLOPS f32 fma (copy ${c.copy_GBps.toFixed(0)})`; }
    else if (s === 'm') { value = (await measureMatrixCeiling(be, { chains: 8 })).TFLOPS; unit = 'TFLOPS matrix MAC'; }
    else if (s === 's') { await new Promise((r) => setTimeout(r, 3000)); unit = 'idle 3 s'; }
    else if (s === 'n') { be.dispose(); be = await open(); unit = 'new device'; }
  } catch (e) { value = `error: ${(e as Error).message.slice(0, 200)}`; }
  const row = { step: s, t_ms: t - t0, value: typeof value === 'number' ? Math.round(value * 10) / 10 : value, unit, ms: Date.now() - t };
  steps.push(row);
  console.log(`${String(row.t_ms).padStart(7)} ms  ${s}  ${row.value} ${unit}  (${row.ms} ms)`);
}
const out = arg('--out', '');
if (out) writeFileSync(out, `${JSON.stringify({ device: be.info.device, date: new Date(t0).toISOString(), plan: plan.join(' '), form, size, steps }, null, 1)}\n`);
be.dispose();
process.exit(0);

// Decode-step time of one MlaAttention layer (projections + latent cache append + kernel + re-expansion + o_proj)
// on a backend, for a named shape, batch and context. The cache is filled with random latent rows (no prefill
// pass), then `reps` decode steps are timed after a warm-up; every step appends one token per sequence.
//   node --import tsx bench/mla/layer.ts --shape v2-lite --batch 1 --context 4096 --backend cpu [--json out.json]
// --precision f32|bf16|host picks MlaAttention's path where the backend has device layer kernels (CUDA, WebGPU).
// On a GPU the warm-up runs steps for --warmup-ms (default 3000, at most 1000 steps; the cache gets room for them): the
// H200 under Dawn stayed at its 345 MHz idle clock through a process's first steps (session 42 call 5), which then took
// 4x their time (the decode bench's --idle-warm-ms, docs/notes/webgpu-decode.md "The H200 anomaly").
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BackendKind, createBackend } from '../../src/node.js';
import { benchLayer, benchShape } from './setup.js';

const { values: v } = parseArgs({ options: {
  shape: { type: 'string', default: 'v2-lite' }, batch: { type: 'string', default: '1' }, context: { type: 'string', default: '4096' },
  backend: { type: 'string', default: 'cpu' }, workers: { type: 'string' }, reps: { type: 'string', default: '10' }, json: { type: 'string' },
  precision: { type: 'string' }, 'warmup-ms': { type: 'string' },
} });
const c = benchShape(v.shape!);
const b = Number(v.batch), ctx = Number(v.context), reps = Number(v.reps);
const backend = await createBackend(v.backend as BackendKind, v.workers ? { options: { cpu: { workers: Number(v.workers) } } } : {});
const precision = v.precision as 'f32' | 'bf16' | 'host' | undefined;
const warmupMs = Number(v['warmup-ms'] ?? (backend.kind === 'cpu' ? 0 : 3000)), maxWarmup = warmupMs > 0 ? 1000 : 1;
const { cache, layer, ids, hidden: x } = benchLayer(backend, c, { batch: b, context: ctx, extraTokens: 2 * reps + maxWarmup + 4, precision });
// Warm-up: JIT and the first launches, then (GPU) steps until the clocks have risen.
const tw = performance.now();
let warmupSteps = 0;
do { await layer.forward(ids, x, 1); await backend.synchronize(); warmupSteps++; } while (warmupSteps < maxWarmup && performance.now() - tw < warmupMs);
const times: number[] = [], kernel: number[] = [];
for (let r = 0; r < reps; r++) {
  const t0 = performance.now();
  await layer.forward(ids, x, 1);
  await backend.synchronize();
  times.push(performance.now() - t0);
  kernel.push(layer.lastTimings.kernelMs);
}
// Device time of a whole step (events around it on the backend's stream; the wall clock on the CPU).
const device = backend.kind === 'cpu' ? undefined : await backend.timeMs(async () => { await layer.forward(ids, x, 1); }, { warmup: 0, reps });
device?.sort((p, q) => p - q);
times.sort((p, q) => p - q);
kernel.sort((p, q) => p - q);
const res = {
  shape: v.shape, hidden: c.hiddenSize, heads: c.numHeads, q_lora_rank: c.qLoraRank, batch: b, context: ctx,
  backend: backend.info.device, precision: precision ?? 'default', median_ms: times[times.length >> 1], min_ms: times[0], kernel_median_ms: kernel[kernel.length >> 1], kernel_min_ms: kernel[0],
  ...(device ? { device_median_ms: device[device.length >> 1], device_min_ms: device[0] } : {}), reps, warmup_steps: warmupSteps, date: new Date().toISOString(),
};
console.log(JSON.stringify(res));
if (v.json) writeFileSync(v.json, JSON.stringify(res, null, 1));
cache.dispose();
backend.dispose();

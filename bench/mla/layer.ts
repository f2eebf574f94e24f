// Decode-step time of one MlaAttention layer (projections + latent cache append + kernel + re-expansion + o_proj)
// on a backend, for a named shape, batch and context. The cache is filled with random latent rows (no prefill
// pass), then `reps` decode steps are timed after a warm-up; every step appends one token per sequence.
//   node --import tsx bench/mla/layer.ts --shape v2-lite --batch 1 --context 4096 --backend cpu [--json out.json]
// --precision f32|bf16|host picks MlaAttention's path where the backend has device layer kernels (CUDA, WebGPU).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { encodeHalf } from '../../src/core/dtype.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import { type MlaConfig, MlaAttention, deepseekV2LiteAttention, deepseekV3Attention } from '../../src/core/mla/index.js';
import { type BackendKind, createBackend } from '../../src/node.js';
import { normals, randomWeights } from '../../test/support/mla-case.js';

const { values: v } = parseArgs({ options: {
  shape: { type: 'string', default: 'v2-lite' }, batch: { type: 'string', default: '1' }, context: { type: 'string', default: '4096' },
  backend: { type: 'string', default: 'cpu' }, workers: { type: 'string' }, reps: { type: 'string', default: '10' }, json: { type: 'string' },
  precision: { type: 'string' },
} });
const shapes: Record<string, MlaConfig> = { 'v2-lite': deepseekV2LiteAttention, v3: deepseekV3Attention };
const c = shapes[v.shape!];
if (!c) throw new Error(`--shape: one of ${Object.keys(shapes).join(', ')}`);
const b = Number(v.batch), ctx = Number(v.context), reps = Number(v.reps);
const backend = await createBackend(v.backend as BackendKind, v.workers ? { options: { cpu: { workers: Number(v.workers) } } } : {});
const page = 64;
const cache = new KvCacheManager({ backend, numBlocks: b * Math.ceil((ctx + 2 * reps + 4) / page), pageBlockSize: page, dtype: 'bf16' });
const precision = v.precision as 'f32' | 'bf16' | 'host' | undefined;
const layer = new MlaAttention(c, randomWeights(c, 1, 0.02), { cache, precision });
const ids: number[] = [];
// One random block of 1024 latent rows, appended over and over: the values do not change the timing, and
// generating b * context fresh rows in JS would take longer than the benchmark.
const block = encodeHalf('bf16', normals(11, 1024 * 576));
for (let s = 0; s < b; s++) {
  const id = cache.addSequence();
  for (let t = 0; t < ctx; t += 1024) cache.append(id, block.subarray(0, Math.min(1024, ctx - t) * 576));
  ids.push(id);
}
const x = normals(7, b * c.hiddenSize);
await layer.forward(ids, x, 1); // warm-up (JIT, first kernel launch)
await backend.synchronize();
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
  ...(device ? { device_median_ms: device[device.length >> 1], device_min_ms: device[0] } : {}), reps, date: new Date().toISOString(),
};
console.log(JSON.stringify(res));
if (v.json) writeFileSync(v.json, JSON.stringify(res, null, 1));
cache.dispose();
backend.dispose();

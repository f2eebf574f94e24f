// The layer the MLA benches time (bench/mla/layer.ts, layer-profile.ts): a named shape on a backend, a bf16 paged cache
// filled with random latent rows (no prefill pass) for `batch` sequences of `context` tokens, room for `extraTokens`
// more a sequence, and one random hidden-state row a sequence.
import { encodeHalf } from '../../src/core/dtype.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import { type MlaConfig, MlaAttention, deepseekV2LiteAttention, deepseekV3Attention } from '../../src/core/mla/index.js';
import type { Backend } from '../../src/core/problem.js';
import { normals, randomWeights } from '../../test/support/mla-case.js';

export const benchShapes: Record<string, MlaConfig> = { 'v2-lite': deepseekV2LiteAttention, v3: deepseekV3Attention };

export function benchShape(name: string): MlaConfig {
  const c = benchShapes[name];
  if (!c) throw new Error(`--shape: one of ${Object.keys(benchShapes).join(', ')}`);
  return c;
}

export function benchLayer(backend: Backend, c: MlaConfig, o: { batch: number; context: number; extraTokens: number; precision?: 'f32' | 'bf16' | 'host'; batchStep?: boolean }) {
  const page = 64, b = o.batch, ctx = o.context;
  const cache = new KvCacheManager({ backend, numBlocks: b * Math.ceil((ctx + o.extraTokens) / page), pageBlockSize: page, dtype: 'bf16' });
  const layer = new MlaAttention(c, randomWeights(c, 1, 0.02), { cache, precision: o.precision, batchStep: o.batchStep });
  const ids: number[] = [];
  // One random block of 1024 latent rows, appended over and over: the values do not change the timing, and
  // generating b * context fresh rows in JS would take longer than the benchmark.
  const block = encodeHalf('bf16', normals(11, 1024 * 576));
  for (let s = 0; s < b; s++) {
    const id = cache.addSequence();
    for (let t = 0; t < ctx; t += 1024) cache.append(id, block.subarray(0, Math.min(1024, ctx - t) * 576));
    ids.push(id);
  }
  return { cache, layer, ids, hidden: normals(7, b * c.hiddenSize) };
}

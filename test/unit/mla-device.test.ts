// MlaAttention's device-resident step (src/core/mla/device.ts) on a CPU backend whose layer kernels are emulated
// in JS (test/support/emulated-layer-ops.ts): the orchestration (buffers, strides of the batched per-head GEMMs,
// cache slots from KvCacheManager.reserve, positions, the kernel call) against the float64 formula, in both
// precisions, with NaN-poisoned caches. The CUDA kernels themselves: test/gpu/mla-device.test.ts.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { MlaAttention } from '../../src/core/mla/index.js';
import type { Backend } from '../../src/core/problem.js';
import { withEmulatedLayerOps } from '../support/emulated-layer-ops.js';
import { assertClose, chainTwoLayers, cosDiff, layerTol, normals, poisonedCache, randomWeights, referenceSequences, runSequences, smallConfig } from '../support/mla-case.js';

let cpu: Backend, be: Backend;
before(() => { cpu = new InlineCpuBackend(); be = withEmulatedLayerOps(cpu); });

describe('MlaAttention device-resident step (emulated kernels)', () => {
  for (const [i, over] of [{}, { qLoraRank: null, numHeads: 2 }, { ropeInterleave: false }].entries()) {
    test(`case ${i}: f32 and bf16 precision vs float64`, async () => {
      const c = smallConfig(over);
      const w = randomWeights(c, 270 + i);
      const hidden = normals(280 + i, 2 * 8 * c.hiddenSize);
      const want = referenceSequences(c, w, hidden, 2, 8);
      for (const dtype of ['bf16', 'f16'] as const) {
        for (const precision of ['f32', 'bf16'] as const) {
          const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 16, 4, dtype), precision });
          const got = await runSequences(layer, hidden, 2, 8, 5);
          layer.dispose();
          layer.cache.dispose();
          const d = cosDiff(got, want);
          console.log(`# case ${i} ${precision} precision, ${dtype} cache: cosine difference vs float64 ${d.toExponential(2)}`);
          assertClose(got, want, precision === 'f32' ? layerTol[dtype] : 2e-4, `case ${i} ${precision}, ${dtype} cache (${d.toExponential(2)})`);
        }
      }
    });
  }

  test('forwardDevice chains two layers without the host (equals forward through the host)', async () => {
    const { viaHost, onDevice, deviceShape } = await chainTwoLayers(be, 31);
    const c = smallConfig({ numHeads: 2 }), w1 = randomWeights(c, 31);
    assert.deepEqual(deviceShape, [2, 3, c.hiddenSize]);
    assert.ok(viaHost.every(Number.isFinite));
    assert.deepEqual(onDevice, viaHost);
    const l = new MlaAttention(c, w1, { cache: poisonedCache(be, 8, 4, 'bf16'), precision: 'host' });
    await assert.rejects(async () => l.forwardDevice([l.cache.addSequence()], be.empty('f32', [c.hiddenSize]), 1),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'precision');
    const d = new MlaAttention(c, w1, { cache: poisonedCache(be, 8, 4, 'bf16'), precision: 'f32' });
    await assert.rejects(async () => d.forwardDevice([d.cache.addSequence()], be.empty('f32', [c.hiddenSize + 1]), 1),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'hidden');
  });

  test('bad options and a short pool are refused before anything runs', async () => {
    const c = smallConfig();
    const w = randomWeights(c, 3);
    assert.throws(() => new MlaAttention(c, w, { cache: poisonedCache(be, 2, 16, 'bf16'), precision: 'fp8' as 'bf16' }),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'precision');
    assert.throws(() => new MlaAttention(c, w, { cache: poisonedCache(cpu, 2, 16, 'bf16'), precision: 'bf16' }),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'precision');
    assert.throws(() => new MlaAttention({ ...c, hiddenSize: 60 }, randomWeights({ ...c, hiddenSize: 60 }, 3), { cache: poisonedCache(be, 2, 16, 'bf16'), precision: 'bf16' }),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'config.hiddenSize');
    const cache = poisonedCache(be, 2, 16, 'bf16');
    const layer = new MlaAttention(c, w, { cache, precision: 'f32' });
    const a = cache.addSequence(), b = cache.addSequence();
    await layer.forward([a], normals(1, 20 * c.hiddenSize), 20); // two pages
    await assert.rejects(async () => layer.forward([a, b], normals(2, 2 * c.hiddenSize), 1), (e: unknown) => e instanceof FlashMlaError && e.code === 'out_of_memory');
    assert.deepEqual([cache.seqlen(a), cache.seqlen(b)], [20, 0]);
  });
});

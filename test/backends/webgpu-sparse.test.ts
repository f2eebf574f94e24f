// WebGPU token-sparse decode (kernels/sparse.ts) on Mesa's lavapipe: small random hostile cases against the float64
// reference (lavapipe is a CPU rasterizer; FlashMLA's goldens run in test/long/webgpu-sparse.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tolerances } from '../support/compare.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';
import { e4m3PatternsThrough, runRandomSparse } from '../support/sparse-random.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });
const need = (t: { skip: (m?: string) => void }) => gpu.need(t);

describe('webgpu sparse: random cases vs the float64 reference', () => {
  test('8 small cases: V3.2, MODEL1, bf16 and f16 caches (NaN-poisoned), topkLength, sink, extra cache, odd hQ', async (t) => {
    const be = need(t);
    if (!be) return;
    const kinds = ['v32', 'model1', 'bf16', 'f16'] as const;
    for (let seed = 501; seed <= 508; seed++) await runRandomSparse(seed, be, tolerances.webgpu, [kinds[seed % 4]], true);
  });
  test('4 small cases with sinks far above lse (the factor past e^-80: f * e^-d, not a clamp)', async (t) => {
    const be = need(t);
    if (!be) return;
    const kinds = ['v32', 'model1', 'bf16', 'f16'] as const;
    for (let seed = 521; seed <= 524; seed++) await runRandomSparse(seed, be, tolerances.webgpu, [kinds[seed % 4]], true, undefined, { bigSinks: true });
  });
});

describe('webgpu sparse: heads a workgroup (kernels/sparse.ts chooseSparseHeads; session 44)', () => {
  test('G = 1, 2, 4 and 8 forced: each case within the tolerance, and the same bits for every G', async (t) => {
    const be = need(t);
    if (!be) return;
    const { createNodeWebGpuBackend } = await import('../../src/backends/webgpu/node.js');
    const kinds = ['v32', 'model1', 'bf16', 'f16'] as const;
    const bits = new Map<number, string[]>();
    for (const heads of [1, 2, 4, 8] as const) {
      const g = await createNodeWebGpuBackend({ device: be.device, sparseHeads: heads, sparsePath: 'direct' });
      try {
        const got: string[] = [];
        // head counts that fill a last group partly (3, 5, 12) or not at all (8, 16), and one head
        for (let seed = 531; seed <= 538; seed++) {
          await runRandomSparse(seed, g, tolerances.webgpu, [kinds[seed % 4]], true, (r) => r.pick([1, 3, 5, 8, 12, 16]), {
            outputs: (out, lse) => { got.push(`${Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64')}|${Buffer.from(lse.buffer, lse.byteOffset, lse.byteLength).toString('base64')}`); },
          });
        }
        bits.set(heads, got);
      } finally {
        g.dispose();
      }
    }
    for (const heads of [2, 4, 8]) assert.deepEqual(bits.get(heads), bits.get(1), `G = ${heads} against G = 1`);
  });
  test('the choice: G = 1 where the heads fill the device, larger G at large batches, and what fits', async () => {
    const { chooseSparseHeads, sparseSharedBytes } = await import('../../src/backends/webgpu/kernels/sparse.js');
    const caps = { maxComputeWorkgroupStorageSize: 32768 };
    assert.equal(chooseSparseHeads({ b: 2, sQ: 2, hQ: 128 }, 132, caps), 1); // 512 workgroups at G = 1; 256 at G = 2 < 264
    assert.equal(chooseSparseHeads({ b: 128, sQ: 2, hQ: 128 }, 132, caps), 8);
    assert.equal(chooseSparseHeads({ b: 64, sQ: 1, hQ: 16 }, 132, caps), 2); // 4 would leave 256 workgroups, 8 128
    assert.equal(chooseSparseHeads({ b: 256, sQ: 1, hQ: 3 }, 132, caps), 2);
    assert.equal(chooseSparseHeads({ b: 128, sQ: 1, hQ: 3 }, 132, caps), 1); // two groups of 2 heads: 256 workgroups
    assert.equal(chooseSparseHeads({ b: 128, sQ: 1, hQ: 1 }, 132, caps), 1);
    assert.equal(chooseSparseHeads({ b: 128, sQ: 2, hQ: 128 }, 132, { maxComputeWorkgroupStorageSize: 16384 }), 4); // 8 needs ${sparseSharedBytes(8)}
    assert.ok(sparseSharedBytes(8) > 16384 && sparseSharedBytes(4) <= 16384);
    assert.throws(() => chooseSparseHeads({ b: 1, sQ: 1, hQ: 8 }, 132, { maxComputeWorkgroupStorageSize: 16384 }, 8), /sparse heads 8: needs/);
  });
});

describe('webgpu dense decode over FP8 caches: random cases vs the float64 reference', () => {
  test('4 small cases: V3.2 and MODEL1 bytes, NaN in unread tokens, junk past each row\'s pages', async (t) => {
    const be = need(t);
    if (!be) return;
    for (let seed = 7300; seed < 7304; seed++) await runRandomDenseFp8(seed, be, tolerances.webgpu, true);
  });
});

// The direct kernel (kernels/sparse.ts) forced: on a device with subgroup matrices 'auto' takes the gathered path, whose
// dense matrix kernel holds a key in f16 against one power-of-two scale a key (kernels/decode-matrix5.ts), so values more
// than 2^14 below the key's largest (this token's spread: e4m3 2^-9 .. 448, scales 2^-20 .. 2^4) lose bits there, as a
// bf16 cache's do (H200, session 45). The gathered path's decoding is checked exactly over the f32 dense kernel in
// test/backends/webgpu-sparse-gather.test.ts.
describe('webgpu sparse: every e4m3 bit pattern and UE8M0 scale, decoded by the WGSL bit operations', () => {
  for (const format of ['v32', 'model1'] as const) {
    test(format, async (t) => {
      const be = need(t);
      if (!be) return;
      const { createNodeWebGpuBackend } = await import('../../src/backends/webgpu/node.js');
      const direct = await createNodeWebGpuBackend({ device: be.device, sparsePath: 'direct' });
      try {
        const bad = await e4m3PatternsThrough(direct, format);
        assert.deepEqual(bad.slice(0, 5), []);
      } finally {
        direct.dispose();
      }
    });
  }
});

describe('webgpu sparse: index tensors on the device', () => {
  test('device indices, topkLength and sink give the same bits as host ones', async (t) => {
    const be = need(t);
    if (!be) return;
    const { fromArray } = await import('../../src/core/tensor.js');
    const { quantizeCache } = await import('../../src/core/fp8.js');
    const { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } = await import('../../src/core/sparse.js');
    const { flashMlaSparseWithKvcache } = await import('../../src/core/sparse-api.js');
    const { f32ToBf16 } = await import('../../src/core/dtype.js');
    const b = 2, hQ = 3, topk = 5, B = 4, nb = 4;
    const vals = Uint16Array.from({ length: nb * B * 576 }, (_, i) => f32ToBf16(Math.sin(i) * 0.3));
    const k = uploadFp8Cache(be, fp8CacheTensor('v32', nb, B, quantizeCache('v32', vals, B, nb)));
    const q = be.upload(fromArray('bf16', [b, 1, hQ, 576], Uint16Array.from({ length: b * hQ * 576 }, (_, i) => f32ToBf16(Math.cos(i)))));
    const ind = fromArray('i32', [b, 1, topk], Int32Array.of(3, -1, 7, 0, 15, 9, 2, -1, 11, 4));
    const tl = fromArray('i32', [b], Int32Array.of(4, 5)), sink = fromArray('f32', [hQ], Float32Array.of(0.5, -Infinity, 2));
    const meta = getSparseMlaMetadata({ b, sQ: 1, hQ, topk, topkLength: tl, numSms: 3 });
    const run = async (host: boolean) => {
      const d = (x: typeof ind) => (host ? x : be.upload(x));
      const r = await flashMlaSparseWithKvcache(q, k, d(ind), 512, meta, { topkLength: d(tl), attnSink: d(sink as never), backend: be });
      await be.synchronize();
      return [(await be.download(r.out)).host() as Uint16Array, (await be.download(r.lse)).host() as Float32Array] as const;
    };
    const [o1, l1] = await run(true), [o2, l2] = await run(false);
    assert.deepEqual(o2, o1);
    assert.deepEqual(l2, l1);
    assert.ok(o1.some((x) => x !== 0));
  });
});

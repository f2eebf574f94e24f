// MlaAttention on the GPU host (not part of `npm test`): backend.matmul on CUDA (layer.cu's mla_gemm_f32) against a
// float64 product, the layer on CUDA and on WebGPU (Dawn over the real GPU) against the float64 non-absorbed
// formula, and transformers' cases from test/fixtures/mla when they are there.
//   npm run build && node --import tsx --test test/gpu/mla.test.ts
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCudaBackend } from '../../src/backends/cuda/index.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { MlaAttention } from '../../src/core/mla/index.js';
import type { Backend } from '../../src/core/problem.js';
import { fromArray } from '../../src/core/tensor.js';
import {
  assertClose, hfCaseNames, layerTol, loadHfCase, normals, poisonedCache, randomWeights, referenceSequences, runSequences, smallConfig,
} from '../support/mla-case.js';

const backends: [string, Backend][] = [];

before(async () => {
  backends.push(['cuda', await createCudaBackend()]);
  try { backends.push(['webgpu', await createNodeWebGpuBackend()]); } catch (e) { console.log(`# webgpu: skipped (${(e as Error).message})`); }
});
after(() => { for (const [, b] of backends) b.dispose(); });

describe('GPU: MlaAttention', () => {
  test('backend.matmul vs float64: odd shapes, offsets, strides, NaN padding', async () => {
    const shapes: [number, number, number][] = [[1, 3, 5], [3, 200, 500], [17, 70, 33], [64, 3072, 2048], [65, 129, 1537], [1, 576, 7168]];
    for (const [label, be] of backends) {
      for (const [m, n, k] of shapes) {
        const xOff = 3, xStride = k + 2, wOff = 5, wStride = k + 1;
        const x = normals(m + n, xOff + m * xStride), w = normals(n + k, wOff + n * wStride);
        for (let i = 0; i < m; i++) x.fill(NaN, xOff + i * xStride + k, xOff + (i + 1) * xStride);
        for (let j = 0; j < n; j++) w.fill(NaN, wOff + j * wStride + k, wOff + (j + 1) * wStride);
        const xT = be.upload(fromArray('f32', [x.length], x)), wT = be.upload(fromArray('f32', [w.length], w));
        const yT = be.upload(fromArray('f32', [m, n], new Float32Array(m * n).fill(NaN)));
        await be.matmul!({ m, n, k, x: xT, xOff, xStride, w: wT, wOff, wStride, y: yT });
        const y = (await be.download(yT)).host() as Float32Array;
        let worst = 0;
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) s += x[xOff + i * xStride + q] * w[wOff + j * wStride + q];
          const e = Math.abs(y[i * n + j] - s) / (Math.sqrt(k) + Math.abs(s));
          assert.ok(e <= 1e-5, `${label} ${m}x${n}x${k} y[${i}, ${j}] = ${y[i * n + j]}, want ${s}`);
          worst = Math.max(worst, e);
        }
        console.log(`# ${label} matmul ${m}x${n}x${k}: worst scaled error ${worst.toExponential(2)}`);
        for (const z of [xT, wT, yT]) be.free(z);
      }
      const xT = be.upload(fromArray('f32', [8], new Float32Array(8)));
      await assert.rejects(async () => be.matmul!({ m: 2, n: 1, k: 5, x: xT, xOff: 0, xStride: 5, w: xT, wOff: 0, wStride: 5, y: be.empty('f32', [2]) }),
        (e: unknown) => e instanceof FlashMlaError && e.argument === 'x');
    }
  });

  test('layer vs float64 (q_lora + YaRN, no q_lora), f16 and bf16 caches', async () => {
    for (const [label, be] of backends) {
      for (const [i, over] of [{}, { qLoraRank: null }, { numHeads: 16, hiddenSize: 256 }].entries()) {
        for (const dtype of ['f16', 'bf16'] as const) {
          const c = smallConfig(over);
          const w = randomWeights(c, 70 + i);
          const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 64, 16, dtype) });
          const hidden = normals(80 + i, 3 * 20 * c.hiddenSize);
          const got = await runSequences(layer, hidden, 3, 20, 13);
          layer.dispose();
          layer.cache.dispose();
          assertClose(got, referenceSequences(c, w, hidden, 3, 20), layerTol[dtype], `${label} case ${i} ${dtype}`);
        }
      }
    }
  });

  const names = hfCaseNames();
  for (const name of names) {
    test(`transformers case ${name}`, async () => {
      const { meta, c, w, b, T, hidden, want } = loadHfCase(name);
      for (const [label, be] of backends) {
        for (const dtype of ['f16', 'bf16'] as const) {
          const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 32, 4, dtype) });
          const got = await runSequences(layer, hidden, b, T, meta.prefill);
          layer.dispose();
          layer.cache.dispose();
          assertClose(got, want, layerTol[dtype], `${name} on ${label}, ${dtype} cache`);
        }
      }
    });
  }
});

// Long suite. WebGPU token-sparse decode (kernels/sparse.ts): two of FlashMLA's sparse goldens (the extra
// cache and the attention sink) within FlashMLA's tolerance, and random hostile cases against the float64
// reference. About 4 minutes on lavapipe (2 cores); seconds on a GPU.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bf16ToF32 } from '../../src/core/dtype.js';
import { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } from '../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../src/core/sparse-api.js';
import { fromArray } from '../../src/core/tensor.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { goldenSparseSkip, loadSparseGolden, sparseGoldenNames } from '../support/golden-sparse.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';
import { runRandomSparse } from '../support/sparse-random.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });
const need = (t: { skip: (m?: string) => void }) => gpu.need(t);

describe('webgpu sparse: FlashMLA goldens', { skip: goldenSparseSkip() }, () => {
  for (const name of sparseGoldenNames().filter((n) => /extra|sink/.test(n))) {
    test(`${name}: cos diff <= 5e-6 vs the float64 reference, out poisoned first`, async (t) => {
      const be = need(t);
      if (!be) return;
      const g = loadSparseGolden(name), p = g.params, A = g.arrays;
      const q = be.upload(fromArray('bf16', [p.b, p.s_q, p.h_q, p.d_qk], A.q as Uint16Array));
      const k = uploadFp8Cache(be, fp8CacheTensor(p.format, p.num_blocks, p.page_block_size, A.kcache as Uint8Array));
      const x = A.extra_kcache ? uploadFp8Cache(be, fp8CacheTensor(p.format, p.extra_num_blocks!, p.extra_page_block_size!, A.extra_kcache as Uint8Array)) : undefined;
      const out = be.upload(fromArray('bf16', [p.b, p.s_q, p.h_q, 512], new Uint16Array(p.b * p.s_q * p.h_q * 512).fill(0x7fc0)));
      const lse = be.upload(fromArray('f32', [p.b, p.h_q, p.s_q], new Float32Array(p.b * p.h_q * p.s_q).fill(NaN)));
      const tl = A.topk_length ? fromArray('i32', [p.b], A.topk_length as Int32Array) : undefined;
      const etl = A.extra_topk_length ? fromArray('i32', [p.b], A.extra_topk_length as Int32Array) : undefined;
      const meta = getSparseMlaMetadata({ b: p.b, sQ: p.s_q, hQ: p.h_q, topk: p.topk, topkLength: tl, extraTopk: p.extra_topk ?? 0, extraTopkLength: etl, numSms: p.num_sms });
      await flashMlaSparseWithKvcache(q, k, fromArray('i32', [p.b, p.s_q, p.topk], A.indices as Int32Array), 512, meta, {
        softmaxScale: p.softmax_scale_passed ?? undefined, topkLength: tl,
        attnSink: A.attn_sink ? fromArray('f32', [p.h_q], A.attn_sink as Float32Array) : undefined,
        extraKCache: x, extraIndices: x && fromArray('i32', [p.b, p.s_q, p.extra_topk!], A.extra_indices as Int32Array), extraTopkLength: etl,
        backend: be, out, lse,
      });
      await be.synchronize();
      const o = (await be.download(out)).host() as Uint16Array, l = (await be.download(lse)).host() as Float32Array;
      for (const tt of [q, k, x, out, lse]) if (tt) be.free(tt);
      const ref = A.ref_out_f64 as Float64Array;
      let dot = 0, xx = 0, yy = 0;
      for (let i = 0; i < ref.length; i++) { const v = bf16ToF32(o[i]); dot += v * ref[i]; xx += v * v; yy += ref[i] * ref[i]; }
      const cd = 1 - (2 * dot) / (xx + yy);
      assert.ok(cd <= 5e-6, `cos diff ${cd}`);
      const rep = compareOutputs(o, l, { out: ref, lse: A.ref_lse_f64 as Float64Array }, 'bf16', { b: p.b, sQ: p.s_q, hQ: p.h_q }, tolerances.webgpu);
      assert.ok(rep.ok, rep.message);
    });
  }
});

// FLASHMLA_WEBGPU_SPARSE_CASES / FLASHMLA_WEBGPU_DENSE_FP8_CASES set the counts (a GPU runs 1000 of each in seconds).
const nSparse = Number(process.env.FLASHMLA_WEBGPU_SPARSE_CASES ?? 40), nDense = Number(process.env.FLASHMLA_WEBGPU_DENSE_FP8_CASES ?? 12);

describe('webgpu sparse: random cases (full size)', () => {
  test(`${nSparse} cases: V3.2, MODEL1, bf16 and f16 caches (NaN-poisoned), topkLength, sink, extra cache, any hQ`, async (t) => {
    const be = need(t);
    if (!be) return;
    for (let seed = 601; seed < 601 + nSparse; seed++) await runRandomSparse(seed, be, tolerances.webgpu);
  });
  test(`${nDense} dense decodes over FP8 caches: hQ up to 128, seqlens up to 1500, page sizes 64 / 16 / 1`, async (t) => {
    const be = need(t);
    if (!be) return;
    for (let seed = 7400; seed < 7400 + nDense; seed++) await runRandomDenseFp8(seed, be, tolerances.webgpu);
  });
});

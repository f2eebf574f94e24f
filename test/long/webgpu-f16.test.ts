// The f16-arithmetic decode kernel (kernels/decode-f16.ts) against the float64 reference on any adapter with
// shader-f16 (lavapipe here and in CI, with the path forced: the default there is the f32 kernel): golden cases,
// random cases, inputs of extreme magnitude (outside f16's range, where the per-block power-of-two scale must
// keep the result right), NaN in q or in a key a row sees. In test/long because lavapipe's LLVM spends about a
// minute compiling each specialisation of this kernel (bf16 and f16).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/core/api.js';
import { f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { type CaseSpec, caseReference, makeCase, nanBits, runCase } from '../support/random.js';
import { checkRandomWebGpu, runGoldenWebGpu } from '../support/webgpu.js';
import { checkInfKeyRows } from '../support/webgpu-matrix.js';

let f16: WebGpuBackend | undefined, why = '';
before(async () => {
  try {
    f16 = await createNodeWebGpuBackend({ decodePath: 'f16' });
  } catch (e) {
    why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`;
  }
});
after(() => { f16?.dispose(); });
function need(t: { skip: (m?: string) => void }): WebGpuBackend | undefined {
  if (f16) return f16;
  if (process.env.CI) assert.fail(`WebGPU f16 suite cannot run in CI: ${why}`);
  t.skip(why);
  return undefined;
}

/**
 * QK partial dot products are f16 (each product and 4-term sum rounded to 11 significant bits), so a score carries
 * an error of about 2^-11 of sum |q_i k_i| times the softmax scale: ~1e-3 in lse at the default scale, ~1e-2 at
 * scale 0.25 (random case #14 of this matrix: 9.6e-3 in lse, out 1.04x the f32 kernel's bound). The bounds follow.
 */
const tol = { ...tolerances.webgpu, rowAbs: 2 ** -7, lseAbs: 2e-2 };

describe('webgpu f16 kernel: golden cases', () => {
  for (const name of ['decode_bf16_h16_sq1', 'decode_bf16_h128_sq2_causal', 'decode_bf16_hkv2_h32_sq1', 'decode_f16_h64_sq1', 'decode_bf16_h16_sq1_zero_len']) {
    test(name, async (t) => { const be = need(t); if (be) await runGoldenWebGpu(be, name, tol); });
  }
});

describe('webgpu f16 kernel: random cases', () => {
  test('16 cases of the random matrix (FlashMLA 132-SM plans and the backend\'s own)', async (t) => {
    const be = need(t);
    if (be) await checkRandomWebGpu(be, 16, 0x16f16, 7000, (i) => (i % 2 ? 132 : be.info.numSms), tol);
  });
});

/** A case whose q and cache values are scaled by `sq` and `sk` (kept in the dtype; the reference sees the same bits). */
function scaledCase(spec: CaseSpec, seed: number, sq: number, sk: number) {
  const c = makeCase(spec, seed);
  const round = c.dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  const toF = c.dtype === 'bf16' ? (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0] : halfToF32;
  for (let i = 0; i < c.q.length; i++) c.q[i] = round(toF(c.q[i]) * sq);
  const nan = nanBits[c.dtype];
  for (let i = 0; i < c.kCache.length; i++) if (c.kCache[i] !== nan) c.kCache[i] = round(toF(c.kCache[i]) * sk);
  // The scale keeps the logits of order 1 whatever the magnitudes (else the softmax is one-hot and proves little).
  c.softmaxScale = 1 / (Math.sqrt(576) * sq * sk);
  c.explicitScale = true;
  return c;
}

function halfToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('webgpu f16 kernel: magnitudes outside f16\'s range (bf16)', () => {
  const spec: CaseSpec = { name: 'extreme', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [200, 77], sQ: 1, causal: false };
  for (const [sq, sk] of [[1e-6, 1], [1, 1e-6], [6e4, 1], [1, 6e4], [1e6, 1e-6], [1e6, 1e6], [1e-6, 1e-6], [3e-30, 1e25]] as const) {
    test(`q x ${sq}, cache x ${sk}`, async (t) => {
      const be = need(t);
      if (!be) return;
      const c = scaledCase(spec, 4242, sq, sk);
      const r = await runCase(c, be, flashMlaWithKvcache, { numSms: 132 });
      assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tol, `q x ${sq}, k x ${sk}`);
    });
  }
  test('one block mixing 1e-6 and 6e4 within a key row', async (t) => {
    const be = need(t);
    if (!be) return;
    const c = makeCase({ ...spec, seqlens: [130] }, 99);
    for (let i = 0; i < c.kCache.length; i += 5) if (c.kCache[i] !== nanBits.bf16) c.kCache[i] = f32ToBf16(((i / 5) % 2 ? 6e4 : 1e-6) * (i % 3 ? 1 : -1));
    c.softmaxScale = 1 / (576 * 6e4);
    c.explicitScale = true;
    const r = await runCase(c, be, flashMlaWithKvcache, { numSms: 132 });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tol, 'mixed block');
  });
});

describe('webgpu f16 kernel: NaN in the inputs', () => {
  test('a NaN in q or in a key a row sees gives NaN out and lse for exactly the rows that see it', async (t) => {
    const be = need(t);
    if (!be) return;
    const c = makeCase({ name: 'nan', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [90, 40], sQ: 2, causal: true }, 5);
    c.q[(1 * 16 + 3) * 576 + 100] = nanBits.bf16; // batch 0, query 1, head 3
    const bt = c.blockTable, mb = c.maxBlocksPerSeq;
    const key = 39; // batch 1's last key: query 0 (sees keys 0..38) must stay finite, query 1 sees it
    c.kCache[(bt[mb + Math.floor(key / 16)] * 16 + (key % 16)) * 576 + 7] = nanBits.bf16;
    for (const numSms of [132, be.info.numSms]) {
      const r = await runCase(c, be, flashMlaWithKvcache, { numSms });
      const ref = caseReference(c);
      let nanRows = 0;
      for (let row = 0; row < c.totalQ * c.hQ; row++) {
        const [tok, h] = [Math.floor(row / c.hQ), row % c.hQ];
        const b = Math.floor(tok / c.sQ), j = tok % c.sQ;
        const refNan = Number.isNaN(ref.lse[(b * c.hQ + h) * c.sQ + j]); // lse is [b, hQ, sQ]
        nanRows += refNan ? 1 : 0;
        const outNan = Number.isNaN(new Float32Array(new Uint32Array([r.out[row * 512] << 16]).buffer)[0]);
        const lseNan = Number.isNaN(r.lse[(b * c.hQ + h) * c.sQ + j]);
        assert.equal(outNan, refNan, `row ${row} (token ${tok}, head ${h}) out NaN ${outNan}, reference ${refNan}, ${numSms} SMs`);
        assert.equal(lseNan, refNan, `row ${row} lse NaN ${lseNan}, reference ${refNan}, ${numSms} SMs`);
      }
      assert.equal(nanRows, 16 + 1, 'the reference: batch 1 query 1 (16 heads) and batch 0 query 1 head 3');
    }
  });
});

describe('webgpu f16 kernel: +inf in a key (issue #13)', () => {
  test('the rows it turns NaN (inf - inf) have NaN lse, not +inf ("no key"), split and unsplit', async (t) => {
    const be = need(t);
    if (be) await checkInfKeyRows(be, tol);
  });
});

describe('webgpu f16 kernel: a cache over several storage bindings', () => {
  test('pages spread over bindings of 20 MiB (buffers of 48 MiB)', async (t) => {
    if (!need(t)) return;
    const small = await createNodeWebGpuBackend({ decodePath: 'f16', maxBufferBytes: 48 * 2 ** 20, maxBindingBytes: 20 * 2 ** 20 });
    try {
      // ~420 pages of 72 KiB: the shuffled pages of the case land in every binding.
      const c = makeCase({ name: 'segs', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [700, 0, 1500, 129], sQ: 2, causal: true, sparePages: 380 }, 12);
      const r = await runCase(c, small, flashMlaWithKvcache, { numSms: 132 });
      assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tol, 'f16 kernel, several bindings');
    } finally {
      small.dispose();
    }
  });
});

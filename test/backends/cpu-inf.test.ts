// Issue #10 on every CPU rung (scalar, WebAssembly, native when it builds here), in-thread and on worker threads:
// rows whose scores are -inf for a whole 64-key tile, a whole split or every key, and causal rows next to keys they
// may not see that hold NaN or inf, against the float64 reference, NaN and infinity positions included
// (test/support/nan-dense.ts has the cases). Plus the sparse path: a request
// split across parts whose first part's tokens all score -inf, and one whose every token does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { scalarKernel } from '../../src/backends/cpu/item.js';
import type { Backend } from '../../src/core/problem.js';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { referenceSparseDecode } from '../../src/core/reference-sparse.js';
import { getSparseMlaMetadata } from '../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../src/core/sparse-api.js';
import { fromArray } from '../../src/core/tensor.js';
import { tolerances } from '../support/compare.js';
import { cpuRungs } from '../support/cpu-rungs.js';
import { type DenseNanCase, bits, buildDenseNanCase, keyAt, maskedKeyCases, negInfKeys, negInfTileCases, qColumn, runDense } from '../support/nan-dense.js';
import { Rng } from '../support/random.js';
import { nanRows, specialsMismatch } from '../support/specials.js';

const { vector } = await cpuRungs();
const rungs = [['scalar', scalarKernel] as const, ...vector];

const backends = new Map<string, { be: Backend; f32: boolean }>();
before(async () => {
  for (const [name, kernel] of rungs) {
    const f32 = name !== 'scalar'; // the vector rungs compute in f32
    backends.set(`${name} inline`, { be: new InlineCpuBackend(kernel), f32 });
    backends.set(`${name} workers`, { be: await createCpuBackend({ workers: 2, kernel: kernel.name, isa: kernel.isa }), f32 });
  }
});
after(() => { for (const { be } of backends.values()) be.dispose(); });

/**
 * A split whose weight underflows to 0 (softmax scale 2^32; key 0 holds the row's maximum by far, in the first split)
 * holding a key scored -inf with an infinite V column (the last key, in the last split): the reference's sum over every
 * key keeps that column's 0 x inf = NaN. The combine left such a split out whole until session 52 (found by the fuzz).
 */
const underflowCases: DenseNanCase[] = [
  { name: 'split sequence, scale 2^32: a split that weighs 0 keeps the NaN of a -inf key with an infinite V column', spec: { dtype: 'bf16', hQ: 2, seqlens: [700], sQ: 1, softmaxScale: 2 ** 32 },
    numSms: 8, nanRows: [], nanCols: [[0, 10], [1, 10]], minSplits: 2,
    poison: (c, b) => { qColumn(c, 20, b.one); c.kCache[keyAt(c, 0, 0, 20)] = 0x4280; negInfKeys(c, 0, 699, 700, 10); } },
];

describe('dense: -inf tiles and splits, and NaN or inf in keys a row may not see, match the float64 reference on every CPU rung', () => {
  for (const [n, dc] of [...negInfTileCases, ...maskedKeyCases, ...underflowCases].entries()) {
    test(dc.name, async () => {
      const { c, ref } = buildDenseNanCase(dc, 1900 + n);
      for (const [name, { be, f32 }] of backends) {
        const got = await runDense(c, be, dc.numSms);
        const bad = specialsMismatch(got.out, got.lse, ref, c.dtype, f32 ? tolerances.cpuF32 : tolerances.cpu);
        assert.equal(bad, undefined, `${name}: ${bad}`);
      }
    });
  }
});

/**
 * vdpbf16ps (the avx512bf16 native kernel's Q Kᵀ) treats subnormal inputs as 0, so a subnormal q value times an
 * infinite key column is 0 x inf = NaN there, where the reference has -inf (the key weighs 0). The kernel redoes a
 * NaN score in f32; these rows must stay finite. Column 540 is past V, so the infinite keys leave O finite. hQ = 5
 * puts rows in a full 4 x 4 block and in a partial one.
 */
const subnormalCases: DenseNanCase[] = [
  { name: 'bf16: a subnormal q column (-2^-133) times +inf keys scores -inf, not NaN (first tile)', spec: { dtype: 'bf16', hQ: 5, seqlens: [200], sQ: 1 }, numSms: 132,
    nanRows: [], poison: (c, b) => { qColumn(c, 540, 0x8001); for (let t = 0; t < 64; t++) c.kCache[keyAt(c, 0, t, 540)] = b.inf; } },
  { name: 'bf16, split: a subnormal q column (-2^-126 + 2^-133) times +inf keys, scattered keys', spec: { dtype: 'bf16', hQ: 6, seqlens: [900], sQ: 1 }, numSms: 8,
    nanRows: [], minSplits: 2, poison: (c, b) => { qColumn(c, 540, 0x807f); for (let t = 3; t < 900; t += 7) c.kCache[keyAt(c, 0, t, 540)] = b.inf; } },
];

describe('dense: subnormal q values times infinite keys match the float64 reference on every CPU rung', () => {
  for (const [n, dc] of subnormalCases.entries()) {
    test(dc.name, async () => {
      const { c, ref } = buildDenseNanCase(dc, 2000 + n);
      for (const [name, { be, f32 }] of backends) {
        const got = await runDense(c, be, dc.numSms);
        const bad = specialsMismatch(got.out, got.lse, ref, c.dtype, f32 ? tolerances.cpuF32 : tolerances.cpu);
        assert.equal(bad, undefined, `${name}: ${bad}`);
      }
    });
  }
});


// ---------------------------------------------------------------- sparse (every rung: native ISAs run decode_common.h sparse_item, the others ../sparse.ts)

const hQ = 2, B = 256;
const sparseCases: { name: string; topk: number; negInf: [number, number]; nanRows: number[] }[] = [
  { name: 'a request split across parts, its first 128 tokens scored -inf with an infinite V column', topk: 256, negInf: [0, 128], nanRows: [] },
  { name: 'a request split across parts, every token scored -inf: NaN', topk: 256, negInf: [0, 256], nanRows: [0, 1] },
];

describe('sparse: a split whose tokens all score -inf', () => {
  for (const [n, sc] of sparseCases.entries()) {
    test(sc.name, async () => {
      const rng = new Rng(2100 + n), b = bits.bf16;
      const vals = Uint16Array.from({ length: B * 576 }, () => f32ToBf16(rng.normal() * 0.3));
      const q = Uint16Array.from({ length: hQ * 576 }, () => f32ToBf16(Math.max(-1, Math.min(1, rng.normal()))));
      for (let h = 0; h < hQ; h++) q[h * 576 + 30] = b.minusOne;
      for (let t = sc.negInf[0]; t < sc.negInf[1]; t++) vals[t * 576 + 30] = b.inf;
      const indices = Int32Array.from({ length: sc.topk }, (_, i) => i);
      const ref = referenceSparseDecode({ q, dtype: 'bf16', b: 1, sQ: 1, hQ, dQk: 576, cache: { kind: 'bf16', data: vals, pageBlockSize: B }, indices, topk: sc.topk });
      const refNan = nanRows(Uint16Array.from(ref.out, (x) => (Number.isNaN(x) ? b.nan : 0)), 'bf16');
      assert.deepEqual(refNan.flatMap((x, i) => (x ? [i] : [])), sc.nanRows, 'the reference NaN rows (the case is built wrong)');
      const meta = getSparseMlaMetadata({ b: 1, sQ: 1, hQ, topk: sc.topk, numSms: 8 });
      const ns = meta.numSplits.host() as Int32Array;
      assert.ok(ns[1] - ns[0] >= 2, `the request must be split (numSplits ${ns})`);
      for (const [name, { be, f32 }] of backends) {
        const out = fromArray('bf16', [1, 1, hQ, 512], new Uint16Array(hQ * 512).fill(b.sentinel));
        const lse = fromArray('f32', [1, hQ, 1], new Float32Array(hQ).fill(7777));
        await flashMlaSparseWithKvcache(fromArray('bf16', [1, 1, hQ, 576], q), fromArray('bf16', [1, B, 1, 576], vals), fromArray('i32', [1, 1, sc.topk], indices), 512, meta, { backend: be, out, lse });
        await be.synchronize();
        const bad = specialsMismatch(out.host() as Uint16Array, lse.host() as Float32Array, ref, 'bf16', f32 ? tolerances.cpuF32 : tolerances.cpu);
        assert.equal(bad, undefined, `${name}: ${bad}`);
      }
    });
  }
});

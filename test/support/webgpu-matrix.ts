// Shared by the matrix kernel's suites (test/long/webgpu-matrix-emu.test.ts on lavapipe with emulated products,
// test/gpu/webgpu-matrix.test.ts on a GPU with subgroup matrices): its tolerance, the extreme-magnitude cases and
// the NaN-row check.
import assert from 'node:assert/strict';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import type { MatrixKnobs } from '../../src/backends/webgpu/decode-kernel.js';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { type Tolerance, assertOutputsClose, compareOutputs, tolerances } from './compare.js';
import type { DecodeMatrix5Spec } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { stubbedMatrixWgsl } from './matrix-stub.js';
import { key5, src5 } from './matrix5-spec.js';
import { type CaseSpec, type DecodeCase, caseMetadata, caseReference, makeCase, nanBits, runCase } from './random.js';

/**
 * f16 products are exact in the f32 accumulators and every q / k value within 2^14 of its block's largest converts
 * exactly, so scores are about as exact as the f32 kernel's; P rounds to f16 (2^-11, finer than FlashMLA's bf16)
 * and V converts exactly within 2^14 of its column's largest over the tile. The f32 kernel's bounds hold, with the
 * lse bound of the f16 kernel kept as margin for blocks whose small values lose bits.
 */
export const matrixTol: Tolerance = { ...tolerances.webgpu, lseAbs: 2e-3 };

function halfToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A case whose q and cache values are scaled by `sq` and `sk` (kept in the dtype; the reference sees the same bits). */
export function scaledCase(spec: CaseSpec, seed: number, sq: number, sk: number): DecodeCase {
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

const extremeSpec: CaseSpec = { name: 'extreme', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [200, 77], sQ: 1, causal: false };

/** q and cache scaled far outside f16's range (6e-8 .. 65504), each with a label. */
export function extremeCases(): [string, () => DecodeCase][] {
  const pairs = [[1e-6, 1], [1, 1e-6], [6e4, 1], [1, 6e4], [1e6, 1e-6], [1e6, 1e6], [1e-6, 1e-6], [3e-30, 1e25]] as const;
  return pairs.map(([sq, sk]) => [`q x ${sq}, cache x ${sk}`, () => scaledCase(extremeSpec, 4242, sq, sk)]);
}

/** Every 5th cache value alternates 1e-6 and 6e4 (both signs): blocks and columns spanning 2^35. */
export function mixedBlockCase(): DecodeCase {
  const c = makeCase({ ...extremeSpec, seqlens: [130] }, 99);
  for (let i = 0; i < c.kCache.length; i += 5) if (c.kCache[i] !== nanBits.bf16) c.kCache[i] = f32ToBf16(((i / 5) % 2 ? 6e4 : 1e-6) * (i % 3 ? 1 : -1));
  c.softmaxScale = 1 / (576 * 6e4);
  c.explicitScale = true;
  return c;
}

/**
 * A NaN in q (batch 0, query 1, head 3) and in a V column of a key that only the later causal query sees (batch 1's
 * last key: query 0 sees keys 0..38 and must stay finite though the key shares its tile): the reference has 17 NaN rows.
 */
export function nanRowsCase(): DecodeCase {
  const c = makeCase({ name: 'nan', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [90, 40], sQ: 2, causal: true }, 5);
  c.q[(1 * 16 + 3) * 576 + 100] = nanBits.bf16;
  const bt = c.blockTable, mb = c.maxBlocksPerSeq;
  const key = 39;
  c.kCache[(bt[mb + Math.floor(key / 16)] * 16 + (key % 16)) * 576 + 7] = nanBits.bf16;
  return c;
}

/** Rows that see no key: a zero-length sequence, and causal queries past a short one (f16, odd head count). */
export function noKeyRowsCase(): DecodeCase {
  return makeCase({ name: 'no keys', dtype: 'f16', hQ: 5, hKv: 1, pageBlockSize: 16, seqlens: [0, 2, 45], sQ: 4, causal: true }, 77);
}

/**
 * Keys whose RoPE columns (512..575, which enter QK only) are 2^lg times their latent columns (0..511, V), one key in
 * `every`, and q's RoPE columns zero, so the scores and the output depend on the latent columns alone. A kernel that
 * takes one scale over a key's 576 values keeps fewer bits of its latent columns as lg grows (v5 past lg 14).
 */
export function ropeHeavyCase(lg: number, every = 1): DecodeCase {
  const c = makeCase({ ...extremeSpec, seqlens: [96] }, 7);
  for (let i = 0; i < c.q.length; i += 576) c.q.fill(0, i + 512, i + 576);
  const toF = (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0];
  for (let row = 0; row * 576 < c.kCache.length; row += every) {
    for (let j = 512; j < 576; j++) {
      const at = row * 576 + j;
      if (c.kCache[at] !== nanBits.bf16) c.kCache[at] = f32ToBf16(toF(c.kCache[at]) * 2 ** lg);
    }
  }
  return c;
}

/**
 * +inf in one RoPE column of key 3 (batch 0): rows whose q has a positive value there score +inf, and the reference
 * makes them NaN (inf - inf); the other rows score -inf for that key and stay finite.
 */
export function infKeyCase(seqlen = 40): DecodeCase {
  const c = makeCase({ name: 'inf', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [seqlen], sQ: 1, causal: false }, 5);
  c.kCache[(c.blockTable[0] * 16 + 3) * 576 + 520] = 0x7f80;
  return c;
}

/** A NaN in q (one row) and in a key that only the later causal query sees: exactly the reference's NaN rows. */
export async function checkNanRows(be: WebGpuBackend): Promise<void> {
  const c = nanRowsCase();
  for (const numSms of [132, be.info.numSms]) {
    const r = await runCase(c, be, flashMlaWithKvcache, { numSms });
    const ref = caseReference(c);
    let nanRows = 0;
    for (let row = 0; row < c.totalQ * c.hQ; row++) {
      const [tok, h] = [Math.floor(row / c.hQ), row % c.hQ];
      const b = Math.floor(tok / c.sQ), j = tok % c.sQ;
      const refNan = Number.isNaN(ref.lse[(b * c.hQ + h) * c.sQ + j]); // lse is [b, hQ, sQ]
      nanRows += refNan ? 1 : 0;
      for (const col of [0, 7, 300, 511]) {
        const outNan = Number.isNaN(new Float32Array(new Uint32Array([r.out[row * 512 + col] << 16]).buffer)[0]);
        assert.equal(outNan, refNan, `row ${row} (token ${tok}, head ${h}) col ${col}: out NaN ${outNan}, reference ${refNan}, ${numSms} SMs`);
      }
      const lseNan = Number.isNaN(r.lse[(b * c.hQ + h) * c.sQ + j]);
      assert.equal(lseNan, refNan, `row ${row} lse NaN ${lseNan}, reference ${refNan}, ${numSms} SMs`);
    }
    assert.equal(nanRows, 16 + 1, 'the reference: batch 1 query 1 (16 heads) and batch 0 query 1 head 3');
  }
}

/**
 * infKeyCase with 1000 keys on a backend, split (132 SMs: 4 splits, so the NaN partial lse of the first goes through
 * the combine) and unsplit (1 SM): the rows the reference makes NaN are NaN in out and lse (not lse +inf,
 * "no key", which the kernels wrote before issue #13), and every other row is within `tol`.
 */
export async function checkInfKeyRows(be: WebGpuBackend, tol: Tolerance = matrixTol): Promise<void> {
  const c = infKeyCase(1000);
  const ref = caseReference(c);
  const splits = (numSms: number) => { const ns = caseMetadata(c, numSms).numSplits.host() as Int32Array; return ns[1] - ns[0]; };
  assert.ok(splits(132) > 1 && splits(1) === 1, `splits: ${splits(132)} at 132 SMs, ${splits(1)} at 1`);
  for (const numSms of [132, 1]) {
    const r = await runCase(c, be, flashMlaWithKvcache, { numSms });
    const out = Uint16Array.from(r.out), lse = Float32Array.from(r.lse);
    const refOut = Float64Array.from(ref.out), refLse = Float64Array.from(ref.lse);
    let nanRows = 0;
    for (let h = 0; h < c.hQ; h++) { // b = 1, sQ = 1: row h, lse [0, h, 0]
      const refNan = Number.isNaN(refLse[h]);
      nanRows += refNan ? 1 : 0;
      for (let col = 0; col < 512; col++) {
        const outNan = (out[h * 512 + col] & 0x7fff) > 0x7f80;
        assert.equal(outNan, refNan, `head ${h} col ${col}: out NaN ${outNan}, reference ${refNan}, ${numSms} SMs`);
      }
      assert.equal(Number.isNaN(lse[h]), refNan, `head ${h}: lse ${lse[h]}, reference ${refLse[h]}, ${numSms} SMs`);
      if (refNan) { out.fill(0, h * 512, h * 512 + 512); refOut.fill(0, h * 512, h * 512 + 512); lse[h] = Infinity; refLse[h] = Infinity; }
    }
    assert.ok(nanRows > 0 && nanRows < c.hQ, `the reference's NaN rows: ${nanRows} of ${c.hQ}`);
    assertOutputsClose(out, lse, { out: refOut, lse: refLse }, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tol, `+inf key, ${numSms} SMs`);
  }
}

/**
 * Keys whose magnitude grows along the sequence (key j of every request times 2^(j / `every`)), so each row's largest
 * score, and its largest x + log2 ks, keeps rising by far more than 2^8 after the first tile: v5's lazy rescale
 * (kernels/decode-matrix5.ts `lazy`) moves its rows' references on many tiles, not only the first. The softmax scale
 * keeps the final logits' spread near 10 (a distribution over several keys, not one-hot).
 */
export function growingCase(seqlens: number[] = [300, 129], every = 48, seed = 4343): DecodeCase {
  const c = makeCase({ name: 'growing keys', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens, sQ: 1, causal: false }, seed);
  const toF = (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0];
  for (let bi = 0; bi < c.b; bi++) {
    for (let j = 0; j < c.cacheSeqlens[bi]; j++) {
      const base = (c.blockTable[bi * c.maxBlocksPerSeq + Math.floor(j / c.pageBlockSize)] * c.pageBlockSize + (j % c.pageBlockSize)) * c.hKv * 576;
      for (let i = 0; i < c.hKv * 576; i++) c.kCache[base + i] = f32ToBf16(toF(c.kCache[base + i]) * 2 ** (j / every));
    }
  }
  c.softmaxScale = 4 / (Math.sqrt(576) * 2 ** (Math.max(...seqlens) / every));
  c.explicitScale = true;
  return c;
}

/**
 * Two v5 backends on lavapipe (products emulated, 4 subgroups) that differ in one choice, for the "same bits either
 * way" tests of a v5 option; `keys` collects the pipeline keys v5 resolves while a test runs. Call `setup` in
 * `before` and `teardown` in `after`; `why` says why there is no adapter.
 */
export function onOffMatrixBackends(on: MatrixKnobs, off: MatrixKnobs) {
  const st: { on?: WebGpuBackend; off?: WebGpuBackend; why: string; keys: Set<string> } = { why: '', keys: new Set<string>() };
  const { key: key0 } = decodeMatrix5Program;
  return Object.assign(st, {
    async setup(): Promise<void> {
      decodeMatrix5Program.key = (s) => { const k = key0.call(decodeMatrix5Program, s); st.keys.add(k); return k; };
      try {
        st.on = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, ...on } });
        st.off = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, ...off } });
      } catch (e) { st.why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`; }
    },
    teardown(): void { decodeMatrix5Program.key = key0; st.on?.dispose(); st.off?.dispose(); },
  });
}

/**
 * v5's GPU WGSL (the matrix builtins stubbed: test/support/matrix-stub.ts) of each spec (over matrix5-spec.ts's bf16
 * 8-subgroup base) through Tint, on an adapter without subgroup matrices; skips without an adapter (fails in CI).
 */
export async function checkV5ThroughTint(t: { skip: (m?: string) => void }, specs: Partial<DecodeMatrix5Spec>[]): Promise<void> {
  let be: WebGpuBackend | undefined;
  try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch (e) {
    if (process.env.CI) assert.fail(String(e));
    t.skip(`no WebGPU adapter (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  try {
    for (const o of specs) {
      const code = stubbedMatrixWgsl(src5(o));
      await be.programs.check({ name: `v5 ${key5(o)}`, key: () => key5(o), source: () => code }, undefined);
    }
  } finally { be.dispose(); }
}

/** A case on `be` against the float64 reference within matrixTol (`schedule`: the plan, e.g. 'fill' to split small cases). */
export async function assertMatrixCase(be: WebGpuBackend, c: DecodeCase, numSms: number, what: string, schedule?: 'fill'): Promise<void> {
  const got = await runCase(c, be, flashMlaWithKvcache, { numSms, ...(schedule ? { schedule } : {}) });
  const rep = compareOutputs(got.out, got.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, matrixTol);
  assert.ok(rep.ok, `${what}, ${numSms} SMs${schedule ? ` ${schedule}` : ''}: ${rep.failures[0] ?? rep.message}`);
}

/** Keys `every` apart (and their neighbours) scaled by 2^20 in the cache's bf16 bits: one work item mixes tiles. */
export function someHugeKeys(spec: CaseSpec, seed: number, every: number): DecodeCase {
  const c = makeCase(spec, seed);
  const toF = (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0];
  const tokens = c.kCache.length / (576 * spec.hKv);
  for (let tok = 0; tok < tokens; tok += every) {
    for (let i = tok * 576 * spec.hKv; i < (tok + 1) * 576 * spec.hKv; i++) c.kCache[i] = f32ToBf16(toF(c.kCache[i]) * 2 ** 20);
  }
  c.softmaxScale = 1 / (Math.sqrt(576) * 2 ** 20);
  c.explicitScale = true;
  return c;
}

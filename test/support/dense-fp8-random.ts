// Random dense (page-table) decode cases over an FP8 cache, for every backend: V3.2 and MODEL1 bytes, bf16 or f16
// queries, any hQ, causal or not, seqlens 0 / 1 / 63 / 64 / 65 / long, page sizes 64 and smaller, shuffled block
// tables with junk past each row's pages, spare pages. Every token no sequence reads is NaN before quantization
// (NaN bytes and scales), outputs are poisoned first; the reference is the float64 dense decode of the dequantized
// cache. Seeded; a failure names its seed and spec.
import assert from 'node:assert/strict';
import { type HalfDType, bf16ToF32, f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/core/api.js';
import { type Fp8Format, dequantizeToken, fp8Layouts, fp8TokenAddress, quantizeCache } from '../../src/core/fp8.js';
import type { Backend } from '../../src/core/problem.js';
import { referenceDecode } from '../../src/core/reference.js';
import { referenceSparseDecode } from '../../src/core/reference-sparse.js';
import { denseStepIndices } from '../../src/core/dense-fp8.js';
import { fp8CacheTensor, uploadFp8Cache } from '../../src/core/sparse.js';
import { type Tensor, fromArray } from '../../src/core/tensor.js';
import { type Tolerance, compareOutputs } from './compare.js';
import { Rng, scaleQueryRows } from './random.js';

export interface DenseFp8Spec {
  format: Fp8Format; dtype: HalfDType; b: number; sQ: number; hQ: number; pageBlockSize: number; causal: boolean;
  seqlens: number[]; numSms: number; scale?: number;
}

export function denseFp8Spec(rng: Rng, small = false): DenseFp8Spec {
  const b = rng.int(1, small ? 2 : 4);
  return {
    format: rng.pick(['v32', 'model1'] as const), dtype: rng.float() < 0.8 ? 'bf16' : 'f16', b, sQ: rng.int(1, small ? 2 : 3),
    hQ: rng.pick(small ? [1, 2, 3, 5, 16] : [1, 3, 5, 16, 17, 32, 64, 128]), pageBlockSize: rng.pick(small ? [64, 16, 2] : [64, 64, 64, 16, 1]),
    causal: rng.float() < 0.7,
    seqlens: Array.from({ length: b }, () => rng.pick([0, 1, 63, 64, 65, rng.int(1, small ? 200 : 1500)])),
    numSms: rng.pick([1, 3, 8, 40, 132]), scale: rng.float() < 0.5 ? undefined : 0.05 + rng.float() * 0.1,
  };
}

/**
 * The shapes CUDA's Hopper dense FP8 kernel takes (dense_fp8_sm90.cu): V3.2 cache, bf16 queries, 64-token pages,
 * sQ * hQ <= 32 (odd hQ too), causal sQ 1..4, seqlens 0 / 1 / 63 / 64 / 65 / 128 / long (several split items).
 */
export function denseFp8Sm90Spec(rng: Rng): DenseFp8Spec {
  const b = rng.int(1, 4);
  const hQ = rng.pick([1, 3, 5, 7, 16, 17, 31, 32]);
  const sQ = Math.min(rng.int(1, 4), Math.floor(32 / hQ));
  return {
    format: 'v32', dtype: 'bf16', b, sQ, hQ, pageBlockSize: 64, causal: rng.float() < 0.7,
    seqlens: Array.from({ length: b }, () => rng.pick([0, 1, 63, 64, 65, 128, rng.int(1, 1500), rng.int(1500, 5000)])),
    numSms: rng.pick([1, 3, 8, 40, 132]), scale: rng.float() < 0.5 ? undefined : 0.05 + rng.float() * 0.1,
  };
}

/**
 * The shapes CUDA runs on its Hopper sparse kernel as dense steps (sparse.ts denseOnSparse): either format, bf16
 * queries, 64 or 128 heads, causal sQ 1..3, page sizes 64 / 48 / 16 / 1 / 256, seqlens 0 / 1 / 63 / 64 / 65 / up to 3000 (several
 * split items and uneven lengths), host lengths.
 */
export function denseFp8WideSpec(rng: Rng): DenseFp8Spec {
  const b = rng.int(1, 3);
  return {
    format: rng.pick(['v32', 'model1'] as const), dtype: 'bf16', b, sQ: rng.int(1, 3), hQ: rng.pick([64, 128]),
    pageBlockSize: rng.pick([64, 48, 16, 1, 256]), causal: rng.float() < 0.7,
    seqlens: Array.from({ length: b }, () => rng.pick([0, 1, 63, 64, 65, rng.int(1, 1500), rng.int(1500, 3000)])),
    numSms: rng.pick([1, 3, 8, 40, 132]), scale: rng.float() < 0.5 ? undefined : 0.05 + rng.float() * 0.1,
  };
}

/**
 * The shapes CUDA runs folded on its Hopper sparse kernel (sparse.ts denseOnSparse with denseFoldTakes): either format,
 * bf16 queries, hQ no multiple of 64 with sQ * hQ one (32 x 2, 16 x 4, 32 x 4, 8 x 8), causal or not, page sizes 64 / 100 /
 * 16 / 1 / 256, seqlens 0 / 1 / 2 / 3 / sQ - 1 (rows with no shared key) / 63 / 64 / 65 / up to 3000.
 */
export function denseFp8FoldSpec(rng: Rng): DenseFp8Spec {
  const b = rng.int(1, 3);
  const [hQ, sQ] = rng.pick([[32, 2], [16, 4], [32, 4], [8, 8]] as const);
  return {
    format: rng.pick(['v32', 'model1'] as const), dtype: 'bf16', b, sQ, hQ,
    pageBlockSize: rng.pick([64, 100, 16, 1, 256]), causal: rng.float() < 0.7,
    seqlens: Array.from({ length: b }, () => rng.pick([0, 1, 2, 3, sQ - 1, 63, 64, 65, rng.int(1, 1500), rng.int(1500, 3000)])),
    numSms: rng.pick([1, 3, 8, 40, 132]), scale: rng.float() < 0.5 ? undefined : 0.05 + rng.float() * 0.1,
  };
}

/**
 * Dense FP8 shapes whose rows make no whole 64-head tile and that dense_fp8_sm90.cu does not take: V3.2 above 32 rows
 * (16 x 3, 24 x 2, 40 x 1, 5 x 7, 48 x 1), MODEL1 at any row count up to 48 (16 x 1, 32 x 1, 16 x 3, 8 x 2, 48 x 1,
 * 40 x 1, 24 x 2). On an sm_90 device they run sparse_sm90.cu with a part-empty head tile (sparse_mma.cu under
 * FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0).
 */
export function denseFp8PartialSpec(rng: Rng): DenseFp8Spec {
  const b = rng.int(1, 3);
  const format = rng.pick(['v32', 'model1'] as const);
  const [hQ, sQ] = format === 'v32' ? rng.pick([[16, 3], [24, 2], [40, 1], [5, 7], [48, 1]] as const) : rng.pick([[16, 1], [32, 1], [16, 3], [8, 2], [48, 1], [40, 1], [24, 2]] as const);
  return {
    format, dtype: 'bf16', b, sQ, hQ, pageBlockSize: rng.pick([64, 64, 16, 1, 256]), causal: rng.float() < 0.7,
    seqlens: Array.from({ length: b }, () => rng.pick([0, 1, 2, sQ - 1, 63, 64, 65, rng.int(1, 1500), rng.int(1500, 3000)])),
    numSms: rng.pick([1, 3, 8, 40, 132]), scale: rng.float() < 0.5 ? undefined : 0.05 + rng.float() * 0.1,
  };
}

/** Query rows' magnitudes of the `bigQ` cases (times the usual clamped normal values): tiny, usual, and past f16's range
    (2^15 and up: dense_fp8_sm90.cu's f16 score path rescales such an item's Q). */
export const denseFp8QScales = [2 ** -20, 2 ** -12, 1, 2 ** 8, 2 ** 13, 2 ** 14, 2 ** 16, 2 ** 17];
/** The same for f16 queries, whose range ends at 65504 (|q| <= 2 before the factor): tiny (f16 subnormals at 2^-20),
    usual, large. */
export const denseFp8QScalesF16 = [2 ** -20, 2 ** -12, 1, 2 ** 8, 2 ** 13, 2 ** 14];

/**
 * Run one random dense FP8 case on `backend` against the float64 reference (throws with the seed on failure);
 * `sm90`: a shape dense_fp8_sm90.cu takes (denseFp8Sm90Spec), 'wide' one of denseFp8WideSpec, 'fold' one of denseFp8FoldSpec, 'partial' one of denseFp8PartialSpec; `indexOnDevice`: the block
 * table and the lengths uploaded to a GPU backend (the kernels then plan the step on the device); `bigQ`: each query row (b, sQ, hQ) then gets a factor
 * from denseFp8QScales (drawn after everything else, so the other cases of a seed stay as they were); `override`:
 * fields of the drawn spec replaced (b with seqlens); `got`: handed the outputs as downloaded (to compare two paths' bits).
 */
export async function runRandomDenseFp8(seed: number, backend: Backend, tol: Tolerance, small = false, sm90: boolean | 'wide' | 'fold' | 'partial' = false, bigQ = false, indexOnDevice = false,
  override: Partial<DenseFp8Spec> = {}, got?: (out: Uint16Array, lse: Float32Array) => void): Promise<void> {
  const rng = new Rng(seed);
  const s = { ...(sm90 === 'wide' ? denseFp8WideSpec(rng) : sm90 === 'fold' ? denseFp8FoldSpec(rng) : sm90 === 'partial' ? denseFp8PartialSpec(rng) : sm90 ? denseFp8Sm90Spec(rng) : denseFp8Spec(rng, small)), ...override };
  if (s.seqlens.length !== s.b) throw new Error(`override: ${s.seqlens.length} seqlens for b = ${s.b}`);
  const L = fp8Layouts[s.format], B = s.pageBlockSize, dQk = L.dQk;
  const pagesOf = s.seqlens.map((n) => Math.ceil(n / B));
  const maxBlocks = Math.max(1, ...pagesOf) + rng.int(0, 1);
  const numBlocks = pagesOf.reduce((x, y) => x + y, 0) + rng.int(1, 3);
  const perm = rng.shuffle(Array.from({ length: numBlocks }, (_, i) => i));
  // Junk past each row's pages: validation reads only the pages a sequence needs, and so must the kernels.
  const table = Int32Array.from({ length: s.b * maxBlocks }, () => rng.pick([-1, 1 << 30, numBlocks]));
  const used = new Uint8Array(numBlocks * B);
  for (let i = 0, next = 0; i < s.b; i++) {
    for (let p = 0; p < pagesOf[i]; p++) table[i * maxBlocks + p] = perm[next++];
    for (let t = 0; t < s.seqlens[i]; t++) used[table[i * maxBlocks + Math.floor(t / B)] * B + (t % B)] = 1;
  }
  const vals = new Uint16Array(numBlocks * B * dQk);
  for (let t = 0; t < numBlocks * B; t++) {
    const big = rng.float() < 0.05 ? 2 ** rng.int(-6, 6) : 1; // some tokens far from the others: per-tile scales matter
    for (let d = 0; d < dQk; d++) vals[t * dQk + d] = used[t] ? f32ToBf16(rng.normal() * 0.2 * big * (d % 97 === 0 ? 4 : 1)) : 0x7fc0;
  }
  const bytes = quantizeCache(s.format, vals, B, numBlocks);
  // Hopper shapes: some live tokens get a scale that is no power of two, or one whose 2^120 multiple overflows bf16
  // (then that group's bytes are made subnormal, so its values stay moderate): dense_fp8_sm90.cu's exact path. The
  // reference dequantizes whatever is stored.
  if (sm90 && s.format === 'v32' && rng.float() < 0.4) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let t = 0; t < numBlocks * B; t++) {
      if (!used[t] || rng.float() >= 0.05) continue;
      const a = fp8TokenAddress('v32', B, Math.floor(t / B), t % B), j = rng.int(0, 3), at = a.scales + 4 * j;
      const f = rng.pick([1.37, 0.75, 2 ** 18]);
      view.setFloat32(at, view.getFloat32(at, true) * f, true);
      if (f > 2) for (let d = 128 * j; d < 128 * j + 128; d++) bytes[a.nope + d] &= 0x87;
    }
  }
  const deq = new Uint16Array(numBlocks * B * dQk).fill(s.dtype === 'bf16' ? 0x7fc0 : 0x7e00), tok = new Float32Array(dQk);
  const enc = s.dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  for (let t = 0; t < numBlocks * B; t++) {
    if (!used[t]) continue;
    dequantizeToken(s.format, bytes, B, Math.floor(t / B), t % B, tok);
    for (let d = 0; d < dQk; d++) deq[t * dQk + d] = enc(bf16ToF32(f32ToBf16(tok[d])));
  }
  const q = Uint16Array.from({ length: s.b * s.sQ * s.hQ * dQk }, () => enc(Math.max(-2, Math.min(2, rng.normal()))));
  if (bigQ) scaleQueryRows(q, s.dtype, dQk, () => rng.pick(s.dtype === 'f16' ? denseFp8QScalesF16 : denseFp8QScales));
  const seqlens = Int32Array.from(s.seqlens);
  const md = getMlaMetadata(seqlens, s.sQ * s.hQ, 1, { numSms: s.numSms });
  const nan = s.dtype === 'bf16' ? 0x7fc0 : 0x7e00;
  const up = (t: Tensor) => (backend.kind === 'cpu' ? t : t.dtype === 'fp8_e4m3' ? uploadFp8Cache(backend, t) : backend.upload(t as Tensor<Uint16Array>));
  const owned = [
    up(fromArray(s.dtype, [s.b, s.sQ, s.hQ, dQk], q)), up(fp8CacheTensor(s.format, numBlocks, B, bytes)),
    up(fromArray(s.dtype, [s.b, s.sQ, s.hQ, 512], new Uint16Array(s.b * s.sQ * s.hQ * 512).fill(nan))),
    up(fromArray('f32', [s.b, s.hQ, s.sQ], new Float32Array(s.b * s.hQ * s.sQ).fill(NaN))),
  ];
  const [qD, kD, out, lse] = owned;
  const idx = [fromArray('i32', [s.b, maxBlocks], table), fromArray('i32', [s.b], seqlens)].map((t) => (indexOnDevice && backend.kind !== 'cpu' ? backend.upload(t) : t));
  if (indexOnDevice && backend.kind !== 'cpu') owned.push(...idx);
  await flashMlaWithKvcache(qD, kD, idx[0], idx[1], 512,
    md.tileSchedulerMetadata, md.numSplits, { backend, causal: s.causal, softmaxScale: s.scale, out, lse });
  await backend.synchronize();
  const o = (await backend.download(out)).host() as Uint16Array, l = (await backend.download(lse)).host() as Float32Array;
  if (indexOnDevice && backend.kind !== 'cpu') { // the call reads the index tensors and must leave them as they were
    const [t2, s2] = [(await backend.download(idx[0])).host() as Int32Array, (await backend.download(idx[1])).host() as Int32Array];
    assert.ok(t2.every((x, i) => x === table[i]) && s2.every((x, i) => x === seqlens[i]), `dense FP8 seed ${seed}: the device block table or lengths changed`);
  }
  if (backend.kind !== 'cpu') for (const t of owned) backend.free(t);
  got?.(o, l);
  // The CPU kernels dequantize exactly (e4m3 x any f32 scale), so they are held to the sparse reference over the
  // bytes themselves; the GPU kernels to the dense reference over the tokens rounded to bf16 (they agree wherever
  // the scales are powers of two: only the odd scales of the sm90 cases differ).
  const ref = backend.kind === 'cpu'
    ? referenceSparseDecode({
      q, dtype: s.dtype, b: s.b, sQ: s.sQ, hQ: s.hQ, dQk, softmaxScale: s.scale, cache: { kind: s.format, data: bytes, pageBlockSize: B },
      ...(({ indices, topk }) => ({ indices, topk }))(denseStepIndices(table, maxBlocks, seqlens, s.sQ, B, s.causal)),
    })
    : referenceDecode({
      q, kCache: deq, blockTable: table, cacheSeqlens: seqlens, dtype: s.dtype, b: s.b, sQ: s.sQ, hQ: s.hQ, hKv: 1,
      pageBlockSize: B, maxBlocksPerSeq: maxBlocks, dQk, causal: s.causal, softmaxScale: s.scale,
    });
  // (bigQ: lse reaches ~10^7, where f32 itself is ~1 apart; 2^-16 of it covers the f32 accumulation of the scores)
  const rep = compareOutputs(o, l, ref, s.dtype, { b: s.b, sQ: s.sQ, hQ: s.hQ }, bigQ ? { ...tol, lseRel: 2 ** -16 } : tol);
  assert.ok(rep.ok, `dense FP8 seed ${seed} ${JSON.stringify(s)}:\n${rep.message}`);
}

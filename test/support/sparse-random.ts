// Random token-sparse decode cases for every backend: FP8 (V3.2, MODEL1) and bf16/f16 caches whose unreferenced
// tokens are NaN, -1 entries, all-invalid rows, topkLength, sinks with +-inf, extra caches, any hQ, and
// schedules with many splits. Seeded; a failure names its seed and spec.
import assert from 'node:assert/strict';
import { type HalfDType, f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { fp8TokenAddress, isFp8Format, quantizeCache } from '../../src/core/fp8.js';
import type { Backend } from '../../src/core/problem.js';
import { type ReferenceSparseCache, referenceSparseDecode } from '../../src/core/reference-sparse.js';
import { type SparseCacheKind, type SparsePrecision, fp8CacheTensor, freeSparseMlaMetadata, getSparseMlaMetadata, uploadFp8Cache } from '../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../src/core/sparse-api.js';
import { Tensor, fromArray } from '../../src/core/tensor.js';
import { type Tolerance, compareOutputs } from './compare.js';
import { Rng, nanBits, scaleQueryRows } from './random.js';



export interface RandomSpec {
  kind: SparseCacheKind; dtype: HalfDType; b: number; sQ: number; hQ: number; topk: number; pageBlockSize: number;
  topkLength: boolean; sink: boolean; extra: boolean; numSms: number;
}

interface Scope { kind: SparseCacheKind; data: Uint8Array | Uint16Array; tensor: Tensor; indices: Int32Array; len?: Int32Array; topk: number; B: number; oddScales?: boolean }

/** A cache whose unreferenced tokens are NaN (FP8: quantized NaN bytes and scales), and indices into it. */
function makeScope(rng: Rng, s: RandomSpec, dQk: number, topk: number, B: number, withLen: boolean): Scope {
  const seqTokens = rng.int(1, 3 * topk);
  const numBlocks = s.b * Math.ceil(seqTokens / B) + rng.int(0, 2);
  const perm = rng.shuffle(Array.from({ length: numBlocks * B }, (_, i) => i));
  const indices = new Int32Array(s.b * s.sQ * topk).fill(-1);
  const len = withLen ? Int32Array.from({ length: s.b }, () => rng.pick([0, topk, rng.int(0, topk)])) : undefined;
  const used = new Set<number>();
  for (let i = 0; i < s.b; i++) {
    const pool = perm.slice(i * seqTokens % perm.length).concat(perm).slice(0, seqTokens);
    for (let j = 0; j < s.sQ; j++) {
      const row = rng.float() < 0.1 ? 0 : rng.float() < 0.2 ? rng.int(0, topk) : topk; // some rows all -1
      const picks = rng.shuffle(pool.slice()).slice(0, row);
      for (let t = 0; t < picks.length; t++) {
        if (rng.float() < 0.1) continue;
        indices[(i * s.sQ + j) * topk + t] = picks[t];
        if (!len || t < len[i]) used.add(picks[t]);
      }
      // Positions past topkLength point at tokens nobody else uses: they stay NaN.
    }
  }
  const enc = s.dtype === 'bf16' || isFp8Format(s.kind) ? f32ToBf16 : f32ToF16; // (FP8 caches quantize bf16 values)
  const vals = new Uint16Array(numBlocks * B * dQk);
  for (let t = 0; t < numBlocks * B; t++) {
    for (let d = 0; d < dQk; d++) vals[t * dQk + d] = used.has(t) ? enc(rng.normal() * (d % 97 === 0 ? 2 : 0.1)) : nanBits.bf16;
  }
  let data: Uint8Array | Uint16Array, tensor: Tensor, oddScales = false;
  if (isFp8Format(s.kind)) {
    data = quantizeCache(s.kind, vals, B, numBlocks);
    // A third of the V3.2 caches get f32 scales that are not powers of two (FlashMLA's quantizer never writes them,
    // but the format allows any f32). The CPU and WebGPU backends scale exactly; CUDA's tensor-core kernels (bf16 and,
    // since session 51, f16 queries) hold keys and values as bf16(e4m3 * scale), exact only for powers of two, so there
    // these caches are compared with the reference's bf16 dequantization. Drawn from a generator of their own, so that
    // every other draw of a seed stays what it was.
    const odd = new Rng(numBlocks * 7919 + topk * 31 + seqTokens);
    if (s.kind === 'v32' && odd.float() < 1 / 3) {
      oddScales = true;
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (const t of used) {
        const a = fp8TokenAddress('v32', B, Math.floor(t / B), t % B);
        for (let j = 0; j < 4; j++) view.setFloat32(a.scales + 4 * j, view.getFloat32(a.scales + 4 * j, true) * (1 + odd.float() * 0.98), true);
      }
    }
    tensor = fp8CacheTensor(s.kind, numBlocks, B, data);
  } else {
    if (s.kind === 'f16') for (let i = 0; i < vals.length; i++) if (vals[i] === nanBits.bf16) vals[i] = nanBits.f16;
    data = vals;
    tensor = fromArray(s.kind, [numBlocks, B, 1, dQk], vals);
  }
  return { kind: s.kind, data, tensor, indices, len, topk, B, oddScales };
}

export function randomSpec(rng: Rng, kinds: readonly SparseCacheKind[] = ['v32', 'model1', 'v32', 'model1', 'bf16', 'f16'], small = false): RandomSpec {
  const kind = rng.pick(kinds);
  return {
    kind, dtype: kind === 'f16' ? 'f16' : 'bf16', b: rng.int(1, small ? 2 : 3), sQ: rng.int(1, small ? 2 : 3), hQ: rng.pick(small ? [1, 2, 3, 5] : [1, 2, 3, 5, 8, 16, 17]),
    topk: rng.pick([1, 7, 64, 100, 129]), pageBlockSize: rng.pick([1, 2, 16, 64]), topkLength: rng.float() < 0.4,
    sink: rng.float() < 0.4, extra: rng.float() < 0.4, numSms: rng.pick([1, 3, 8, 40, 132]),
  };
}

/** Run one random case on `backend` and compare with the float64 reference (throws with the seed on failure).
    softmaxScale, if given, replaces the case's own (default or dQk^-0.55): large ones spread the scores far apart.
    bigSinks: every case has sinks, two heads in three of them 60..200 above a row's lse (whose scores are small at the
    default scales), so the sink's factor 1 / (1 + e^(sink - lse)) runs from e^-60 through the subnormal range to 0.
    precision: passed to the call (its default, 'fast', when absent); the tolerance should match it.
    outputs: handed the case's out (its view's elements) and lse as downloaded, before the comparison (bit-for-bit runs).
    fp8Dtype: the queries' dtype where the cache is FP8 (bf16 when absent). qScale: a factor for each query row, drawn
    right after q (only where given, so that the other cases of a seed stay as they were). */
export async function runRandomSparse(seed: number, backend: Backend, tol: Tolerance, kinds?: readonly SparseCacheKind[], small = false, pickHQ?: (rng: Rng) => number,
  { softmaxScale, bigSinks = false, precision, outOffset = 0, outputs, deviceIndices = false, strays = false, fp8Dtype, qScale, devicePlan = false, pageSizes, b, numSms }: {
    softmaxScale?: number; bigSinks?: boolean; precision?: SparsePrecision; outOffset?: number; outputs?: (out: Uint16Array, lse: Float32Array) => void;
    deviceIndices?: boolean; fp8Dtype?: HalfDType; qScale?: (rng: Rng) => number;
    /** The metadata planned on the device by the call (getSparseMlaMetadata's onDevice, on `backend`); after the call
        its tensors must hold the host scheduler's plan for the case's lengths. */
    devicePlan?: boolean;
    /** (with deviceIndices) about half the -1 entries of both index tensors become ids outside their cache (past its last
        token, negative, 2^31 - 1, -2^31): the backend must count them as -1, as the reference does. */
    strays?: boolean;
    /** Page block sizes to draw both caches' from (drawn after the spec, so other cases of a seed are unchanged):
        e.g. sizes that are not powers of two, whose page index a kernel forms by a multiply-high (pageBlockDivisor). */
    pageSizes?: readonly number[];
    /** The batch and the scheduler's SM count instead of the drawn ones (e.g. many requests in one SM part: a kernel's
        item boundaries, request after request). */
    b?: number; numSms?: number;
  } = {}): Promise<void> {
  const rng = new Rng(seed);
  const s = randomSpec(rng, kinds, small);
  if (b !== undefined) s.b = b;
  if (numSms !== undefined) s.numSms = numSms;
  if (fp8Dtype && isFp8Format(s.kind)) s.dtype = fp8Dtype; // the queries' dtype over an FP8 cache (bf16 unless given)
  if (bigSinks) s.sink = true;
  if (pickHQ) s.hQ = pickHQ(rng); // e.g. FlashMLA's 64 / 128 heads: the GPU kernels' full row tiles
  const extraPage = pageSizes ? rng.pick(pageSizes) : undefined;
  if (pageSizes) s.pageBlockSize = rng.pick(pageSizes);
  const dQk = s.kind === 'model1' ? 512 : s.kind === 'v32' ? 576 : rng.pick([512, 576]);
  const main = makeScope(rng, s, dQk, s.topk, s.pageBlockSize, s.topkLength);
  const extra = s.extra ? makeScope(rng, s, dQk, rng.pick([2, 64, 70]), extraPage ?? rng.pick([2, 64]), rng.float() < 0.5) : undefined;
  const enc = s.dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  const q = Uint16Array.from({ length: s.b * s.sQ * s.hQ * dQk }, () => enc(Math.max(-1, Math.min(1, rng.normal()))));
  if (qScale) scaleQueryRows(q, s.dtype, dQk, () => qScale(rng));
  const usual = () => rng.pick([Infinity, -Infinity, rng.normal(), rng.normal() * 5]);
  // (bigSinks: every third head keeps a usual sink, so that the case's cosine is not all bf16 subnormals)
  const big = () => rng.pick([rng.normal() * 5, 70, 79.5, 80.5, 84, 88, 92, 96, 100, 105, 110, 130, 200]);
  const sink = s.sink ? Float32Array.from({ length: s.hQ }, (_, h) => (bigSinks && h % 3 !== 0 ? big() : usual())) : undefined;
  const scale0 = rng.float() < 0.5 ? undefined : dQk ** -0.55;
  const scale = softmaxScale ?? scale0;
  const meta = getSparseMlaMetadata({
    b: s.b, sQ: s.sQ, hQ: s.hQ, topk: s.topk, topkLength: main.len, extraTopk: extra?.topk ?? 0, extraTopkLength: extra?.len, numSms: s.numSms,
    ...(devicePlan ? { onDevice: true, backend } : {}),
  });
  // outOffset: `out` is a view that many elements into a NaN-filled buffer with as many spare elements after it (a view
  // whose address is not a multiple of 16 bytes must be refused; the bytes around an aligned one must stay NaN).
  const nOut = s.b * s.sQ * s.hQ * 512;
  const outH = fromArray(s.dtype, [nOut + 2 * outOffset], new Uint16Array(nOut + 2 * outOffset).fill(nanBits[s.dtype]));
  const lseH = fromArray('f32', [s.b, s.hQ, s.sQ], new Float32Array(s.b * s.hQ * s.sQ).fill(NaN));
  const dev = (t: Tensor) => (t.dtype === 'fp8_e4m3' ? uploadFp8Cache(backend, t) : backend.upload(t as Tensor<Uint16Array>));
  const owned = [dev(fromArray(s.dtype, [s.b, s.sQ, s.hQ, dQk], q)), dev(main.tensor), extra && dev(extra.tensor), backend.upload(outH), backend.upload(lseH)];
  const [qD, kD, xD, outBuf, lse] = owned;
  const out = new Tensor(s.dtype, [s.b, s.sQ, s.hQ, 512], outBuf!.data, outOffset);
  // deviceIndices: the index tensors (indices, lengths, sinks) on the backend's device, so that nothing of them is known
  // on the host when the call is recorded (the WebGPU gathered path then plans for whole lists).
  const ix = <T extends Tensor>(t: T): Tensor => (deviceIndices ? (owned.push(backend.upload(t as Tensor<Int32Array>)), owned[owned.length - 1]!) : t);
  if (strays && !deviceIndices) throw new Error('runRandomSparse: strays needs deviceIndices (host indices outside the cache are refused)');
  const strayRng = new Rng(seed * 31 + 17); // (its own generator: every other draw of a seed stays what it was)
  const sent = (sc: Scope) => (strays ? withStrays(strayRng, sc.indices, sc.tensor.shape[0] * sc.B) : sc.indices);
  await flashMlaSparseWithKvcache(qD!, kD!, ix(fromArray('i32', [s.b, s.sQ, s.topk], sent(main))), 512, meta, {
    softmaxScale: scale, topkLength: main.len && ix(fromArray('i32', [s.b], main.len)), attnSink: sink && ix(fromArray('f32', [s.hQ], sink)),
    extraKCache: xD, extraIndices: extra && ix(fromArray('i32', [s.b, s.sQ, extra.topk], sent(extra))),
    extraTopkLength: extra?.len && ix(fromArray('i32', [s.b], extra.len)), backend, out, lse, precision,
  });
  await backend.synchronize();
  if (devicePlan) {
    const want = getSparseMlaMetadata({
      b: s.b, sQ: s.sQ, hQ: s.hQ, topk: s.topk, topkLength: main.len, extraTopk: extra?.topk ?? 0, extraTopkLength: extra?.len, numSms: s.numSms,
    });
    for (const f of ['tileSchedulerMetadata', 'numSplits'] as const) {
      const got = (await backend.download(meta[f])).host() as Int32Array, exp = want[f].host();
      for (let i = 0; i < exp.length; i++) {
        if (f === 'tileSchedulerMetadata' && i % 8 === 7) continue; // (padding)
        if (got[i] !== exp[i]) assert.fail(`seed ${seed} ${JSON.stringify(s)}: the device plan's ${f}[${i}] is ${got[i]}, the host's ${exp[i]}`);
      }
    }
    freeSparseMlaMetadata(meta, backend);
  }
  const outAll = (await backend.download(outBuf!)).host() as Uint16Array;
  for (let i = 0; i < outAll.length; i++) {
    if ((i < outOffset || i >= outOffset + nOut) && outAll[i] !== nanBits[s.dtype]) assert.fail(`seed ${seed}: out's buffer element ${i} (view at ${outOffset}) was written`);
  }
  const outHost = outAll.subarray(outOffset, outOffset + nOut), lseHost = (await backend.download(lse!)).host() as Float32Array;
  if (backend.kind !== 'cpu') for (const t of owned) if (t) backend.free(t);
  outputs?.(outHost, lseHost);
  // Kernels that hold FP8 keys and values as bf16(e4m3 * scale) (exact only for power-of-two scales): CUDA's tensor-core
  // kernels for bf16 queries, and the WebGPU gathered path (kernels/sparse-gather.ts) where the backend takes it.
  const gathers = (backend as { sparseGathers?: (p: object) => boolean }).sparseGathers?.({
    precision: precision ?? 'fast', dtype: s.dtype, cache: { kind: s.kind }, hQ: s.hQ, dQk,
  }) ?? false;
  const cacheOf = (sc: Scope): ReferenceSparseCache => ({
    kind: sc.kind, data: sc.data, pageBlockSize: sc.B, dequant: sc.oddScales && (backend.kind === 'cuda' || gathers) ? 'bf16' : 'exact',
  });
  const ref = referenceSparseDecode({
    q, dtype: s.dtype, b: s.b, sQ: s.sQ, hQ: s.hQ, dQk, softmaxScale: scale, cache: cacheOf(main), indices: main.indices, topk: s.topk,
    topkLength: main.len, attnSink: sink, extraCache: extra && cacheOf(extra), extraIndices: extra?.indices, extraTopk: extra?.topk,
    extraTopkLength: extra?.len,
  });
  // (qScale: lse reaches ~10^4 and more, where f32 itself is ~10^-3 apart; 2^-16 of it covers the f32 score sums)
  const rep = compareOutputs(outHost, lseHost, ref, s.dtype, { b: s.b, sQ: s.sQ, hQ: s.hQ }, qScale ? { ...tol, lseRel: 2 ** -16 } : tol);
  assert.ok(rep.ok, `seed ${seed} ${JSON.stringify(s)} dQk ${dQk}${precision ? ` precision ${precision}` : ''}:\n${rep.message}`);
}


/**
 * Session 55's NaN corner (the GPU fuzz, seed 31 case 245), bf16 values (a caller quantizes them for an FP8 cache):
 * b = 1, sQ = 2, hQ heads; a main cache of 40 one-token blocks whose token 7 is NaN, top-k 1 (query 0 reads token 7,
 * query 1 token 28), and an extra cache of one 2-token block with top-k 4 and length 1 (query 0's one entry is -1).
 * FlashMLA's plan over 132 parts splits the request into its main and its extra tile, so query 0 has a NaN piece and a
 * piece without a key: its rows must be NaN, query 1's finite.
 */
export function nanPieceCase(rng: Rng, hQ: number) {
  const dQk = 576, tokens = 40;
  const vals = Uint16Array.from({ length: tokens * dQk }, (_, i) => (Math.floor(i / dQk) === 7 ? nanBits.bf16 : f32ToBf16(rng.normal() * 0.3)));
  const xVals = Uint16Array.from({ length: 2 * dQk }, () => f32ToBf16(rng.normal() * 0.3));
  const q = Uint16Array.from({ length: 2 * hQ * dQk }, () => f32ToBf16(Math.max(-1, Math.min(1, rng.normal()))));
  const topkLength = Int32Array.of(1), extraTopkLength = Int32Array.of(1);
  const meta = getSparseMlaMetadata({ b: 1, sQ: 2, hQ, topk: 1, topkLength, extraTopk: 4, extraTopkLength, numSms: 132 });
  assert.equal((meta.numSplits.host() as Int32Array)[1], 2, 'the plan splits the request into its main and its extra tile');
  return { tokens, vals, xVals, q, indices: Int32Array.of(7, 28), extraIndices: Int32Array.of(-1, 1, 1, 1, 1, 1, 0, 0), topkLength, extraTopkLength, meta };
}

/** A copy of `indices` with about half its -1 entries replaced by ids that are not tokens of a cache of `tokens`. */
export function withStrays(rng: Rng, indices: Int32Array, tokens: number): Int32Array {
  const out = indices.slice();
  const stray = () => rng.pick([tokens, tokens + 1, tokens + rng.int(2, 5000), 0x7fffffff, -2, -rng.int(3, 100000), -0x80000000]);
  for (let i = 0; i < out.length; i++) if (out[i] === -1 && rng.float() < 0.5) out[i] = stray();
  return out;
}

/**
 * Every e4m3 bit pattern through a backend's sparse kernel: one token whose NoPE bytes are 0..255 (NaN patterns
 * replaced by 0), attended alone, so out = V = e4m3(byte) * scale exactly (bf16 holds every such value). MODEL1
 * tiles get scales 2^-20 .. 2^4 (UE8M0 bytes 107 .. 131), V3.2 tiles f32 scales 2^-9 .. 2^3. Returns mismatches.
 */
export async function e4m3PatternsThrough(backend: Backend, format: 'v32' | 'model1', hQ = 1): Promise<string[]> {
  const { fp8Layouts: Ls, fp8TokenAddress: addr, ue8m0ToF32: ue } = await import('../../src/core/fp8.js');
  const { fp8e4m3ToF32, bf16ToF32: b2f } = await import('../../src/core/dtype.js');
  const L = Ls[format], B = 2;
  const bytes = new Uint8Array(fp8CacheTensor(format, 1, B).numel + 2048);
  const a = addr(format, B, 0, 1);
  for (let d = 0; d < L.nope; d++) { const v = d & 0xff; bytes[a.nope + d] = (v & 0x7f) === 0x7f ? 0 : v; }
  const scales: number[] = [];
  for (let j = 0; j < L.nope / L.tile; j++) {
    if (format === 'v32') { scales.push(2 ** (-9 + 4 * j)); new DataView(bytes.buffer).setFloat32(a.scales + 4 * j, scales[j], true); }
    else { bytes[a.scales + j] = 107 + 4 * j; scales.push(ue(107 + 4 * j)); }
  }
  for (let d = 0; d < L.rope; d++) { const h = f32ToBf16(d / 64 - 0.5); bytes[a.rope + 2 * d] = h & 0xff; bytes[a.rope + 2 * d + 1] = h >>> 8; }
  const k = fp8CacheTensor(format, 1, B, bytes);
  // hQ heads of zero queries (64 / 128: the Hopper kernel's head tiles): every head's output is the one live token's V.
  const q = fromArray('bf16', [1, 1, hQ, L.dQk], new Uint16Array(hQ * L.dQk));
  const dev = [backend.upload(q), uploadFp8Cache(backend, k), backend.upload(fromArray('bf16', [1, 1, hQ, 512], new Uint16Array(hQ * 512).fill(0x7fc0))),
    backend.upload(fromArray('f32', [1, hQ, 1], new Float32Array(hQ).fill(NaN)))];
  await flashMlaSparseWithKvcache(dev[0], dev[1], fromArray('i32', [1, 1, 2], Int32Array.of(-1, 1)), 512, undefined, { backend, out: dev[2], lse: dev[3] });
  await backend.synchronize();
  const out = (await backend.download(dev[2])).host() as Uint16Array;
  if (backend.kind !== 'cpu') for (const t of dev) backend.free(t);
  const bad: string[] = [];
  for (let h = 0; h < hQ; h++) for (let d = 0; d < 512; d++) {
    const want = d < L.nope ? fp8e4m3ToF32(bytes[a.nope + d]) * scales[Math.floor(d / L.tile)] : b2f(f32ToBf16((d - L.nope) / 64 - 0.5));
    const got = b2f(out[h * 512 + d]);
    if (got !== want) bad.push(`head ${h} dim ${d} byte 0x${bytes[a.nope + d]?.toString(16)}: got ${got}, expected ${want}`);
  }
  return bad;
}

// The dense decode fuzz (flashMlaWithKvcache over 16-bit caches): random corruptions of its arguments, each call a typed
// FlashMlaError or the float64 reference's output on what it was given. Run by test/unit/fuzz.test.ts (CPU, WebGPU on
// lavapipe) and test/gpu/fuzz.test.ts (CUDA, WebGPU on the GPU host).
import assert from 'node:assert/strict';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/core/api.js';
import { type DType, type HalfDType, bf16ToF32, f16ToF32 } from '../../src/core/dtype.js';
import type { Backend } from '../../src/core/problem.js';
import { referenceDecode } from '../../src/core/reference.js';
import { type HostTensor, Tensor } from '../../src/core/tensor.js';
import { type Arith, arithOf, causalBandKernel, causalBandNaN, differsFromReference, fuzzCases, fuzzSlack, fuzzTolerance, hostile, hostileInts, hostileScale, otherArrays, outcome } from './fuzz.js';
import { Rng, makeCase } from './random.js';

export interface FuzzStats {
  typed: number; ran: number; codes: Record<string, number>;
  /** Accepted calls whose sparse metadata was planned on the device (fuzzSparse on CUDA), where counted. */
  devicePlanned?: number;
}

// ---------------------------------------------------------------- flashMlaWithKvcache with corrupted arguments

/** The arguments of one call, as host arrays the mutators may change (then turned into tensors). */
export interface Args {
  dtype: HalfDType;
  q: { dtype: DType; shape: number[]; data: ArrayBufferView };
  kCache: { dtype: DType; shape: number[]; data: ArrayBufferView };
  blockTable: { dtype: DType; shape: number[]; data: ArrayBufferView };
  cacheSeqlens: { dtype: DType; shape: number[]; data: ArrayBufferView };
  meta: { dtype: DType; shape: number[]; data: ArrayBufferView };
  numSplits: { dtype: DType; shape: number[]; data: ArrayBufferView };
  qIndptr?: { dtype: DType; shape: number[]; data: ArrayBufferView };
  out?: { dtype: DType; shape: number[] };
  lse?: { dtype: DType; shape: number[] };
  headDimV: unknown;
  softmaxScale: unknown;
  causal: unknown;
  numSms: number;
}

type TensorKey = 'q' | 'kCache' | 'blockTable' | 'cacheSeqlens' | 'meta' | 'numSplits' | 'qIndptr';
const tensorKeys: TensorKey[] = ['q', 'kCache', 'blockTable', 'cacheSeqlens', 'meta', 'numSplits', 'qIndptr'];

function baseArgs(rng: Rng, tiny: boolean, numSms: number): Args {
  const hQ = rng.pick(tiny ? [1, 2] : [1, 2, 3, 4]);
  const hKv = hQ % 2 === 0 && rng.float() < 0.3 ? 2 : 1;
  const b = rng.int(1, 2);
  const varlen = rng.float() < 0.2;
  const c = makeCase({
    name: 'fuzz', dtype: rng.pick(['bf16', 'f16'] as const), hQ, hKv, pageBlockSize: rng.pick([16, 64, 5]),
    seqlens: Array.from({ length: b }, () => rng.int(0, tiny ? 30 : 70)), sQ: rng.int(1, 2),
    qLens: varlen ? Array.from({ length: b }, () => rng.int(1, 2)) : undefined, causal: rng.float() < 0.8,
  }, rng.u32());
  const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv, { numSms });
  return {
    dtype: c.dtype,
    q: { dtype: c.dtype, shape: c.qShape, data: c.q },
    kCache: { dtype: c.dtype, shape: [c.numBlocks, c.pageBlockSize, c.hKv, 576], data: c.kCache },
    blockTable: { dtype: 'i32', shape: [c.b, c.maxBlocksPerSeq], data: c.blockTable },
    cacheSeqlens: { dtype: 'i32', shape: [c.b], data: c.cacheSeqlens },
    meta: { dtype: 'i32', shape: [...md.tileSchedulerMetadata.shape], data: md.tileSchedulerMetadata.host() },
    numSplits: { dtype: 'i32', shape: [c.b + 1], data: md.numSplits.host() },
    qIndptr: c.qIndptr && { dtype: 'i32', shape: [c.b + 1], data: c.qIndptr },
    headDimV: 512, softmaxScale: c.explicitScale ? c.softmaxScale : undefined, causal: c.causal, numSms,
  };
}

function i32Of(a: Args, k: TensorKey): Int32Array | undefined {
  const t = a[k];
  return t && t.data instanceof Int32Array ? t.data : undefined;
}

/** Recompute the schedule for the (possibly changed) seqlens, as a caller that plans again would. */
export function replan(a: Args): void {
  const s = i32Of(a, 'cacheSeqlens');
  // Lengths near 2^31 are refused by the call anyway; planning them costs a loop over 2^25 blocks, so skip it.
  if (!s || s.some((x) => x < 0 || x > 2 ** 20)) return;
  const hQ = a.q.shape[a.q.shape.length - 2], hKv = a.kCache.shape[2], sQ = a.qIndptr ? 2 : a.q.shape[1];
  try {
    const md = getMlaMetadata(s, (sQ * hQ) / hKv, hKv, { numSms: a.numSms });
    a.meta = { dtype: 'i32', shape: [...md.tileSchedulerMetadata.shape], data: md.tileSchedulerMetadata.host() };
    a.numSplits = { dtype: 'i32', shape: [...md.numSplits.shape], data: md.numSplits.host() };
  } catch { /* a refused plan keeps the stale metadata: the call must then refuse too */ }
}


/** One random corruption of the arguments; returns what it did (printed on failure). */
function mutate(a: Args, rng: Rng, arith: Arith): string {
  const f32Kernel = arith !== 'f64' && arith !== 'f32';
  const which = rng.int(0, 13);
  const key = () => rng.pick(tensorKeys.filter((k) => a[k]));
  switch (which) {
    case 0: { // a dimension of a tensor
      const k = key(), t = a[k]!, d = rng.int(0, t.shape.length - 1), v = rng.pick([0, 1, t.shape[d] + 1, t.shape[d] - 1, 2 ** 31, 2 ** 53, -1, 2.5]);
      t.shape = t.shape.slice(); t.shape[d] = v;
      return `${k}.shape[${d}] = ${v}`;
    }
    case 1: { // rank
      const k = key(), t = a[k]!;
      t.shape = rng.float() < 0.5 ? [...t.shape, 1] : t.shape.length > 1 ? [t.shape[0] * t.shape[1], ...t.shape.slice(2)] : [];
      return `${k}.shape = [${t.shape}]`;
    }
    case 2: { // dtype (same array) or array type (same dtype)
      const k = key(), t = a[k]!;
      if (rng.float() < 0.5) { t.dtype = rng.pick(['bf16', 'f16', 'f32', 'i32', 'fp8_e4m3', 'f64', 'bf17'] as DType[]); return `${k}.dtype = ${t.dtype}`; }
      const name = rng.pick(Object.keys(otherArrays));
      t.data = otherArrays[name]((t.data as Uint16Array).length);
      return `${k}.data = ${name}`;
    }
    case 3: { // a block id
      if (!i32Of(a, 'blockTable')) return 'blockTable is no longer i32 data';
      const bt = i32Of(a, 'blockTable')!, i = rng.int(0, bt.length - 1), v = rng.pick([...hostileInts, a.kCache.shape[0], a.kCache.shape[0] - 1]);
      bt[i] = v;
      return `blockTable[${i}] = ${v}`;
    }
    case 4: { // a sequence length, with the schedule replanned or stale
      if (!i32Of(a, 'cacheSeqlens')) return 'cacheSeqlens is no longer i32 data';
      const s = i32Of(a, 'cacheSeqlens')!, i = rng.int(0, s.length - 1), cap = a.blockTable.shape[1] * a.kCache.shape[1];
      const v = rng.pick([...hostileInts, s[i] + 1, s[i] - 1, cap, cap + 1, 0]);
      s[i] = v;
      const re = rng.float() < 0.6;
      if (re) replan(a);
      return `cacheSeqlens[${i}] = ${v} (${re ? 'replanned' : 'stale metadata'})`;
    }
    case 5: { // a metadata word
      if (!i32Of(a, 'meta')) return 'metadata is no longer i32 data';
      const m = i32Of(a, 'meta')!, i = rng.int(0, m.length - 1), v = rng.pick([...hostileInts, m[i] + 1, m[i] - 1]);
      m[i] = v;
      return `tileSchedulerMetadata[${i}] = ${v}`;
    }
    case 6: { // a numSplits word
      if (!i32Of(a, 'numSplits')) return 'numSplits is no longer i32 data';
      const n = i32Of(a, 'numSplits')!, i = rng.int(0, n.length - 1), v = rng.pick([...hostileInts, n[i] + 1, n[i] - 1]);
      n[i] = v;
      return `numSplits[${i}] = ${v}`;
    }
    case 7: { // softmax scale: valid and invalid
      a.softmaxScale = hostileScale(rng, arith);
      return `softmaxScale = ${String(a.softmaxScale)}`;
    }
    case 8: a.headDimV = rng.pick([...hostile, 511, 513, 576]); return `headDimV = ${String(a.headDimV)}`;
    case 9: a.causal = rng.pick([true, false, 1, 0, 'yes', null]); return `causal = ${String(a.causal)}`;
    case 10: { // qIndptr: added, removed or corrupted
      const b0 = a.cacheSeqlens.shape[0], b = Number.isSafeInteger(b0) && b0 >= 0 && b0 <= 64 ? b0 : 2; // shape may be mutated already
      if (!a.qIndptr || rng.float() < 0.3) {
        const d = Int32Array.from({ length: b + 1 }, (_, i) => i * rng.int(0, 2));
        a.qIndptr = { dtype: 'i32', shape: [b + 1], data: d };
        return `qIndptr = [${d}]`;
      }
      if (!(a.qIndptr.data instanceof Int32Array) || a.qIndptr.data.length === 0) return 'qIndptr is no longer i32 data';
      const d = a.qIndptr.data, i = rng.int(0, d.length - 1), v = rng.pick([...hostileInts, d[i] + 1, d[i] - 1]);
      d[i] = v;
      return `qIndptr[${i}] = ${v}`;
    }
    case 11: { // NaN / Inf / huge values in q or in a key the call reads
      if (arith === 'gpu') return 'no special values on CUDA';
      // NaN where the kernel keeps it (not WGSL); the largest finite bf16 only where it computes in float64 (the CPU's
      // scalar rung): f32 products of it overflow (as FlashMLA's fp32 accumulation would), which the float64 reference
      // does not model (before session 16 the workers' f32 rung got it too, and other seeds than the default failed).
      const nan = a.dtype === 'bf16' ? 0x7fc0 : 0x7e00;
      const bits = a.dtype === 'bf16' ? [0x7f80, 0xff80, ...(f32Kernel ? [] : [nan]), ...(arith === 'f64' ? [0x7f7f] : [])] : [0x7c00, 0xfc00, 0x7bff, ...(f32Kernel ? [] : [nan])];
      const v = rng.pick(bits);
      if (rng.float() < 0.5) { const q = a.q.data as Uint16Array, i = rng.int(0, q.length - 1); q[i] = v; return `q[${i}] = 0x${v.toString(16)}`; }
      const s = i32Of(a, 'cacheSeqlens'), bt = i32Of(a, 'blockTable');
      if (!s || !bt || s.length === 0 || !(a.kCache.data instanceof Uint16Array)) return 'no i32 index data to find a key';
      const i = rng.int(0, s.length - 1);
      if (!(s[i] > 0 && s[i] <= (bt.length / s.length) * a.kCache.shape[1])) return 'no key to poison';
      const t = rng.int(0, s[i] - 1), page = a.kCache.shape[1], row = a.kCache.shape[2] * 576;
      const blk = bt[i * a.blockTable.shape[1] + Math.floor(t / page)];
      const at = (blk * page + (t % page)) * row + rng.int(0, row - 1);
      (a.kCache.data as Uint16Array)[at] = v;
      return `kCache[seq ${i}, key ${t}] element = 0x${v.toString(16)}`;
    }
    case 12: { // preallocated outputs of the wrong shape or dtype
      const outShape = a.qIndptr ? [a.q.shape[0], a.q.shape[1], 512] : [a.q.shape[0], a.q.shape[1], a.q.shape[2], 512];
      if (rng.float() < 0.5) { a.out = { dtype: rng.pick([a.dtype, 'f32', a.dtype === 'bf16' ? 'f16' : 'bf16'] as DType[]), shape: rng.float() < 0.5 ? outShape : [...outShape.slice(0, -1), 576] }; return `out ${a.out.dtype} [${a.out.shape}]`; }
      const lseShape = a.qIndptr ? [a.q.shape[0], a.q.shape[1]] : [a.q.shape[0], a.q.shape[2], a.q.shape[1]];
      a.lse = { dtype: rng.pick(['f32', 'bf16', 'i32'] as DType[]), shape: rng.float() < 0.5 ? lseShape : [lseShape[0] + 1, ...lseShape.slice(1)] };
      return `lse ${a.lse.dtype} [${a.lse.shape}]`;
    }
    default: { // a size near 2^31 / 2^53 on a tensor
      const k = key(), t = a[k]!, v = rng.pick([2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53 + 2]);
      t.shape = [v, ...t.shape.slice(1)];
      return `${k}.shape[0] = ${v}`;
    }
  }
}

/** causalBandNaN of an accepted call's arguments (a length mutation may put NaN-poisoned slots inside a sequence). */
export function bandOf(a: Args, rows: number): Uint8Array | undefined {
  const bt = a.blockTable.data as Int32Array, s = a.cacheSeqlens.data as Int32Array, qi = a.qIndptr?.data as Int32Array | undefined;
  const k = a.kCache.data as Uint16Array, [numBlocks, page, hKv] = a.kCache.shape, width = a.blockTable.shape[1];
  const hQ = a.q.shape[a.q.shape.length - 2], sQ = qi ? 1 : a.q.shape[1], nGroups = hQ / hKv;
  const dec = a.kCache.dtype === 'bf16' ? bf16ToF32 : f16ToF32, v = new Float64Array(512);
  return causalBandNaN({
    b: a.cacheSeqlens.shape[0], hQ, causal: (a.causal as boolean | undefined) ?? true, seqlen: (i) => s[i],
    qStart: (i) => (qi ? qi[i] : i * sQ), qLen: (i) => (qi ? qi[i + 1] - qi[i] : sQ),
    vOf: (i, t, h) => {
      const blk = bt[i * width + Math.floor(t / page)];
      if (!(blk >= 0 && blk < numBlocks)) return undefined;
      const at = ((blk * page + (t % page)) * hKv + Math.floor(h / nGroups)) * 576;
      for (let c = 0; c < 512; c++) v[c] = dec(k[at + c]);
      return v;
    },
  }, rows);
}

/** The reference for what the call was given (only reached when the library accepted every argument). */
export function referenceOf(a: Args) {
  const bt = a.blockTable.data as Int32Array, s = a.cacheSeqlens.data as Int32Array;
  const varlen = !!a.qIndptr;
  return referenceDecode({
    q: a.q.data as Uint16Array, kCache: a.kCache.data as Uint16Array, blockTable: bt, cacheSeqlens: s, dtype: a.q.dtype as HalfDType,
    b: a.cacheSeqlens.shape[0], sQ: varlen ? 1 : a.q.shape[1], hQ: a.q.shape[a.q.shape.length - 2], hKv: a.kCache.shape[2],
    pageBlockSize: a.kCache.shape[1], maxBlocksPerSeq: a.blockTable.shape[1], softmaxScale: a.softmaxScale as number | undefined,
    causal: a.causal as boolean | undefined, qIndptr: a.qIndptr?.data as Int32Array | undefined,
  });
}

/** Case i of a seed's dense fuzz for backend kind `kind` (numSms: the backend's): the arguments after their corruptions, and what was done. */
export function denseFuzzCase(seed: number, kind: string, i: number, numSms: number, tiny: boolean, arith: Arith): { a: Args; steps: string[] } {
  const rng = new Rng((seed ^ Math.imul(i + 1, 0x9e3779b1) ^ kind.length * 0x1234567) >>> 0);
  const a = baseArgs(rng, tiny, rng.pick([numSms, 1, 3, 132]));
  const steps = [mutate(a, rng, arith)];
  if (rng.float() < 0.3) steps.push(mutate(a, rng, arith));
  return { a, steps };
}

/** One flashMlaWithKvcache call with a case's arguments on `be` (q and the cache uploaded, freed after); out and lse downloaded. */
export async function callDense(be: Backend, a: Args, opts: { out?: Tensor } = {}): Promise<{ out: Uint16Array; lse: Float32Array }> {
  const host: Partial<Record<TensorKey, HostTensor>> = {};
  for (const k of tensorKeys) { const t = a[k]; if (t) host[k] = new Tensor(t.dtype, t.shape, t.data as Uint16Array); }
  const q = be.upload(host.q!), k = be.upload(host.kCache!);
  const out = opts.out ?? (a.out && be.empty(a.out.dtype, a.out.shape)), lse = a.lse && be.empty(a.lse.dtype, a.lse.shape);
  try {
    const res = await flashMlaWithKvcache(q, k, host.blockTable!, host.cacheSeqlens!, a.headDimV as number, host.meta!, host.numSplits!, {
      softmaxScale: a.softmaxScale as number | undefined, causal: a.causal as boolean | undefined, qIndptr: host.qIndptr, backend: be, out, lse,
    });
    await be.synchronize();
    return { out: Uint16Array.from((await be.download(res.out)).host() as Uint16Array), lse: Float32Array.from((await be.download(res.lse)).host() as Float32Array) };
  } finally {
    if (q !== host.q) be.free(q);
    if (k !== host.kCache) be.free(k);
  }
}

/**
 * n cases of flashMlaWithKvcache with corrupted arguments on `be` (kind: inline, workers, webgpu or cuda; it seeds the
 * cases and picks the arithmetic, arithOf); tiny: small shapes (lavapipe); `only`: case `only` alone (a replay). A
 * failure names FUZZ_SEED and the case.
 */
export async function fuzzDecode(be: Backend, kind: string, n: number, tiny: boolean, seed: number, only?: number): Promise<FuzzStats> {
  const stats: FuzzStats = { typed: 0, ran: 0, codes: {} };
  const arith = arithOf(be, kind);
  for (const i of fuzzCases(n, only)) {
    const { a, steps } = denseFuzzCase(seed, kind, i, be.info.numSms, tiny, arith);
    const where = `FUZZ_SEED=${seed} ${kind} case ${i}: ${steps.join('; ')}`;
    const r = await outcome(where, () => callDense(be, a));
    if (r.ok) {
      stats.ran++;
      const band = causalBandKernel(be, arith) ? bandOf(a, r.value.out.length / 512) : undefined;
      const bad = differsFromReference(r.value.out, r.value.lse, referenceOf(a), a.q.dtype as HalfDType, fuzzTolerance(arith), fuzzSlack(arith), 512, band);
      assert.equal(bad, undefined, `${where}: accepted, but the output differs from the reference: ${bad}`);
    } else {
      stats.typed++;
      stats.codes[r.error.code] = (stats.codes[r.error.code] ?? 0) + 1;
    }
  }
  return stats;
}


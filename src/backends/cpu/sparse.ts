// The CPU sparse decode kernel: FlashMLA's split-KV walk over the sparse scheduler's metadata. A unit is one SM
// part (its requests' 64-index blocks); requests cut across parts leave f32 partials that the combine units merge.
// Tokens are dequantized once per (row, token) into f32 (exact: e4m3 x power-of-two scale), scores and the
// softmax run in float64. Used by the in-thread backend and by the worker threads.
import { decodeHalf, encodeHalf, halfToF32 } from '../../core/dtype.js';
import { dequantizeToken, isFp8Format } from '../../core/fp8.js';
import type { SparseCacheDesc, SparseCall, SparseProblem } from '../../core/sparse.js';
import { sparseBlockSizeTopk, sparseListLength, sparseMainRegion, sparsePartWork } from '../../core/sparse-scheduler.js';
import { maxPartials } from '../../core/scheduler.js';
import type { Tensor } from '../../core/tensor.js';
import { hostView } from './kernel.js';

export interface CpuSparseArgs {
  p: SparseProblem;
  q: Uint16Array;
  /** FP8: the cache's bytes from its element 0; bf16/f16: raw bits. */
  kCache: Uint8Array | Uint16Array;
  indices: Int32Array;
  topkLength?: Int32Array;
  attnSink?: Float32Array;
  extraKCache?: Uint8Array | Uint16Array;
  extraIndices?: Int32Array;
  extraTopkLength?: Int32Array;
  meta: Int32Array;
  numSplits: Int32Array;
  out: Uint16Array;
  lse: Float32Array;
  /** [(b + numSmParts) * sQ * hQ, dV] and [(b + numSmParts) * sQ * hQ] partials. */
  oAccum: Float32Array;
  lseAccum: Float32Array;
}

export function sparseAccumSizes(p: SparseProblem): { oAccum: number; lseAccum: number } {
  const rows = maxPartials(p.b, p.numSmParts) * p.sQ * p.hQ;
  return { oAccum: rows * p.dV, lseAccum: rows };
}

/** An FP8 cache's bytes from its element 0: MODEL1 blocks are longer than the [.., 584] view says, so the whole storage. */
export function fp8CacheBytes(t: Tensor): Uint8Array {
  return (t.data as Uint8Array).subarray(t.offset);
}

/** Host views of a sparse launch (FP8 caches: every byte of the storage from the tensor's offset). */
export function cpuSparseArgs(l: SparseCall, accum: { o: Float32Array; lse: Float32Array }): CpuSparseArgs {
  const cacheView = (name: string, t: Tensor | undefined) => {
    if (!t) return undefined;
    const half = hostView<Uint16Array>(name, t);
    return t.dtype === 'fp8_e4m3' ? fp8CacheBytes(t) : half;
  };
  const sizes = sparseAccumSizes(l.problem);
  return {
    p: l.problem,
    q: hostView('q', l.q), kCache: cacheView('kCache', l.kCache)!, indices: hostView('indices', l.indices),
    topkLength: l.host?.topkLength ?? hostView('topkLength', l.topkLength), attnSink: hostView('attnSink', l.attnSink),
    extraKCache: cacheView('extraKCache', l.extraKCache), extraIndices: hostView('extraIndices', l.extraIndices),
    extraTopkLength: l.host?.extraTopkLength ?? hostView('extraTopkLength', l.extraTopkLength),
    meta: l.host?.tileSchedulerMetadata ?? hostView('tileSchedulerMetadata', l.tileSchedulerMetadata),
    numSplits: l.host?.numSplits ?? hostView('numSplits', l.numSplits),
    out: hostView('out', l.out), lse: hostView('lse', l.lse),
    oAccum: accum.o.length >= sizes.oAccum ? accum.o : (accum.o = new Float32Array(sizes.oAccum)),
    lseAccum: accum.lse.length >= sizes.lseAccum ? accum.lse : (accum.lse = new Float32Array(sizes.lseAccum)),
  };
}

/** Grow-only scratch of one thread. */
export class CpuSparseScratch {
  k = new Float32Array(0);
  q = new Float32Array(0);
  scores = new Float64Array(0);
  acc = new Float64Array(0);
  grow(tokens: number, p: SparseProblem): void {
    if (this.k.length < tokens * p.dQk) this.k = new Float32Array(tokens * p.dQk);
    if (this.scores.length < tokens) this.scores = new Float64Array(tokens);
    if (this.q.length < p.dQk) this.q = new Float32Array(p.dQk);
    if (this.acc.length < p.dV) this.acc = new Float64Array(p.dV);
  }
}

function loadToken(c: SparseCacheDesc, data: Uint8Array | Uint16Array, phys: number, dQk: number, dst: Float32Array, at: number): void {
  if (isFp8Format(c.kind)) {
    dequantizeToken(c.kind, data as Uint8Array, c.pageBlockSize, Math.floor(phys / c.pageBlockSize), phys % c.pageBlockSize, dst, at);
    return;
  }
  decodeHalf(c.kind, (data as Uint16Array).subarray(phys * dQk, phys * dQk + dQk), dst.subarray(at, at + dQk));
}

/** finishRow's row of f32 values (grow-only; a thread's own). */
let rowF32 = new Float32Array(512);

/** Write one finished row: the sink factor, and out 0 / lse +inf for a row that saw no token. */
function finishRow(a: CpuSparseArgs, i: number, s: number, h: number, o: ArrayLike<number>, lse: number): void {
  const { sQ, hQ, dV } = a.p;
  const oo = ((i * sQ + s) * hQ + h) * dV;
  if (lse === -Infinity) {
    a.out.fill(0, oo, oo + dV);
    a.lse[(i * hQ + h) * sQ + s] = Infinity;
    return;
  }
  const f = lse !== lse ? NaN : a.attnSink ? 1 / (1 + Math.exp(a.attnSink[h] - lse)) : 1; // a NaN lse: the whole row NaN
  // o[d] * f rounded to f32, then to out's dtype, a row at a time (encodeHalf's bf16 path on the f32 bits): the bits
  // of encoding each product.
  if (rowF32.length < dV) rowF32 = new Float32Array(dV);
  const row = rowF32.subarray(0, dV);
  for (let d = 0; d < dV; d++) row[d] = o[d] * f;
  encodeHalf(a.p.dtype, row, a.out.subarray(oo, oo + dV));
  a.lse[(i * hQ + h) * sQ + s] = lse;
}

/**
 * The valid tokens (index >= 0, inside topkLength / extraTopkLength) at positions [lo, hi) of request i's combined
 * list for query s: their count, and when `k` is given, the tokens dequantized into it as f32 [n, dQk].
 */
function gatherTokens(a: CpuSparseArgs, i: number, s: number, lo: number, hi: number, k?: Float32Array): number {
  const p = a.p, { sQ, dQk, topk, extraTopk } = p;
  const sched = { b: p.b, topk, topkLength: a.topkLength, extraTopk, extraTopkLength: a.extraTopkLength };
  const region = sparseMainRegion(sched, i);
  const mainLen = Math.min(a.topkLength ? a.topkLength[i] : topk, topk);
  const extraLen = a.extraIndices ? Math.min(a.extraTopkLength ? a.extraTopkLength[i] : extraTopk, extraTopk) : 0;
  hi = Math.min(hi, sparseListLength(sched, i));
  let n = 0;
  for (let pos = lo; pos < hi; pos++) {
    if (pos < region) {
      if (pos >= mainLen) continue;
      const phys = a.indices[(i * sQ + s) * topk + pos];
      if (phys >= 0 && k) loadToken(p.cache, a.kCache, phys, dQk, k, n * dQk);
      if (phys >= 0) n++;
    } else {
      const e = pos - region;
      if (e >= extraLen) continue;
      const phys = a.extraIndices![(i * sQ + s) * extraTopk + e];
      if (phys >= 0 && k) loadToken(p.extraCache!, a.extraKCache!, phys, dQk, k, n * dQk);
      if (phys >= 0) n++;
    }
  }
  return n;
}

/** The sparse scheduler's view of a call's lists (their lengths per request). */
function listsOf(a: CpuSparseArgs) {
  const p = a.p;
  return { b: p.b, topk: p.topk, topkLength: a.topkLength, extraTopk: p.extraTopk, extraTopkLength: a.extraTopkLength };
}

/**
 * The work items of part `part` of the sparse schedule, for the scalar kernel and the native one alike: request `req`,
 * positions [lo, hi) of its combined list (64-index blocks, the last cut at the list's length), and where the result
 * goes (noSplit: out / lse; else the partial rows of splitSlot).
 */
function* sparseItemsOf(a: CpuSparseArgs, part: number): Generator<{ req: number; lo: number; hi: number; noSplit: boolean; splitSlot: number }> {
  const lists = listsOf(a);
  const numBlocksOf = (r: number) => Math.floor((sparseListLength(lists, r) - 1) / sparseBlockSizeTopk) + 1;
  for (const item of sparsePartWork(a.meta, a.numSplits, numBlocksOf, part)) {
    yield {
      req: item.req, lo: item.blockBegin * sparseBlockSizeTopk, hi: Math.min(item.blockEnd * sparseBlockSizeTopk, sparseListLength(lists, item.req)),
      noSplit: item.noSplit, splitSlot: item.splitSlot,
    };
  }
}

/** Fields of a native sparse work item in params.h order (SPRM_<SNAKE_CASE>; test/backends/cpu-paths.test.ts checks). */
export const sparseItemFields = [
  'dtype', 'kind', 'pageBlockSize', 'extraKind', 'extraPageBlockSize', 'dQk', 'hQ', 'sQ', 'topk', 'extraTopk',
  'batch', 'mainLen', 'region', 'extraLen', 'posBegin', 'posEnd', 'noSplit', 'splitSlot', 'hasSink',
] as const;
const sparseIndex = Object.fromEntries(sparseItemFields.map((f, i) => [f, i])) as Record<(typeof sparseItemFields)[number], number>;
const cacheKindCode = { bf16: 0, f16: 1, v32: 2, model1: 3 } as const;

/** Whether the native sparse kernel takes this problem (its loops are written for FlashMLA's dQk 576 and 512). */
export function nativeSparseSupports(p: SparseProblem): boolean {
  return (p.dQk === 576 || p.dQk === 512) && p.dV === 512;
}

/**
 * Walk the work items of part `part` as runSparseDecodeUnit does and hand each, packed into prm (params.h SPRM_*),
 * to `run`: positions [lo, hi) of one request's list, all its query tokens and heads.
 */
export function forEachSparseItem(a: CpuSparseArgs, part: number, prm: Int32Array, run: (prm: Int32Array) => void): void {
  const p = a.p, { topk, extraTopk } = p, lists = listsOf(a);
  prm[sparseIndex.dtype] = p.dtype === 'f16' ? 1 : 0;
  prm[sparseIndex.kind] = cacheKindCode[p.cache.kind];
  prm[sparseIndex.pageBlockSize] = p.cache.pageBlockSize;
  prm[sparseIndex.extraKind] = p.extraCache ? cacheKindCode[p.extraCache.kind] : prm[sparseIndex.kind];
  prm[sparseIndex.extraPageBlockSize] = p.extraCache?.pageBlockSize ?? 1;
  prm[sparseIndex.dQk] = p.dQk;
  prm[sparseIndex.hQ] = p.hQ;
  prm[sparseIndex.sQ] = p.sQ;
  prm[sparseIndex.topk] = topk;
  prm[sparseIndex.extraTopk] = a.extraIndices ? extraTopk : 0;
  prm[sparseIndex.hasSink] = a.attnSink ? 1 : 0;
  for (const item of sparseItemsOf(a, part)) {
    const i = item.req;
    prm[sparseIndex.batch] = i;
    prm[sparseIndex.mainLen] = Math.min(a.topkLength ? a.topkLength[i] : topk, topk);
    prm[sparseIndex.region] = sparseMainRegion(lists, i);
    prm[sparseIndex.extraLen] = a.extraIndices ? Math.min(a.extraTopkLength ? a.extraTopkLength[i] : extraTopk, extraTopk) : 0;
    prm[sparseIndex.posBegin] = item.lo;
    prm[sparseIndex.posEnd] = item.hi;
    prm[sparseIndex.noSplit] = item.noSplit ? 1 : 0;
    prm[sparseIndex.splitSlot] = item.splitSlot;
    run(prm);
  }
}

/** Part `part` of the schedule. */
export function runSparseDecodeUnit(a: CpuSparseArgs, part: number, scratch: CpuSparseScratch): void {
  const p = a.p;
  const { sQ, hQ, dQk, dV } = p;
  const toF = halfToF32(p.dtype);
  for (const item of sparseItemsOf(a, part)) {
    const i = item.req, lo = item.lo, hi = item.hi;
    scratch.grow(hi - lo, p);
    for (let s = 0; s < sQ; s++) {
      const n = gatherTokens(a, i, s, lo, hi, scratch.k);
      const k = scratch.k, sc = scratch.scores, qv = scratch.q, acc = scratch.acc;
      for (let h = 0; h < hQ; h++) {
        const qo = ((i * sQ + s) * hQ + h) * dQk;
        for (let d = 0; d < dQk; d++) qv[d] = toF(a.q[qo + d]);
        let max = -Infinity;
        for (let t = 0; t < n; t++) {
          let dot = 0;
          const ko = t * dQk;
          for (let d = 0; d < dQk; d++) dot += qv[d] * k[ko + d];
          sc[t] = dot * p.softmaxScale;
          if (sc[t] > max) max = sc[t];
        }
        acc.fill(0, 0, dV);
        let sum = 0;
        // No finite score (max -inf; > skips NaN): a -inf token weighs 0, not exp(-inf - -inf) = NaN, so that a split
        // of them cannot poison another split's finite result; a NaN score still poisons the sum.
        const allNegInf = max === -Infinity;
        for (let t = 0; t < n; t++) {
          const w = allNegInf ? (sc[t] === -Infinity ? 0 : NaN) : Math.exp(sc[t] - max);
          sum += w;
          const ko = t * dQk;
          for (let d = 0; d < dV; d++) acc[d] += w * k[ko + d];
        }
        // sum 0: no token (lse -inf, acc 0) or tokens all scored -inf (acc keeps its 0 x V sums, NaN where V is inf).
        const lse = sum === 0 ? -Infinity : max + Math.log(sum);
        if (sum !== 0) for (let d = 0; d < dV; d++) acc[d] /= sum;
        if (item.noSplit) {
          finishRow(a, i, s, h, acc, n > 0 && sum === 0 ? NaN : lse);
        } else {
          const row = (item.splitSlot * sQ + s) * hQ + h;
          for (let d = 0; d < dV; d++) a.oAccum[row * dV + d] = acc[d];
          a.lseAccum[row] = lse;
        }
      }
    }
  }
}

/** Merge the partials of request `i` when it was split over parts (nothing to do otherwise). */
export function runSparseCombineUnit(a: CpuSparseArgs, i: number): void {
  const { sQ, hQ, dV } = a.p;
  const first = a.numSplits[i], n = a.numSplits[i + 1] - first;
  if (n <= 1) return;
  const o = new Float64Array(dV);
  for (let s = 0; s < sQ; s++) {
    for (let h = 0; h < hQ; h++) {
      let max = -Infinity;
      for (let k = 0; k < n; k++) max = Math.max(max, a.lseAccum[((first + k) * sQ + s) * hQ + h]);
      if (max === -Infinity) { // no split saw a finite score: no token at all (empty row), or all -inf (NaN)
        finishRow(a, i, s, h, o, gatherTokens(a, i, s, 0, Infinity) > 0 ? NaN : -Infinity);
        continue;
      }
      let sum = 0;
      o.fill(0);
      for (let k = 0; k < n; k++) {
        const row = ((first + k) * sQ + s) * hQ + h;
        const w = Math.exp(a.lseAccum[row] - max);
        // A split that weighs 0 (no finite score, lse -inf, or one far below the row's maximum) is still added: its o
        // carries the NaN of 0 x inf V (a key scored -inf, or one whose weight underflowed, against an infinite value),
        // which the row keeps, as the reference's sum over every key does.
        sum += w;
        for (let d = 0; d < dV; d++) o[d] += w * a.oAccum[row * dV + d];
      }
      for (let d = 0; d < dV; d++) o[d] /= sum;
      finishRow(a, i, s, h, o, max + Math.log(sum));
    }
  }
}

/** The whole sparse decode on the calling thread. */
export function runSparseDecode(a: CpuSparseArgs, scratch: CpuSparseScratch): void {
  for (let u = 0; u < a.p.numSmParts; u++) runSparseDecodeUnit(a, u, scratch);
  for (let i = 0; i < a.p.b; i++) runSparseCombineUnit(a, i);
}


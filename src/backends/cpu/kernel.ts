// The CPU decode kernel: split-KV MLA attention over one SM part's work items, and the combine step.
// Browser-safe (no Node imports): the in-thread backend and the worker threads both run this file.
//
// Roofline on a 2-core machine (b=4, s_k=4096, hQ=16): 2*16384*16*1088 = 0.57 GFLOP against 19 MB of cache, so
// the CPU is arithmetic-bound (JS has no SIMD here): each key costs 576 + 512 multiply-adds per query row.
// Keys are decoded from bf16/f16 once per 64-key tile into f32 and reused by every query row of the KV head,
// and the inner loops take four keys at a time so each q / accumulator load serves four products.
// Arithmetic is JS float64; partial results are stored as f32, as FlashMLA's fp32 accumulators are.
import { dV } from '../../core/constants.js';
import type { DecodePlan } from '../../core/plan.js';
import type { Tensor } from '../../core/tensor.js';
import { invalidArgument } from '../../core/errors.js';
import { type HalfDType, type HostArray, decodeHalf, encodeHalf, f32ToHalf, halfToF32, hostArrayFor } from '../../core/dtype.js';
import { type MlaProblem, visibleKeys } from '../../core/problem.js';
import { blockSizeN, partWork } from '../../core/scheduler.js';
import { type Fp8Format, dequantizeToken } from '../../core/fp8.js';

/**
 * A dense decode's problem on the CPU: with `kvFormat` the cache is one of FlashMLA's FP8 formats (hKv 1; dQk 576 for
 * V3.2, 512 for MODEL1), read by block table and dequantized per key tile (./dense-fp8.ts); kvDtype is then unused.
 */
export type CpuProblem = MlaProblem & { kvFormat?: Fp8Format };

/** Host views of everything one decode reads and writes. */
export interface CpuDecodeArgs {
  p: CpuProblem;
  q: Uint16Array;
  /** bf16 / f16 elements, or (kvFormat) every byte of the FP8 cache's storage from the tensor's offset. */
  kCache: Uint16Array | Uint8Array;
  blockTable: Int32Array;
  seqlens: Int32Array;
  qIndptr?: Int32Array;
  meta: Int32Array;
  numSplits: Int32Array;
  out: Uint16Array;
  lse: Float32Array;
  /** [maxPartials, rowsPerSplit, dV]; a row is (query j of the request, head h): j * hQ + h. */
  oAccum: Float32Array;
  /** [maxPartials, rowsPerSplit] */
  lseAccum: Float32Array;
}

/** A host tensor's view for the CPU kernels (undefined stays undefined); a tensor on another device is refused, named. */
export function hostView<T>(name: string, t: Tensor | undefined): T {
  if (t && t.device !== 'cpu') throw invalidArgument(name, 'a host tensor for the CPU backend', `a ${t.device} tensor`);
  return t?.host() as T;
}

/** Rows of one partial result: every query token of a request times every head. */
export function rowsPerSplit(p: MlaProblem): number {
  return p.sQ * p.hQ;
}

/** Elements of the two f32 accumulator arrays: [accumSlots, rowsPerSlot, dV] and [accumSlots, rowsPerSlot]. */
export function accumSizes(plan: DecodePlan): { oAccum: number; lseAccum: number } {
  const rows = plan.accumSlots * plan.rowsPerSlot;
  return { oAccum: rows * dV, lseAccum: rows };
}

/**
 * Grow the accumulators to what `plan` needs (a no-op once reserve() has run for the step); `alloc` makes them (plain
 * or shared memory) and throws FlashMlaError('out_of_memory') for a size the host cannot give, the old ones kept.
 */
export function reserveAccum(
  plan: DecodePlan,
  accum: { o: Float32Array; lse: Float32Array },
  alloc: (dtype: 'f32', n: number, what: string) => HostArray = hostArrayFor,
): void {
  const sizes = accumSizes(plan);
  if (accum.o.length < sizes.oAccum) accum.o = alloc('f32', sizes.oAccum, 'CPU split-KV accumulators (oAccum)') as Float32Array;
  if (accum.lse.length < sizes.lseAccum) accum.lse = alloc('f32', sizes.lseAccum, 'CPU split-KV accumulators (lseAccum)') as Float32Array;
}

/** Work units of the decode phase: one per (SM part, KV head). */
export function decodeUnits(p: MlaProblem): number {
  return p.numSmParts * p.hKv;
}

/** Scratch reused across units by one thread (grow-only). */
export class CpuScratch {
  kTile = new Float32Array(0);
  qRows = new Float64Array(0);
  acc = new Float64Array(0);
  rowMax = new Float64Array(0);
  rowSum = new Float64Array(0);
  scores = new Float64Array(blockSizeN);
  scores2 = new Float64Array(blockSizeN);

  ensure(p: MlaProblem, rows: number): void {
    if (this.kTile.length < blockSizeN * p.dQk) this.kTile = new Float32Array(blockSizeN * p.dQk);
    if (this.qRows.length < rows * p.dQk) this.qRows = new Float64Array(rows * p.dQk);
    if (this.acc.length < rows * p.dV) this.acc = new Float64Array(rows * p.dV);
    if (this.rowMax.length < rows) {
      this.rowMax = new Float64Array(rows);
      this.rowSum = new Float64Array(rows);
    }
  }
}

const qStartOf = (a: CpuDecodeArgs, i: number) => (a.qIndptr ? a.qIndptr[i] : i * a.p.sQ);
const qLenOf = (a: CpuDecodeArgs, i: number) => (a.qIndptr ? a.qIndptr[i + 1] - a.qIndptr[i] : a.p.sQ);

/** Decode phase, unit `u` = part * hKv + kvHead: every work item of that part, for one KV head. */
export function runDecodeUnit(a: CpuDecodeArgs, u: number, s: CpuScratch): void {
  const p = a.p;
  const part = Math.floor(u / p.hKv), g = u % p.hKv;
  for (const item of partWork(a.meta, a.numSplits, a.seqlens, part)) {
    const i = item.batch, seqlen = a.seqlens[i], qLen = qLenOf(a, i), qStart = qStartOf(a, i);
    const rows = qLen * p.nGroups; // row r: query j = floor(r / nGroups), head g * nGroups + r % nGroups
    s.ensure(p, rows);
    const { kTile, qRows, acc, scores, scores2 } = s;
    const toF = halfToF32(p.dtype);
    for (let r = 0; r < rows; r++) {
      const j = Math.floor(r / p.nGroups), h = g * p.nGroups + (r % p.nGroups);
      const src = ((qStart + j) * p.hQ + h) * p.dQk;
      for (let d = 0; d < p.dQk; d++) qRows[r * p.dQk + d] = toF(a.q[src + d]) * p.softmaxScale;
    }
    acc.fill(0, 0, rows * p.dV);
    s.rowMax.fill(-Infinity, 0, rows);
    s.rowSum.fill(0, 0, rows);

    for (let t0 = item.kBegin; t0 < item.kEnd; t0 += blockSizeN) {
      const nTile = Math.min(blockSizeN, item.kEnd - t0);
      loadKeys(a, i, g, t0, nTile, kTile);
      for (let r = 0; r < rows; ) {
        // Only keys this row may see take part: masked keys are skipped, never multiplied by 0 (they may be NaN).
        const n = Math.min(nTile, visibleKeys(seqlen, qLen, Math.floor(r / p.nGroups), p.causal) - t0);
        // Two rows of the same query see the same keys: do them together, sharing every key load.
        const pair = r + 1 < rows && Math.floor((r + 1) / p.nGroups) === Math.floor(r / p.nGroups);
        if (n > 0 && pair) {
          tileScores2(qRows, r * p.dQk, (r + 1) * p.dQk, kTile, n, p.dQk, scores, scores2);
          const c0 = softmaxTile(s, r, scores, n), c1 = softmaxTile(s, r + 1, scores2, n);
          tileAccumulate2(acc, r * p.dV, (r + 1) * p.dV, c0, c1, scores, scores2, kTile, n, p.dQk, p.dV);
        } else if (n > 0) {
          tileScores(qRows, r * p.dQk, kTile, n, p.dQk, scores);
          tileAccumulate(acc, r * p.dV, softmaxTile(s, r, scores, n), scores, kTile, n, p.dQk, p.dV);
        }
        r += pair ? 2 : 1;
      }
    }
    if (item.noSplit) writeFinal(a, i, g, rows, acc, s.rowMax, s.rowSum);
    else writePartial(a, item.splitSlot, g, rows, acc, s.rowMax, s.rowSum);
  }
}

/** Decode keys t0 .. t0+n-1 of sequence i, KV head g, into kTile [n, dQk] as f32. */
function loadKeys(a: CpuDecodeArgs, i: number, g: number, t0: number, n: number, kTile: Float32Array): void {
  const p = a.p, page = p.pageBlockSize, rowElems = p.hKv * p.dQk;
  let t = 0;
  while (t < n) {
    const key = t0 + t;
    const blk = a.blockTable[i * p.maxBlocksPerSeq + Math.floor(key / page)];
    const inPage = key % page;
    const run = Math.min(n - t, page - inPage); // keys left in this page
    for (let k = 0; k < run; k++) {
      if (p.kvFormat) { // FP8 (hKv 1): exact e4m3 x scale, RoPE bf16
        dequantizeToken(p.kvFormat, a.kCache as Uint8Array, page, blk, inPage + k, kTile, (t + k) * p.dQk);
        continue;
      }
      const src = (blk * page + inPage + k) * rowElems + g * p.dQk;
      decodeHalf(p.kvDtype, (a.kCache as Uint16Array).subarray(src, src + p.dQk), kTile.subarray((t + k) * p.dQk, (t + k + 1) * p.dQk));
    }
    t += run;
  }
}

/** Online softmax over one tile: scores become exp(score - newMax); returns the factor for the old accumulator. */
function softmaxTile(s: CpuScratch, r: number, scores: Float64Array, n: number): number {
  const old = s.rowMax[r];
  let m = old;
  for (let t = 0; t < n; t++) if (scores[t] > m) m = scores[t];
  if (m === -Infinity) {
    // No finite score yet (every one so far -inf, or NaN, which > skips): exp(-inf - -inf) would be NaN. A -inf key
    // weighs 0 (its 0 x inf V columns still give NaN, as the reference's sum does); a NaN score poisons the row sum.
    // The max stays -inf and the sum 0 (or NaN): writeFinal tells such a row from one that saw no key.
    let sum = s.rowSum[r];
    for (let t = 0; t < n; t++) { const e = scores[t] === -Infinity ? 0 : NaN; scores[t] = e; sum += e; }
    s.rowSum[r] = sum;
    return 1;
  }
  const rescale = Math.exp(old - m); // 0 on the first finite tile (old max is -inf)
  let sum = s.rowSum[r] * rescale;
  for (let t = 0; t < n; t++) { const e = Math.exp(scores[t] - m); scores[t] = e; sum += e; }
  s.rowMax[r] = m;
  s.rowSum[r] = sum;
  return rescale;
}

/** Scores of two query rows against the same keys: 2 x 4 products per pass share each load. */
function tileScores2(q: Float64Array, qa: number, qb: number, k: Float32Array, n: number, dQk: number, sa: Float64Array, sb: Float64Array): void {
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const k0 = t * dQk, k1 = k0 + dQk, k2 = k1 + dQk, k3 = k2 + dQk;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    for (let d = 0; d < dQk; d++) {
      const x = q[qa + d], y = q[qb + d];
      const v0 = k[k0 + d], v1 = k[k1 + d], v2 = k[k2 + d], v3 = k[k3 + d];
      a0 += x * v0; a1 += x * v1; a2 += x * v2; a3 += x * v3;
      b0 += y * v0; b1 += y * v1; b2 += y * v2; b3 += y * v3;
    }
    sa[t] = a0; sa[t + 1] = a1; sa[t + 2] = a2; sa[t + 3] = a3;
    sb[t] = b0; sb[t + 1] = b1; sb[t + 2] = b2; sb[t + 3] = b3;
  }
  for (; t < n; t++) {
    const k0 = t * dQk;
    let a0 = 0, b0 = 0;
    for (let d = 0; d < dQk; d++) { const v = k[k0 + d]; a0 += q[qa + d] * v; b0 += q[qb + d] * v; }
    sa[t] = a0; sb[t] = b0;
  }
}

/** tileAccumulate for two rows at once: each value column read serves both rows. */
function tileAccumulate2(acc: Float64Array, oa: number, ob: number, ra: number, rb: number, pa: Float64Array, pb: Float64Array, k: Float32Array, n: number, dQk: number, dV: number): void {
  if (ra !== 1) for (let d = 0; d < dV; d++) acc[oa + d] *= ra;
  if (rb !== 1) for (let d = 0; d < dV; d++) acc[ob + d] *= rb;
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const k0 = t * dQk, k1 = k0 + dQk, k2 = k1 + dQk, k3 = k2 + dQk;
    const a0 = pa[t], a1 = pa[t + 1], a2 = pa[t + 2], a3 = pa[t + 3];
    const b0 = pb[t], b1 = pb[t + 1], b2 = pb[t + 2], b3 = pb[t + 3];
    for (let d = 0; d < dV; d++) {
      const v0 = k[k0 + d], v1 = k[k1 + d], v2 = k[k2 + d], v3 = k[k3 + d];
      acc[oa + d] += a0 * v0 + a1 * v1 + a2 * v2 + a3 * v3;
      acc[ob + d] += b0 * v0 + b1 * v1 + b2 * v2 + b3 * v3;
    }
  }
  for (; t < n; t++) {
    const k0 = t * dQk, a0 = pa[t], b0 = pb[t];
    for (let d = 0; d < dV; d++) { const v = k[k0 + d]; acc[oa + d] += a0 * v; acc[ob + d] += b0 * v; }
  }
}

/** scores[t] = q · k_t for t < n (q already scaled); four keys per pass over q. */
function tileScores(q: Float64Array, qo: number, k: Float32Array, n: number, dQk: number, scores: Float64Array): void {
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const k0 = t * dQk, k1 = k0 + dQk, k2 = k1 + dQk, k3 = k2 + dQk;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let d = 0; d < dQk; d++) {
      const x = q[qo + d];
      s0 += x * k[k0 + d]; s1 += x * k[k1 + d]; s2 += x * k[k2 + d]; s3 += x * k[k3 + d];
    }
    scores[t] = s0; scores[t + 1] = s1; scores[t + 2] = s2; scores[t + 3] = s3;
  }
  for (; t < n; t++) {
    const k0 = t * dQk;
    let s0 = 0;
    for (let d = 0; d < dQk; d++) s0 += q[qo + d] * k[k0 + d];
    scores[t] = s0;
  }
}

/** acc = acc * rescale + sum_t p_t v_t (v_t = first dV columns of key t); four keys per pass over acc. */
function tileAccumulate(acc: Float64Array, ao: number, rescale: number, pr: Float64Array, k: Float32Array, n: number, dQk: number, dV: number): void {
  if (rescale !== 1) for (let d = 0; d < dV; d++) acc[ao + d] *= rescale;
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const k0 = t * dQk, k1 = k0 + dQk, k2 = k1 + dQk, k3 = k2 + dQk;
    const p0 = pr[t], p1 = pr[t + 1], p2 = pr[t + 2], p3 = pr[t + 3];
    for (let d = 0; d < dV; d++) acc[ao + d] += p0 * k[k0 + d] + p1 * k[k1 + d] + p2 * k[k2 + d] + p3 * k[k3 + d];
  }
  for (; t < n; t++) {
    const k0 = t * dQk, p0 = pr[t];
    for (let d = 0; d < dV; d++) acc[ao + d] += p0 * k[k0 + d];
  }
}

function lseIndex(a: CpuDecodeArgs, i: number, h: number, j: number): number {
  const p = a.p;
  return i * p.lseStrideB + h * p.lseStrideH + (qStartOf(a, i) + j) * p.lseStrideT;
}

function writeFinal(a: CpuDecodeArgs, i: number, g: number, rows: number, acc: Float64Array, rowMax: Float64Array, rowSum: Float64Array): void {
  const p = a.p, enc = f32ToHalf(p.dtype), qStart = qStartOf(a, i);
  for (let r = 0; r < rows; r++) {
    const j = Math.floor(r / p.nGroups), h = g * p.nGroups + (r % p.nGroups);
    const o = ((qStart + j) * p.hQ + h) * p.dV;
    if (rowSum[r] === 0) { // no finite score: no key (out 0, lse +inf), or keys that all scored -inf (NaN)
      finishEmptyRow(a, i, h, j, o);
      continue;
    }
    const inv = 1 / rowSum[r];
    for (let d = 0; d < p.dV; d++) a.out[o + d] = enc(acc[r * p.dV + d] * inv);
    a.lse[lseIndex(a, i, h, j)] = rowMax[r] + Math.log(rowSum[r]);
  }
}

/**
 * A row of sequence i with no finite score in the whole sequence: out 0 and lse +inf when it sees no key, NaN (out
 * and lse) when it sees keys that all scored -inf, as the float64 reference gives (exp(-inf - -inf) is NaN there).
 * Which one is known from the problem alone, so the f32 partials need no marker for it. `o`: out's element offset.
 */
export function finishEmptyRow(a: CpuDecodeArgs, i: number, h: number, j: number, o: number): void {
  const p = a.p, seesKeys = visibleKeys(a.seqlens[i], qLenOf(a, i), j, p.causal) > 0;
  a.out.fill(seesKeys ? nanBitsOf(p.dtype) : 0, o, o + p.dV);
  a.lse[lseIndex(a, i, h, j)] = seesKeys ? NaN : Infinity;
}

const nanBitsOf = (d: HalfDType) => f32ToHalf(d)(NaN);

/** A split's row with no finite score keeps lse -inf and its unnormalised 0 x V sums (0, or NaN where V is inf). */
function writePartial(a: CpuDecodeArgs, slot: number, g: number, rows: number, acc: Float64Array, rowMax: Float64Array, rowSum: Float64Array): void {
  const p = a.p, perSplit = rowsPerSplit(p);
  for (let r = 0; r < rows; r++) {
    const j = Math.floor(r / p.nGroups), h = g * p.nGroups + (r % p.nGroups);
    const row = slot * perSplit + j * p.hQ + h;
    const empty = rowSum[r] === 0;
    const inv = empty ? 1 : 1 / rowSum[r];
    for (let d = 0; d < p.dV; d++) a.oAccum[row * p.dV + d] = acc[r * p.dV + d] * inv;
    a.lseAccum[row] = empty ? -Infinity : rowMax[r] + Math.log(rowSum[r]);
  }
}

/** Grow-only rows of the combine (one set a thread): the included splits' weights and rows, and a row of f32 out. */
const combineRows = { w: new Float64Array(16), at: new Int32Array(16), row: new Float32Array(dV) };
function combineScratch(splits: number, dVals: number) {
  if (combineRows.w.length < splits) { combineRows.w = new Float64Array(splits); combineRows.at = new Int32Array(splits); }
  if (combineRows.row.length < dVals) combineRows.row = new Float32Array(dVals);
  return combineRows;
}

/**
 * Combine units: one per sequence. Sequences computed in one piece were written by the decode phase. Each output
 * element is the float64 sum over the included splits in split order, rounded to f32 then to out's dtype (the bits
 * of summing into a float64 row and encoding each element; a row at a time, the bf16 encoding on the raw f32 bits).
 */
export function runCombineUnit(a: CpuDecodeArgs, i: number): void {
  const p = a.p, first = a.numSplits[i], nSplits = a.numSplits[i + 1] - first;
  if (nSplits <= 1) return;
  const perSplit = rowsPerSplit(p), qStart = qStartOf(a, i), dVals = p.dV;
  const { w, at, row } = combineScratch(nSplits, dVals);
  const f32Row = row.subarray(0, dVals);
  for (let j = 0; j < qLenOf(a, i); j++) {
    for (let h = 0; h < p.hQ; h++) {
      const r = j * p.hQ + h;
      let m = -Infinity;
      for (let s = 0; s < nSplits; s++) m = Math.max(m, a.lseAccum[(first + s) * perSplit + r]);
      const outOff = ((qStart + j) * p.hQ + h) * dVals;
      if (m === -Infinity) { // no split saw a finite score
        finishEmptyRow(a, i, h, j, outOff);
        continue;
      }
      let sum = 0;
      for (let s = 0; s < nSplits; s++) sum += Math.exp(a.lseAccum[(first + s) * perSplit + r] - m);
      const lse = m + Math.log(sum);
      let n = 0, z = 0;
      for (let s = 0; s < nSplits; s++) {
        const slot = (first + s) * perSplit + r;
        const ws = Math.exp(a.lseAccum[slot] - lse);
        // A split with no finite score (lse -inf) weighs 0 but is still added: its o carries the NaN of 0 x inf V.
        // A split whose weight underflows to 0 is left out (an f32 partial that overflowed to +-inf must not make the
        // row NaN) except for its NaN elements, the 0 x inf V of a key scored -inf, which the reference's sum over
        // every key keeps: such splits are listed from the end of `at`.
        if (ws === 0 && a.lseAccum[slot] !== -Infinity) { at[nSplits - 1 - z++] = slot * dVals; continue; }
        w[n] = ws;
        at[n++] = slot * dVals;
      }
      const acc = a.oAccum;
      for (let d = 0; d < dVals; d++) {
        let x = 0;
        for (let k = 0; k < n; k++) x += w[k] * acc[at[k] + d];
        f32Row[d] = x;
      }
      for (let k = nSplits - z; k < nSplits; k++) for (let d = 0; d < dVals; d++) if (acc[at[k] + d] !== acc[at[k] + d]) f32Row[d] = NaN;
      encodeHalf(p.dtype, f32Row, a.out.subarray(outOff, outOff + dVals));
      a.lse[lseIndex(a, i, h, j)] = lse;
    }
  }
}

/** The whole decode on the calling thread. */
export function runDecode(a: CpuDecodeArgs, s = new CpuScratch(), unit: (a: CpuDecodeArgs, u: number, s: CpuScratch) => void = runDecodeUnit,
  combine: (a: CpuDecodeArgs, i: number) => void = runCombineUnit): void {
  const units = decodeUnits(a.p);
  for (let u = 0; u < units; u++) unit(a, u, s);
  for (let i = 0; i < a.p.b; i++) combine(a, i);
}

export type { HalfDType };

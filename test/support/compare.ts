// Output comparison against the float64 reference, shared by every backend suite. The bar is FlashMLA's
// (cosine difference over the whole output, lse in absolute terms) plus per-element bounds in output-dtype ULPs,
// and exact agreement on the special values: +inf lse and all-zero rows where a row sees no key, no NaN anywhere.
import { type HalfDType, bf16ToF32, f16ToF32 } from '../../src/core/dtype.js';
import type { ReferenceOutput } from '../../src/core/reference.js';

/**
 * How close a backend must be. Element bound: |x - r| <= ulps * ulp(r) + rowAbs * max|ref row| (+ pRel * refAbs, where
 * the reference gives refAbs, the same weighted mean over |values|).
 */
export interface Tolerance {
  /** 1 - 2<x,y>/(|x|^2+|y|^2) over the whole output. */
  cosDiff: number;
  /** Rounding to the output dtype costs 0.5; the rest is accumulation order. */
  ulps: number;
  /**
   * Absolute slack relative to the largest |ref| of the element's row (512 values): near-zero outputs are sums
   * of cancelling terms, so their error scales with the row, not with themselves.
   */
  rowAbs: number;
  /** |lse - ref lse| for rows that see keys. */
  lseAbs: number;
  /** Plus this much of |ref lse| (an f32 lse far from 0 carries its own rounding: queries of large magnitude). */
  lseRel?: number;
  /**
   * A kernel that rounds each softmax weight to a 16-bit type before P·V moves it by up to pRel of itself (bf16: 2^-8),
   * so an element by up to pRel * (sum p |v|) / (sum p): the reference's outAbs (the sparse reference gives it).
   */
  pRel?: number;
  /**
   * The backend's f32 arithmetic may flush subnormals to zero (WGSL allows it; lavapipe does): an output of exactly 0
   * passes where |ref| is below f32's smallest normal, 2^-126 (e.g. a row scaled by a sink e^-90 above its lse).
   */
  flushesSubnormals?: boolean;
}

/**
 * One table per backend. cpu: float64 arithmetic with f32 partials, so only the final rounding shows. cuda and
 * webgpu: fp32 accumulation with P rounded to the input dtype before P·V, as FlashMLA does; the bounds were set so
 * FlashMLA's own outputs in ../shared/golden pass with a margin (see test/backends/cpu.test.ts, "FlashMLA's out").
 */
export const tolerances: Readonly<Record<'cpu' | 'cpuF32' | 'cuda' | 'cudaSparseFast' | 'webgpu', Tolerance>> = {
  cpu: { cosDiff: 1e-5, ulps: 1, rowAbs: 2 ** -20, lseAbs: 1e-3 },
  // The CPU vector rungs (native, WebAssembly): f32 products and accumulators like FlashMLA's, but P stays f32.
  cpuF32: { cosDiff: 1e-5, ulps: 2, rowAbs: 2 ** -16, lseAbs: 1e-3 },
  cuda: { cosDiff: 1e-5, ulps: 2, rowAbs: 2 ** -8, lseAbs: 1e-3 },
  // Sparse decode with precision 'fast' on the Hopper kernel: P rounded to bf16 (FlashMLA's arithmetic), see pRel.
  cudaSparseFast: { cosDiff: 1e-5, ulps: 2, rowAbs: 2 ** -8, lseAbs: 1e-3, pRel: 2 ** -8 },
  webgpu: { cosDiff: 1e-5, ulps: 2, rowAbs: 2 ** -8, lseAbs: 1e-3, flushesSubnormals: true },
};

/** Where a token row sits: out and the reference are [tokens, hQ, dV] in memory (tokens = b * sQ or totalQ). */
export interface Layout {
  b: number;
  sQ: number;
  hQ: number;
  dV?: number;
  /** Varlen: lse is [totalQ, hQ]; otherwise [b, hQ, sQ]. */
  qIndptr?: Int32Array;
}

export interface CompareReport {
  ok: boolean;
  cosDiff: number;
  /** Largest |x - r| / (element bound): <= 1 passes. */
  worstRatio: number;
  maxAbsErr: number;
  maxLseErr: number;
  /** Every failure found, first few only, each naming (batch, query, head, col). */
  failures: string[];
  message: string;
}

/** The spacing of representable values of `dtype` at |x| (subnormal spacing below the normal range). */
export function ulpOf(dtype: HalfDType | 'f32', x: number): number {
  const [mant, minExp] = dtype === 'bf16' ? [7, -126] : dtype === 'f16' ? [10, -14] : [23, -126];
  const a = Math.abs(x);
  const e = a === 0 ? minExp : Math.max(minExp, Math.floor(Math.log2(a)));
  // log2 can land one off near powers of two; fix by checking the binade.
  const ex = a !== 0 && 2 ** e > a ? e - 1 : a !== 0 && 2 ** (e + 1) <= a ? e + 1 : e;
  return 2 ** (Math.max(minExp, ex) - mant);
}

/**
 * Compare a backend's out (raw 16-bit bits of `dtype`, or already-decoded f32) and lse with the reference.
 * Never throws; see assertOutputsClose.
 */
export function compareOutputs(
  out: Uint16Array | Float32Array,
  lse: Float32Array,
  ref: ReferenceOutput,
  dtype: HalfDType,
  layout?: Layout,
  tol: Tolerance = tolerances.cpu,
): CompareReport {
  const dV = layout?.dV ?? 512;
  const failures: string[] = [];
  const where = (flatOut: number) => describe(flatOut, dV, layout);
  const fail = (s: string) => { if (failures.length < 8) failures.push(s); };
  if (out.length !== ref.out.length) fail(`out has ${out.length} elements, the reference ${ref.out.length}`);
  if (lse.length !== ref.lse.length) fail(`lse has ${lse.length} elements, the reference ${ref.lse.length}`);
  const n = Math.min(out.length, ref.out.length);
  const dec = out instanceof Float32Array ? (i: number) => out[i] : dtype === 'bf16' ? (i: number) => bf16ToF32(out[i]) : (i: number) => f16ToF32(out[i]);

  const f32MinNormal = 2 ** -126, minNormal = dtype === 'bf16' ? f32MinNormal : 2 ** -14;
  let dot = 0, xx = 0, yy = 0, maxAbsErr = 0, worstRatio = 0, worstAt = -1, nanCount = 0, firstNan = -1;
  for (let row = 0; row * dV < n; row++) {
    let rowMax = 0;
    for (let c = 0; c < dV; c++) rowMax = Math.max(rowMax, Math.abs(ref.out[row * dV + c]));
    if (rowMax === 0) {
      // The reference row is exactly zero only where the row sees no key: the kernel must write exact zeros.
      for (let c = 0; c < dV && row * dV + c < n; c++) {
        const x = dec(row * dV + c);
        if (x !== 0) { fail(`out ${where(row * dV + c)}: got ${x}, expected 0 (the row sees no key)`); break; }
      }
    }
    for (let c = 0; c < dV; c++) {
      const i = row * dV + c, x = dec(i), r = ref.out[i];
      if (Number.isNaN(x)) { if (nanCount++ === 0) firstNan = i; continue; }
      // The cosine is over elements in the dtype's normal range: below it the rounding is absolute (the ulp bound
      // checks those), and a case whose rows are all that small (sinks far above lse) has no direction to compare.
      if (Math.abs(r) >= minNormal) { dot += x * r; xx += x * x; yy += r * r; }
      const err = tol.flushesSubnormals && x === 0 && Math.abs(r) < f32MinNormal ? 0 : Math.abs(x - r);
      const bound = tol.ulps * ulpOf(dtype, r) + tol.rowAbs * rowMax + (tol.pRel && ref.outAbs ? tol.pRel * ref.outAbs[i] : 0);
      const ratio = err === 0 ? 0 : err / bound; // Inf error gives Infinity
      maxAbsErr = Math.max(maxAbsErr, err);
      if (ratio > worstRatio || Number.isNaN(ratio)) { worstRatio = Number.isNaN(ratio) ? Infinity : ratio; worstAt = i; }
    }
  }
  if (nanCount) fail(`out has ${nanCount} NaN, first at ${where(firstNan)}`);
  const cosDiff = xx + yy === 0 ? 0 : 1 - (2 * dot) / (xx + yy);
  if (!(cosDiff < tol.cosDiff)) fail(`cosine difference ${cosDiff.toExponential(3)} >= ${tol.cosDiff}`);
  if (worstRatio > 1) {
    fail(`out ${where(worstAt)}: got ${dec(worstAt)}, reference ${ref.out[worstAt]} (|diff| ${Math.abs(dec(worstAt) - ref.out[worstAt]).toExponential(3)}, `
      + `${worstRatio.toFixed(2)}x the bound ${tol.ulps} ulp + ${tol.rowAbs.toExponential(2)} * row max`
      + `${tol.pRel && ref.outAbs ? ` + ${tol.pRel.toExponential(2)} * ${ref.outAbs[worstAt].toExponential(3)} (weighted |v|)` : ''})`);
  }

  // lse: +inf exactly where a row sees no key, NaN never.
  let maxLseErr = 0, lseWorst = -1;
  const m = Math.min(lse.length, ref.lse.length);
  for (let k = 0; k < m; k++) {
    const x = lse[k], r = ref.lse[k];
    if (r === Infinity) {
      if (x !== Infinity) fail(`lse ${describeLse(k, layout)}: got ${x}, expected +Infinity (the row sees no key)`);
      continue;
    }
    const err = Math.abs(x - r);
    if (!(err <= tol.lseAbs + (tol.lseRel ?? 0) * Math.abs(r))) { if (!(err <= maxLseErr)) lseWorst = k; maxLseErr = Number.isNaN(err) ? Infinity : Math.max(maxLseErr, err); }
    else maxLseErr = Math.max(maxLseErr, err);
  }
  if (lseWorst >= 0) fail(`lse ${describeLse(lseWorst, layout)}: got ${lse[lseWorst]}, reference ${ref.lse[lseWorst]} (bound ${tol.lseAbs}${tol.lseRel ? ` + ${tol.lseRel} |ref|` : ''})`);

  const ok = failures.length === 0;
  const summary = `cos diff ${cosDiff.toExponential(2)}, worst element ${worstRatio.toFixed(3)}x bound, max |lse err| ${maxLseErr.toExponential(2)}`;
  return { ok, cosDiff, worstRatio, maxAbsErr, maxLseErr, failures, message: ok ? summary : `${failures.join('\n')}\n(${summary})` };
}

/** compareOutputs, throwing an Error with the failures (and `context`, e.g. the case name) when they differ. */
export function assertOutputsClose(
  out: Uint16Array | Float32Array, lse: Float32Array, ref: ReferenceOutput, dtype: HalfDType,
  layout?: Layout, tol?: Tolerance, context = '',
): CompareReport {
  const r = compareOutputs(out, lse, ref, dtype, layout, tol);
  if (!r.ok) throw new Error(`${context ? `${context}: ` : ''}${r.message}`);
  return r;
}

function tokenOf(t: number, layout: Layout): [number, number] {
  if (!layout.qIndptr) return [Math.floor(t / layout.sQ), t % layout.sQ];
  let i = 0;
  while (i + 1 < layout.b && layout.qIndptr[i + 1] <= t) i++;
  return [i, t - layout.qIndptr[i]];
}

function describe(flat: number, dV: number, layout?: Layout): string {
  if (!layout) return `[${flat}]`;
  const col = flat % dV, th = Math.floor(flat / dV), head = th % layout.hQ, t = Math.floor(th / layout.hQ);
  const [batch, query] = tokenOf(t, layout);
  return `(batch ${batch}, query ${query}, head ${head}, col ${col})`;
}

function describeLse(k: number, layout?: Layout): string {
  if (!layout) return `[${k}]`;
  if (layout.qIndptr) {
    const [batch, query] = tokenOf(Math.floor(k / layout.hQ), layout);
    return `(batch ${batch}, query ${query}, head ${k % layout.hQ})`;
  }
  const query = k % layout.sQ, head = Math.floor(k / layout.sQ) % layout.hQ, batch = Math.floor(k / (layout.sQ * layout.hQ));
  return `(batch ${batch}, query ${query}, head ${head})`;
}

// Spot checks of a decode against the float64 reference: a few (sequence, head) rows, each recomputed alone
// (b = 1, one head over its own KV head's keys), so checking a long batch costs milliseconds, not minutes.
import { type HalfDType, halfToF32 } from '../core/dtype.js';
import { referenceDecode } from '../core/reference.js';
import { uniform } from './random.js';

export interface CheckProblem {
  b: number;
  sQ: number;
  hQ: number;
  hKv: number;
  dtype: HalfDType;
  seqlens: Int32Array;
  causal?: boolean;
  softmaxScale?: number;
  /** q [b, sQ, hQ, 576] raw bits. */
  q: Uint16Array;
  /** out [b, sQ, hQ, 512] raw bits and lse [b, hQ, sQ], as the backend wrote them. */
  out: Uint16Array;
  lse: Float32Array;
  /** The keys of sequence `batch` for KV head `g` in key order: [seqlen, 576] raw bits. */
  keysOf(batch: number, g: number): Uint16Array;
}

export interface CheckResult {
  rows: number;
  /** 1 - 2<x,y>/(|x|^2+|y|^2) over every checked output value together. */
  cosDiff: number;
  maxLseError: number;
  /** Output rows that are wrong in a way the cosine could hide: NaN, or +inf / finite lse mismatches. */
  bad: number;
}

/** Check `samples` rows (random sequences and heads, seeded) of a finished decode. */
export function checkSample(p: CheckProblem, samples: number, seed = 1): CheckResult {
  const { b, sQ, hQ, hKv } = p;
  const nGroups = hQ / hKv;
  const u = uniform(seed);
  const toF = halfToF32(p.dtype);
  let dot = 0, norm = 0, maxLseError = 0, bad = 0, rows = 0;
  for (let s = 0; s < samples; s++) {
    const i = Math.floor(u() * b), h = Math.floor(u() * hQ), g = Math.floor(h / nGroups);
    const seqlen = p.seqlens[i];
    const q1 = new Uint16Array(sQ * 576);
    for (let j = 0; j < sQ; j++) q1.set(p.q.subarray(((i * sQ + j) * hQ + h) * 576, ((i * sQ + j) * hQ + h + 1) * 576), j * 576);
    const ref = referenceDecode({
      q: q1, kCache: seqlen > 0 ? p.keysOf(i, g) : new Uint16Array(576), blockTable: new Int32Array([0]),
      cacheSeqlens: new Int32Array([seqlen]), dtype: p.dtype, b: 1, sQ, hQ: 1, hKv: 1,
      pageBlockSize: Math.max(1, seqlen), maxBlocksPerSeq: 1, causal: p.causal, softmaxScale: p.softmaxScale,
    });
    for (let j = 0; j < sQ; j++) {
      rows++;
      const o = ((i * sQ + j) * hQ + h) * 512;
      for (let d = 0; d < 512; d++) {
        const x = toF(p.out[o + d]), y = ref.out[j * 512 + d];
        if (Number.isNaN(x)) { bad++; break; }
        dot += x * y;
        norm += x * x + y * y;
      }
      const l = p.lse[(i * hQ + h) * sQ + j], rl = ref.lse[j];
      if (rl === Infinity || l === Infinity) { if (l !== rl) bad++; } else maxLseError = Math.max(maxLseError, Math.abs(l - rl));
      if (Number.isNaN(l)) bad++;
    }
  }
  return { rows, cosDiff: norm > 0 ? 1 - (2 * dot) / norm : 0, maxLseError, bad };
}

/** The numerics bar of the contract. */
export function checkPasses(r: CheckResult): boolean {
  return r.bad === 0 && r.cosDiff < 1e-5 && r.maxLseError < 1e-3;
}

// The float64 oracle: MLA decode computed directly from the definition, on inputs already rounded to their
// dtype. Every backend is compared with this. Slow by design (one dot product at a time, no tiling).
import { dQk as dQkDefault, dV as dVDefault } from './constants.js';
import { type HalfDType, decodeHalf, halfToF32 } from './dtype.js';
import { visibleKeys } from './problem.js';

export interface ReferenceInputs {
  /** Raw 16-bit patterns: [b, sQ, hQ, dQk], or [totalQ, hQ, dQk] with qIndptr. */
  q: Uint16Array;
  /** [numBlocks, pageBlockSize, hKv, dQk] raw 16-bit patterns. */
  kCache: Uint16Array;
  blockTable: Int32Array; // [b, maxBlocksPerSeq]
  cacheSeqlens: Int32Array; // [b]
  dtype: HalfDType;
  b: number;
  sQ: number; // uniform query length (ignored with qIndptr)
  hQ: number;
  hKv: number;
  pageBlockSize: number;
  maxBlocksPerSeq: number;
  dQk?: number;
  dV?: number;
  softmaxScale?: number;
  causal?: boolean;
  qIndptr?: Int32Array;
}

export interface ReferenceOutput {
  /** [b, sQ, hQ, dV] (or [totalQ, hQ, dV]) */
  out: Float64Array;
  /** [b, hQ, sQ] (or [totalQ, hQ]); +Infinity where a row sees no key. */
  lse: Float64Array;
  /** Optional, as out: the same softmax-weighted mean over |V| (sum p |v| / sum p, times a sink's factor): what a
      relative error in each weight can move an element by, relative to itself. */
  outAbs?: Float64Array;
}

export function referenceDecode(r: ReferenceInputs): ReferenceOutput {
  const dQk = r.dQk ?? dQkDefault, dV = r.dV ?? dVDefault;
  const scale = r.softmaxScale ?? 1 / Math.sqrt(dQk);
  const causal = r.causal ?? true;
  const { b, hQ, hKv, pageBlockSize: page, maxBlocksPerSeq } = r;
  const nGroups = hQ / hKv;
  const toF = halfToF32(r.dtype);
  const qStart = (i: number) => (r.qIndptr ? r.qIndptr[i] : i * r.sQ);
  const qLen = (i: number) => (r.qIndptr ? r.qIndptr[i + 1] - r.qIndptr[i] : r.sQ);
  const totalQ = r.qIndptr ? r.qIndptr[b] : b * r.sQ;
  const out = new Float64Array(totalQ * hQ * dV);
  const lse = new Float64Array(totalQ * hQ);
  const lseAt = (i: number, h: number, j: number) => (r.qIndptr ? (qStart(i) + j) * hQ + h : (i * hQ + h) * r.sQ + j);

  const kf = decodeHalf(r.dtype, r.kCache); // exact: every 16-bit float is an f32
  const qv = new Float64Array(dQk);
  const acc = new Float64Array(dV);
  for (let i = 0; i < b; i++) {
    const seqlen = r.cacheSeqlens[i];
    // Where each key's row starts in kCache (per KV head 0; add g * dQk for head g).
    const keyRow = new Float64Array(seqlen);
    for (let t = 0; t < seqlen; t++) {
      const blk = r.blockTable[i * maxBlocksPerSeq + Math.floor(t / page)];
      keyRow[t] = (blk * page + (t % page)) * hKv * dQk;
    }
    const scores = new Float64Array(seqlen);
    for (let j = 0; j < qLen(i); j++) {
      const nKeys = visibleKeys(seqlen, qLen(i), j, causal);
      for (let h = 0; h < hQ; h++) {
        const g = Math.floor(h / nGroups);
        const qOff = ((qStart(i) + j) * hQ + h) * dQk;
        for (let d = 0; d < dQk; d++) qv[d] = toF(r.q[qOff + d]);
        let max = -Infinity;
        for (let t = 0; t < nKeys; t++) {
          const k = keyRow[t] + g * dQk;
          let s = 0;
          for (let d = 0; d < dQk; d++) s += qv[d] * kf[k + d];
          scores[t] = s * scale;
          if (scores[t] > max) max = scores[t];
        }
        acc.fill(0);
        let sum = 0;
        for (let t = 0; t < nKeys; t++) {
          const p = Math.exp(scores[t] - max);
          sum += p;
          const k = keyRow[t] + g * dQk;
          for (let d = 0; d < dV; d++) acc[d] += p * kf[k + d];
        }
        const oOff = ((qStart(i) + j) * hQ + h) * dV;
        if (nKeys === 0) {
          lse[lseAt(i, h, j)] = Infinity; // out stays 0
        } else {
          for (let d = 0; d < dV; d++) out[oOff + d] = acc[d] / sum;
          lse[lseAt(i, h, j)] = max + Math.log(sum);
        }
      }
    }
  }
  return { out, lse };
}

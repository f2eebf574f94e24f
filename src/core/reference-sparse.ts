// The float64 oracle for token-sparse decode, straight from the definition (FlashMLA tests/ref.py's math):
// dequantize each referenced token exactly (or, on request, rounded to bf16 the way a kernel's bf16 key tile holds
// it), gather the top-k tokens of a row (main list, then the extra list),
// logits = scale * q.k with -1 entries and entries at or past topkLength masked, lse = logsumexp (natural log),
// out = softmax . V (V = the first dV dims of the dequantized token), then the sink factor
// 1 / (1 + exp(sink - lse)) on out only. A row with no valid index: out 0, lse +Infinity.
import { dV as dVDefault } from './constants.js';
import { type HalfDType, bf16ToF32, decodeHalf, f32ToBf16, halfToF32 } from './dtype.js';
import { dequantizeToken, fp8Layouts, isFp8Format } from './fp8.js';
import type { SparseCacheKind } from './sparse.js';

export interface ReferenceSparseCache {
  kind: SparseCacheKind;
  /** FP8: the cache bytes (block stride as the format says); bf16/f16: raw bits [numBlocks, pageBlockSize, 1, dQk]. */
  data: Uint8Array | Uint16Array;
  pageBlockSize: number;
  /**
   * FP8 only: 'bf16' rounds each dequantized NoPE value e4m3 * scale to f32 and then to bf16, as the CUDA kernels'
   * bf16 key tiles hold it. Identical to the exact default for power-of-two scales (the only ones FlashMLA's
   * quantizer writes); it matters for a V3.2 cache with other f32 scales.
   */
  dequant?: 'exact' | 'bf16';
}

export interface ReferenceSparseInputs {
  /** [b, sQ, hQ, dQk] raw bits of `dtype`. */
  q: Uint16Array;
  dtype: HalfDType;
  b: number;
  sQ: number;
  hQ: number;
  dQk: number;
  dV?: number;
  softmaxScale?: number;
  cache: ReferenceSparseCache;
  indices: Int32Array; // [b, sQ, topk]
  topk: number;
  topkLength?: Int32Array;
  attnSink?: Float32Array;
  extraCache?: ReferenceSparseCache;
  extraIndices?: Int32Array;
  extraTopk?: number;
  extraTopkLength?: Int32Array;
}

export interface ReferenceSparseOutput {
  out: Float64Array; // [b, sQ, hQ, dV]
  lse: Float64Array; // [b, hQ, sQ]
  /** Shaped as out, [b, sQ, hQ, dV]. Each element: sum p |v| / sum p, times the sink's factor (ReferenceOutput.outAbs). */
  outAbs: Float64Array;
}

function tokenReader(c: ReferenceSparseCache, dQk: number): (phys: number, dst: Float64Array) => void {
  if (isFp8Format(c.kind)) {
    const kind = c.kind, bytes = c.data as Uint8Array, B = c.pageBlockSize, nope = fp8Layouts[kind].nope;
    if (c.dequant !== 'bf16') return (phys, dst) => dequantizeToken(kind, bytes, B, Math.floor(phys / B), phys % B, dst);
    return (phys, dst) => {
      dequantizeToken(kind, bytes, B, Math.floor(phys / B), phys % B, dst);
      for (let d = 0; d < nope; d++) dst[d] = bf16ToF32(f32ToBf16(dst[d]));
    };
  }
  const toF = halfToF32(c.kind), bits = c.data as Uint16Array;
  return (phys, dst) => { for (let d = 0; d < dQk; d++) dst[d] = toF(bits[phys * dQk + d]); };
}

export function referenceSparseDecode(r: ReferenceSparseInputs): ReferenceSparseOutput {
  const { b, sQ, hQ, dQk, topk } = r;
  const dV = r.dV ?? dVDefault;
  const scale = r.softmaxScale ?? dQk ** -0.5;
  const out = new Float64Array(b * sQ * hQ * dV);
  const outAbs = new Float64Array(b * sQ * hQ * dV);
  const lse = new Float64Array(b * hQ * sQ);
  const qf = decodeHalf(r.dtype, r.q);
  const readMain = tokenReader(r.cache, dQk);
  const readExtra = r.extraCache && tokenReader(r.extraCache, dQk);
  const extraTopk = r.extraTopk ?? 0;
  for (let i = 0; i < b; i++) {
    for (let s = 0; s < sQ; s++) {
      // The row's valid tokens, dequantized in float64.
      const keys: Float64Array[] = [];
      const take = (read: (p: number, d: Float64Array) => void, idx: Int32Array, width: number, len: number) => {
        for (let t = 0; t < Math.min(width, len); t++) {
          const phys = idx[(i * sQ + s) * width + t];
          if (phys < 0) continue;
          const k = new Float64Array(dQk);
          read(phys, k);
          keys.push(k);
        }
      };
      take(readMain, r.indices, topk, r.topkLength ? r.topkLength[i] : topk);
      if (readExtra && r.extraIndices) take(readExtra, r.extraIndices, extraTopk, r.extraTopkLength ? r.extraTopkLength[i] : extraTopk);
      for (let h = 0; h < hQ; h++) {
        const qo = ((i * sQ + s) * hQ + h) * dQk;
        const scores = keys.map((k) => { let acc = 0; for (let d = 0; d < dQk; d++) acc += qf[qo + d] * k[d]; return acc * scale; });
        const oo = ((i * sQ + s) * hQ + h) * dV;
        const lo = (i * hQ + h) * sQ + s;
        if (keys.length === 0) { lse[lo] = Infinity; continue; }
        let max = -Infinity;
        for (const x of scores) max = Math.max(max, x);
        let sum = 0;
        for (let t = 0; t < keys.length; t++) {
          const p = Math.exp(scores[t] - max);
          sum += p;
          for (let d = 0; d < dV; d++) { out[oo + d] += p * keys[t][d]; outAbs[oo + d] += p * Math.abs(keys[t][d]); }
        }
        const l = max + Math.log(sum);
        const factor = r.attnSink ? 1 / (1 + Math.exp(r.attnSink[h] - l)) : 1;
        for (let d = 0; d < dV; d++) { out[oo + d] = (out[oo + d] / sum) * factor; outAbs[oo + d] = (outAbs[oo + d] / sum) * factor; }
        lse[lo] = l;
      }
    }
  }
  return { out, lse, outAbs };
}

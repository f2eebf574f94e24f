// The float64 oracle for MlaAttention: transformers' DeepseekV3Attention written out directly, without the
// absorption: full per-head keys [W_UK c_kv, k_pe] and values W_UV c_kv, causal softmax over one sequence.
// Slow by design; it proves the layer's absorbed decode (a different order of the same algebra) right.
import { type MlaConfig, applyRope, mlaSoftmaxScale, ropeFrequencies } from './config.js';
import type { MlaWeights } from './weights.js';

/** hidden [T, hiddenSize] of one sequence at positions start .. start+T-1 -> out [T, hiddenSize]. Causal. */
export function referenceMlaAttention(c: MlaConfig, w: MlaWeights, hidden: ArrayLike<number>, T: number, start = 0): Float64Array {
  const { hiddenSize: D, numHeads: H, qkNopeHeadDim: nope, qkRopeHeadDim: rope, vHeadDim: dv, kvLoraRank: L } = c;
  const qk = nope + rope;
  const lin = (x: ArrayLike<number>, xo: number, k: number, wt: ArrayLike<number>, n: number): Float64Array => {
    const y = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += x[xo + t] * wt[j * k + t];
      y[j] = s;
    }
    return y;
  };
  const norm = (x: Float64Array, d: number, wt: ArrayLike<number>) => {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[i] * x[i];
    const inv = 1 / Math.sqrt(ss / d + c.rmsNormEps);
    for (let i = 0; i < d; i++) x[i] = wt[i] * x[i] * inv;
  };
  const { invFreq, attentionFactor } = ropeFrequencies(c);
  const interleave = c.ropeInterleave ?? true;
  const tmp = new Float64Array(rope);
  const qs: Float64Array[] = [], ks: Float64Array[] = [], vs: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    let q: Float64Array;
    if (c.qLoraRank === null) q = lin(hidden, t * D, D, w.qProj!, H * qk);
    else {
      const qa = lin(hidden, t * D, D, w.qAProj!, c.qLoraRank);
      norm(qa, c.qLoraRank, w.qALayernorm!);
      q = lin(qa, 0, c.qLoraRank, w.qBProj!, H * qk);
    }
    const ckv = lin(hidden, t * D, D, w.kvAProjWithMqa, L + rope);
    const latent = ckv.subarray(0, L);
    norm(latent, L, w.kvALayernorm);
    applyRope(ckv, L, start + t, invFreq, attentionFactor, interleave, tmp);
    const kvb = lin(latent, 0, L, w.kvBProj, H * (nope + dv)); // per head: k_nope then v
    const k = new Float64Array(H * qk), v = new Float64Array(H * dv);
    for (let h = 0; h < H; h++) {
      applyRope(q, h * qk + nope, start + t, invFreq, attentionFactor, interleave, tmp);
      for (let d = 0; d < nope; d++) k[h * qk + d] = kvb[h * (nope + dv) + d];
      for (let d = 0; d < rope; d++) k[h * qk + nope + d] = ckv[L + d];
      for (let d = 0; d < dv; d++) v[h * dv + d] = kvb[h * (nope + dv) + nope + d];
    }
    qs.push(q); ks.push(k); vs.push(v);
  }
  const scale = mlaSoftmaxScale(c);
  const out = new Float64Array(T * D);
  const attn = new Float64Array(H * dv);
  const p = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    attn.fill(0);
    for (let h = 0; h < H; h++) {
      let max = -Infinity;
      for (let u = 0; u <= t; u++) {
        let s = 0;
        for (let d = 0; d < qk; d++) s += qs[t][h * qk + d] * ks[u][h * qk + d];
        p[u] = s * scale;
        if (p[u] > max) max = p[u];
      }
      let sum = 0;
      for (let u = 0; u <= t; u++) { p[u] = Math.exp(p[u] - max); sum += p[u]; }
      for (let u = 0; u <= t; u++) for (let d = 0; d < dv; d++) attn[h * dv + d] += (p[u] / sum) * vs[u][h * dv + d];
    }
    out.set(lin(attn, 0, H * dv, w.oProj, D), t * D);
  }
  return out;
}

// The configuration of one DeepSeek-V2/V3 attention layer (Multi-head Latent Attention), with Hugging Face's
// field names in camelCase, and the rotary embedding it uses (plain RoPE or YaRN, as transformers computes it
// in _compute_yarn_parameters; DeepSeek configs ship rope_scaling {type: yarn, factor 40, ...}).
import { invalidArgument } from '../errors.js';

export interface YarnScaling {
  /** Context extension factor (DeepSeek-V2/V3: 40). */
  factor: number;
  /** Context length the model was pre-trained at (4096). */
  originalMaxPositionEmbeddings: number;
  /** Rotations at which frequencies switch from interpolated to extrapolated (32 and 1). */
  betaFast?: number;
  betaSlow?: number;
  /** Attention temperature terms (V2: 0.707/0.707, V3: 1/1). */
  mscale?: number;
  mscaleAllDim?: number;
  /** Overrides the cos/sin factor computed from mscale/mscaleAllDim. */
  attentionFactor?: number;
  /** Round the correction range outwards (transformers' default: true). */
  truncate?: boolean;
}

export interface MlaConfig {
  hiddenSize: number;
  numHeads: number;
  /** Rank of the query down-projection; null: one q_proj (DeepSeek-V2-Lite). */
  qLoraRank: number | null;
  /** Width of the compressed KV latent: 512 (the kernel's 512 + 64 row). */
  kvLoraRank: number;
  qkNopeHeadDim: number;
  /** 64 (the kernel's RoPE columns). */
  qkRopeHeadDim: number;
  vHeadDim: number;
  ropeTheta: number;
  ropeScaling?: YarnScaling | null;
  /** RMSNorm epsilon (1e-6). */
  rmsNormEps: number;
  /**
   * transformers' rope_interleave (default true for DeepSeek-V3): the RoPE dims come in (even, odd) pairs and are
   * permuted to the half-split layout before rotate_half. false: already half-split (Llama's layout).
   */
  ropeInterleave?: boolean;
}

/** Dimensions of DeepSeek-V2-Lite's attention (hf deepseek-ai/DeepSeek-V2-Lite config.json). */
export const deepseekV2LiteAttention: MlaConfig = {
  hiddenSize: 2048, numHeads: 16, qLoraRank: null, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128,
  ropeTheta: 10000, rmsNormEps: 1e-6,
  ropeScaling: { factor: 40, originalMaxPositionEmbeddings: 4096, betaFast: 32, betaSlow: 1, mscale: 0.707, mscaleAllDim: 0.707 },
};

/** Dimensions of DeepSeek-V3's attention (hf deepseek-ai/DeepSeek-V3 config.json). */
export const deepseekV3Attention: MlaConfig = {
  hiddenSize: 7168, numHeads: 128, qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128,
  ropeTheta: 10000, rmsNormEps: 1e-6,
  ropeScaling: { factor: 40, originalMaxPositionEmbeddings: 4096, betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 1 },
};

export function checkMlaConfig(c: MlaConfig): void {
  const pos = (name: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalidArgument(`config.${name}`, 'a positive integer', String(v));
  };
  pos('hiddenSize', c.hiddenSize);
  pos('numHeads', c.numHeads);
  if (c.qLoraRank !== null) pos('qLoraRank', c.qLoraRank);
  pos('qkNopeHeadDim', c.qkNopeHeadDim);
  pos('vHeadDim', c.vHeadDim);
  // The decode kernel's row is 512 latent + 64 RoPE columns, so these two are fixed.
  if (c.kvLoraRank !== 512) throw invalidArgument('config.kvLoraRank', '512 (the kernel caches 512 latent columns)', String(c.kvLoraRank));
  if (c.qkRopeHeadDim !== 64) throw invalidArgument('config.qkRopeHeadDim', '64 (the kernel caches 64 RoPE columns)', String(c.qkRopeHeadDim));
  const finite = (name: string, v: unknown, zeroOk: boolean) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk)) throw invalidArgument(`config.${name}`, `a finite number ${zeroOk ? '>= 0' : '> 0'}`, String(v));
  };
  finite('ropeTheta', c.ropeTheta, false);
  finite('rmsNormEps', c.rmsNormEps, true);
  if (c.ropeInterleave !== undefined && typeof c.ropeInterleave !== 'boolean') throw invalidArgument('config.ropeInterleave', 'true or false', String(c.ropeInterleave));
  const y = c.ropeScaling;
  if (y) {
    finite('ropeScaling.factor', y.factor, false);
    pos('ropeScaling.originalMaxPositionEmbeddings', y.originalMaxPositionEmbeddings);
    // (the optional terms: any finite value transformers would take; absent ones get its defaults)
    for (const k of ['betaFast', 'betaSlow', 'mscale', 'mscaleAllDim', 'attentionFactor'] as const) {
      if (y[k] !== undefined && !(typeof y[k] === 'number' && Number.isFinite(y[k]))) throw invalidArgument(`config.ropeScaling.${k}`, 'a finite number', String(y[k]));
    }
    if (y.truncate !== undefined && typeof y.truncate !== 'boolean') throw invalidArgument('config.ropeScaling.truncate', 'true or false', String(y.truncate));
  }
}

/** DeepSeek's yarn_get_mscale: the attention temperature of a context extended `scale` times. */
export function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** The model's softmax scale: 1/sqrt(qk_nope + qk_rope), times mscale(factor, mscale_all_dim)^2 under YaRN. */
export function mlaSoftmaxScale(c: MlaConfig): number {
  let s = 1 / Math.sqrt(c.qkNopeHeadDim + c.qkRopeHeadDim);
  const y = c.ropeScaling;
  if (y?.mscaleAllDim) {
    const m = yarnMscale(y.factor, y.mscaleAllDim);
    s *= m * m;
  }
  return s;
}

/**
 * Inverse frequencies [qkRopeHeadDim / 2] and the factor cos/sin are multiplied by. Computed in float32 steps as
 * transformers does (its inv_freq is a float32 tensor), so positions far out agree with it.
 */
export function ropeFrequencies(c: MlaConfig): { invFreq: Float32Array; attentionFactor: number } {
  const dim = c.qkRopeHeadDim, base = c.ropeTheta, half = dim / 2;
  const invFreq = new Float32Array(half);
  const extrap = new Float32Array(half);
  for (let i = 0; i < half; i++) extrap[i] = 1 / Math.fround(base ** Math.fround((2 * i) / dim));
  const y = c.ropeScaling;
  if (!y) return { invFreq: extrap, attentionFactor: 1 };
  const factor = y.factor;
  const betaFast = y.betaFast || 32, betaSlow = y.betaSlow || 1;
  const corrDim = (rot: number) => (dim * Math.log(y.originalMaxPositionEmbeddings / (rot * 2 * Math.PI))) / (2 * Math.log(base));
  let low = corrDim(betaFast), high = corrDim(betaSlow);
  if (y.truncate ?? true) { low = Math.floor(low); high = Math.ceil(high); }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(1, Math.max(0, Math.fround((i - low) / (high - low))));
    const extrapFactor = Math.fround(1 - ramp);
    const pos = Math.fround(base ** Math.fround((2 * i) / dim));
    const interp = Math.fround(1 / Math.fround(factor * pos));
    invFreq[i] = Math.fround(Math.fround(interp * Math.fround(1 - extrapFactor)) + Math.fround(extrap[i] * extrapFactor));
  }
  let attentionFactor = y.attentionFactor;
  if (attentionFactor === undefined) {
    attentionFactor = y.mscale && y.mscaleAllDim ? yarnMscale(factor, y.mscale) / yarnMscale(factor, y.mscaleAllDim) : yarnMscale(factor);
  }
  return { invFreq, attentionFactor };
}

/**
 * Rotate one RoPE vector of `x` in place (dim = 2 * invFreq.length), at `pos`. The result is in the half-split
 * layout (first halves, then second halves) that transformers produces; with `interleave` the input pairs are
 * (x[2i], x[2i+1]), otherwise (x[i], x[i + dim/2]). Queries and keys use the same layout, so dot products agree.
 */
export function applyRope(x: Float32Array | Float64Array, off: number, pos: number, invFreq: Float32Array, attentionFactor: number, interleave: boolean, tmp: Float64Array): void {
  const half = invFreq.length;
  for (let i = 0; i < half; i++) {
    const a = interleave ? x[off + 2 * i] : x[off + i];
    const b = interleave ? x[off + 2 * i + 1] : x[off + i + half];
    // transformers: freqs = pos * inv_freq in float32, cos/sin of that, times the attention factor.
    const ang = Math.fround(pos * invFreq[i]);
    const c = Math.cos(ang) * attentionFactor, s = Math.sin(ang) * attentionFactor;
    tmp[i] = a * c - b * s;
    tmp[i + half] = b * c + a * s;
  }
  for (let i = 0; i < 2 * half; i++) x[off + i] = tmp[i];
}

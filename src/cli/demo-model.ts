// The model-shaped part of `flashmla demo`: a stack of MlaAttention layers (pre-norm, residual; no MLP, no
// embedding) over random weights, a prompt prefilled through every layer, then tokens decoded one at a time
// with each layer's latent cache growing through its KvCacheManager; tokens/s on the chosen backend, and the
// first layer's prefill checked against the float64 non-absorbed formula.
import { KvCacheManager } from '../core/kvcache.js';
import { type MlaConfig, MlaAttention, type MlaWeights, referenceMlaAttention, rmsNorm, weightShapes } from '../core/mla/index.js';
import type { Backend } from '../core/problem.js';
import { uniform } from './random.js';

/** A small DeepSeek-V3-shaped attention (V3's head dims, latent and YaRN; fewer heads, narrower hidden). */
export const demoModelConfig: MlaConfig = {
  hiddenSize: 1024, numHeads: 16, qLoraRank: 384, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128,
  ropeTheta: 10000, rmsNormEps: 1e-6,
  ropeScaling: { factor: 40, originalMaxPositionEmbeddings: 4096, betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 1 },
};

function normalFill(seed: number, n: number, std: number, mean = 0): Float32Array {
  const u = uniform(seed), a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())), th = 2 * Math.PI * u();
    a[i] = mean + std * r * Math.cos(th);
    if (i + 1 < n) a[i + 1] = mean + std * r * Math.sin(th);
  }
  return a;
}

export function randomMlaWeights(c: MlaConfig, seed: number): MlaWeights {
  const w: Partial<MlaWeights> = {};
  let s = seed;
  for (const [name, shape] of Object.entries(weightShapes(c)) as [keyof MlaWeights, number[]][]) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Linear weights ~ N(0, 1/sqrt(fan_in)) keep activations O(1); norm weights near 1.
    w[name] = shape.length === 1 ? normalFill(s++, n, 0.05, 1) : normalFill(s++, n, 1 / Math.sqrt(shape[1]));
  }
  return w as MlaWeights;
}

export interface ModelRunResult {
  layers: number;
  batch: number;
  prompt: number;
  tokens: number;
  prefillMs: number;
  /** Median ms of one decode step (all layers, all sequences). */
  stepMs: number;
  tokensPerSec: number;
  /** Share of the step spent in the attention kernel (with its q upload and output download). */
  kernelShare: number;
  /** Cosine difference of layer 0's prefill (first `checked` tokens of sequence 0) vs float64; NaN if unchecked. */
  cosDiff: number;
  checked: number;
}

export async function modelRun(backend: Backend, o: { layers: number; batch: number; prompt: number; tokens: number; seed: number; check: boolean; progress?: (m: string) => void }): Promise<ModelRunResult> {
  const c = demoModelConfig, D = c.hiddenSize;
  const page = 64, perSeq = Math.ceil((o.prompt + o.tokens) / page);
  const layers: MlaAttention[] = [];
  const weights: MlaWeights[] = [];
  const ones = new Float32Array(D).fill(1);
  try {
    for (let l = 0; l < o.layers; l++) {
      o.progress?.(`model run: building layer ${l + 1}/${o.layers}`);
      const cache = new KvCacheManager({ backend, numBlocks: o.batch * perSeq, pageBlockSize: page, dtype: 'bf16' });
      weights.push(randomMlaWeights(c, o.seed * 1000 + l * 16));
      layers.push(new MlaAttention(c, weights[l], { cache }));
    }
    const ids = layers.map((layer) => Array.from({ length: o.batch }, () => layer.cache.addSequence()));
    const step = async (x: Float32Array, n: number): Promise<{ out: Float32Array; kernelMs: number; layer0In?: Float32Array }> => {
      let kernelMs = 0, layer0In: Float32Array | undefined;
      for (const [l, layer] of layers.entries()) {
        const h = x.slice();
        rmsNorm(h, o.batch * n, D, ones, c.rmsNormEps);
        if (l === 0) layer0In = h;
        const a = await layer.forward(ids[l], h, n);
        kernelMs += layer.lastTimings.kernelMs;
        for (let i = 0; i < x.length; i++) x[i] += a[i];
      }
      return { out: x, kernelMs, layer0In };
    };
    o.progress?.(`model run: prefilling ${o.batch} x ${o.prompt} tokens through ${o.layers} layers`);
    const t0 = performance.now();
    const x0 = normalFill(o.seed + 5, o.batch * o.prompt * D, 1);
    const pre = await step(x0.slice(), o.prompt);
    await backend.synchronize();
    const prefillMs = performance.now() - t0;
    let cosDiff = NaN, checked = 0;
    if (o.check) {
      // The first 24 prompt tokens of sequence 0 through layer 0, against the non-absorbed float64 formula.
      checked = Math.min(o.prompt, 24);
      const ref = referenceMlaAttention(c, weights[0], pre.layer0In!.subarray(0, checked * D), checked);
      const l0 = new MlaAttention(c, weights[0], { cache: new KvCacheManager({ backend, numBlocks: perSeq, pageBlockSize: page, dtype: 'bf16' }) });
      const got = await l0.forward([l0.cache.addSequence()], pre.layer0In!.slice(0, checked * D), checked);
      l0.dispose();
      l0.cache.dispose();
      let dot = 0, nrm = 0;
      for (let i = 0; i < got.length; i++) { dot += got[i] * ref[i]; nrm += got[i] * got[i] + ref[i] * ref[i]; }
      cosDiff = 1 - (2 * dot) / nrm;
    }
    // Decode: each sequence's next input is its last output, normalised.
    let x: Float32Array = new Float32Array(o.batch * D);
    for (let s = 0; s < o.batch; s++) x.set(pre.out.subarray(((s + 1) * o.prompt - 1) * D, (s + 1) * o.prompt * D), s * D);
    const times: number[] = [], kernel: number[] = [];
    for (let t = 0; t < o.tokens; t++) {
      o.progress?.(`model run: decoding token ${t + 1}/${o.tokens}`);
      rmsNorm(x, o.batch, D, ones, c.rmsNormEps);
      const ts = performance.now();
      const r = await step(x, 1);
      await backend.synchronize();
      times.push(performance.now() - ts);
      kernel.push(r.kernelMs);
      x = r.out;
    }
    const order = times.map((_, i) => i).sort((a, b) => times[a] - times[b]);
    const mid = order[order.length >> 1];
    const stepMs = times[mid];
    return {
      layers: o.layers, batch: o.batch, prompt: o.prompt, tokens: o.tokens, prefillMs, stepMs,
      tokensPerSec: (o.batch * 1000) / stepMs, kernelShare: kernel[mid] / stepMs, cosDiff, checked,
    };
  } finally {
    for (const l of layers) { l.dispose(); l.cache.dispose(); }
  }
}

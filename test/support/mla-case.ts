// Random MLA layers for tests: a small config (kv_lora_rank 512 and rope 64 kept), seeded normal weights in
// transformers' init scale, and a cosine measure shared with the CLI's checks.
import type { MlaConfig } from '../../src/core/mla/config.js';
import type { MlaWeights } from '../../src/core/mla/weights.js';
import { weightShapes } from '../../src/core/mla/weights.js';
import { uniform } from '../../src/cli/random.js';

export function smallConfig(over: Partial<MlaConfig> = {}): MlaConfig {
  return {
    hiddenSize: 64, numHeads: 3, qLoraRank: 48, kvLoraRank: 512, qkNopeHeadDim: 16, qkRopeHeadDim: 64, vHeadDim: 24,
    ropeTheta: 10000, rmsNormEps: 1e-6,
    ropeScaling: { factor: 40, originalMaxPositionEmbeddings: 4096, betaFast: 32, betaSlow: 1, mscale: 0.707, mscaleAllDim: 0.707 },
    ...over,
  };
}

export function normals(seed: number, n: number, std = 1): Float32Array {
  const u = uniform(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())), th = 2 * Math.PI * u();
    a[i] = std * r * Math.cos(th);
    if (i + 1 < n) a[i + 1] = std * r * Math.sin(th);
  }
  return a;
}

/** Weights ~ N(0, std) (norm weights ~ 1 + N(0, 0.1)); std large enough that attention is not uniform. */
export function randomWeights(c: MlaConfig, seed: number, std = 0.08): MlaWeights {
  const w: Partial<MlaWeights> = {};
  let s = seed;
  for (const [name, shape] of Object.entries(weightShapes(c)) as [keyof MlaWeights, number[]][]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = normals(s++ * 7919, n, shape.length === 1 ? 0.1 : std);
    if (shape.length === 1) for (let i = 0; i < n; i++) a[i] += 1;
    w[name] = a;
  }
  return w as MlaWeights;
}

/** 1 - 2<x,y>/(|x|^2+|y|^2), NaN when either has a NaN. */
export function cosDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let dot = 0, n = 0;
  for (let i = 0; i < x.length; i++) { dot += x[i] * y[i]; n += x[i] * x[i] + y[i] * y[i]; }
  return n > 0 ? 1 - (2 * dot) / n : 0;
}

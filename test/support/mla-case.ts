// Random MLA layers for tests: a small config (kv_lora_rank 512 and rope 64 kept), seeded normal weights in
// transformers' init scale, and a cosine measure shared with the CLI's checks.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniform } from '../../src/cli/random.js';
import type { HalfDType } from '../../src/core/dtype.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import type { MlaConfig } from '../../src/core/mla/config.js';
import { MlaAttention } from '../../src/core/mla/layer.js';
import { referenceMlaAttention } from '../../src/core/mla/reference.js';
import { SafetensorsFile } from '../../src/core/mla/safetensors.js';
import type { MlaWeights } from '../../src/core/mla/weights.js';
import { mlaWeightsFromSafetensors, weightShapes } from '../../src/core/mla/weights.js';
import type { Backend } from '../../src/core/problem.js';
import { fromArray } from '../../src/core/tensor.js';

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

// Tolerance of the whole layer against float64: the kernel's q, cache and output are 16-bit floats.
export const layerTol: Record<HalfDType, number> = { f16: 1e-6, bf16: 2e-5 };


/** A cache pool poisoned with NaN, so a read of any slot the layer did not write shows up in the output. */
export function poisonedCache(backend: Backend, numBlocks: number, page: number, dtype: HalfDType): KvCacheManager {
  const kv = new KvCacheManager({ backend, numBlocks, pageBlockSize: page, dtype });
  backend.write(kv.kCache, fromArray(dtype, [kv.kCache.numel], new Uint16Array(kv.kCache.numel).fill(dtype === 'bf16' ? 0x7fc0 : 0x7e00)));
  return kv;
}

/**
 * Run b sequences through `layer`: a prefill of `prefill` tokens, then one token at a time, returning [b, T, D]
 * in sequence order. Sequences are prefilled one at a time (other sequences' pages interleave in the pool)
 * and decoded together.
 */
export async function runSequences(layer: MlaAttention, hidden: Float32Array, b: number, T: number, prefill: number): Promise<Float32Array> {
  const D = layer.config.hiddenSize;
  const out = new Float32Array(b * T * D);
  const ids: number[] = [];
  for (let s = 0; s < b; s++) {
    // A dummy sequence between real ones: its pages sit between theirs.
    const dummy = layer.cache.addSequence();
    layer.cache.append(dummy, new Float32Array(576 * 3));
    const id = layer.cache.addSequence();
    ids.push(id);
    const y = await layer.forward([id], hidden.subarray(s * T * D, (s * T + prefill) * D), prefill);
    out.set(y, s * T * D);
  }
  for (let t = prefill; t < T; t++) {
    const x = new Float32Array(b * D);
    for (let s = 0; s < b; s++) x.set(hidden.subarray((s * T + t) * D, (s * T + t + 1) * D), s * D);
    const y = await layer.forward(ids, x, 1);
    for (let s = 0; s < b; s++) out.set(y.subarray(s * D, (s + 1) * D), (s * T + t) * D);
  }
  return out;
}

export function referenceSequences(c: MlaConfig, w: MlaWeights, hidden: Float32Array, b: number, T: number): Float64Array {
  const D = c.hiddenSize, out = new Float64Array(b * T * D);
  for (let s = 0; s < b; s++) out.set(referenceMlaAttention(c, w, hidden.subarray(s * T * D, (s + 1) * T * D), T), s * T * D);
  return out;
}

export function assertClose(got: Float32Array, want: ArrayLike<number>, bound: number, what: string): void {
  for (let i = 0; i < got.length; i++) if (!Number.isFinite(got[i])) assert.fail(`${what}: out[${i}] = ${got[i]}`);
  const d = cosDiff(got, want);
  assert.ok(d <= bound, `${what}: cosine difference ${d.toExponential(2)} > ${bound}`);
}


// ---------------------------------------------------------------- transformers' cases
export interface HfCase {
  name: string;
  config: {
    hidden_size: number; num_attention_heads: number; q_lora_rank: number | null; kv_lora_rank: number; qk_nope_head_dim: number;
    qk_rope_head_dim: number; v_head_dim: number; rope_theta: number; rms_norm_eps: number; rope_interleave: boolean;
    rope_scaling: null | { factor: number; original_max_position_embeddings: number; beta_fast: number; beta_slow: number; mscale: number; mscale_all_dim: number };
  };
  batch: number; prefill: number; decode_steps: number;
  hf_scaling: number; hf_inv_freq: number[]; hf_attention_scaling: number;
}

export function configOf(h: HfCase['config']): MlaConfig {
  const y = h.rope_scaling;
  return {
    hiddenSize: h.hidden_size, numHeads: h.num_attention_heads, qLoraRank: h.q_lora_rank, kvLoraRank: h.kv_lora_rank,
    qkNopeHeadDim: h.qk_nope_head_dim, qkRopeHeadDim: h.qk_rope_head_dim, vHeadDim: h.v_head_dim, ropeTheta: h.rope_theta,
    rmsNormEps: h.rms_norm_eps, ropeInterleave: h.rope_interleave,
    ropeScaling: y && {
      factor: y.factor, originalMaxPositionEmbeddings: y.original_max_position_embeddings, betaFast: y.beta_fast, betaSlow: y.beta_slow,
      mscale: y.mscale, mscaleAllDim: y.mscale_all_dim,
    },
  };
}


/** The folder of transformers' cases (scripts/make-mla-cases.py writes them). */
export const hfCaseDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'test/fixtures/mla');

/** The cases in hfCaseDir (folders holding a case.json), sorted; none where the folder is absent. */
export function hfCaseNames(): string[] {
  return existsSync(hfCaseDir) ? readdirSync(hfCaseDir).filter((n) => existsSync(join(hfCaseDir, n, 'case.json'))).sort() : [];
}

/** One case: its metadata, config and weights, and transformers' input / output hidden states [b, T, hidden] (T = prefill + decode steps). */
export function loadHfCase(name: string) {
  const at = (f: string) => join(hfCaseDir, name, f);
  const meta = JSON.parse(readFileSync(at('case.json'), 'utf8')) as HfCase;
  const c = configOf(meta.config);
  const w = mlaWeightsFromSafetensors(new SafetensorsFile(readFileSync(at('weights.safetensors'))), c);
  const io = new SafetensorsFile(readFileSync(at('io.safetensors')));
  const b = meta.batch, T = meta.prefill + meta.decode_steps;
  return { meta, c, w, b, T, hidden: io.f32('hidden', [b, T, c.hiddenSize]), want: io.f32('out', [b, T, c.hiddenSize]) };
}

/**
 * transformers case `name` through the device step on `backend`, for every cache dtype and device precision: each
 * combination's cosine difference goes to `log` first, then every one is checked (f32 at layerTol, bf16 at 2e-4), so a
 * failure still shows all four numbers. `onLayer` sees each layer after its run (a backend's own assertion).
 */
export async function checkHfCaseOnDevice(backend: Backend, name: string, log: (line: string) => void, onLayer?: (layer: MlaAttention) => void): Promise<void> {
  const { meta, c, w, b, T, hidden, want } = loadHfCase(name);
  const checks: (() => void)[] = [];
  for (const dtype of ['f16', 'bf16'] as const) {
    for (const precision of ['f32', 'bf16'] as const) {
      const layer = new MlaAttention(c, w, { cache: poisonedCache(backend, 32, 4, dtype), precision });
      const got = await runSequences(layer, hidden, b, T, meta.prefill);
      onLayer?.(layer);
      layer.dispose();
      layer.cache.dispose();
      log(`${dtype} cache, device ${precision}: cosine difference ${cosDiff(got, want).toExponential(2)}`);
      checks.push(() => assertClose(got, want, precision === 'f32' ? layerTol[dtype] : 2e-4, `${name} device ${precision}, ${dtype} cache`));
    }
  }
  for (const check of checks) check();
}

/**
 * Two chained bf16 layers (weights from seeds `seed` and `seed + 1`, hidden states from `seed + 2`; 2 sequences of 3
 * tokens) run once through forward() (the host between them) and once through forwardDevice (nothing on the host):
 * both outputs and the device output's shape.
 */
export async function chainTwoLayers(backend: Backend, seed: number): Promise<{ viaHost: Float32Array; onDevice: Float32Array; deviceShape: readonly number[] }> {
  const c = smallConfig({ numHeads: 2 });
  const w1 = randomWeights(c, seed), w2 = randomWeights(c, seed + 1);
  const hidden = normals(seed + 2, 2 * 3 * c.hiddenSize);
  let deviceShape: readonly number[] = [];
  const run = async (device: boolean) => {
    const l1 = new MlaAttention(c, w1, { cache: poisonedCache(backend, 8, 4, 'bf16'), precision: 'bf16' });
    const l2 = new MlaAttention(c, w2, { cache: poisonedCache(backend, 8, 4, 'bf16'), precision: 'bf16' });
    const ids = [l1.cache.addSequence(), l1.cache.addSequence()];
    for (const id of ids) assert.equal(l2.cache.addSequence(), id);
    let out: Float32Array;
    if (!device) out = await l2.forward(ids, await l1.forward(ids, hidden, 3), 3);
    else {
      const x = backend.upload(fromArray('f32', [hidden.length], hidden.slice()));
      const y = await l2.forwardDevice(ids, await l1.forwardDevice(ids, x, 3), 3);
      deviceShape = y.shape;
      out = (await backend.download(y)).host() as Float32Array;
      backend.free(x);
    }
    for (const l of [l1, l2]) { l.dispose(); l.cache.dispose(); }
    return out;
  };
  const viaHost = await run(false), onDevice = await run(true);
  return { viaHost, onDevice, deviceShape };
}

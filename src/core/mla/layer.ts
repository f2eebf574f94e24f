// MlaAttention: one DeepSeek-V2/V3 attention layer around the decode kernel. Per token:
//   q = q_b_proj(RMSNorm(q_a_proj(x)))  (or q_proj(x))          -> per head q_nope [qkNope], q_pe [64]
//   [c_kv, k_pe] = kv_a_proj_with_mqa(x); c_kv = RMSNorm(c_kv)  -> the cached row [512 latent, 64 RoPE]
//   absorbed query per head: [W_UKᵀ q_nope (512), RoPE(q_pe) (64)] -> flashMlaWithKvcache -> o_lat [512]
//   per head v = W_UV o_lat [vHead]; out = o_proj(concat heads)
// which equals transformers' DeepseekV3Attention (keys W_UK c_kv ++ k_pe, values W_UV c_kv, same softmax) with the
// up-projections moved from the keys onto the query and from the values onto the output (the "absorption").
import { flashMlaWithKvcache, getMlaMetadata } from '../api.js';
import { decodeHalf, encodeHalf } from '../dtype.js';
import { invalidArgument } from '../errors.js';
import type { KvCacheManager } from '../kvcache.js';
import type { Backend } from '../problem.js';
import { Tensor, fromArray } from '../tensor.js';
import { type MlaConfig, applyRope, checkMlaConfig, mlaSoftmaxScale, ropeFrequencies } from './config.js';
import { type GemmArgs, gemm } from './gemm.js';
import { type MlaWeights, checkMlaWeights } from './weights.js';
import { DeviceMlaStep } from './device.js';

/** Where the projections run: y[m, n] = x[m, k] · w[n, k]ᵀ on host f32 arrays. Default: the blocked JS GEMM. */
export type Linear = (a: GemmArgs) => void | Promise<void>;

export interface MlaAttentionOptions {
  /** This layer's paged latent cache; its backend runs the decode kernel. Sequences are added through it. */
  cache: KvCacheManager;
  /** Default: the cache backend's matmul when it has one (weights uploaded once), else the JS GEMM. */
  linear?: Linear;
  /**
   * Where the backend has device layer kernels (layerOps: CUDA, WebGPU) and no `linear` is given, the whole step
   * stays on the device: 'f32' (default) keeps f32 weights and activations; 'bf16' stores the weights in bf16 and
   * rounds the GEMM inputs to bf16 (CUDA: tensor cores; WebGPU: f32 arithmetic; f32 accumulation on both). 'host'
   * runs the element-wise steps on the host as other backends.
   */
  precision?: 'f32' | 'bf16' | 'host';
  /**
   * The device-resident step's kernels recorded in one backend.batch (WebGPU: one submission a step) instead of one
   * submission a kernel; the same bits either way (session 45: session 43's H200 difference came from a second backend
   * that saw no subgroup matrices). Default off. H200, V3-shaped layer, b 64, context 4096, f32
   * (bench/mla/layer-profile.ts --batch-step, three pairs): steps chained with forwardDevice 0.96x the time (2.59-2.60
   * against 2.67-2.75 ms), but a single synchronized step (forward(): upload, step, download) 1.05-1.25x slower
   * (3.55-4.17 against 3.31-3.77 ms), since the GPU starts only once the whole step is recorded. Worth it for chains
   * of device steps; not for the step-and-read loop most decoders run.
   */
  batchStep?: boolean;
}

/**
 * Projections on a backend's matmul: each weight array is uploaded on first use and kept; activations go up and
 * results come back per call (the layer's element-wise steps run on the host).
 */
export function backendLinear(backend: Backend): { linear: Linear; dispose(): void } {
  if (!backend.matmul) throw invalidArgument('backend', 'a backend with matmul', backend.info.device);
  const weights = new Map<Float32Array, Tensor>();
  const host = backend.kind === 'cpu';
  const linear: Linear = async (a) => {
    let w = weights.get(a.w);
    if (!w) { w = backend.upload(fromArray('f32', [a.w.length], a.w)); weights.set(a.w, w); }
    const batch = a.batch ?? 1;
    const x = host ? fromArray('f32', [a.x.length], a.x) : backend.upload(fromArray('f32', [a.x.length], a.x));
    const yOff = a.yOff ?? 0, ys = a.yStride ?? a.n;
    const direct = host && batch === 1 && yOff === 0 && ys === a.n && !a.accumulate;
    // Every product of the batch writes its [m, n] block of one device tensor; one download brings them all back.
    const y = direct ? fromArray('f32', [a.m, a.n], a.y.subarray(0, a.m * a.n)) : backend.empty('f32', [batch, a.m, a.n]);
    try {
      for (let b = 0; b < batch; b++) {
        await backend.matmul!({
          m: a.m, n: a.n, k: a.k, x, xOff: (a.xOff ?? 0) + b * (a.xBatchStride ?? 0), xStride: a.xStride ?? a.k,
          w, wOff: (a.wOff ?? 0) + b * (a.wBatchStride ?? 0), wStride: a.wStride ?? a.k,
          y: direct ? y : new Tensor('f32', [a.m, a.n], y.data, b * a.m * a.n),
        });
      }
      if (direct) return;
      const r = (await backend.download(y)).host() as Float32Array;
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < a.m; i++) {
          const dst = yOff + b * (a.yBatchStride ?? 0) + i * ys, src = (b * a.m + i) * a.n;
          if (a.accumulate) for (let j = 0; j < a.n; j++) a.y[dst + j] += r[src + j];
          else a.y.set(r.subarray(src, src + a.n), dst);
        }
      }
    } finally {
      if (!host) { backend.free(x); backend.free(y); }
    }
  };
  return { linear, dispose: () => { if (!host) for (const t of weights.values()) backend.free(t); weights.clear(); } };
}

export class MlaAttention {
  readonly config: MlaConfig;
  readonly softmaxScale: number;
  readonly cache: KvCacheManager;
  private readonly w: MlaWeights;
  private readonly invFreq: Float32Array;
  private readonly attentionFactor: number;
  /** Per head W_UKᵀ [512, qkNope], so the absorbed query is one GEMM per head. */
  private readonly wUKT: Float32Array;
  private readonly linear: Linear;
  private readonly release?: () => void;
  /** The device-resident step, where the backend has layer kernels (see MlaAttentionOptions.precision). */
  private readonly device?: DeviceMlaStep;
  /**
   * Wall-clock split of the last forward(): the attention kernel (with its q upload / out download) and the rest.
   * kernelMs is NaN for the device-resident step (its kernels are queued together; time it with backend.timeMs).
   */
  readonly lastTimings = { kernelMs: 0, totalMs: 0 };

  constructor(config: MlaConfig, weights: MlaWeights, opts: MlaAttentionOptions) {
    checkMlaConfig(config);
    checkMlaWeights(config, weights);
    if (opts.cache.hKv !== 1) throw invalidArgument('cache.hKv', '1 (MLA caches one latent per token)', String(opts.cache.hKv));
    this.config = config;
    this.w = weights;
    this.cache = opts.cache;
    const precision = opts.precision ?? (opts.linear || !opts.cache.backend.layerOps || opts.cache.format ? 'host' : 'f32');
    if (!['f32', 'bf16', 'host'].includes(precision)) throw invalidArgument('precision', "'f32', 'bf16' or 'host'", String(precision));
    if (precision !== 'host' && opts.linear) throw invalidArgument('precision', "'host' with a custom linear", precision);
    if (opts.linear) this.linear = opts.linear;
    else if (precision !== 'host') this.linear = gemm;
    else if (opts.cache.backend.matmul) {
      const l = backendLinear(opts.cache.backend);
      this.linear = l.linear;
      this.release = l.dispose;
    } else this.linear = gemm;
    this.softmaxScale = mlaSoftmaxScale(config);
    const r = ropeFrequencies(config);
    this.invFreq = r.invFreq;
    this.attentionFactor = r.attentionFactor;
    const { numHeads: H, qkNopeHeadDim: nope, vHeadDim: dv, kvLoraRank: L } = config;
    this.wUKT = new Float32Array(H * L * nope);
    for (let h = 0; h < H; h++) {
      const src = h * (nope + dv) * L, dst = h * L * nope;
      for (let d = 0; d < nope; d++) for (let c = 0; c < L; c++) this.wUKT[dst + c * nope + d] = weights.kvBProj[src + d * L + c];
    }
    if (precision !== 'host') {
      this.device = new DeviceMlaStep(config, weights, this.wUKT, this.cache, this.invFreq, this.attentionFactor, this.softmaxScale, precision);
      this.device.batchStep = opts.batchStep ?? false;
    }
  }

  /**
   * Run `n` new tokens of each sequence in `ids` through the layer: hidden [ids.length, n, hiddenSize] f32,
   * returns [ids.length, n, hiddenSize] f32. The tokens take the positions after each sequence's cached ones,
   * are appended to the cache, and attend causally (n > 1: a prefill chunk; n = 1: a decode step).
   */
  async forward(ids: readonly number[], hidden: Float32Array, n: number): Promise<Float32Array> {
    const c = this.config, b = ids.length;
    const { hiddenSize: D, numHeads: H, qkNopeHeadDim: nope, qkRopeHeadDim: rope, vHeadDim: dv, kvLoraRank: L } = c;
    if (!Number.isInteger(n) || n < 1) throw invalidArgument('n', 'a positive integer (tokens per sequence)', String(n));
    if (b < 1) throw invalidArgument('ids', 'at least one sequence', '[]');
    if (!(hidden instanceof Float32Array) || hidden.length !== b * n * D) {
      throw invalidArgument('hidden', `a Float32Array of ${b * n * D} elements ([${b}, ${n}, ${D}])`, hidden instanceof Float32Array ? String(hidden.length) : Object.prototype.toString.call(hidden));
    }
    if (new Set(ids).size !== ids.length) throw invalidArgument('ids', 'distinct sequence ids', `[${ids.join(', ')}]`);
    const t0 = performance.now();
    if (this.device) {
      const out = await this.device.forward(ids, hidden, n);
      this.lastTimings.kernelMs = NaN; // queued with the rest of the step: backend.timeMs measures the device time
      this.lastTimings.totalMs = performance.now() - t0;
      return out;
    }
    const M = b * n, qk = nope + rope, lin = this.linear, w = this.w;
    const positions = ids.map((id) => this.cache.seqlen(id));

    // Query projections.
    const q = new Float32Array(M * H * qk);
    if (c.qLoraRank === null) {
      await lin({ m: M, n: H * qk, k: D, x: hidden, w: w.qProj!, y: q });
    } else {
      const qa = new Float32Array(M * c.qLoraRank);
      await lin({ m: M, n: c.qLoraRank, k: D, x: hidden, w: w.qAProj!, y: qa });
      rmsNorm(qa, M, c.qLoraRank, w.qALayernorm!, c.rmsNormEps);
      await lin({ m: M, n: H * qk, k: c.qLoraRank, x: qa, w: w.qBProj!, y: q });
    }
    // The compressed latent and the shared RoPE key: the rows the cache keeps.
    const kv = new Float32Array(M * (L + rope));
    await lin({ m: M, n: L + rope, k: D, x: hidden, w: w.kvAProjWithMqa, y: kv });
    const tmp = new Float64Array(rope);
    const interleave = c.ropeInterleave ?? true;
    for (let s = 0; s < b; s++) {
      for (let t = 0; t < n; t++) {
        const row = s * n + t, pos = positions[s] + t;
        rmsNormRow(kv, row * (L + rope), L, w.kvALayernorm, c.rmsNormEps);
        applyRope(kv, row * (L + rope) + L, pos, this.invFreq, this.attentionFactor, interleave, tmp);
        for (let h = 0; h < H; h++) applyRope(q, (row * H + h) * qk + nope, pos, this.invFreq, this.attentionFactor, interleave, tmp);
      }
    }
    for (let s = 0; s < b; s++) this.cache.append(ids[s], kv.subarray(s * n * (L + rope), (s + 1) * n * (L + rope)));

    // Absorbed query rows [M, H, 576]: W_UKᵀ q_nope, then the rotated q_pe.
    const qAbs = new Float32Array(M * H * (L + rope));
    await lin({
      m: M, n: L, k: nope, x: q, xStride: H * qk, w: this.wUKT, y: qAbs, yStride: H * (L + rope),
      batch: H, xBatchStride: qk, wBatchStride: L * nope, yBatchStride: L + rope,
    });
    for (let r = 0; r < M * H; r++) qAbs.set(q.subarray(r * qk + nope, (r + 1) * qk), r * (L + rope) + L);

    const tk = performance.now();
    const oLat = await this.attend(ids, qAbs, b, n);
    this.lastTimings.kernelMs = performance.now() - tk;

    // Re-expand per head with W_UV, then o_proj.
    const attn = new Float32Array(M * H * dv);
    await lin({
      m: M, n: dv, k: L, x: oLat, xStride: H * L, w: w.kvBProj, wOff: nope * L, y: attn, yStride: H * dv,
      batch: H, xBatchStride: L, wBatchStride: (nope + dv) * L, yBatchStride: dv,
    });
    const out = new Float32Array(M * D);
    await lin({ m: M, n: D, k: H * dv, x: attn, w: w.oProj, y: out });
    this.lastTimings.totalMs = performance.now() - t0;
    return out;
  }

  /**
   * forward() with the hidden states and the result on the backend (the device-resident step only, e.g. CUDA or WebGPU with
   * precision 'f32' or 'bf16'): nothing is synchronized, so layers chain without a host round trip. hidden:
   * [ids.length, n, hiddenSize] f32 on the cache's backend. The result is a view of the layer's output buffer,
   * valid until this layer's next forward.
   */
  async forwardDevice(ids: readonly number[], hidden: Tensor, n: number): Promise<Tensor> {
    if (!this.device) throw invalidArgument('precision', "'f32' or 'bf16' on a backend with device layer kernels (CUDA, WebGPU) for forwardDevice", 'host');
    if (!Number.isInteger(n) || n < 1) throw invalidArgument('n', 'a positive integer (tokens per sequence)', String(n));
    if (ids.length < 1) throw invalidArgument('ids', 'at least one sequence', '[]');
    if (new Set(ids).size !== ids.length) throw invalidArgument('ids', 'distinct sequence ids', `[${ids.join(', ')}]`);
    return this.device.forwardDevice(ids, hidden, n);
  }

  /** Free the weights this layer uploaded (not the cache, which the caller owns). */
  dispose(): void { this.release?.(); this.device?.dispose(); }

  /** The kernel over the cache: q [b, n, H, 576] f32 (rounded to the cache dtype) -> o_lat [b, n, H, 512] f32. */
  private async attend(ids: readonly number[], qAbs: Float32Array, b: number, n: number): Promise<Float32Array> {
    const H = this.config.numHeads, cache = this.cache, backend = cache.backend, dtype = cache.dtype;
    const step = cache.batch(ids);
    const { tileSchedulerMetadata, numSplits } = getMlaMetadata(step.cacheSeqlens, n * H, 1, { backend });
    const qHost = fromArray(dtype, [b, n, H, 576], encodeHalf(dtype, qAbs));
    const onHost = backend.kind === 'cpu';
    const qT = onHost ? qHost : backend.upload(qHost);
    try {
      const { out, lse } = await flashMlaWithKvcache(qT, cache.kCache, step.blockTable, fromArray('i32', [b], step.cacheSeqlens), 512,
        tileSchedulerMetadata, numSplits, { softmaxScale: this.softmaxScale, causal: true, backend });
      const o = (await backend.download(out)).host() as Uint16Array;
      const res = decodeHalf(dtype, o);
      if (!onHost) { backend.free(out); backend.free(lse); }
      return res;
    } finally {
      if (!onHost) backend.free(qT);
    }
  }
}

/** RMSNorm of each of `rows` rows of width d, in place, as transformers' DeepseekV3RMSNorm (f32 math). */
export function rmsNorm(x: Float32Array, rows: number, d: number, weight: Float32Array, eps: number): void {
  for (let r = 0; r < rows; r++) rmsNormRow(x, r * d, d, weight, eps);
}

function rmsNormRow(x: Float32Array, off: number, d: number, weight: Float32Array, eps: number): void {
  let ss = 0;
  for (let i = 0; i < d; i++) ss += x[off + i] * x[off + i];
  const inv = 1 / Math.sqrt(ss / d + eps);
  for (let i = 0; i < d; i++) x[off + i] = weight[i] * Math.fround(x[off + i] * inv);
}

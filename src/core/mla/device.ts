// MlaAttention's decode step kept on the device: a backend that offers `layerOps()` (CUDA: kernels/layer.cu;
// WebGPU: webgpu/kernels/layer.ts) runs every projection, RMSNorm, RoPE, the cache append and the dtype conversions
// as kernels on its stream / queue, and the host only copies the hidden states up and the layer output down (one
// synchronization a step).
// Precision 'f32': f32 weights and activations (SIMT GEMM), the same numerics as the host path. 'bf16': bf16
// weights and GEMM inputs with f32 accumulation (CUDA: the tensor cores; WebGPU: f32 arithmetic on the decoded bf16
// values, whose products f32 holds exactly); RMSNorm, RoPE and the GEMM outputs stay f32 except where the next GEMM
// reads them (rounded to bf16 there, as a bf16 model does).
import { flashMlaWithKvcache, getMlaMetadata } from '../api.js';
import { encodeHalf } from '../dtype.js';
import { FlashMlaError, invalidArgument } from '../errors.js';
import type { KvCacheManager } from '../kvcache.js';
import type { Backend } from '../problem.js';
import { Tensor, fromArray } from '../tensor.js';
import type { MlaConfig } from './config.js';
import type { MlaWeights } from './weights.js';

/**
 * y[z, i, j] = Σ_t x[z, i, t] · w[z, j, t] for z < batch: element offsets and strides as the CPU GemmArgs. x and w
 * share one dtype (f32: SIMT kernel, bf16: tensor cores on CUDA, f32 arithmetic on WebGPU); y is f32, bf16 or f16.
 */
export interface DeviceGemm {
  m: number; n: number; k: number;
  x: Tensor; xOff?: number; xStride?: number; xBatch?: number;
  w: Tensor; wOff?: number; wStride?: number; wBatch?: number;
  y: Tensor; yOff?: number; yStride?: number; yBatch?: number;
  batch?: number;
}

/**
 * A layer op's strided [batch, rows, cols] access from element `off` of `t`: throws invalid_argument naming `what`
 * unless the tensor holds every element it reaches (both backends' ops check each tensor they touch with it).
 */
export function checkReach(t: Tensor, what: string, off: number, batch: number, batchStride: number, rows: number, stride: number, cols: number): void {
  const last = off + (batch - 1) * batchStride + (rows - 1) * stride + cols;
  if (off < 0 || last > t.numel) throw invalidArgument(what, `at least ${last} elements for this access`, String(t.numel));
}

/** The device kernels of a layer step; queued on the backend's stream, in order. */
export interface MlaDeviceOps {
  gemm(g: DeviceGemm): void;
  /** RMSNorm of `rows` f32 rows of width d in place; `out` (optional) gets a copy in its dtype. */
  rmsNorm(a: { x: Tensor; rows: number; d: number; weight: Tensor; eps: number; out?: Tensor }): void;
  /** q [rows, heads, nope + rope] f32 -> RoPE(q_pe) into qAttn [rows, heads, 576] columns 512..; q_nope into nopeOut. */
  qRope(a: { q: Tensor; rows: number; heads: number; nope: number; rope: number; positions: Tensor; invFreq: Tensor;
    attentionFactor: number; interleave: boolean; qAttn: Tensor; nopeOut?: Tensor }): void;
  /** kv [rows, 576] f32 -> [RMSNorm(latent), RoPE(k_pe)] into cache row slots[r] (cache [*, 576] bf16/f16). */
  kvAppend(a: { kv: Tensor; rows: number; weight: Tensor; eps: number; positions: Tensor; invFreq: Tensor; attentionFactor: number;
    interleave: boolean; slots: Tensor; cache: Tensor }): void;
  /** n elements of src into dst, converted to dst's dtype. */
  convert(src: Tensor, dst: Tensor, n: number): void;
  /** Release what the ops hold (parameter blocks); the backend's dispose calls it. */
  dispose?(): void;
}

export type LayerPrecision = 'f32' | 'bf16';

interface Buffers { M: number; t: Record<string, Tensor> }

/** One layer's device state: its weights (uploaded once, in the chosen precision) and grow-only activations. */
export class DeviceMlaStep {
  private readonly ops: MlaDeviceOps;
  private readonly backend: Backend;
  private readonly w: Record<string, Tensor> = {};
  private buf?: Buffers;
  private readonly wType: 'f32' | 'bf16';
  /** Record a step's kernels in one backend.batch (MlaAttentionOptions.batchStep). */
  batchStep = false;

  constructor(private readonly c: MlaConfig, weights: MlaWeights, wUKT: Float32Array, private readonly cache: KvCacheManager,
    invFreq: Float32Array, private readonly attentionFactor: number, private readonly softmaxScale: number,
    readonly precision: LayerPrecision) {
    const backend = cache.backend;
    if (!backend.layerOps) throw invalidArgument('precision', 'a backend with device layer kernels (CUDA, WebGPU)', backend.kind);
    if (cache.format) throw invalidArgument('cache', 'a bf16 or f16 cache for the device-resident layer', `FP8 format ${cache.format}`);
    this.backend = backend;
    this.ops = backend.layerOps();
    this.wType = precision;
    if (precision === 'bf16') {
      // CUDA's tensor-core GEMM copies 8 elements at a time: every k and every stride must be a multiple of 8 (the
      // WebGPU GEMM has no such need; the rule holds on every backend so that a config runs the same everywhere).
      const dims: [string, number][] = [['hiddenSize', c.hiddenSize], ['qkNopeHeadDim', c.qkNopeHeadDim], ['vHeadDim', c.vHeadDim]];
      if (c.qLoraRank !== null) dims.push(['qLoraRank', c.qLoraRank]);
      for (const [name, v] of dims) if (v % 8 !== 0) throw invalidArgument(`config.${name}`, "a multiple of 8 with precision 'bf16'", String(v));
    }
    const up = (name: string, a: Float32Array) => {
      this.w[name] = precision === 'bf16' ? backend.upload(fromArray('bf16', [a.length], encodeHalf('bf16', a))) : backend.upload(fromArray('f32', [a.length], a));
    };
    const upF32 = (name: string, a: Float32Array) => { this.w[name] = backend.upload(fromArray('f32', [a.length], a)); };
    if (c.qLoraRank === null) up('qProj', weights.qProj!);
    else { up('qAProj', weights.qAProj!); up('qBProj', weights.qBProj!); upF32('qALayernorm', weights.qALayernorm!); }
    up('kvAProj', weights.kvAProjWithMqa);
    up('kvBProj', weights.kvBProj);
    up('wUKT', wUKT);
    up('oProj', weights.oProj);
    upF32('kvALayernorm', weights.kvALayernorm);
    upF32('invFreq', invFreq);
  }

  private buffers(M: number): Record<string, Tensor> {
    if (this.buf && this.buf.M >= M) return this.buf.t;
    this.freeBuffers(); // queue() synchronized before a growth: no queued kernel still uses them
    const c = this.c, be = this.backend, H = c.numHeads, qk = c.qkNopeHeadDim + c.qkRopeHeadDim, L = c.kvLoraRank;
    const bf = this.wType === 'bf16', half = this.cache.dtype;
    const t: Record<string, Tensor> = {
      hid: be.empty('f32', [M * c.hiddenSize]), q: be.empty('f32', [M * H * qk]), kv: be.empty('f32', [M * (L + c.qkRopeHeadDim)]),
      qAttn: be.empty(half, [M * H * 576]), oLat: be.empty(half, [M * H * L]), lse: be.empty('f32', [M * H]),
      attn: be.empty(bf ? 'bf16' : 'f32', [M * H * c.vHeadDim]), out: be.empty('f32', [M * c.hiddenSize]), idx: be.empty('i32', [2 * M]),
    };
    if (c.qLoraRank !== null) { t.qa = be.empty('f32', [M * c.qLoraRank]); if (bf) t.qaB = be.empty('bf16', [M * c.qLoraRank]); }
    if (bf) { t.hidB = be.empty('bf16', [M * c.hiddenSize]); t.nopeB = be.empty('bf16', [M * H * c.qkNopeHeadDim]); }
    if (!bf || half !== 'bf16') t.oX = be.empty(bf ? 'bf16' : 'f32', [M * H * L]);
    this.buf = { M, t };
    return t;
  }

  private freeBuffers(): void {
    if (!this.buf) return;
    for (const x of Object.values(this.buf.t)) this.backend.free(x);
    this.buf = undefined;
  }

  /** hidden [b, n, D] f32 on the host -> [b, n, D] f32 on the host; everything between stays on the device. */
  async forward(ids: readonly number[], hidden: Float32Array, n: number): Promise<Float32Array> {
    const out = await this.queue(ids, n, (dst) => this.backend.write(dst, fromArray('f32', [dst.numel], hidden)));
    return (await this.backend.download(out)).host() as Float32Array;
  }

  /**
   * hidden [b, n, D] f32 on this backend -> [b, n, D] f32 on this backend, queued without a synchronization. The
   * result is a view of the layer's own buffer: valid until its next forward (copy it to keep it).
   */
  async forwardDevice(ids: readonly number[], hidden: Tensor, n: number): Promise<Tensor> {
    const M = ids.length * n, D = this.c.hiddenSize;
    if (hidden.dtype !== 'f32' || hidden.numel !== M * D || hidden.device !== this.backend.kind) {
      throw invalidArgument('hidden', `an f32 ${this.backend.kind} tensor of ${M * D} elements ([${ids.length}, ${n}, ${D}])`,
        `${hidden.dtype} ${hidden.device} tensor of ${hidden.numel} elements`);
    }
    return this.queue(ids, n, (dst) => this.ops.convert(hidden, dst, M * D));
  }

  private async queue(ids: readonly number[], n: number, putHidden: (dst: Tensor) => void): Promise<Tensor> {
    const b = ids.length, M = b * n, be = this.backend, cache = this.cache;
    // Take the cache slots first: a pool too small for the whole step throws before anything is taken or queued.
    let need = 0;
    for (const id of ids) need += cache.pagesNeeded(id, n);
    const free = cache.stats().pagesFree;
    if (need > free) {
      throw new FlashMlaError('out_of_memory', `KV cache: this step needs ${need} more pages, ${free} are free; free a sequence or make a larger pool`, 'cache');
    }
    const idx = new Int32Array(2 * M);
    for (let s = 0; s < b; s++) {
      const pos0 = cache.seqlen(ids[s]);
      const slots = cache.reserve(ids[s], n);
      for (let i = 0; i < n; i++) { idx[s * n + i] = pos0 + i; idx[M + s * n + i] = slots[i]; }
    }
    if (this.buf && this.buf.M < M) await be.synchronize();
    const t = this.buffers(M);
    const positions = new Tensor('i32', [M], t.idx.data, t.idx.offset), slots = new Tensor('i32', [M], t.idx.data, t.idx.offset + M);
    be.write(t.idx, fromArray('i32', [2 * M], idx));
    // In one batch only when asked (MlaAttentionOptions.batchStep: the same bits; faster chained, slower synchronized).
    if (this.batchStep && be.batch) return be.batch(() => this.queueKernels(t, ids, n, putHidden, positions, slots));
    return this.queueKernels(t, ids, n, putHidden, positions, slots);
  }

  private async queueKernels(t: Record<string, Tensor>, ids: readonly number[], n: number, putHidden: (dst: Tensor) => void, positions: Tensor, slots: Tensor): Promise<Tensor> {
    const c = this.c, b = ids.length, M = b * n, be = this.backend, ops = this.ops, w = this.w, cache = this.cache;
    const { hiddenSize: D, numHeads: H, qkNopeHeadDim: nope, qkRopeHeadDim: rope, vHeadDim: dv, kvLoraRank: L } = c;
    const qk = nope + rope, bf = this.wType === 'bf16';
    putHidden(new Tensor('f32', [M * D], t.hid.data, t.hid.offset));
    let x = t.hid;
    if (bf) { ops.convert(t.hid, t.hidB, M * D); x = t.hidB; }

    if (c.qLoraRank === null) {
      ops.gemm({ m: M, n: H * qk, k: D, x, w: w.qProj, y: t.q });
    } else {
      ops.gemm({ m: M, n: c.qLoraRank, k: D, x, w: w.qAProj, y: t.qa });
      ops.rmsNorm({ x: t.qa, rows: M, d: c.qLoraRank, weight: w.qALayernorm, eps: c.rmsNormEps, out: t.qaB });
      ops.gemm({ m: M, n: H * qk, k: c.qLoraRank, x: bf ? t.qaB : t.qa, w: w.qBProj, y: t.q });
    }
    ops.gemm({ m: M, n: L + rope, k: D, x, w: w.kvAProj, y: t.kv });
    const interleave = c.ropeInterleave ?? true;
    ops.kvAppend({ kv: t.kv, rows: M, weight: w.kvALayernorm, eps: c.rmsNormEps, positions, invFreq: w.invFreq, attentionFactor: this.attentionFactor, interleave, slots, cache: cache.kCache });
    ops.qRope({ q: t.q, rows: M, heads: H, nope, rope, positions, invFreq: w.invFreq, attentionFactor: this.attentionFactor, interleave, qAttn: t.qAttn, nopeOut: bf ? t.nopeB : undefined });
    // Absorbed query: qAttn[:, h, :512] = W_UKᵀ[h] q_nope[:, h] for every head in one launch.
    ops.gemm({
      m: M, n: L, k: nope, x: bf ? t.nopeB : t.q, xStride: bf ? H * nope : H * qk, xBatch: bf ? nope : qk,
      w: w.wUKT, wBatch: L * nope, y: t.qAttn, yStride: H * 576, yBatch: 576, batch: H,
    });

    const step = cache.batch(ids);
    const { tileSchedulerMetadata, numSplits } = getMlaMetadata(step.cacheSeqlens, n * H, 1, { backend: be });
    const half = cache.dtype;
    const q = new Tensor(half, [b, n, H, 576], t.qAttn.data, t.qAttn.offset);
    const o = new Tensor(half, [b, n, H, L], t.oLat.data, t.oLat.offset);
    const lse = new Tensor('f32', [b, H, n], t.lse.data, t.lse.offset);
    await flashMlaWithKvcache(q, cache.kCache, step.blockTable, fromArray('i32', [b], step.cacheSeqlens), L, tileSchedulerMetadata, numSplits,
      { softmaxScale: this.softmaxScale, causal: true, backend: be, out: o, lse });

    // Re-expand per head with W_UV (rows nope.. of each head's kv_b_proj block), then o_proj.
    let oX = t.oLat;
    if (t.oX) { ops.convert(t.oLat, t.oX, M * H * L); oX = t.oX; }
    ops.gemm({
      m: M, n: dv, k: L, x: oX, xStride: H * L, xBatch: L, w: w.kvBProj, wOff: nope * L, wBatch: (nope + dv) * L,
      y: t.attn, yStride: H * dv, yBatch: dv, batch: H,
    });
    ops.gemm({ m: M, n: D, k: H * dv, x: t.attn, w: w.oProj, y: t.out });
    return new Tensor('f32', [b, n, D], t.out.data, t.out.offset);
  }

  dispose(): void {
    this.freeBuffers();
    for (const x of Object.values(this.w)) this.backend.free(x);
  }
}

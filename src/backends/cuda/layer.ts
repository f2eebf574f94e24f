// The CUDA side of MlaAttention's device-resident step (src/core/mla/device.ts): packs the parameter blocks of
// kernels/layer.cu and queues its kernels on the backend's stream. Launch math beside each op; the checks here
// guard what the kernels assume (dtypes, alignment of the 16-byte copies, bounds of every tensor touched).
import type { DType } from '../../core/dtype.js';
import { dtypeBytes } from '../../core/dtype.js';
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import { type DeviceGemm, type MlaDeviceOps, checkReach } from '../../core/mla/device.js';
import type { Tensor } from '../../core/tensor.js';
import { ruleSwitchFromEnv } from '../../core/validate.js';
import type { Driver } from './driver.js';
import { type ParamLayout, compilePacker } from './params.js';
import { convertParamsLayout, elemCode, gemmParamsLayout, kvAppendParamsLayout, qRopeParamsLayout, rmsNormParamsLayout } from './layer-params.js';
import type { Workspace } from './workspace.js';

/**
 * When and how far the layer gemm splits k (CudaBackendOptions.layerSplitK; kernels/layer.cu mla_gemm_f32_part /
 * mla_gemm_bf16_part, then mla_gemm_reduce). A call of k >= `minK` whose 64 x 64 tiles make fewer CTAs than its kernel
 * keeps resident on an SM (`ctasPerSm` for the f32 kernel, `ctasPerSmBf16` for the bf16 one: cudaLayerGemms) is cut
 * into as many k ranges as keep it within that many an SM, each range at least `minChunk` columns, at most `maxSplits`
 * ranges. One rule and one switch for both kernels; only the CTAs an SM differ, because their occupancy does (0 for a
 * kernel: it never splits).
 *
 * f32: the part kernel's launch bounds hold it to 64 registers a thread, so 4 CTAs of 256 threads share an SM. Its CTA
 * walks k in 16-column slices at one slice in flight: alone on an SM it took ~1.5 us a slice on the H200 (kv_a at
 * m = 64, 9 CTAs: 0.675 ms over k = 7168), three to an SM ~3 us (q_b, 384 CTAs: 0.283 ms), so filling the SMs is most
 * of the win.
 * bf16 (session 43): a CTA of 128 threads holds 40 KB of shared memory (the 4-stage ring of 64 x 40 bf16 for x and w)
 * and 92-94 registers a thread (ptxas, sm_90a; the part kernel's launch bounds allow 102). An sm_90 SM has 228 KB of
 * shared memory (1 KB of it reserved a CTA) and 64K registers: floor(228 / 41) = 5 CTAs by memory, floor(65536 /
 * (96 x 128)) = 5 by registers (allocated 8 a thread at a time), so 5. (sm_80: 164 KB, 4; sm_86 / sm_89: 100 KB, 2;
 * there the rule's one wave is 1.25 / 2.5 waves. Not measured.) Alone on an SM the CTA keeps 3 slices of 8 KB in
 * flight: kv_a at m = 64 (9 CTAs) took 0.064 ms on the H200, ~0.28 us a 32-column slice, latency- not bandwidth-bound.
 */
export interface CudaLayerSplitKRule { ctasPerSm: number; ctasPerSmBf16: number; minK: number; minChunk: number; maxSplits: number }

export const cudaLayerSplitKDefault: CudaLayerSplitKRule = { ctasPerSm: 4, ctasPerSmBf16: 5, minK: 2048, minChunk: 256, maxSplits: 64 };

/** The layer gemm's kernels (kernels/layer.cu): one per operand dtype, each with its split-K first pass. */
export type CudaLayerGemmKernel = 'f32' | 'bf16';

/**
 * Their launch facts: the one-pass kernel and the split's part kernel (the reduce is mla_gemm_reduce for both), threads
 * a CTA, the k columns of a tile-loop slice (kernels/layer.cu kSlice / kBK: a split's range starts on one), and the
 * rule's field for the CTAs an SM.
 */
export const cudaLayerGemms: Record<CudaLayerGemmKernel, { one: string; part: string; threads: number; slice: number; perSm: 'ctasPerSm' | 'ctasPerSmBf16' }> = {
  f32: { one: 'mla_gemm_f32', part: 'mla_gemm_f32_part', threads: 256, slice: 16, perSm: 'ctasPerSm' },
  bf16: { one: 'mla_gemm_bf16', part: 'mla_gemm_bf16_part', threads: 128, slice: 32, perSm: 'ctasPerSmBf16' },
};

/** CTAs of one layer gemm launch (either kernel): 64 x 64 tiles of y times the batch. */
export function gemmCtas(m: number, n: number, batch: number): number {
  return Math.ceil(m / 64) * Math.ceil(n / 64) * batch;
}

/**
 * The split of a gemm call of `ctas` CTAs of `kernel` over k on `numSms` SMs: `splits` ranges of `chunk` columns (a
 * multiple of the kernel's slice, 16 or 32; the last range may be shorter, none is empty), or { splits: 1, chunk: k }
 * where the call does not split (no rule, k below minK, or the CTAs already fill the kernel's CTAs an SM). Pure: tests
 * run it without a GPU.
 */
export function cudaLayerGemmSplitK(k: number, ctas: number, numSms: number, rule: CudaLayerSplitKRule | undefined,
  kernel: CudaLayerGemmKernel = 'f32'): { splits: number; chunk: number } {
  const none = { splits: 1, chunk: k };
  if (!rule || k < rule.minK) return none;
  const { slice, perSm } = cudaLayerGemms[kernel];
  const s = Math.min(rule.maxSplits, Math.floor((numSms * rule[perSm]) / ctas), Math.floor(k / rule.minChunk));
  if (s < 2) return none;
  // Rounding the chunk up to whole slices can leave fewer ranges than s (never an empty one: ceil(k / chunk) of them).
  const chunk = Math.ceil(k / s / slice) * slice, splits = Math.ceil(k / chunk);
  return splits > 1 ? { splits, chunk } : none;
}

/**
 * The split-K workspace's size, taken at the first split call: the partials of any call the rule splits, of either
 * kernel, fit in numSms x (the larger CTAs an SM) tiles of 64 x 64 floats (splits x CTAs is at most numSms x the
 * kernel's CTAs an SM), so a captured graph never sees it move. 0 past 256 MiB (a tuning rule's huge ctasPerSm): then
 * each call grows it to what it needs.
 */
export function cudaLayerSplitKBound(numSms: number, rule: CudaLayerSplitKRule): number {
  const bytes = numSms * Math.max(rule.ctasPerSm, rule.ctasPerSmBf16) * 64 * 64 * 4;
  return bytes <= 2 ** 28 ? bytes : 0;
}

/** CudaBackendOptions.layerSplitK resolved: the rule (undefined: off), its fields checked. */
export function resolveCudaLayerSplitK(o: boolean | Partial<CudaLayerSplitKRule> | undefined): CudaLayerSplitKRule | undefined {
  if (o === false) return undefined;
  if (o === undefined || o === true) return cudaLayerSplitKDefault;
  const rule = { ...cudaLayerSplitKDefault, ...o };
  for (const [name, v] of Object.entries(rule)) {
    // A kernel's CTAs an SM may be 0: that kernel never splits (ctasPerSmBf16=0 keeps the f32 split alone).
    const least = name === 'ctasPerSm' || name === 'ctasPerSmBf16' ? 0 : 1;
    if (!Number.isInteger(v) || v < least || v > 2 ** 30) throw invalidArgument(`layerSplitK.${name}`, least ? 'a positive integer' : 'a non-negative integer', String(v));
  }
  return rule;
}

/** FLASHMLA_CUDA_LAYER_SPLITK's value as CudaBackendOptions.layerSplitK; a malformed one throws (a tuning run must not silently time the default). */
export function cudaLayerSplitKFromEnv(v: string | undefined): boolean | Partial<CudaLayerSplitKRule> | undefined {
  return ruleSwitchFromEnv('FLASHMLA_CUDA_LAYER_SPLITK', v, Object.keys(cudaLayerSplitKDefault) as (keyof CudaLayerSplitKRule)[]);
}

export interface LayerOpsHost {
  drv: Driver;
  stream: bigint;
  /** layer.fatbin, loaded. */
  module: bigint;
  /** Device address of a tensor of this backend (with its view offset); throws for a foreign tensor. */
  ptrOf(t: Tensor): bigint;
  numSms: number;
  /** The gemm's split-K rule (resolveCudaLayerSplitK); undefined: never split. */
  splitK: CudaLayerSplitKRule | undefined;
  /** The split-K partials (f32, grow-only; the backend frees it). */
  ws: Workspace;
  /** Whether the stream is being captured into a graph (growing the workspace would synchronize it). */
  capturing(): boolean;
}

interface Kernel { fn: bigint; params: { ptr: bigint; view: DataView; argv: bigint }; pack: (d: DataView, v: Readonly<Record<string, bigint | number>>) => void }

const code = (t: Tensor, what: string, allowed: readonly DType[]): number => {
  if (!allowed.includes(t.dtype)) throw invalidArgument(what, allowed.join(' or '), t.dtype);
  return elemCode[t.dtype as keyof typeof elemCode];
};


export function createCudaLayerOps(h: LayerOpsHost): MlaDeviceOps {
  const kernels = new Map<string, Kernel>();
  const kernel = (name: string, layout: ParamLayout): Kernel => {
    let k = kernels.get(name);
    if (!k) {
      k = { fn: h.drv.getFunction(h.module, name), params: h.drv.pinnedParams(layout.size), pack: compilePacker(layout) };
      kernels.set(name, k);
    }
    return k;
  };
  const launch = (k: Kernel, name: string, v: Record<string, bigint | number>, grid: [number, number, number], threads: number) => {
    k.pack(k.params.view, v);
    h.drv.launch(k.fn, grid, [threads, 1, 1], 0, h.stream, k.params.argv, name);
  };
  const at = (t: Tensor, off: number) => h.ptrOf(t) + BigInt(off * dtypeBytes[t.dtype]);

  return {
    gemm(g: DeviceGemm): void {
      const batch = g.batch ?? 1, xOff = g.xOff ?? 0, wOff = g.wOff ?? 0, yOff = g.yOff ?? 0;
      const xStride = g.xStride ?? g.k, wStride = g.wStride ?? g.k, yStride = g.yStride ?? g.n;
      const xBatch = g.xBatch ?? 0, wBatch = g.wBatch ?? 0, yBatch = g.yBatch ?? 0;
      for (const [name, v] of Object.entries({ m: g.m, n: g.n, k: g.k, batch })) {
        if (!Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) throw invalidArgument(`gemm.${name}`, 'a positive integer', String(v));
      }
      const tc = g.x.dtype === 'bf16';
      code(g.x, 'gemm.x', ['f32', 'bf16']);
      if (g.w.dtype !== g.x.dtype) throw invalidArgument('gemm.w', `${g.x.dtype} like x`, g.w.dtype);
      const yType = code(g.y, 'gemm.y', ['f32', 'bf16', 'f16']);
      if (tc) {
        // 16-byte cp.async: every row start of x and w must be 8-element aligned.
        const align: [string, number][] = [['k', g.k], ['xOff', xOff + g.x.offset], ['xStride', xStride], ['xBatch', xBatch],
          ['wOff', wOff + g.w.offset], ['wStride', wStride], ['wBatch', wBatch]];
        for (const [name, v] of align) if (v % 8 !== 0) throw invalidArgument(`gemm.${name}`, 'a multiple of 8 (bf16 tensor-core GEMM)', String(v));
      }
      checkReach(g.x, 'gemm.x', xOff, batch, xBatch, g.m, xStride, g.k);
      checkReach(g.w, 'gemm.w', wOff, batch, wBatch, g.n, wStride, g.k);
      checkReach(g.y, 'gemm.y', yOff, batch, yBatch, g.m, yStride, g.n);
      const v = { x: at(g.x, xOff), w: at(g.w, wOff), y: at(g.y, yOff), m: g.m, n: g.n, k: g.k, xStride, wStride, yStride, xBatch, wBatch, yBatch, yType };
      const grid: [number, number, number] = [Math.ceil(g.n / 64), Math.ceil(g.m / 64), batch];
      const kern = cudaLayerGemms[tc ? 'bf16' : 'f32'], rule = h.splitK;
      const sk = cudaLayerGemmSplitK(g.k, gemmCtas(g.m, g.n, batch), h.numSms, rule, tc ? 'bf16' : 'f32');
      if (rule && sk.splits > 1 && batch * sk.splits <= 65535) { // gridDim.z's limit (a rule with a large ctasPerSm could pass it)
        const bytes = sk.splits * batch * g.m * g.n * 4;
        if (bytes > h.ws.bytes && h.capturing()) {
          // Growing synchronizes the stream, which a capture forbids; captureGraph's warm-up run grows it first.
          throw new FlashMlaError('invalid_argument', `cuda: the layer gemm's split-K workspace must grow to ${bytes} bytes while capturing a graph (capture with warmup)`, 'gemm');
        }
        h.ws.ensure(Math.max(bytes, cudaLayerSplitKBound(h.numSms, rule))); // at its bound (10.8 MB on an H200: 132 x 5 tiles)
        // Both passes on the stream, in order: the reduce reads every range the partial pass wrote. A bf16 range
        // starts on a 32-column slice, so its 16-byte copies keep the 8-element alignment the checks above found.
        const part = { ...v, ws: h.ws.ptr, splits: sk.splits, chunk: sk.chunk };
        launch(kernel(kern.part, gemmParamsLayout), kern.part, part, [grid[0], grid[1], batch * sk.splits], kern.threads);
        launch(kernel('mla_gemm_reduce', gemmParamsLayout), 'mla_gemm_reduce', part, [Math.min(Math.ceil((g.m * g.n) / 256), 1024), 1, batch], 256);
        return;
      }
      launch(kernel(kern.one, gemmParamsLayout), kern.one, { ...v, ws: 0n, splits: 1, chunk: g.k }, grid, kern.threads);
    },

    rmsNorm(a): void {
      code(a.x, 'rmsNorm.x', ['f32']);
      code(a.weight, 'rmsNorm.weight', ['f32']);
      checkReach(a.x, 'rmsNorm.x', 0, 1, 0, a.rows, a.d, a.d);
      checkReach(a.weight, 'rmsNorm.weight', 0, 1, 0, 1, 0, a.d);
      const outType = a.out ? code(a.out, 'rmsNorm.out', ['f32', 'bf16', 'f16']) : 0;
      if (a.out) checkReach(a.out, 'rmsNorm.out', 0, 1, 0, a.rows, a.d, a.d);
      launch(kernel('mla_rmsnorm', rmsNormParamsLayout), 'mla_rmsnorm', {
        x: h.ptrOf(a.x), weight: h.ptrOf(a.weight), out: a.out ? h.ptrOf(a.out) : 0n, rows: a.rows, d: a.d, xStride: a.d, outStride: a.d, outType, eps: a.eps,
      }, [a.rows, 1, 1], 256);
    },

    qRope(a): void {
      const qk = a.nope + a.rope;
      code(a.q, 'qRope.q', ['f32']);
      const attnType = code(a.qAttn, 'qRope.qAttn', ['bf16', 'f16']);
      const nopeType = a.nopeOut ? code(a.nopeOut, 'qRope.nopeOut', ['f32', 'bf16', 'f16']) : 0;
      checkReach(a.q, 'qRope.q', 0, 1, 0, a.rows * a.heads, qk, qk);
      checkReach(a.qAttn, 'qRope.qAttn', 0, 1, 0, a.rows * a.heads, 576, 576);
      if (a.nopeOut) checkReach(a.nopeOut, 'qRope.nopeOut', 0, 1, 0, a.rows * a.heads, a.nope, a.nope);
      checkReach(a.positions, 'qRope.positions', 0, 1, 0, 1, 0, a.rows);
      checkReach(a.invFreq, 'qRope.invFreq', 0, 1, 0, 1, 0, a.rope / 2);
      launch(kernel('mla_q_rope', qRopeParamsLayout), 'mla_q_rope', {
        q: h.ptrOf(a.q), positions: h.ptrOf(a.positions), invFreq: h.ptrOf(a.invFreq), qAttn: h.ptrOf(a.qAttn), nopeOut: a.nopeOut ? h.ptrOf(a.nopeOut) : 0n,
        rows: a.rows, heads: a.heads, nope: a.nope, rope: a.rope, attnType, nopeType, interleave: a.interleave ? 1 : 0, attentionFactor: a.attentionFactor,
      }, [a.heads, a.rows, 1], 64);
    },

    kvAppend(a): void {
      code(a.kv, 'kvAppend.kv', ['f32']);
      const cacheType = code(a.cache, 'kvAppend.cache', ['bf16', 'f16']);
      checkReach(a.kv, 'kvAppend.kv', 0, 1, 0, a.rows, 576, 576);
      checkReach(a.slots, 'kvAppend.slots', 0, 1, 0, 1, 0, a.rows);
      checkReach(a.positions, 'kvAppend.positions', 0, 1, 0, 1, 0, a.rows);
      launch(kernel('mla_kv_append', kvAppendParamsLayout), 'mla_kv_append', {
        kv: h.ptrOf(a.kv), weight: h.ptrOf(a.weight), positions: h.ptrOf(a.positions), invFreq: h.ptrOf(a.invFreq), slots: h.ptrOf(a.slots),
        cache: h.ptrOf(a.cache), rows: a.rows, latent: 512, rope: 64, cacheType, interleave: a.interleave ? 1 : 0, eps: a.eps, attentionFactor: a.attentionFactor,
      }, [a.rows, 1, 1], 256);
    },

    convert(src: Tensor, dst: Tensor, n: number): void {
      const srcType = code(src, 'convert.src', ['f32', 'bf16', 'f16']), dstType = code(dst, 'convert.dst', ['f32', 'bf16', 'f16']);
      checkReach(src, 'convert.src', 0, 1, 0, 1, 0, n);
      checkReach(dst, 'convert.dst', 0, 1, 0, 1, 0, n);
      launch(kernel('mla_convert', convertParamsLayout), 'mla_convert', { src: h.ptrOf(src), dst: h.ptrOf(dst), n, srcType, dstType },
        [Math.max(1, Math.min(Math.ceil(n / 256), 4096)), 1, 1], 256);
    },

    dispose(): void {
      for (const k of kernels.values()) { h.drv.koffi.free(k.params.ptr); h.drv.koffi.free(k.params.argv); }
      kernels.clear();
    },
  };
}

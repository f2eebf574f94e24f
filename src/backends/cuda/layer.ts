// The CUDA side of MlaAttention's device-resident step (src/core/mla/device.ts): packs the parameter blocks of
// kernels/layer.cu and queues its kernels on the backend's stream. Launch math beside each op; the checks here
// guard what the kernels assume (dtypes, alignment of the 16-byte copies, bounds of every tensor touched).
import type { DType } from '../../core/dtype.js';
import { dtypeBytes } from '../../core/dtype.js';
import { invalidArgument } from '../../core/errors.js';
import type { DeviceGemm, MlaDeviceOps } from '../../core/mla/device.js';
import type { Tensor } from '../../core/tensor.js';
import type { Driver } from './driver.js';
import { type ParamLayout, compilePacker } from './params.js';
import { convertParamsLayout, elemCode, gemmParamsLayout, kvAppendParamsLayout, qRopeParamsLayout, rmsNormParamsLayout } from './layer-params.js';

export interface LayerOpsHost {
  drv: Driver;
  stream: bigint;
  /** layer.fatbin, loaded. */
  module: bigint;
  /** Device address of a tensor of this backend (with its view offset); throws for a foreign tensor. */
  ptrOf(t: Tensor): bigint;
}

interface Kernel { fn: bigint; params: { ptr: bigint; view: DataView; argv: bigint }; pack: (d: DataView, v: Readonly<Record<string, bigint | number>>) => void }

const code = (t: Tensor, what: string, allowed: readonly DType[]): number => {
  if (!allowed.includes(t.dtype)) throw invalidArgument(what, allowed.join(' or '), t.dtype);
  return elemCode[t.dtype as keyof typeof elemCode];
};

/** Elements a strided [batch, rows, cols] access reaches, from its offset: the tensor must hold them. */
function reach(t: Tensor, what: string, off: number, batch: number, batchStride: number, rows: number, stride: number, cols: number): void {
  const last = off + (batch - 1) * batchStride + (rows - 1) * stride + cols;
  if (off < 0 || last > t.numel) throw invalidArgument(what, `at least ${last} elements for this access`, String(t.numel));
}

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
      reach(g.x, 'gemm.x', xOff, batch, xBatch, g.m, xStride, g.k);
      reach(g.w, 'gemm.w', wOff, batch, wBatch, g.n, wStride, g.k);
      reach(g.y, 'gemm.y', yOff, batch, yBatch, g.m, yStride, g.n);
      const name = tc ? 'mla_gemm_bf16' : 'mla_gemm_f32';
      launch(kernel(name, gemmParamsLayout), name, {
        x: at(g.x, xOff), w: at(g.w, wOff), y: at(g.y, yOff), m: g.m, n: g.n, k: g.k, xStride, wStride, yStride, xBatch, wBatch, yBatch, yType,
      }, [Math.ceil(g.n / 64), Math.ceil(g.m / 64), batch], tc ? 128 : 256);
    },

    rmsNorm(a): void {
      code(a.x, 'rmsNorm.x', ['f32']);
      code(a.weight, 'rmsNorm.weight', ['f32']);
      reach(a.x, 'rmsNorm.x', 0, 1, 0, a.rows, a.d, a.d);
      reach(a.weight, 'rmsNorm.weight', 0, 1, 0, 1, 0, a.d);
      const outType = a.out ? code(a.out, 'rmsNorm.out', ['f32', 'bf16', 'f16']) : 0;
      if (a.out) reach(a.out, 'rmsNorm.out', 0, 1, 0, a.rows, a.d, a.d);
      launch(kernel('mla_rmsnorm', rmsNormParamsLayout), 'mla_rmsnorm', {
        x: h.ptrOf(a.x), weight: h.ptrOf(a.weight), out: a.out ? h.ptrOf(a.out) : 0n, rows: a.rows, d: a.d, xStride: a.d, outStride: a.d, outType, eps: a.eps,
      }, [a.rows, 1, 1], 256);
    },

    qRope(a): void {
      const qk = a.nope + a.rope;
      code(a.q, 'qRope.q', ['f32']);
      const attnType = code(a.qAttn, 'qRope.qAttn', ['bf16', 'f16']);
      const nopeType = a.nopeOut ? code(a.nopeOut, 'qRope.nopeOut', ['f32', 'bf16', 'f16']) : 0;
      reach(a.q, 'qRope.q', 0, 1, 0, a.rows * a.heads, qk, qk);
      reach(a.qAttn, 'qRope.qAttn', 0, 1, 0, a.rows * a.heads, 576, 576);
      if (a.nopeOut) reach(a.nopeOut, 'qRope.nopeOut', 0, 1, 0, a.rows * a.heads, a.nope, a.nope);
      reach(a.positions, 'qRope.positions', 0, 1, 0, 1, 0, a.rows);
      reach(a.invFreq, 'qRope.invFreq', 0, 1, 0, 1, 0, a.rope / 2);
      launch(kernel('mla_q_rope', qRopeParamsLayout), 'mla_q_rope', {
        q: h.ptrOf(a.q), positions: h.ptrOf(a.positions), invFreq: h.ptrOf(a.invFreq), qAttn: h.ptrOf(a.qAttn), nopeOut: a.nopeOut ? h.ptrOf(a.nopeOut) : 0n,
        rows: a.rows, heads: a.heads, nope: a.nope, rope: a.rope, attnType, nopeType, interleave: a.interleave ? 1 : 0, attentionFactor: a.attentionFactor,
      }, [a.heads, a.rows, 1], 64);
    },

    kvAppend(a): void {
      code(a.kv, 'kvAppend.kv', ['f32']);
      const cacheType = code(a.cache, 'kvAppend.cache', ['bf16', 'f16']);
      reach(a.kv, 'kvAppend.kv', 0, 1, 0, a.rows, 576, 576);
      reach(a.slots, 'kvAppend.slots', 0, 1, 0, 1, 0, a.rows);
      reach(a.positions, 'kvAppend.positions', 0, 1, 0, 1, 0, a.rows);
      launch(kernel('mla_kv_append', kvAppendParamsLayout), 'mla_kv_append', {
        kv: h.ptrOf(a.kv), weight: h.ptrOf(a.weight), positions: h.ptrOf(a.positions), invFreq: h.ptrOf(a.invFreq), slots: h.ptrOf(a.slots),
        cache: h.ptrOf(a.cache), rows: a.rows, latent: 512, rope: 64, cacheType, interleave: a.interleave ? 1 : 0, eps: a.eps, attentionFactor: a.attentionFactor,
      }, [a.rows, 1, 1], 256);
    },

    convert(src: Tensor, dst: Tensor, n: number): void {
      const srcType = code(src, 'convert.src', ['f32', 'bf16', 'f16']), dstType = code(dst, 'convert.dst', ['f32', 'bf16', 'f16']);
      reach(src, 'convert.src', 0, 1, 0, 1, 0, n);
      reach(dst, 'convert.dst', 0, 1, 0, 1, 0, n);
      launch(kernel('mla_convert', convertParamsLayout), 'mla_convert', { src: h.ptrOf(src), dst: h.ptrOf(dst), n, srcType, dstType },
        [Math.max(1, Math.min(Math.ceil(n / 256), 4096)), 1, 1], 256);
    },

    dispose(): void {
      for (const k of kernels.values()) { h.drv.koffi.free(k.params.ptr); h.drv.koffi.free(k.params.argv); }
      kernels.clear();
    },
  };
}

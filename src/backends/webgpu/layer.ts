// The WebGPU side of MlaAttention's device-resident step (src/core/mla/device.ts): checks each op's arguments, binds
// a window of every tensor it touches and queues kernels/layer.ts's programs, in order, on the device's queue.
// A storage binding holds at most maxStorageBufferBindingSize bytes (128 MiB on lavapipe): a call whose windows do
// not fit is cut into pieces (GEMM: batch entries, row and column blocks; the others: rows; the cache append: one
// dispatch per binding-sized run of cache rows), all checked before the first piece is queued.
// A skinny GEMM is split over k (kernels/layer.ts layerGemmSplitK): a partial pass into a scratch buffer the ops keep and
// grow, and a reduce pass, both in the piece's one command encoder.
import { dtypeBytes } from '../../core/dtype.js';
import type { DType } from '../../core/dtype.js';
import { invalidArgument } from '../../core/errors.js';
import { type DeviceGemm, type MlaDeviceOps, checkReach } from '../../core/mla/device.js';
import type { Tensor } from '../../core/tensor.js';
import type { ParamsLayout } from './params.js';
import type { DeviceCaps, Program, ProgramManager } from './program.js';
import type { WebGpuStorage } from './backend.js';
import type { CallWork, PassDispatch } from './batch.js';
import {
  type LayerElem, type LayerGemmKernel, type LayerSplitKRule, chooseLayerGemmSpec, chooseLayerGemmTile, layerConvertParams,
  layerConvertProgram, layerGemmParams, layerGemmPartParams, layerGemmPartProgram, layerGemmProgram, layerGemmReduceParams,
  layerGemmReduceProgram, layerGemmSplitK, layerGemmTiledPartProgram, layerGemmTiledProgram, layerGemmTiledTiles,
  layerGemmTiles, layerGemmVecElems, layerKvAppendParams, layerKvAppendProgram, layerQRopeParams, layerQRopeProgram,
  layerRmsNormParams, layerRmsNormProgram, layerDispatch,
} from './kernels/layer.js';

export interface LayerOpsHost {
  device: GPUDevice;
  programs: ProgramManager;
  caps: DeviceCaps;
  /** Largest storage binding the backend uses (the device limit, or WebGpuBackendOptions.maxBindingBytes). */
  maxBindingBytes: number;
  /** The storage of a tensor this backend may bind; throws invalid_argument naming `name` otherwise. */
  storageOf(t: Tensor, name: string): WebGpuStorage;
  bindGroup(key: string, layout: GPUBindGroupLayout, entries: GPUBufferBinding[]): GPUBindGroup;
  /** A uniform buffer of `bytes` for the ops' parameter blocks, made once by the backend (labelled, error-scoped). */
  uniform(bytes: number): GPUBuffer;
  /** A new storage buffer of `bytes` (labelled, error-scoped); the ops keep it and destroy it. */
  storage(label: string, bytes: number): GPUBuffer;
  /** When the gemm splits k (WebGpuBackendOptions.layerSplitK); undefined: never. */
  splitK?: LayerSplitKRule;
  /** The gemm's main loop (WebGpuBackendOptions.layerGemm); unset: 'tiled'. */
  gemmKernel?: LayerGemmKernel;
  /** Throws when the backend is disposed or lost, or the device reported an error since the last call. */
  live(): void;
  /** Queue one piece's work: submitted now, or recorded into the backend's open batch (WebGpuBackend.batch). */
  submit(work: CallWork): void;
  /** Destroy a buffer now, or once the open batch that may bind it is submitted. */
  retire(b: GPUBuffer): void;
}

/** A tensor's elements [lo, hi) as one storage binding: `base` is the element of lo in it. */
interface Window { binding: GPUBufferBinding; base: number; name: string; writes: boolean }

/** One dispatch: a program specialisation, its parameter values and its bindings (the uniform first). */
interface Step<S, K extends string> {
  program: Program<S>; spec: S; params: ParamsLayout<K>; values: Record<K, number>; windows: Window[]; groups: number;
}

/** One queued command encoder: a dispatch, and optionally a second one after it (the split gemm's reduce). */
interface Piece<S, K extends string> extends Step<S, K> { next?: Step<unknown, string> }

const maxI32 = 2 ** 31 - 1;

function elem(t: Tensor, what: string, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) throw invalidArgument(what, allowed.join(' or '), t.dtype);
}

function count(what: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min || v > maxI32) throw invalidArgument(what, min === 1 ? 'a positive integer' : 'an integer >= 0', String(v));
}

function finite(what: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgument(what, 'a finite number', String(v));
}


export function createWebGpuLayerOps(h: LayerOpsHost): MlaDeviceOps {
  const align = h.caps.minStorageBufferOffsetAlignment;
  /** Elements of `bytes` each that a window may span: the binding limit less the alignment slack at its start. */
  const capOf = (bytes: number) => Math.floor((h.maxBindingBytes - align - 4) / bytes);
  // Two parameter blocks, one a dispatch of a piece, 256 bytes apart (WebGPU's largest minUniformBufferOffsetAlignment).
  const uniformBytes = 512, block = 256;
  let uniform: GPUBuffer | undefined;
  const staging = new ArrayBuffer(uniformBytes), views = [new DataView(staging, 0, block), new DataView(staging, block, block)];
  /** The split gemm's partials (f32), grown to the largest piece seen, up to one binding. */
  let part: GPUBuffer | undefined;
  let partBytes = 0;
  const partCap = Math.floor(h.maxBindingBytes / 4);
  const partBuffer = (bytes: number): GPUBuffer => {
    if (!part || bytes > partBytes) {
      if (part) h.retire(part); // queued work that reads it still runs: WebGPU frees it after the queue is done with it
      partBytes = Math.min(Math.max(bytes, 2 * partBytes), partCap * 4);
      part = h.storage('flashmla.layer.gemm.part', partBytes);
    }
    return part;
  };

  const window = (t: Tensor, name: string, lo: number, hi: number, writes = false): Window => {
    const st = h.storageOf(t, name);
    const es = dtypeBytes[t.dtype];
    const b0 = t.byteOffset + lo * es, b1 = t.byteOffset + hi * es;
    const c = st.chunks.find((ch) => b0 >= ch.byteStart && b1 <= ch.byteStart + ch.byteLength);
    if (!c) throw invalidArgument(name, 'an access inside one GPUBuffer of the tensor', `elements ${lo}..${hi} spanning two of its buffers`);
    const offset = Math.floor((b0 - c.byteStart) / align) * align;
    const size = Math.max(4, Math.ceil((b1 - c.byteStart - offset) / 4) * 4);
    if (size > h.maxBindingBytes) {
      throw invalidArgument(name, `an access of at most ${h.maxBindingBytes} bytes (one storage binding)`, `${size} bytes`);
    }
    return { binding: { buffer: c.buffer, offset, size }, base: (b0 - c.byteStart - offset) / es, name, writes };
  };

  /**
   * WebGPU refuses a dispatch that binds one buffer writable and also elsewhere: a written tensor must have a buffer
   * of its own within the op (every buffer MlaAttention's step passes is its own allocation).
   */
  const checkAliasing = (ws: readonly Window[]): void => {
    for (const a of ws) {
      if (!a.writes) continue;
      for (const b of ws) {
        if (b !== a && b.binding.buffer === a.binding.buffer) {
          throw invalidArgument(a.name, `a tensor in another GPUBuffer than ${b.name} (WebGPU binds a written buffer once a dispatch)`, 'the same buffer');
        }
      }
    }
  };

  const queue = <S, K extends string>(pieces: readonly Piece<S, K>[], label: string): void => {
    // Everything is checked and every window made before the first piece is queued.
    for (const p of pieces) {
      checkAliasing(p.windows);
      if (p.next) checkAliasing(p.next.windows);
    }
    uniform ??= h.uniform(uniformBytes);
    for (const p of pieces) {
      const steps: Step<unknown, string>[] = p.next ? [p as Step<unknown, string>, p.next] : [p as Step<unknown, string>];
      steps.forEach((st, i) => st.params.pack(st.values, views[i]));
      const bytes = (steps.length - 1) * block + steps[steps.length - 1].params.byteSize;
      // One pass; each dispatch is its own usage scope: the reduce sees the partial pass's writes.
      const dispatches: PassDispatch[] = steps.map((st, i) => {
        const compiled = h.programs.get(st.program, st.spec);
        const bg = h.bindGroup(st.program.name + st.program.key(st.spec), compiled.layout,
          [{ buffer: uniform!, offset: i * block, size: st.params.byteSize }, ...st.windows.map((w) => w.binding)]);
        return { pipeline: compiled.pipeline, bindGroup: bg, groups: layerDispatch(st.groups, h.caps) };
      });
      h.submit({ label, uploads: [{ dst: uniform, dstOffset: 0, data: new Uint8Array(staging, 0, bytes) }], copies: [], passes: [{ label, dispatches }] });
    }
  };

  /** Rows of `perRow` elements of `bytes` each that fit one window, at least one (else `what` is too wide). */
  const rowsFit = (what: string, perRow: number, bytes: number): number => {
    const n = perRow === 0 ? maxI32 : Math.floor(capOf(bytes) / perRow);
    if (n < 1) throw invalidArgument(what, `rows of at most ${capOf(bytes)} elements (one storage binding of ${h.maxBindingBytes} bytes)`, `${perRow} elements a row`);
    return n;
  };

  return {
    gemm(g: DeviceGemm): void {
      h.live();
      const batch = g.batch ?? 1, xOff = g.xOff ?? 0, wOff = g.wOff ?? 0, yOff = g.yOff ?? 0;
      const xStride = g.xStride ?? g.k, wStride = g.wStride ?? g.k, yStride = g.yStride ?? g.n;
      const xBatch = g.xBatch ?? 0, wBatch = g.wBatch ?? 0, yBatch = g.yBatch ?? 0;
      for (const [name, v] of Object.entries({ m: g.m, n: g.n, k: g.k, batch })) count(`gemm.${name}`, v);
      for (const [name, v] of Object.entries({ xOff, wOff, yOff, xStride, wStride, yStride, xBatch, wBatch, yBatch })) count(`gemm.${name}`, v, 0);
      elem(g.x, 'gemm.x', ['f32', 'bf16']);
      if (g.w.dtype !== g.x.dtype) throw invalidArgument('gemm.w', `${g.x.dtype} like x`, g.w.dtype);
      elem(g.y, 'gemm.y', ['f32', 'bf16', 'f16']);
      checkReach(g.x, 'gemm.x', xOff, batch, xBatch, g.m, xStride, g.k);
      checkReach(g.w, 'gemm.w', wOff, batch, wBatch, g.n, wStride, g.k);
      checkReach(g.y, 'gemm.y', yOff, batch, yBatch, g.m, yStride, g.n);
      const dtype = g.x.dtype as 'f32' | 'bf16', spec = chooseLayerGemmSpec(dtype, g.y.dtype as LayerElem, g.m);
      const tiled = h.gemmKernel !== 'classic', tile = chooseLayerGemmTile(g.m);
      const tilesOf = (mc: number, nc: number, zc: number) => (tiled ? layerGemmTiledTiles(mc, nc, zc, tile) : layerGemmTiles(mc, nc, zc, spec));
      const k = g.k, ex = dtypeBytes[dtype], ey = dtypeBytes[g.y.dtype];
      // Split-K is chosen for the whole call, so a call cut into pieces sums each y element in the same order.
      let sk = layerGemmSplitK(k, tilesOf(g.m, g.n, batch).groups, h.splitK);
      if (sk.splits > partCap) sk = { splits: 1, chunk: k };
      const piece = (z: number, zc: number, i0: number, mc: number, j0: number, nc: number) => {
        const xLo = xOff + z * xBatch + i0 * xStride, wLo = wOff + z * wBatch + j0 * wStride, yLo = yOff + z * yBatch + i0 * yStride + j0;
        const X = window(g.x, 'gemm.x', xLo, xLo + (zc - 1) * xBatch + (mc - 1) * xStride + k);
        const W = window(g.w, 'gemm.w', wLo, wLo + (zc - 1) * wBatch + (nc - 1) * wStride + k);
        const Y = window(g.y, 'gemm.y', yLo, yLo + (zc - 1) * yBatch + (mc - 1) * yStride + nc, true);
        const parts = sk.splits > 1 ? sk.splits * zc * mc * nc : 0;
        if (parts > partCap) throw invalidArgument('gemm', `split-K partials of at most ${partCap} floats a piece`, String(parts)); // caught below: the call is cut
        return { X, W, Y, zc, mc, nc, parts, tiles: tilesOf(mc, nc, zc) };
      };
      let cut: ReturnType<typeof piece>[];
      try {
        cut = [piece(0, batch, 0, g.m, 0, g.n)];
      } catch {
        // Too large for one binding (or across two buffers, or the partials for one binding): a batch entry at a time,
        // in blocks of rows and columns whose windows fit. A block that still cannot be bound throws from window()
        // before anything is queued.
        let nc = Math.min(g.n, 1 + Math.floor(Math.max(-1, capOf(ex) - k) / Math.max(wStride, 1)));
        let mc = Math.min(g.m, 1 + Math.floor(Math.max(-1, capOf(ex) - k) / Math.max(xStride, 1)),
          1 + Math.floor(Math.max(-1, capOf(ey) - Math.max(nc, 1)) / Math.max(yStride, 1)));
        if (nc < 1) rowsFit('gemm.w', k, ex);
        if (mc < 1) rowsFit('gemm.x', k, ex);
        if (sk.splits > 1) {
          nc = Math.min(nc, Math.floor(partCap / sk.splits));
          mc = Math.min(mc, Math.floor(partCap / (sk.splits * nc)));
        }
        cut = [];
        for (let z = 0; z < batch; z++) {
          for (let i0 = 0; i0 < g.m; i0 += mc) {
            for (let j0 = 0; j0 < g.n; j0 += nc) cut.push(piece(z, 1, i0, Math.min(mc, g.m - i0), j0, Math.min(nc, g.n - j0)));
          }
        }
      }
      const P = sk.splits > 1 ? partBuffer(4 * cut.reduce((most, c) => Math.max(most, c.parts), 0)) : undefined;
      // The tiled loop reads an operand 16 bytes at a time where every piece's window start, its strides and k allow:
      // decided for the whole call (the loads differ, the sums do not).
      const V = layerGemmVecElems[dtype];
      const vec = (base: number, rows: number, stride: number, zc: number, zStride: number) =>
        k % V === 0 && base % V === 0 && (rows === 1 || stride % V === 0) && (zc === 1 || zStride % V === 0);
      const xv = tiled && cut.every((c) => vec(c.X.base, c.mc, xStride, c.zc, xBatch));
      const wv = tiled && cut.every((c) => vec(c.W.base, c.nc, wStride, c.zc, wBatch));
      const pieces = cut.map(({ X, W, Y, zc, mc, nc, parts, tiles }): Piece<unknown, string> => {
        if (!P) {
          return {
            ...(tiled ? { program: layerGemmTiledProgram, spec: { dtype, y: spec.y, tile, xv, wv } } : { program: layerGemmProgram, spec }), params: layerGemmParams, groups: tiles.groups, windows: [X, W, Y],
            values: { m: mc, n: nc, k, xOff: X.base, xStride, xBatch, wOff: W.base, wStride, wBatch, yOff: Y.base, yStride, yBatch, ...tiles },
          };
        }
        const binding = { buffer: P, offset: 0, size: 4 * parts }, name = 'gemm (split-K partials)';
        return {
          ...(tiled ? { program: layerGemmTiledPartProgram, spec: { dtype, tile, xv, wv } } : { program: layerGemmPartProgram, spec: { dtype, rm: spec.rm } }),
          params: layerGemmPartParams, groups: tiles.groups * sk.splits,
          windows: [X, W, { binding, base: 0, name, writes: true }],
          values: {
            m: mc, n: nc, k, xOff: X.base, xStride, xBatch, wOff: W.base, wStride, wBatch, batch: zc, chunk: sk.chunk, splits: sk.splits,
            tilesM: tiles.tilesM, tilesN: tiles.tilesN, groups: tiles.groups * sk.splits,
          },
          next: {
            program: layerGemmReduceProgram, spec: { y: spec.y }, params: layerGemmReduceParams, groups: Math.ceil(zc * mc * nc / 256),
            windows: [{ binding, base: 0, name, writes: false }, Y],
            values: { m: mc, n: nc, splits: sk.splits, total: zc * mc * nc, yOff: Y.base, yStride, yBatch },
          },
        };
      });
      queue(pieces, 'flashmla.layer.gemm');
    },

    rmsNorm(a): void {
      h.live();
      count('rmsNorm.rows', a.rows);
      count('rmsNorm.d', a.d);
      finite('rmsNorm.eps', a.eps);
      elem(a.x, 'rmsNorm.x', ['f32']);
      elem(a.weight, 'rmsNorm.weight', ['f32']);
      if (a.out) elem(a.out, 'rmsNorm.out', ['f32', 'bf16', 'f16']);
      checkReach(a.x, 'rmsNorm.x', 0, 1, 0, a.rows, a.d, a.d);
      checkReach(a.weight, 'rmsNorm.weight', 0, 1, 0, 1, 0, a.d);
      if (a.out) checkReach(a.out, 'rmsNorm.out', 0, 1, 0, a.rows, a.d, a.d);
      const spec = { out: (a.out?.dtype ?? 'none') as LayerElem | 'none' };
      const rc = Math.min(rowsFit('rmsNorm.x', a.d, 4), a.out ? rowsFit('rmsNorm.out', a.d, dtypeBytes[a.out.dtype]) : maxI32);
      const pieces = [];
      for (let r0 = 0; r0 < a.rows; r0 += rc) {
        const n = Math.min(rc, a.rows - r0);
        const X = window(a.x, 'rmsNorm.x', r0 * a.d, (r0 + n) * a.d, true), Wt = window(a.weight, 'rmsNorm.weight', 0, a.d);
        const O = a.out ? window(a.out, 'rmsNorm.out', r0 * a.d, (r0 + n) * a.d, true) : undefined;
        pieces.push({
          program: layerRmsNormProgram, spec, params: layerRmsNormParams, groups: n, windows: O ? [X, Wt, O] : [X, Wt],
          values: { rows: n, d: a.d, xOff: X.base, weightOff: Wt.base, outOff: O?.base ?? 0, eps: a.eps },
        });
      }
      queue(pieces, 'flashmla.layer.rmsnorm');
    },

    qRope(a): void {
      h.live();
      count('qRope.rows', a.rows);
      count('qRope.heads', a.heads);
      count('qRope.nope', a.nope);
      if (!Number.isInteger(a.rope) || a.rope < 2 || a.rope > 64 || a.rope % 2 !== 0) {
        throw invalidArgument('qRope.rope', 'an even number from 2 to 64 (the query row keeps 64 RoPE columns after its 512)', String(a.rope));
      }
      finite('qRope.attentionFactor', a.attentionFactor);
      const qk = a.nope + a.rope, H = a.heads, half = a.rope / 2;
      elem(a.q, 'qRope.q', ['f32']);
      elem(a.qAttn, 'qRope.qAttn', ['bf16', 'f16']);
      if (a.nopeOut) elem(a.nopeOut, 'qRope.nopeOut', ['f32', 'bf16', 'f16']);
      elem(a.positions, 'qRope.positions', ['i32']);
      elem(a.invFreq, 'qRope.invFreq', ['f32']);
      checkReach(a.q, 'qRope.q', 0, 1, 0, a.rows * H, qk, qk);
      checkReach(a.qAttn, 'qRope.qAttn', 0, 1, 0, a.rows * H, 576, 576);
      if (a.nopeOut) checkReach(a.nopeOut, 'qRope.nopeOut', 0, 1, 0, a.rows * H, a.nope, a.nope);
      checkReach(a.positions, 'qRope.positions', 0, 1, 0, 1, 0, a.rows);
      checkReach(a.invFreq, 'qRope.invFreq', 0, 1, 0, 1, 0, half);
      const spec = { attn: a.qAttn.dtype as 'bf16' | 'f16', nope: (a.nopeOut?.dtype ?? 'none') as LayerElem | 'none' };
      const rc = Math.min(rowsFit('qRope.q', H * qk, 4), rowsFit('qRope.qAttn', H * 576, 2),
        a.nopeOut ? rowsFit('qRope.nopeOut', H * a.nope, dtypeBytes[a.nopeOut.dtype]) : maxI32, capOf(4));
      const pieces = [];
      for (let r0 = 0; r0 < a.rows; r0 += rc) {
        const n = Math.min(rc, a.rows - r0);
        const Q = window(a.q, 'qRope.q', r0 * H * qk, (r0 + n) * H * qk), P = window(a.positions, 'qRope.positions', r0, r0 + n);
        const F = window(a.invFreq, 'qRope.invFreq', 0, half), A = window(a.qAttn, 'qRope.qAttn', r0 * H * 576, (r0 + n) * H * 576, true);
        const N = a.nopeOut ? window(a.nopeOut, 'qRope.nopeOut', r0 * H * a.nope, (r0 + n) * H * a.nope, true) : undefined;
        pieces.push({
          program: layerQRopeProgram, spec, params: layerQRopeParams, groups: n * H, windows: N ? [Q, P, F, A, N] : [Q, P, F, A],
          values: {
            rows: n, heads: H, nope: a.nope, rope: a.rope, qOff: Q.base, posOff: P.base, freqOff: F.base, attnOff: A.base,
            nopeOff: N?.base ?? 0, interleave: a.interleave ? 1 : 0, attentionFactor: a.attentionFactor,
          },
        });
      }
      queue(pieces, 'flashmla.layer.qrope');
    },

    kvAppend(a): void {
      h.live();
      count('kvAppend.rows', a.rows);
      finite('kvAppend.eps', a.eps);
      finite('kvAppend.attentionFactor', a.attentionFactor);
      elem(a.kv, 'kvAppend.kv', ['f32']);
      elem(a.cache, 'kvAppend.cache', ['bf16', 'f16']);
      elem(a.weight, 'kvAppend.weight', ['f32']);
      elem(a.positions, 'kvAppend.positions', ['i32']);
      elem(a.invFreq, 'kvAppend.invFreq', ['f32']);
      elem(a.slots, 'kvAppend.slots', ['i32']);
      checkReach(a.kv, 'kvAppend.kv', 0, 1, 0, a.rows, 576, 576);
      checkReach(a.weight, 'kvAppend.weight', 0, 1, 0, 1, 0, 512);
      checkReach(a.slots, 'kvAppend.slots', 0, 1, 0, 1, 0, a.rows);
      checkReach(a.positions, 'kvAppend.positions', 0, 1, 0, 1, 0, a.rows);
      checkReach(a.invFreq, 'kvAppend.invFreq', 0, 1, 0, 1, 0, 32);
      if (a.cache.numel % 576 !== 0 || a.cache.numel === 0) throw invalidArgument('kvAppend.cache', 'rows of 576 elements ([*, 576])', `${a.cache.numel} elements`);
      // The cache in runs of rows that each fit one binding inside one of its buffers (a big pool has several).
      const st = h.storageOf(a.cache, 'kvAppend.cache');
      const cacheRows = a.cache.numel / 576, perBinding = rowsFit('kvAppend.cache', 576, 2);
      const segs: { lo: number; n: number; win: Window }[] = [];
      for (let lo = 0; lo < cacheRows;) {
        const b0 = a.cache.byteOffset + lo * 1152;
        const c = st.chunks.find((ch) => b0 >= ch.byteStart && b0 < ch.byteStart + ch.byteLength);
        const inChunk = c ? Math.floor((c.byteStart + c.byteLength - b0) / 1152) : 0;
        if (inChunk < 1) throw invalidArgument('kvAppend.cache', 'whole 576-element rows in each of its GPUBuffers', `row ${lo} spanning two buffers`);
        const n = Math.min(perBinding, inChunk, cacheRows - lo);
        segs.push({ lo, n, win: window(a.cache, 'kvAppend.cache', lo * 576, (lo + n) * 576, true) });
        lo += n;
      }
      const rc = Math.min(rowsFit('kvAppend.kv', 576, 4), capOf(4));
      const pieces = [];
      for (let r0 = 0; r0 < a.rows; r0 += rc) {
        const n = Math.min(rc, a.rows - r0);
        const K = window(a.kv, 'kvAppend.kv', r0 * 576, (r0 + n) * 576), Wt = window(a.weight, 'kvAppend.weight', 0, 512);
        const P = window(a.positions, 'kvAppend.positions', r0, r0 + n), F = window(a.invFreq, 'kvAppend.invFreq', 0, 32);
        const S = window(a.slots, 'kvAppend.slots', r0, r0 + n);
        for (const seg of segs) {
          pieces.push({
            program: layerKvAppendProgram, spec: { cache: a.cache.dtype as 'bf16' | 'f16' }, params: layerKvAppendParams, groups: n,
            windows: [K, Wt, P, F, S, seg.win],
            values: {
              rows: n, kvOff: K.base, weightOff: Wt.base, posOff: P.base, freqOff: F.base, slotOff: S.base, cacheOff: seg.win.base,
              slotLo: seg.lo, slotCount: seg.n, interleave: a.interleave ? 1 : 0, eps: a.eps, attentionFactor: a.attentionFactor,
            },
          });
        }
      }
      queue(pieces, 'flashmla.layer.kvappend');
    },

    convert(src: Tensor, dst: Tensor, n: number): void {
      h.live();
      elem(src, 'convert.src', ['f32', 'bf16', 'f16']);
      elem(dst, 'convert.dst', ['f32', 'bf16', 'f16']);
      count('convert.n', n, 0);
      checkReach(src, 'convert.src', 0, 1, 0, 1, 0, n);
      checkReach(dst, 'convert.dst', 0, 1, 0, 1, 0, n);
      const spec = { src: src.dtype as LayerElem, dst: dst.dtype as LayerElem };
      // 256 elements a workgroup: a piece stays under the dispatch's 65535^3 groups by far.
      const per = Math.min(capOf(dtypeBytes[src.dtype]), capOf(dtypeBytes[dst.dtype]));
      const pieces = [];
      for (let i0 = 0; i0 < n; i0 += per) {
        const c = Math.min(per, n - i0);
        const S = window(src, 'convert.src', i0, i0 + c), D = window(dst, 'convert.dst', i0, i0 + c, true);
        pieces.push({ program: layerConvertProgram, spec, params: layerConvertParams, groups: Math.ceil(c / 256), windows: [S, D], values: { n: c, srcOff: S.base, dstOff: D.base } });
      }
      queue(pieces, 'flashmla.layer.convert');
    },

    dispose(): void {
      uniform?.destroy();
      uniform = undefined;
      part?.destroy(); // (the backend submits an open batch before it disposes the ops)
      part = undefined;
      partBytes = 0;
    },
  };
}

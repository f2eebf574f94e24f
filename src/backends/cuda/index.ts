// The CUDA backend: libcuda through koffi (./driver.ts), kernels from the fatbins scripts/build-kernels.mjs puts
// in dist/cuda. Node only (flashmla-ts/cuda). createCudaBackend() throws FlashMlaError('backend_unavailable')
// when there is no driver, no GPU or no built kernel, so backend discovery falls back to the next kind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, type HostArray, dtypeBytes, hostArrayFor } from '../../core/dtype.js';
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import type { Backend, BackendInfo, DecodeLaunch, MatmulLaunch, MlaProblem } from '../../core/problem.js';
import type { DecodePlan } from '../../core/plan.js';
import { type DeviceStorage, Tensor, numelOf } from '../../core/tensor.js';
import { checkMatmul, checkWrite } from '../../core/validate.js';
import { Attr, Driver } from './driver.js';
import { type Manifest, findKernelDir, loadImage } from './modules.js';
import {
  type DecodeVariant, type Launch, chooseDecodeVariant, combineLaunch, combineRows, decodeVariants, sm90Launch, sameVariant, decodeKernelName, decodeLaunch, naiveLaunch,
} from './kernels/launch.js';
import { compilePacker, mlaParamsLayout, packParams, sparseParamsLayout } from './params.js';
import type { SparseLaunch } from '../../core/sparse.js';
import { sparseKernelName, sparseLaunch } from './kernels/launch.js';
import type { MlaDeviceOps } from '../../core/mla/device.js';
import { createCudaLayerOps } from './layer.js';
import { SparseMmaRunner } from './sparse.js';
import type { DenseFp8Launch } from '../../core/dense-fp8.js';

export { Driver } from './driver.js';
export { findKernelDir } from './modules.js';
export * from './kernels/launch.js';
export * from './params.js';

export interface CudaBackendOptions {
  /** Device ordinal (default 0). */
  device?: number;
  /** Folder with the built fatbins and manifest.json (default: dist/cuda of this package). */
  kernelDir?: string;
  /**
   * 'splitkv' (default): the tensor-core split-KV kernel + combine, following the scheduler's metadata.
   * 'naive': the f32 reference kernel (one CTA per query row, metadata unused): for cross-checks only.
   * 'sm90': the experimental Hopper kernel (decode_sm90.cu: wgmma, cp.async.bulk) where the GPU is sm_90 and the
   * problem has at most 32 rows per KV head, else 'splitkv'. Opt-in: slower than 'splitkv' on the H200 so far
   * (docs/notes/cuda-hopper-decode.md). `decodeKernel(problem)` says which kernel a shape gets.
   */
  kernel?: 'splitkv' | 'naive' | 'sm90';
  /** Force a decode variant (tests and tuning); default: chosen per problem by kernels/launch.ts. */
  variant?: DecodeVariant;
}

/** A captured sequence of launches (e.g. every layer of one decode step), replayed with one cuGraphLaunch. */
export interface CudaGraph {
  /** Queue one replay on the backend's stream. */
  launch(): void;
  dispose(): void;
}

export interface CudaBackend extends Backend {
  readonly kind: 'cuda';
  /** The stream every operation of this backend is queued on (a CUstream). */
  readonly stream: bigint;
  /**
   * Capture the launches `fn` queues (decodes whose index tensors are on the device, e.g. MlaDecoder.run per
   * layer) into a graph. `fn` runs once uncaptured first (unless warmup is false) so workspaces have grown.
   */
  captureGraph(fn: () => void | Promise<void>, opts?: { warmup?: boolean }): Promise<CudaGraph>;
  /** Force a decode variant from now on (tuning, tests); undefined restores the per-problem choice. */
  setDecodeVariant(v: DecodeVariant | undefined): void;
  /** The decode kernel's name a problem of this shape launches (e.g. mla_decode_bf16_m32_n64_s2_w8_q24, mla_decode_sm90_bf16_n16). */
  decodeKernel(p: MlaProblem): string;
  /** The kernels of MlaAttention's device-resident step (kernels/layer.cu). */
  layerOps(): MlaDeviceOps;
  [Symbol.dispose](): void;
}

export async function createCudaBackend(opts: CudaBackendOptions = {}): Promise<CudaBackend> {
  const drv = await Driver.load();
  const count = drv.deviceCount();
  if (count < 1) throw new FlashMlaError('backend_unavailable', 'cuda: the driver sees no GPU');
  const ordinal = opts.device ?? 0;
  if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= count) throw invalidArgument('device', `an ordinal in 0..${count - 1}`, String(ordinal));
  const kernelDir = findKernelDir(opts.kernelDir);
  if (!kernelDir) {
    throw new FlashMlaError('backend_unavailable', 'cuda: no built kernels (dist/cuda/manifest.json not found); run `npm run build` where nvcc is installed');
  }
  return new CudaBackendImpl(drv, ordinal, kernelDir, opts);
}

/** Pinned staging for host index tensors (see stageRange). */
interface StageRing { ptr: bigint; i32: Int32Array; segWords: number; seg: number; done: bigint[]; pending: boolean[] }

/** One kernel launch, resolved: function handle, grid, block, dynamic shared memory. */
interface KernelLaunch { fn: bigint; gx: number; gy: number; gz: number; threads: number; smem: number; what: string }

/** The kernels a decode of one problem shape launches, resolved; reused while the shape repeats (the parameter block holds its scalars). */
interface ShapeKernels extends Pick<MlaProblem, 'b' | 'sQ' | 'totalQ' | 'hQ' | 'hKv' | 'dtype' | 'pageBlockSize' | 'maxBlocksPerSeq'
  | 'numSmParts' | 'causal' | 'varlen' | 'softmaxScale' | 'lseStrideB' | 'lseStrideH' | 'lseStrideT'> {
  lseBytes: number;
  accumBytes: number;
  /** Undefined where a grid would be empty (never for a validated problem: b, hKv and rows are >= 1). */
  decode?: KernelLaunch;
  combine?: KernelLaunch;
}

class CudaBackendImpl implements CudaBackend {
  readonly kind = 'cuda' as const;
  readonly info: BackendInfo;
  readonly stream: bigint;
  private readonly dev: number;
  private readonly ctx: bigint;
  private readonly maxSmem: number;
  private readonly modules: bigint[] = [];
  private readonly fns = new Map<string, bigint>();
  private readonly live = new Set<bigint>();
  private readonly params: { ptr: bigint; view: DataView; argv: bigint };
  private readonly pack = compilePacker(mlaParamsLayout);
  private readonly pv: Record<string, bigint | number> = {};
  private readonly decodeModule: bigint;
  private readonly combineModule: bigint;
  private readonly naiveModule: bigint;
  private readonly loadKernels: (file: string) => bigint;
  /** decode_sm90.fatbin, loaded on sm_90 devices when kernel is 'sm90' (it holds sm_90a code only). */
  private readonly sm90Module?: bigint;
  private readonly events: bigint[] = [];
  /** Device workspace: index copies, then lseAccum, then oAccum (grow-only). */
  private ws = { ptr: 0n, bytes: 0 };
  private ring?: StageRing;
  private stageAt = 0;
  /** Where the last copied index words sit in the ring, and the workspace they went to (skip a repeat copy). */
  private lastStaged: { ring?: StageRing; at: number; words: number; ws: bigint; lens: Int32Array } = { at: 0, words: 0, ws: 0n, lens: new Int32Array(5) };
  private shape?: ShapeKernels;
  private accumAt = { ws: 0n, indexBytes: -1, lseBytes: -1 };
  private capturing = false;
  private forcedVariant?: DecodeVariant;
  private disposed = false;

  constructor(private readonly drv: Driver, ordinal: number, kernelDir: string, private readonly opts: CudaBackendOptions) {
    this.dev = drv.device(ordinal);
    this.ctx = drv.retainPrimaryContext(this.dev);
    try {
      this.stream = drv.createStream();
      const name = drv.deviceName(this.dev);
      const cc = `${drv.attribute(this.dev, Attr.ComputeCapabilityMajor)}.${drv.attribute(this.dev, Attr.ComputeCapabilityMinor)}`;
      const numSms = drv.attribute(this.dev, Attr.MultiprocessorCount);
      this.maxSmem = drv.attribute(this.dev, Attr.MaxSharedMemoryPerBlockOptin);
      const manifest = JSON.parse(readFileSync(join(kernelDir, 'manifest.json'), 'utf8')) as Manifest;
      const load = (file: string) => {
        try {
          const m = drv.loadModule(loadImage(kernelDir, manifest, file), file);
          this.modules.push(m);
          return m;
        } catch (e) {
          if (e instanceof FlashMlaError && e.code === 'driver_error') {
            throw new FlashMlaError('backend_unavailable', `cuda: ${file} has no code for this GPU (compute capability ${cc}): ${e.message}`);
          }
          throw e;
        }
      };
      this.loadKernels = load;
      this.loadSparse = () => load('sparse.fatbin');
      this.decodeModule = load('decode.fatbin');
      this.combineModule = load('combine.fatbin');
      this.naiveModule = load('naive.fatbin');
      if (opts.kernel === 'sm90' && cc === '9.0' && manifest.files['decode_sm90.fatbin']) this.sm90Module = load('decode_sm90.fatbin');
      this.params = drv.pinnedParams(mlaParamsLayout.size);
      if (opts.variant) this.setDecodeVariant(opts.variant);
      this.info = {
        kind: 'cuda',
        device: name,
        numSms,
        details: {
          name, cc, memoryBytes: drv.totalMem(this.dev), driverVersion: drv.driverVersion(), numSms,
          l2Bytes: drv.attribute(this.dev, Attr.L2CacheSize), maxSharedMemoryPerBlock: this.maxSmem,
          kernels: { dir: kernelDir, nvcc: manifest.nvcc },
        },
      };
    } catch (e) {
      // A constructor that fails after the retain must give it back: a leaked reference keeps a faulted context alive.
      try { drv.releasePrimaryContext(this.dev, this.ctx); } catch { /* the first error is the one to report */ }
      throw e;
    }
  }

  // ---------------------------------------------------------------- sparse decode (kernels/sparse.cu)
  private readonly loadSparse: () => bigint;
  private sparseModule?: bigint;
  private sparseParams?: { ptr: bigint; view: DataView; argv: bigint };
  private sparseWs = { ptr: 0n, bytes: 0 };

  /** Token-sparse decode: host index tensors are copied to a grow-only workspace, then one CTA per query row. */
  decodeSparse(l: SparseLaunch): void {
    this.alive();
    const p = l.problem;
    if (p.dQk !== 576 && p.dQk !== 512) throw invalidArgument('q', 'dQk 576 or 512 on CUDA', String(p.dQk));
    if (this.opts.kernel !== 'naive' && this.sparseMma.sparse(l)) return; // the tiled kernel (sparse_mma.cu) where it applies
    this.sparseModule ??= this.loadSparse();
    this.sparseParams ??= this.drv.pinnedParams(sparseParamsLayout.size);
    const hostParts = [l.indices, l.extraIndices, l.topkLength, l.extraTopkLength, l.attnSink]
      .map((t) => (t && t.device === 'cpu' ? t : undefined));
    const offsets: number[] = [];
    let bytes = 0;
    for (const t of hostParts) { offsets.push(bytes); if (t) bytes += Math.ceil(t.byteLength / 256) * 256; }
    if (bytes > this.sparseWs.bytes) {
      this.drv.synchronize(this.stream); // a queued launch may still read the old workspace
      if (this.sparseWs.ptr) this.drv.free(this.sparseWs.ptr);
      this.sparseWs = { ptr: this.drv.alloc(Math.max(bytes, 2 * this.sparseWs.bytes)), bytes: Math.max(bytes, 2 * this.sparseWs.bytes) };
    }
    const ptrOfIdx = (t: Tensor | undefined, k: number): bigint => {
      if (!t) return 0n;
      if (t.device !== 'cpu') return this.ptrOf(t);
      const dst = this.sparseWs.ptr + BigInt(offsets[k]);
      this.drv.copyHtoD(dst, t.host(), t.byteLength, this.stream);
      return dst;
    };
    const q = this.ptrOf(l.q), out = this.ptrOf(l.out), k = this.ptrOf(l.kCache), x = l.extraKCache ? this.ptrOf(l.extraKCache) : 0n;
    if ((q | out | k | x) & 15n) throw invalidArgument('q/kCache/out', 'device addresses aligned to 16 bytes', 'an unaligned view');
    packParams(this.sparseParams.view, sparseParamsLayout, {
      q, kCache: k, extraKCache: x, indices: ptrOfIdx(l.indices, 0), extraIndices: ptrOfIdx(l.extraIndices, 1),
      topkLength: ptrOfIdx(l.topkLength, 2), extraTopkLength: ptrOfIdx(l.extraTopkLength, 3), attnSink: ptrOfIdx(l.attnSink, 4),
      out, lse: this.ptrOf(l.lse), b: p.b, sQ: p.sQ, hQ: p.hQ, topk: p.topk, extraTopk: p.extraTopk,
      pageBlockSize: p.cache.pageBlockSize, extraPageBlockSize: p.extraCache?.pageBlockSize ?? 1,
      blockStride: p.cache.blockStride, extraBlockStride: p.extraCache?.blockStride ?? 0, scaleLog2: p.softmaxScale * Math.LOG2E,
    });
    const ln = sparseLaunch(p), name = sparseKernelName(p);
    const fn = this.fn(this.sparseModule, name, 0);
    const rc = this.drv.api.cuLaunchKernel(fn, ln.grid[0], ln.grid[1], ln.grid[2], ln.block[0], 1, 1, 0, this.stream, this.sparseParams.argv, null);
    if (rc !== 0) this.drv.check(rc, `cuLaunchKernel(${name})`);
  }

  /** Dense decode over an FP8 cache by block table (sparse_mma.cu); false where it does not apply. */
  decodeDenseFp8(l: DenseFp8Launch): boolean {
    this.alive();
    return this.opts.kernel !== 'naive' && this.sparseMma.dense(l);
  }

  private get sparseMma(): SparseMmaRunner {
    return (this.sparseMmaRunner ??= new SparseMmaRunner({
      drv: this.drv, stream: this.stream, maxSmem: this.maxSmem, load: (f) => this.loadKernels(f),
      fn: (m, name, smem) => this.fn(m, name, smem), ptrOf: (t) => this.ptrOf(t),
    }));
  }
  private sparseMmaRunner?: SparseMmaRunner;

  // ---------------------------------------------------------------- tensors
  empty(dtype: DType, shape: readonly number[]): Tensor {
    this.alive();
    const n = numelOf(shape);
    const byteLength = n * dtypeBytes[dtype];
    const ptr = this.drv.alloc(byteLength);
    this.live.add(ptr);
    const storage: DeviceStorage = { device: 'cuda', byteLength, ptr, owner: this };
    return new Tensor(dtype, shape, storage);
  }

  upload(t: Tensor<HostArray>): Tensor {
    const d = this.empty(t.dtype, t.shape);
    this.write(d, t);
    return d;
  }

  write(dst: Tensor, src: Tensor<HostArray>, dstOffset = 0): void {
    this.alive();
    checkWrite(dst, src, dstOffset);
    if (src.numel === 0) return;
    const eb = dtypeBytes[dst.dtype];
    this.drv.copyHtoD(this.ptrOf(dst) + BigInt(dstOffset * eb), src.host(), src.numel * eb, this.stream);
  }

  async download(t: Tensor): Promise<Tensor<HostArray>> {
    this.alive();
    const host = hostArrayFor(t.dtype, t.numel);
    if (t.numel > 0) this.drv.copyDtoH(host, this.ptrOf(t), t.byteLength, this.stream);
    this.drv.synchronize(this.stream);
    return new Tensor(t.dtype, t.shape, host);
  }

  /** Free a tensor of this backend (a no-op after dispose(), which freed everything). */
  free(t: Tensor): void {
    if (this.disposed) return;
    const s = t.data as DeviceStorage;
    if (s.owner !== this || s.ptr === undefined) throw invalidArgument('tensor', 'a tensor allocated by this CUDA backend', 'another tensor');
    if (!this.live.delete(s.ptr)) return; // already freed (or a view of a freed allocation)
    this.drv.free(s.ptr);
  }

  get isDisposed(): boolean { return this.disposed; }

  private ptrOf(t: Tensor): bigint {
    const s = t.data as DeviceStorage;
    if (s.ptr === undefined || s.owner !== this) {
      const other = s.owner instanceof CudaBackendImpl ? (s.owner.isDisposed ? 'a tensor of a disposed CUDA backend (its memory is freed)' : 'a tensor of another CUDA backend') : `a ${t.device} tensor`;
      throw invalidArgument('tensor', 'a tensor on this CUDA backend', other);
    }
    return t.offset === 0 ? s.ptr : s.ptr + BigInt(t.byteOffset);
  }

  // ---------------------------------------------------------------- decode
  // The hot path (a decode is queued once per layer, thousands of times a second): no allocation once warm. What
  // depends only on the problem's shape (kernels, grids, every scalar of the parameter block) is kept from the
  // previous call while the shape repeats; each call then writes the pointers into the parameter block, stages the
  // host index tensors (if any) with one copy, and launches.
  decode(l: DecodeLaunch): void {
    this.alive();
    const p = l.problem;
    const sk = this.shapeKernels(p, l.plan);
    const view = this.params.view, off = mlaParamsLayout.offsets;
    const q = this.ptrOf(l.q), kCache = this.ptrOf(l.kCache), out = this.ptrOf(l.out);
    if ((q | kCache | out) & 15n) {
      throw invalidArgument('q/kCache/out', 'device addresses aligned to 16 bytes (the kernels copy 16-byte vectors)', 'an unaligned view');
    }
    view.setBigUint64(off.q, q, true);
    view.setBigUint64(off.kCache, kCache, true);
    view.setBigUint64(off.out, out, true);
    view.setBigUint64(off.lse, this.ptrOf(l.lse), true);
    this.placeIndices(l, sk.accumBytes);

    const api = this.drv.api, stream = this.stream, argv = this.params.argv;
    const d = sk.decode;
    let rc = d ? api.cuLaunchKernel(d.fn, d.gx, d.gy, d.gz, d.threads, 1, 1, d.smem, stream, argv, null) : 0;
    if (rc !== 0) this.drv.check(rc, `cuLaunchKernel(${d!.what})`);
    // Every request in one piece (the plan says no combine): the decode kernel wrote everything.
    const c = sk.combine;
    if (c && l.plan.combine) {
      rc = api.cuLaunchKernel(c.fn, c.gx, c.gy, c.gz, c.threads, 1, 1, 0, stream, argv, null);
      if (rc !== 0) this.drv.check(rc, 'cuLaunchKernel(combine)');
    }
  }

  /** y = x · wᵀ in f32 (layer.cu's SIMT GEMM, the one MlaAttention's f32 step uses), queued on the backend's stream. */
  matmul(l: MatmulLaunch): void {
    this.alive();
    checkMatmul(l, 'cuda');
    this.layerOps().gemm({ m: l.m, n: l.n, k: l.k, x: l.x, xOff: l.xOff, xStride: l.xStride, w: l.w, wOff: l.wOff, wStride: l.wStride, y: l.y });
  }

  /** MlaAttention's device-resident step (layer.ts, kernels/layer.cu), loaded at first use. */
  private layerOpsOf?: MlaDeviceOps;
  layerOps(): MlaDeviceOps {
    this.alive();
    return (this.layerOpsOf ??= createCudaLayerOps({ drv: this.drv, stream: this.stream, module: this.loadKernels('layer.fatbin'), ptrOf: (t) => this.ptrOf(t) }));
  }

  setDecodeVariant(v: DecodeVariant | undefined): void {
    if (v && !decodeVariants.some((x) => sameVariant(x, v))) {
      throw invalidArgument('variant', 'one of decodeVariants', JSON.stringify(v));
    }
    this.forcedVariant = v;
    this.shape = undefined;
  }

  /**
   * The kernel launches for p's shape: the previous ones while the shape repeats, else resolved and the scalars
   * packed. Workspace sizes come from the step's DecodePlan.
   */
  private shapeKernels(p: MlaProblem, dp: DecodePlan): ShapeKernels {
    const k = this.shape;
    if (k && k.b === p.b && k.sQ === p.sQ && k.totalQ === p.totalQ && k.hQ === p.hQ && k.hKv === p.hKv && k.dtype === p.dtype
      && k.pageBlockSize === p.pageBlockSize && k.maxBlocksPerSeq === p.maxBlocksPerSeq && k.numSmParts === p.numSmParts
      && k.causal === p.causal && k.varlen === p.varlen && k.softmaxScale === p.softmaxScale && k.lseStrideB === p.lseStrideB
      && k.lseStrideH === p.lseStrideH && k.lseStrideT === p.lseStrideT) return k;
    const v = this.pv;
    v.b = p.b; v.sQ = p.sQ; v.hQ = p.hQ; v.hKv = p.hKv; v.nGroups = p.nGroups; v.rows = p.sQ * p.nGroups;
    v.pageBlockSize = p.pageBlockSize; v.maxBlocksPerSeq = p.maxBlocksPerSeq; v.numSmParts = p.numSmParts;
    v.causal = p.causal ? 1 : 0; v.lseStrideB = p.lseStrideB; v.lseStrideH = p.lseStrideH; v.lseStrideT = p.lseStrideT;
    v.scaleLog2 = p.softmaxScale * Math.LOG2E;
    v.combineRows = combineRows(p, this.info.numSms);
    // Pointers are written per call; these zeros only keep the packer's input complete. The packer overwrites the
    // accumulator pointers too, so placeIndices must write them again.
    for (const f of mlaParamsLayout.fields) if (f.type === 'ptr') v[f.name] = 0n;
    this.pack(this.params.view, v);
    this.accumAt.indexBytes = -1;
    const lseBytes = dp.workspace.oAccum * 4; // oAccum starts 256-byte aligned: read as float4, written as float2
    const dt = p.dtype;
    const launchOf = (fn: bigint, ln: Launch, what: string): KernelLaunch | undefined =>
      ln.grid[0] === 0 || ln.grid[1] === 0 || ln.grid[2] === 0 ? undefined
        : { fn, gx: ln.grid[0], gy: ln.grid[1], gz: ln.grid[2], threads: ln.block[0], smem: ln.smem, what };
    let decode: KernelLaunch | undefined, combine: KernelLaunch | undefined;
    if (this.opts.kernel === 'naive') {
      decode = launchOf(this.fn(this.naiveModule, `mla_naive_${dt}`, 0), naiveLaunch(p), 'naive');
    } else if (this.sm90Module !== undefined && !this.forcedVariant && sm90Launch(p)) {
      const sl = sm90Launch(p)!;
      decode = launchOf(this.fn(this.sm90Module, sl.name, sl.smem), sl, sl.name);
      combine = launchOf(this.fn(this.combineModule, `mla_combine_${dt}`, 0), combineLaunch(p, v.combineRows as number), 'combine');
    } else {
      const variant = this.variantFor(p);
      const dl = decodeLaunch(p, variant);
      decode = launchOf(this.fn(this.decodeModule, decodeKernelName(dt, variant), dl.smem), dl, 'decode');
      combine = launchOf(this.fn(this.combineModule, `mla_combine_${dt}`, 0), combineLaunch(p, v.combineRows as number), 'combine');
    }
    this.shape = {
      b: p.b, sQ: p.sQ, totalQ: p.totalQ, hQ: p.hQ, hKv: p.hKv, dtype: p.dtype, pageBlockSize: p.pageBlockSize,
      maxBlocksPerSeq: p.maxBlocksPerSeq, numSmParts: p.numSmParts, causal: p.causal, varlen: p.varlen,
      softmaxScale: p.softmaxScale, lseStrideB: p.lseStrideB, lseStrideH: p.lseStrideH, lseStrideT: p.lseStrideT,
      lseBytes, accumBytes: dp.workspace.accumFloats * 4, decode, combine,
    };
    return this.shape;
  }

  decodeKernel(p: MlaProblem): string {
    if (this.opts.kernel === 'naive') return `mla_naive_${p.dtype}`;
    const sl = this.sm90Module !== undefined && !this.forcedVariant ? sm90Launch(p) : undefined;
    return sl ? sl.name : decodeKernelName(p.dtype, this.variantFor(p));
  }

  private variantFor(p: MlaProblem): DecodeVariant {
    if (this.forcedVariant) return this.forcedVariant;
    const v = chooseDecodeVariant(p.sQ * p.nGroups, this.maxSmem);
    if (!v) throw new FlashMlaError('backend_unavailable', `cuda: no decode variant fits ${this.maxSmem} bytes of shared memory a block`);
    return v;
  }

  private fn(module: bigint, name: string, smem: number): bigint {
    let f = this.fns.get(name);
    if (f === undefined) {
      f = this.drv.getFunction(module, name);
      if (smem > 48 * 1024) this.drv.setMaxDynamicSmem(f, smem, name);
      this.fns.set(name, f);
    }
    return f;
  }

  /**
   * Point the parameter block at the index tensors and the accumulators. Device index tensors are used where they
   * are; host ones are packed into one staging range and copied, in one transfer, to the front of the workspace
   * (the accumulators follow them). When the packed words equal what the previous call copied to that same place,
   * the copy is skipped: a step's layers pass the same index tensors, and the device already holds them.
   */
  private placeIndices(l: DecodeLaunch, accumBytes: number): void {
    const view = this.params.view, off = mlaParamsLayout.offsets;
    let words = 0;
    words += this.hostWords(l.blockTable);
    words += this.hostWords(l.cacheSeqlens);
    words += this.hostWords(l.qIndptr);
    words += this.hostWords(l.tileSchedulerMetadata);
    words += this.hostWords(l.numSplits);
    words = (words + 63) & ~63; // the accumulators after them stay 256-byte aligned
    const indexBytes = words * 4;
    if (indexBytes + accumBytes > this.ws.bytes) this.ensureWorkspace(indexBytes + accumBytes);
    const ws = this.ws.ptr;
    if (words > 0) {
      if (this.capturing) {
        throw invalidArgument('index tensors', 'device tensors while capturing a graph (MlaDecoder.plan uploads them)', 'host tensors');
      }
      const ring = this.stageRange(words);
      const buf = ring.i32, start = this.stageAt;
      const prev = this.lastStaged;
      // Unchanged since the last copy to this workspace: compare the sources with the words staged then.
      let same = prev.ws === ws && prev.ring === ring;
      let at = prev.at;
      if (same) {
        // With seqlens, metadata and numSplits all on the host, validation proved the latter two are the schedule
        // those seqlens (and numSmParts) give: equal seqlens and lengths imply equal values, no need to compare them.
        const planned = l.cacheSeqlens.device === 'cpu' && l.tileSchedulerMetadata.device === 'cpu' && l.numSplits.device === 'cpu';
        at = this.sameAs(l.blockTable, buf, at, false, 0);
        at = this.sameAs(l.cacheSeqlens, buf, at, false, 1);
        at = this.sameAs(l.qIndptr, buf, at, false, 2);
        at = this.sameAs(l.tileSchedulerMetadata, buf, at, planned, 3);
        at = this.sameAs(l.numSplits, buf, at, planned, 4);
        same = at >= 0 && at - prev.at === prev.words;
      }
      const base = same ? prev.at : start;
      at = base;
      at = this.stageOne(l.blockTable, off.blockTable, buf, at, base, same);
      at = this.stageOne(l.cacheSeqlens, off.cacheSeqlens, buf, at, base, same);
      at = this.stageOne(l.qIndptr, off.qIndptr, buf, at, base, same);
      at = this.stageOne(l.tileSchedulerMetadata, off.tileSchedulerMetadata, buf, at, base, same);
      at = this.stageOne(l.numSplits, off.numSplits, buf, at, base, same);
      if (!same) {
        const used = at - start;
        this.drv.copyHtoD(ws, ring.ptr + BigInt(start * 4), used * 4, this.stream);
        this.stageAt = start + words;
        prev.ws = ws; prev.words = used; prev.ring = ring; prev.at = start;
        prev.lens[0] = l.blockTable.numel; prev.lens[1] = l.cacheSeqlens.numel; prev.lens[2] = l.qIndptr?.numel ?? -1;
        prev.lens[3] = l.tileSchedulerMetadata.numel; prev.lens[4] = l.numSplits.numel;
      }
    } else {
      this.lastStaged.ws = 0n; // this decode's accumulators start at the workspace front, over the staged words
      view.setBigUint64(off.blockTable, this.ptrOf(l.blockTable), true);
      view.setBigUint64(off.cacheSeqlens, this.ptrOf(l.cacheSeqlens), true);
      view.setBigUint64(off.qIndptr, l.qIndptr ? this.ptrOf(l.qIndptr) : 0n, true);
      view.setBigUint64(off.tileSchedulerMetadata, this.ptrOf(l.tileSchedulerMetadata), true);
      view.setBigUint64(off.numSplits, this.ptrOf(l.numSplits), true);
    }
    if (this.accumAt.ws !== ws || this.accumAt.indexBytes !== indexBytes || this.accumAt.lseBytes !== this.shape!.lseBytes) {
      this.accumAt = { ws, indexBytes, lseBytes: this.shape!.lseBytes };
      view.setBigUint64(off.lseAccum, ws + BigInt(indexBytes), true);
      view.setBigUint64(off.oAccum, ws + BigInt(indexBytes + this.shape!.lseBytes), true);
    }
  }

  /** Words a host index tensor takes in the staging range (16-byte aligned pieces); 0 for device tensors. */
  private hostWords(t: Tensor | undefined): number {
    return t && t.device === 'cpu' ? (t.numel + 3) & ~3 : 0;
  }

  /**
   * Stage one index tensor (host: into buf at `at` unless `staged` says it is there already, pointing the parameter
   * at its place in the workspace; device: as it is). Returns where the next one goes.
   */
  private stageOne(t: Tensor | undefined, field: number, buf: Int32Array, at: number, start: number, staged: boolean): number {
    const view = this.params.view;
    if (!t) { view.setBigUint64(field, 0n, true); return at; }
    if (t.device !== 'cpu') { view.setBigUint64(field, this.ptrOf(t), true); return at; }
    if (!staged) buf.set(t.host() as Int32Array, at);
    view.setBigUint64(field, this.ws.ptr + BigInt((at - start) * 4), true);
    return at + ((t.numel + 3) & ~3);
  }

  /**
   * Whether host tensor t's values sit in buf at `at` (device or absent tensors take no words): the next position,
   * or -1. `lengthOnly`: the caller knows equal lengths (numel of index k, as staged last time) mean equal values.
   */
  private sameAs(t: Tensor | undefined, buf: Int32Array, at: number, lengthOnly: boolean, k: number): number {
    if (at < 0 || !t || t.device !== 'cpu') return at;
    const src = t.host() as Int32Array, n = src.length;
    if (n !== this.lastStaged.lens[k] || at + n > buf.length) return -1;
    if (!lengthOnly) {
      for (let i = 0; i < n; i++) if (buf[at + i] !== src[i]) return -1;
    }
    return at + ((n + 3) & ~3);
  }

  /**
   * Staging for host index words: one pinned ring in four segments. A staged range never spans segments; leaving a
   * segment records an event after the copies that read it, and entering one waits (rarely) for its event. So a call
   * costs no event work, and nothing is written while a queued copy may still read it. Grows (after a sync) when
   * a quarter cannot hold the request. Sets this.stageAt to where the range starts and returns the ring.
   */
  private stageRange(words: number): StageRing {
    let r = this.ring;
    if (!r || words > r.segWords) {
      this.drv.synchronize(this.stream); // no copy may still read the ring we replace
      if (r) { this.drv.hostFree(r.ptr); for (const e of r.done) this.drv.destroyEvent(e); }
      const segWords = Math.max(16384, words * 4);
      const h = this.drv.hostAlloc(segWords * 16);
      r = this.ring = {
        ptr: h.ptr, i32: new Int32Array(h.bytes), segWords, seg: 0,
        done: [this.drv.createEvent(), this.drv.createEvent(), this.drv.createEvent(), this.drv.createEvent()],
        pending: [false, false, false, false],
      };
      this.stageAt = 0;
      this.lastStaged.ring = undefined;
    }
    const segEnd = (r.seg + 1) * r.segWords;
    if (this.stageAt + words > segEnd) {
      this.drv.record(r.done[r.seg], this.stream);
      r.pending[r.seg] = true;
      r.seg = (r.seg + 1) & 3;
      if (r.pending[r.seg]) {
        if (!this.drv.eventDone(r.done[r.seg])) this.drv.eventSynchronize(r.done[r.seg]);
        r.pending[r.seg] = false;
      }
      this.stageAt = r.seg * r.segWords;
      if (this.lastStaged.ring === r && this.lastStaged.at >= this.stageAt && this.lastStaged.at < this.stageAt + r.segWords) {
        this.lastStaged.ring = undefined; // about to be overwritten
      }
    }
    return r;
  }

  /** Allocate the workspace a step's decodes need (their index tensors are on the device: accumulators only). */
  reserve(plan: DecodePlan): void {
    this.alive();
    if (this.capturing) throw new FlashMlaError('invalid_argument', 'cuda: reserve() while capturing a graph', 'plan');
    this.ensureWorkspace(plan.workspace.accumFloats * 4);
  }

  private ensureWorkspace(bytes: number): void {
    if (bytes <= this.ws.bytes) return;
    const grown = Math.max(bytes, Math.ceil(this.ws.bytes * 1.25)), old = this.ws.ptr;
    if (old) {
      this.drv.synchronize(this.stream); // queued kernels may still read the old one
      this.drv.free(old);
    }
    this.ws = { ptr: this.drv.alloc(grown), bytes: grown };
  }

  // ---------------------------------------------------------------- timing, graphs, lifetime
  async synchronize(): Promise<void> {
    this.alive();
    this.drv.synchronize(this.stream);
  }

  async timeMs(run: (rep: number) => void | Promise<void>, opts: { warmup: number; reps: number }): Promise<number[]> {
    this.alive();
    for (let i = 0; i < opts.warmup; i++) await run(i);
    while (this.events.length < 2 * opts.reps) this.events.push(this.drv.createEvent());
    for (let r = 0; r < opts.reps; r++) {
      this.drv.record(this.events[2 * r], this.stream);
      await run(r);
      this.drv.record(this.events[2 * r + 1], this.stream);
    }
    this.drv.eventSynchronize(this.events[2 * opts.reps - 1]);
    const times: number[] = [];
    for (let r = 0; r < opts.reps; r++) times.push(this.drv.elapsedMs(this.events[2 * r], this.events[2 * r + 1]));
    return times;
  }

  async captureGraph(fn: () => void | Promise<void>, opts: { warmup?: boolean } = {}): Promise<CudaGraph> {
    this.alive();
    if (opts.warmup ?? true) await fn();
    this.drv.synchronize(this.stream);
    this.drv.beginCapture(this.stream);
    this.capturing = true;
    try {
      await fn();
    } catch (e) {
      this.capturing = false;
      try { this.drv.destroyGraph(this.drv.endCapture(this.stream)); } catch { /* the capture may already be invalid */ }
      throw e;
    }
    this.capturing = false;
    const graph = this.drv.endCapture(this.stream);
    let exec: bigint;
    try {
      exec = this.drv.instantiate(graph);
    } catch (e) {
      this.drv.destroyGraph(graph);
      throw e;
    }
    const drv = this.drv, stream = this.stream;
    let gone = false;
    return {
      launch: () => {
        if (gone) throw new FlashMlaError('disposed', 'cuda graph: used after dispose()');
        drv.graphLaunch(exec, stream);
      },
      dispose: () => {
        if (gone) return;
        gone = true;
        drv.destroyGraphExec(exec);
        drv.destroyGraph(graph);
      },
    };
  }

  /**
   * Free everything and release the context. Never throws: after a sticky fault every driver call fails, and the
   * release must still happen (it is what lets a new backend get a fresh context).
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const attempt = (f: () => void) => { try { f(); } catch { /* a faulted context: keep releasing */ } };
    attempt(() => this.drv.setCurrent(this.ctx));
    attempt(() => this.drv.synchronize(this.stream));
    for (const p of this.live) attempt(() => this.drv.free(p));
    this.live.clear();
    if (this.ws.ptr) attempt(() => this.drv.free(this.ws.ptr));
    const sws = this.sparseWs, sp = this.sparseParams;
    if (sws.ptr) attempt(() => this.drv.free(sws.ptr));
    this.sparseMmaRunner?.dispose(attempt);
    if (sp) { attempt(() => this.drv.koffi.free(sp.ptr)); attempt(() => this.drv.koffi.free(sp.argv)); }
    attempt(() => this.layerOpsOf?.dispose?.());
    const ring = this.ring;
    if (ring) { attempt(() => this.drv.hostFree(ring.ptr)); for (const e of ring.done) attempt(() => this.drv.destroyEvent(e)); }
    for (const e of this.events) attempt(() => this.drv.destroyEvent(e));
    for (const m of this.modules) attempt(() => this.drv.unloadModule(m));
    attempt(() => this.drv.koffi.free(this.params.ptr));
    attempt(() => this.drv.koffi.free(this.params.argv));
    attempt(() => this.drv.destroyStream(this.stream));
    attempt(() => this.drv.releasePrimaryContext(this.dev, this.ctx));
  }

  /** The sticky fault of this backend's context, if a kernel faulted (then every call throws it: device_lost). */
  get fault(): FlashMlaError | undefined { return this.drv.stickyError(this.ctx); }

  [Symbol.dispose](): void { this.dispose(); }

  private alive(): void {
    if (this.disposed) throw new FlashMlaError('disposed', 'cuda backend: used after dispose()');
    const fault = this.drv.stickyError(this.ctx);
    if (fault) throw fault; // fail fast: the context is unusable until every backend on it is disposed
    this.drv.setCurrent(this.ctx);
  }
}

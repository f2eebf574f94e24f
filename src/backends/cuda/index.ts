// The CUDA backend's factory and backend class: libcuda through koffi (./driver.ts), kernels from the fatbins
// scripts/build-kernels.mjs puts in dist/cuda. Node only (flashmla-ts/cuda). createCudaBackend() throws
// FlashMlaError('backend_unavailable') when there is no driver, no GPU or no built kernel, so backend discovery
// falls back to the next kind. CudaBackendImpl keeps the Backend methods and delegates to the runtime pieces:
// modules.ts (kernel loading), shape-kernels.ts (kernel cache), staging.ts (host index staging), workspace.ts,
// timing.ts (events), graphs.ts (CUDA graphs), sparse.ts and layer.ts (their kernels' host sides).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, type HostArray, dtypeBytes, hostArrayFor } from '../../core/dtype.js';
import { FlashMlaError, invalidArgument } from '../../core/errors.js';
import type { Backend, BackendInfo, DecodeCall, MatmulCall, MlaProblem, TimeOptions } from '../../core/problem.js';
import type { DecodePlan } from '../../core/plan.js';
import { type DeviceStorage, Tensor, numelOf } from '../../core/tensor.js';
import { checkMatmul, checkSchedule, checkWrite } from '../../core/validate.js';
import { type ScheduleKind, scheduleKinds } from '../../core/scheduler.js';
import { Attr, Driver } from './driver.js';
import { type Manifest, findKernelDir, loadImage } from './modules.js';
import type { DecodeVariant } from './kernels/launch.js';
import { mlaParamsLayout, packParams, sparseParamsLayout } from './params.js';
import { type SparseCall, type SparseProblem, sparseTokenCounts } from '../../core/sparse.js';
import { combineQ32Default, combineQuarterDefault, checkDecodeVariant, sm90CacheMap, sm90WideMaxKeysFrom, sparseKernelName, sparseLaunch } from './kernels/launch.js';
import type { MlaDeviceOps } from '../../core/mla/device.js';
import { type CudaLayerSplitKRule, createCudaLayerOps, cudaLayerSplitKFromEnv, resolveCudaLayerSplitK } from './layer.js';
import { SparseMmaRunner } from './sparse.js';
import { type DenseFold, type SparsePartial, cudaFp8RoutesText, denseFoldFromEnv, sparsePartialFromEnv } from './kernels/sparse-sm90-launch.js';
import type { DenseFp8Call } from '../../core/dense-fp8.js';
import { type CudaGraph, captureGraph } from './graphs.js';
import { KernelCache, QMapSlot, mergeFor } from './shape-kernels.js';
import type { KernelArgs } from './tensor-map.js';
import { IndexStaging } from './staging.js';
import { LaunchEx, pdlFor, pdlSupport } from './pdl.js';
import { EventTimer } from './timing.js';
import { Workspace } from './workspace.js';

export { Driver } from './driver.js';
export { findKernelDir } from './modules.js';
export * from './kernels/launch.js';
export * from './params.js';
export type { CudaGraph } from './graphs.js';
export {
  type CudaLayerGemmKernel, type CudaLayerSplitKRule, cudaLayerGemmSplitK, cudaLayerGemms, cudaLayerSplitKBound, cudaLayerSplitKDefault, cudaLayerSplitKFromEnv, gemmCtas,
  resolveCudaLayerSplitK,
} from './layer.js';

export interface CudaBackendOptions {
  /** Device ordinal (default 0). */
  device?: number;
  /** Folder with the built fatbins and manifest.json (default: dist/cuda of this package). */
  kernelDir?: string;
  /**
   * 'sm90' (default): on sm_90 GPUs the Hopper kernels (TMA tensor copies, wgmma, warp specialisation) for
   * problems with one KV head, page 64 and uniform query lengths: decode_sm90.cu (keys on M) up to 32 rows per KV
   * head, decode_sm90_wide.cu (queries on M) from 64 rows (docs/notes/cuda-hopper-decode.md); every other shape
   * (33-63 rows too) and every other GPU gets 'splitkv'.
   * 'splitkv': the mma.sync split-KV kernel + combine, following the scheduler's metadata, for every shape.
   * 'naive': the f32 reference kernel (one CTA per query row, metadata unused): for cross-checks only.
   * `decodeKernel(problem)` says which kernel a shape gets.
   */
  kernel?: 'splitkv' | 'naive' | 'sm90';
  /** Force a decode variant (tests and tuning); default: chosen per problem by kernels/launch.ts. */
  variant?: DecodeVariant;
  /**
   * Sparse decode with `indices` / `extraIndices` on the device: an id outside its cache counts as -1, as validation
   * makes a host tensor's. The Hopper kernel (sparse_sm90.cu) bounds every id itself (the compare it makes for -1 anyway;
   * with the producer that knows there is no extra cache it measured 2.0-2.6 % faster than behind the pass on an H100);
   * the other kernels read copies bounded first by kernels/sparse_mma.cu mla_sparse_bound (a launch: measured
   * 1.006-1.054x the sparse kernel's time on an H100). false (or FLASHMLA_CUDA_SPARSE_BOUND=0) skips that pass, trusting
   * the ids: on those kernels an id outside 0..tokens-1 other than -1 then reads outside the cache
   * (FLASHMLA_CUDA_SPARSE_BOUND=pass, for measurement, runs the pass before the Hopper kernel too).
   */
  boundDeviceIndices?: boolean;
  /**
   * Programmatic dependent launch (pdl.ts) where the GPU (sm_90+) and driver (CUDA 12.3+) have it. Default (or true):
   * decode_sm90.cu, sparse_sm90.cu after the pass that bounds device indices or lists a dense step's keys, and the
   * merges after a decode kernel, in captured graphs too. false (or FLASHMLA_CUDA_PDL=0): none.
   * FLASHMLA_CUDA_PDL=merges: the merges outside graph capture only (session 36's default). info.details.pdl says what
   * is on, and why.
   */
  pdl?: boolean;
  /**
   * The split-KV plan MlaDecoder makes for this backend when it plans a step itself (BackendInfo.schedule):
   * 'flashmla' (getMlaMetadata's plan), 'fill' (core/scheduler.ts: FlashMLA's walk with the payload floor lowered to
   * one overhead and one block, so a small batch spreads over more SMs with fewer tiles each) or 'auto' ('fill' where
   * it was measured faster on the H200, else FlashMLA's: core/scheduler.ts autoSchedule). Default: 'auto' on sm_90,
   * 'flashmla' on other GPUs (cudaScheduleDefault; also FLASHMLA_CUDA_SCHEDULE=flashmla | fill | auto). Metadata a
   * caller passes to flashMlaWithKvcache is run as given, whichever plan it is.
   */
  schedule?: ScheduleKind;
  /**
   * Split-K for the layer ops' GEMMs, the f32 SIMT one and the bf16 tensor-core one (MlaAttention's projections at
   * decode; layer.ts cudaLayerGemmSplitK): true or unset with cudaLayerSplitKDefault's rule, false never (also
   * FLASHMLA_CUDA_LAYER_SPLITK=0: both kernels), or the rule's fields to change (tuning;
   * FLASHMLA_CUDA_LAYER_SPLITK=ctasPerSm=2,minChunk=512; ctasPerSmBf16=0: the bf16 GEMM alone never splits).
   */
  layerSplitK?: boolean | Partial<CudaLayerSplitKRule>;
}

/**
 * The plan MlaDecoder makes when the caller names none: 'auto' on sm_90 (compute capability "9.0"; measured on the
 * H200 with both the Hopper kernels and the mma.sync kernel, docs/notes/cuda-hopper-decode.md, "Session 23"),
 * FlashMLA's on other GPUs (not measured there).
 */
export function cudaScheduleDefault(cc: string): ScheduleKind {
  return cc === '9.0' ? 'auto' : 'flashmla';
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
  /**
   * The decode kernel's name a problem of this shape launches (e.g. mla_decode_bf16_m32_n64_s2_w8_q24,
   * mla_decode_sm90_bf16_n16); with the step's plan where the choice depends on it.
   */
  decodeKernel(p: MlaProblem, plan?: DecodePlan): string;
  /** The kernels of MlaAttention's device-resident step (kernels/layer.cu). */
  layerOps(): MlaDeviceOps;
  [Symbol.dispose](): void;
}

const cudaKernelChoices: readonly NonNullable<CudaBackendOptions['kernel']>[] = ['sm90', 'splitkv', 'naive'];

/**
 * The options that need no GPU, checked before the driver is loaded: a bad value is an invalid_argument naming it
 * on any machine, with or without a driver (a misspelt `kernel` never quietly runs another kernel).
 */
export function checkCudaBackendOptions(opts: CudaBackendOptions): void {
  if (opts.schedule !== undefined) checkSchedule(opts.schedule);
  for (const k of ['boundDeviceIndices', 'pdl'] as const) {
    if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw invalidArgument(k, 'true or false', String(opts[k]));
  }
  if (opts.kernel !== undefined && !cudaKernelChoices.includes(opts.kernel)) {
    throw invalidArgument('kernel', cudaKernelChoices.map((k) => `'${k}'`).join(', '), String(opts.kernel));
  }
  if (opts.device !== undefined && (!Number.isInteger(opts.device) || opts.device < 0)) throw invalidArgument('device', 'a device ordinal (an integer >= 0)', String(opts.device));
  if (opts.kernelDir !== undefined && (typeof opts.kernelDir !== 'string' || opts.kernelDir === '')) throw invalidArgument('kernelDir', 'a folder path', String(opts.kernelDir));
  if (opts.variant !== undefined) checkDecodeVariant(opts.variant);
  if (opts.layerSplitK !== undefined) resolveCudaLayerSplitK(opts.layerSplitK);
}

export async function createCudaBackend(opts: CudaBackendOptions = {}): Promise<CudaBackend> {
  checkCudaBackendOptions(opts);
  const drv = await Driver.load();
  const count = drv.deviceCount();
  if (count < 1) throw new FlashMlaError('backend_unavailable', 'cuda: the driver sees no GPU');
  const ordinal = opts.device ?? 0;
  if (ordinal >= count) throw invalidArgument('device', `an ordinal in 0..${count - 1}`, String(ordinal));
  const kernelDir = findKernelDir(opts.kernelDir);
  if (!kernelDir) {
    throw new FlashMlaError('backend_unavailable', 'cuda: no built kernels (dist/cuda/manifest.json not found); run `npm run build` where nvcc is installed');
  }
  return new CudaBackendImpl(drv, ordinal, kernelDir, opts);
}

class CudaBackendImpl implements CudaBackend {
  readonly kind = 'cuda' as const;
  /** Sparse steps planned on the device (getSparseMlaMetadata's onDevice): mla_sparse_bound writes the plan first. */
  readonly sparseDevicePlan = true;
  readonly info: BackendInfo;
  readonly stream: bigint;
  private readonly dev: number;
  private readonly ctx: bigint;
  private readonly maxSmem: number;
  private readonly modules: bigint[] = [];
  /** Each live allocation's address and the storage that owns it. The driver hands freed addresses out again, so a
      tensor is live only while the storage at its address is its own: a freed tensor (or a view of one) never reaches
      the memory of a tensor allocated after it at the same address. */
  private readonly live = new Map<bigint, DeviceStorage>();
  private readonly params: KernelArgs;
  /** q's tensor map (maps[1]) for the narrow Hopper kernel's library entries. */
  private readonly qMap: QMapSlot;
  private readonly loadKernels: (file: string) => bigint;
  /** Kernel handles and the per-shape launches (shape-kernels.ts). */
  private readonly kernels: KernelCache;
  /** Device workspace: index copies, then lseAccum, then oAccum (grow-only). */
  private readonly ws: Workspace;
  /** The layer gemm's split-K partials (layer.ts). */
  private readonly layerWs: Workspace;
  private readonly layerSplitK: CudaLayerSplitKRule | undefined;
  private readonly numSms: number;
  /** Host index tensors into the workspace (staging.ts). */
  private readonly staging: IndexStaging;
  private readonly timer: EventTimer;
  /** Decode and combine launches, with programmatic dependent launch where it is on (pdl.ts). */
  private readonly launcher: LaunchEx;
  private capturing = false;
  private disposed = false;

  constructor(private readonly drv: Driver, ordinal: number, kernelDir: string, private readonly opts: CudaBackendOptions) {
    this.dev = drv.device(ordinal);
    this.ctx = drv.retainPrimaryContext(this.dev);
    try {
      this.stream = drv.createStream();
      const name = drv.deviceName(this.dev);
      const cc = `${drv.attribute(this.dev, Attr.ComputeCapabilityMajor)}.${drv.attribute(this.dev, Attr.ComputeCapabilityMinor)}`;
      const numSms = drv.attribute(this.dev, Attr.MultiprocessorCount);
      this.numSms = numSms;
      // FLASHMLA_CUDA_LAYER_SPLITK=0|1|<field>=<n>,...: the layer gemms' split-K off, on (the default), or on with
      // these fields of its rule changed (layer.ts CudaLayerSplitKRule, e.g. ctasPerSm=2,minChunk=512 or ctasPerSmBf16=0).
      this.layerSplitK = resolveCudaLayerSplitK(opts.layerSplitK ?? cudaLayerSplitKFromEnv(process.env.FLASHMLA_CUDA_LAYER_SPLITK));
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
      const decodeModule = load('decode.fatbin');
      const combineModule = load('combine.fatbin');
      const naiveModule = load('naive.fatbin');
      // decode_sm90.fatbin and decode_sm90_wide.fatbin (sm_90a code only), loaded on sm_90 devices unless another
      // kernel is asked for.
      const hopper = (opts.kernel ?? 'sm90') === 'sm90' && cc === '9.0';
      const sm90Module = hopper && manifest.files['decode_sm90.fatbin'] ? load('decode_sm90.fatbin') : undefined;
      const sm90WideModule = hopper && manifest.files['decode_sm90_wide.fatbin'] ? load('decode_sm90_wide.fatbin') : undefined;
      // sparse_sm90.cu for V3.2 and MODEL1 sparse decode (loaded on first use); FLASHMLA_CUDA_SPARSE=mma keeps sparse_mma.cu (A/B runs).
      this.sparseSm90 = hopper && Boolean(manifest.files['sparse_sm90.fatbin']) && process.env.FLASHMLA_CUDA_SPARSE !== 'mma';
      // dense_fp8_sm90.cu for dense V3.2 FP8 decode (loaded on first use); FLASHMLA_CUDA_DENSE_FP8=mma keeps sparse_mma.cu (A/B runs).
      this.denseFp8Sm90 = hopper && Boolean(manifest.files['dense_fp8_sm90.fatbin']) && process.env.FLASHMLA_CUDA_DENSE_FP8 !== 'mma';
      // Dense FP8 steps of 64 heads and more on sparse_sm90.cu (sparse.ts denseOnSparse); FLASHMLA_CUDA_DENSE_FP8_SPARSE=0 keeps them on sparse_mma.cu.
      this.denseFp8OnSparse = process.env.FLASHMLA_CUDA_DENSE_FP8 !== 'mma' && process.env.FLASHMLA_CUDA_DENSE_FP8_SPARSE !== '0';
      // ... and, folded, those whose queries make a multiple of 64 rows (hQ 32 with sQ 2) or move onto the pair entry (hQ 64
      // with sQ 2) (sparse-sm90-launch.ts denseFoldOnSparseSm90); FLASHMLA_CUDA_DENSE_FP8_FOLD=0 (none), rows or all (measurement).
      this.denseFp8Fold = denseFoldFromEnv(process.env.FLASHMLA_CUDA_DENSE_FP8_FOLD);
      // sparse and dense FP8 steps whose rows make no whole 64-head tile on sparse_sm90.cu, the last tile part empty
      // (SparsePartial; FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=0 / FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0 keep them on sparse_mma.cu)
      this.sm90Partial = sparsePartialFromEnv(process.env.FLASHMLA_CUDA_SPARSE_SM90_PARTIAL);
      this.denseFp8Partial = process.env.FLASHMLA_CUDA_DENSE_FP8_PARTIAL !== '0';
      this.denseFp8Sm90Threads16 = manifest.denseFp8Sm90Threads16;
      this.denseFp8Sm90W3Tiles = manifest.denseFp8Sm90W3Tiles;
      // maps[0]: the KV cache's tensor map for TMA kernels; maps[1]: q's, for decode_sm90.cu's library entries (sm90QMap)
      this.params = drv.pinnedParams(mlaParamsLayout.size, 2);
      this.qMap = new QMapSlot(this.params.maps[1]);
      const paramsView = this.params.view;
      const capturing = () => this.capturing;
      this.ws = new Workspace(drv, this.stream, 1.25, capturing);
      this.sparseWs = new Workspace(drv, this.stream, 2, capturing);
      this.layerWs = new Workspace(drv, this.stream, 1.25, capturing);
      this.staging = new IndexStaging({
        drv, stream: this.stream, paramsView, ws: this.ws, ptrOf: (t) => this.ptrOf(t), capturing,
      });
      // Row-count measurement overrides (shape-kernels.ts): a number >= 1, else unset.
      const rowsEnv = (name: string): number | undefined => { const n = Number(process.env[name]); return n >= 1 ? n : undefined; };
      const sm90WideFrom = rowsEnv('FLASHMLA_CUDA_SM90W_FROM'), sm90WideShortFrom = rowsEnv('FLASHMLA_CUDA_SM90W_SHORT_FROM');
      const sm90WideMaxKeys = sm90WideMaxKeysFrom(process.env.FLASHMLA_CUDA_SM90W_KPS); // (launch.ts sm90WideTakes)
      this.kernels = new KernelCache({
        drv, maxSmem: this.maxSmem, numSms, kernel: opts.kernel, decodeModule, combineModule, naiveModule, sm90Module, sm90WideModule,
        sm90WideQMap: process.env.FLASHMLA_CUDA_SM90W_QMAP !== '0', sm90WideFrom, sm90WideMaxKeys, sm90WideShortFrom, paramsView, repacked: () => this.staging.repacked(),
        // mla_combine_quarter (launch.ts combineQuarterTakes): FLASHMLA_CUDA_COMBINE_QUARTER=1 / 0, else combineQuarterDefault;
        // =cta also in place of the CTA merge (a measurement knob, session 39)
        combineQuarter: ({ '1': true, cta: true, '0': false } as Record<string, boolean>)[process.env.FLASHMLA_CUDA_COMBINE_QUARTER ?? ''] ?? combineQuarterDefault,
        combineQuarterCta: process.env.FLASHMLA_CUDA_COMBINE_QUARTER === 'cta',
        // mla_combine_q32 (launch.ts combineQ32Takes): by its rule unless FLASHMLA_CUDA_COMBINE_Q32=0 (off); =1 runs it for every
        // step whose largest request is in 5-64 pieces (a measurement knob, session 41)
        combineQ32: ({ '0': false, '1': 'all' } as Record<string, false | 'all'>)[process.env.FLASHMLA_CUDA_COMBINE_Q32 ?? ''] ?? (combineQ32Default ? 'rule' : false),
      });
      this.timer = new EventTimer(drv, this.stream);
      this.launcher = new LaunchEx(drv, pdlSupport({
        ccMajor: drv.attribute(this.dev, Attr.ComputeCapabilityMajor), driverVersion: drv.driverVersionNumber(),
        hasLaunchEx: drv.api.cuLaunchKernelEx !== undefined, option: opts.pdl, env: process.env.FLASHMLA_CUDA_PDL,
      }));
      if (opts.variant) this.setDecodeVariant(opts.variant);
      // FLASHMLA_CUDA_SCHEDULE=flashmla | fill | auto: the plan MlaDecoder makes (another value is ignored).
      const envSchedule = scheduleKinds.find((k) => k === process.env.FLASHMLA_CUDA_SCHEDULE);
      const schedule = opts.schedule ?? envSchedule ?? cudaScheduleDefault(cc);
      const fp8Routes = opts.kernel === 'naive' ? undefined : cudaFp8RoutesText({ sparseSm90: this.sparseSm90, denseFp8Sm90: this.denseFp8Sm90,
        denseOnSparse: this.denseFp8OnSparse, fold: this.denseFp8Fold, partial: this.sm90Partial, densePartial: this.denseFp8Partial });
      this.info = {
        kind: 'cuda',
        device: name,
        numSms,
        schedule,
        details: {
          name, cc, memoryBytes: drv.totalMem(this.dev), driverVersion: drv.driverVersion(), numSms,
          l2Bytes: drv.attribute(this.dev, Attr.L2CacheSize), maxSharedMemoryPerBlock: this.maxSmem,
          kernels: { dir: kernelDir, nvcc: manifest.nvcc },
          pdl: this.launcher.pdl.reason,
          layerSplitK: this.layerSplitK ? { ...this.layerSplitK } : false,
          ...(fp8Routes ? { sparseKernel: fp8Routes.sparse, denseFp8Kernel: fp8Routes.denseFp8 } : {}),
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
  private readonly sparseWs: Workspace;

  /** Token-sparse decode: host index tensors are copied to a grow-only workspace, then one CTA per query row. */
  decodeSparse(l: SparseCall): void {
    this.alive();
    const p = l.problem;
    if (p.dQk !== 576 && p.dQk !== 512) throw invalidArgument('q', 'dQk 576 or 512 on CUDA', String(p.dQk));
    if (this.opts.kernel !== 'naive' && this.sparseMma.sparse(l)) return; // the tiled kernel (sparse_mma.cu) where it applies
    const hostParts = [l.indices, l.extraIndices, l.topkLength, l.extraTopkLength, l.attnSink]
      .map((t) => (t && t.device === 'cpu' ? t : undefined));
    if (this.capturing && hostParts.some((t) => t)) {
      throw invalidArgument('index tensors', 'device tensors while capturing a graph (a copy from the host is no graph node to replay)', 'host tensors');
    }
    if (p.devicePlan) this.sparseMma.planOnly(l); // (sparse.cu reads no plan; the metadata's tensors still get the step's)
    this.sparseModule ??= this.loadSparse();
    this.sparseParams ??= this.drv.pinnedParams(sparseParamsLayout.size);
    const offsets: number[] = [];
    let bytes = 0;
    for (const t of hostParts) { offsets.push(bytes); if (t) bytes += Math.ceil(t.byteLength / 256) * 256; }
    this.sparseWs.ensure(bytes); // grows (after a sync: a queued launch may still read the old one) to at least twice its size
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
      ...sparseTokenCounts(p),
    });
    const ln = sparseLaunch(p), name = sparseKernelName(p);
    const fn = this.kernels.fn(this.sparseModule, name, 0);
    const rc = this.drv.api.cuLaunchKernel(fn, ln.grid[0], ln.grid[1], ln.grid[2], ln.block[0], 1, 1, 0, this.stream, this.sparseParams.argv, null);
    if (rc !== 0) this.drv.check(rc, `cuLaunchKernel(${name})`);
  }

  /** Dense decode over an FP8 cache by block table (sparse_mma.cu); false where it does not apply. */
  decodeDenseFp8(l: DenseFp8Call): boolean {
    this.alive();
    return this.opts.kernel !== 'naive' && this.sparseMma.dense(l);
  }

  sparseKernel(problem: SparseProblem): string {
    this.alive();
    return (this.opts.kernel === 'naive' ? undefined : this.sparseMma.kernelForSparse({ problem })) ?? sparseKernelName(problem);
  }

  denseFp8Kernel(l: DenseFp8Call): string | undefined {
    this.alive();
    return this.opts.kernel === 'naive' ? undefined : this.sparseMma.kernelForDense(l);
  }

  private get sparseMma(): SparseMmaRunner {
    return (this.sparseMmaRunner ??= new SparseMmaRunner({
      drv: this.drv, stream: this.stream, maxSmem: this.maxSmem, load: (f) => this.loadKernels(f), hopper: this.sparseSm90,
      denseFp8Sm90: this.denseFp8Sm90, denseOnSparse: this.denseFp8OnSparse, denseFold: this.denseFp8Fold, sm90Partial: this.sm90Partial, densePartial: this.denseFp8Partial, denseFp8Sm90Threads16: this.denseFp8Sm90Threads16, denseFp8Sm90W3Tiles: this.denseFp8Sm90W3Tiles,
      fn: (m, name, smem) => this.kernels.fn(m, name, smem), ptrOf: (t) => this.ptrOf(t), capturing: () => this.capturing,
      combineTrip: ({ trip: true, old: false } as Record<string, boolean>)[process.env.FLASHMLA_CUDA_SPARSE_COMBINE ?? ''],
      replanAlways: process.env.FLASHMLA_CUDA_SPARSE_REPLAN === '1',
      stagePad: Math.max(0, Math.ceil(Number(process.env.FLASHMLA_CUDA_SPARSE_STAGE_PAD ?? 0) / 256) * 256 || 0),
      trustDeviceIndices: this.opts.boundDeviceIndices === false || (this.opts.boundDeviceIndices === undefined && process.env.FLASHMLA_CUDA_SPARSE_BOUND === '0'),
      sm90BoundPass: process.env.FLASHMLA_CUDA_SPARSE_BOUND === 'pass',
      launchMerge: (l, argv) => this.launcher.launch(l, this.stream, argv, pdlFor(this.launcher.pdl.scope, 'merge', true, this.capturing)),
      launchDependent: (l, argv) => this.launcher.launch(l, this.stream, argv, pdlFor(this.launcher.pdl.scope, 'decode', true, this.capturing)),
    }));
  }
  private sparseMmaRunner?: SparseMmaRunner;
  private sparseSm90 = false;
  private denseFp8Sm90 = false;
  private denseFp8OnSparse = false;
  private denseFp8Fold: DenseFold = false;
  private sm90Partial: SparsePartial = 'off';
  private denseFp8Partial = false;
  private denseFp8Sm90Threads16?: number;
  private denseFp8Sm90W3Tiles?: number | null;

  // ---------------------------------------------------------------- tensors
  empty(dtype: DType, shape: readonly number[]): Tensor {
    this.alive();
    const n = numelOf(shape);
    const byteLength = n * dtypeBytes[dtype];
    const ptr = this.drv.alloc(byteLength);
    const storage: DeviceStorage = { device: 'cuda', byteLength, ptr, owner: this };
    this.live.set(ptr, storage);
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
    if (this.live.get(s.ptr) !== s) return; // already freed (or a view of a freed allocation), its address maybe reused
    this.live.delete(s.ptr);
    this.drv.free(s.ptr);
  }

  get isDisposed(): boolean { return this.disposed; }

  private ptrOf(t: Tensor): bigint {
    const s = t.data as DeviceStorage;
    if (s.ptr === undefined || s.owner !== this) {
      const other = s.owner instanceof CudaBackendImpl ? (s.owner.isDisposed ? 'a tensor of a disposed CUDA backend (its memory is freed)' : 'a tensor of another CUDA backend') : `a ${t.device} tensor`;
      throw invalidArgument('tensor', 'a tensor on this CUDA backend', other);
    }
    if (this.live.get(s.ptr) !== s) throw invalidArgument('tensor', 'a live tensor of this CUDA backend', 'a freed tensor (its memory may belong to another tensor now)');
    return t.offset === 0 ? s.ptr : s.ptr + BigInt(t.byteOffset);
  }

  // ---------------------------------------------------------------- decode
  // The hot path (a decode is queued once per layer, thousands of times a second): no allocation once warm. What
  // depends only on the problem's shape (kernels, grids, every scalar of the parameter block) is kept from the
  // previous call while the shape repeats; each call then writes the pointers into the parameter block, stages the
  // host index tensors (if any) with one copy, and launches.
  decode(l: DecodeCall): void {
    this.alive();
    const p = l.problem;
    const sk = this.kernels.shapeKernels(p, l.plan);
    const view = this.params.view, off = mlaParamsLayout.offsets;
    const q = this.ptrOf(l.q), kCache = this.ptrOf(l.kCache), out = this.ptrOf(l.out);
    if ((q | kCache | out) & 15n) {
      throw invalidArgument('q/kCache/out', 'device addresses aligned to 16 bytes (the kernels copy 16-byte vectors)', 'an unaligned view');
    }
    view.setBigUint64(off.q, q, true);
    view.setBigUint64(off.kCache, kCache, true);
    view.setBigUint64(off.out, out, true);
    view.setBigUint64(off.lse, this.ptrOf(l.lse), true);
    if (sk.decode?.cacheMap) this.setCacheMap(p, kCache);
    this.staging.placeIndices(l, sk.accumBytes, sk.lseBytes);

    const launcher = this.launcher, stream = this.stream, argv = this.params.argv;
    // The narrow Hopper kernel reads q through a map too; where the driver refuses it, the same kernel without it.
    const d = sk.decode?.qMap !== undefined && !this.qMap.ready(p, q, sk.decode.qMap) ? sk.decodeLd : sk.decode;
    // PDL (pdl.ts): the decode kernel only where every launch is asked for; the merge by default too, outside capture.
    const scope = launcher.pdl.scope;
    let rc = d ? launcher.launch(d, stream, argv, pdlFor(scope, 'decode', d.pdl === true, this.capturing)) : 0;
    if (rc !== 0) this.drv.check(rc, `cuLaunchKernel(${d!.what})`);
    // Every request in one piece (the plan says no combine): the decode kernel wrote everything.
    const c = l.plan.combine ? mergeFor(sk, l.plan.maxSplits) : undefined;
    if (c) {
      rc = launcher.launch(c, stream, argv, pdlFor(scope, 'merge', c.pdl === true, this.capturing));
      if (rc !== 0) this.drv.check(rc, `cuLaunchKernel(${c.what})`);
    }
  }

  private cacheMapOf?: { base: bigint; numBlocks: number; dtype: MlaProblem['dtype'] };
  /** The Hopper kernels' tensor map of the cache in maps[0], encoded again only when the cache changes. */
  private setCacheMap(p: MlaProblem, kCache: bigint): void {
    const m = this.cacheMapOf;
    if (m && m.base === kCache && m.numBlocks === p.numBlocks && m.dtype === p.dtype) return;
    this.cacheMapOf = undefined; // a refused encode leaves no stale record
    this.params.maps[0].set(sm90CacheMap(p, kCache));
    this.cacheMapOf = { base: kCache, numBlocks: p.numBlocks, dtype: p.dtype };
  }

  /** y = x · wᵀ in f32 (layer.cu's SIMT GEMM, the one MlaAttention's f32 step uses), queued on the backend's stream. */
  matmul(l: MatmulCall): void {
    this.alive();
    checkMatmul(l, 'cuda');
    this.layerOps().gemm({ m: l.m, n: l.n, k: l.k, x: l.x, xOff: l.xOff, xStride: l.xStride, w: l.w, wOff: l.wOff, wStride: l.wStride, y: l.y });
  }

  /** MlaAttention's device-resident step (layer.ts, kernels/layer.cu), loaded at first use. */
  private layerOpsOf?: MlaDeviceOps;
  layerOps(): MlaDeviceOps {
    this.alive();
    return (this.layerOpsOf ??= createCudaLayerOps({
      drv: this.drv, stream: this.stream, module: this.loadKernels('layer.fatbin'), ptrOf: (t) => this.ptrOf(t),
      numSms: this.numSms, splitK: this.layerSplitK, ws: this.layerWs, capturing: () => this.capturing,
    }));
  }

  setDecodeVariant(v: DecodeVariant | undefined): void {
    this.kernels.setDecodeVariant(v);
  }

  decodeKernel(p: MlaProblem, plan?: DecodePlan): string {
    return this.kernels.decodeKernel(p, plan?.keysPerSplit);
  }

  /** The merge a step of this plan launches (its entry without the dtype), undefined where no request is split. */
  mergeKernel(p: MlaProblem, plan: DecodePlan): string | undefined {
    this.alive();
    return plan.combine ? mergeFor(this.kernels.shapeKernels(p, plan), plan.maxSplits)?.what : undefined;
  }

  /** Allocate the workspace a step's decodes need (their index tensors are on the device: accumulators only). */
  reserve(plan: DecodePlan): void {
    this.alive();
    if (this.capturing) throw new FlashMlaError('invalid_argument', 'cuda: reserve() while capturing a graph', 'plan');
    this.ws.ensure(plan.workspace.accumFloats * 4);
  }

  // ---------------------------------------------------------------- timing, graphs, lifetime
  async synchronize(): Promise<void> {
    this.alive();
    this.drv.synchronize(this.stream);
  }

  async timeMs(run: (rep: number) => void | Promise<void>, opts: TimeOptions): Promise<number[]> {
    this.alive();
    return this.timer.timeMs(run, opts);
  }

  async captureGraph(fn: () => void | Promise<void>, opts: { warmup?: boolean } = {}): Promise<CudaGraph> {
    this.alive();
    // (the graph holds the workspaces' allocations of its capture: a later growth keeps them until graph.dispose())
    const hold = () => [this.ws.hold(), this.sparseWs.hold(), this.layerWs.hold(), ...(this.sparseMmaRunner ? [this.sparseMmaRunner.holdWorkspace()] : [])];
    const replayed = () => { this.staging.forgetStaged(); this.sparseMmaRunner?.forgetStaged(); };
    return captureGraph(this.drv, this.stream, (on) => { this.capturing = on; }, fn, opts, hold, replayed);
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
    for (const p of this.live.keys()) attempt(() => this.drv.free(p));
    this.live.clear();
    this.ws.dispose(attempt);
    const sp = this.sparseParams;
    this.sparseWs.dispose(attempt);
    this.sparseMmaRunner?.dispose(attempt);
    if (sp) { attempt(() => this.drv.koffi.free(sp.ptr)); attempt(() => this.drv.koffi.free(sp.argv)); }
    attempt(() => this.layerOpsOf?.dispose?.());
    this.layerWs.dispose(attempt);
    this.staging.dispose(attempt);
    this.timer.dispose(attempt);
    this.launcher.dispose(attempt);
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

// The WebGPU backend: device memory, index/accumulator workspace, the decode + combine launch, and timing by
// timestamp queries. Browser-safe (no Node imports, no reliance on the GPU* globals of a browser).
import { dQk, dV, defaultNumSms } from '../../core/constants.js';
import { type DType, type HostArray, dtypeBytes, hostArrayFor } from '../../core/dtype.js';
import { FlashMlaError, fmtBytes, invalidArgument, outOfMemory } from '../../core/errors.js';
import type { Backend, BackendInfo, DecodeCall, MatmulCall, MlaProblem, TimeOptions } from '../../core/problem.js';
import type { DecodePlan } from '../../core/plan.js';
import type { AutoRule, ScheduleKind } from '../../core/scheduler.js';
import { type DeviceStorage, Tensor, isHostTensor, numelOf } from '../../core/tensor.js';
import { checkMatmul, checkPositiveInt, checkSchedule, checkWrite } from '../../core/validate.js';
import { chooseCombine, chooseCombineCols, combineDispatch, combineParams, combineProgram } from './kernels/combine.js';
import { type DecodeTuning, decodeParams } from './kernels/decode.js';
import { DecodeKernelCache, type MatrixKnobs } from './decode-kernel.js';
import { decodeMatrix5Spec, matrix5Fp8Fits } from './kernels/decode-matrix5.js';
import { type DeviceCaps, ProgramManager } from './program.js';
import { type DecodePath, type DecodePathChoice, chooseDecodePath, decodeKernelFor } from './kernels/path.js';
import { type SparseCall, type SparseProblem, sparseTokenCounts } from '../../core/sparse.js';
import type { DenseFp8Call } from '../../core/dense-fp8.js';
import { getMlaMetadata } from '../../core/api.js';
import { planDecode } from '../../core/plan.js';
import { cutsUnderFloor, numSmPartsFor } from '../../core/scheduler.js';
import { lseStrides } from '../../core/problem.js';
import { fp8Layouts, isFp8Format } from '../../core/fp8.js';
import type { MlaDeviceOps } from '../../core/mla/device.js';
import { createWebGpuLayerOps } from './layer.js';
import { type LayerGemmKernel, type LayerSplitKRule, layerGemmKernels, layerSplitKDefaults } from './kernels/layer.js';
import { type SparseHeads, chooseSparseHeads, sparseDispatch, sparseHeadChoices, sparseMaxDqk, sparseParams, sparseProgram } from './kernels/sparse.js';
import { denseFp8StageDispatch, denseFp8StageProgram, gatherDispatch, gatherFinishDispatch, gatherFinishProgram, gatherListDispatch, gatherListProgram, gatherPage, gatherParams, gatherProgram, gatherQDispatch, gatherQProgram, gatherRow } from './kernels/sparse-gather.js';
import { type CallWork, type Copy, type Encodable, type Pass, type TimingSlot, type Upload, UploadRing, encodeCalls, ringBytesOf } from './batch.js';

// The numeric values of the WebGPU flags (the GPU* namespaces are not globals in every host, e.g. Node).
export const Usage = { MAP_READ: 0x1, MAP_WRITE: 0x2, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80, QUERY_RESOLVE: 0x200 } as const;
const mapModeRead = 0x1;
/** Repetitions one timestamp query set times (WebGPU allows 4096 queries a set; two a repetition). */
const timedRepsPerQuerySet = 2048;
/** The upload ring's size unless WebGpuBackendOptions.batchUploadBytes says (batch.ts UploadRing). */
const batchUploadBytesDefault = 1 << 20;
/** Calls an open batch holds before it is submitted in parts (with the ring's bytes, what keeps a batch bounded). */
const batchCallsMax = 4096;

/** One GPUBuffer of a tensor's storage; large tensors hold several, split between outer-dimension rows. */
export interface Chunk { buffer: GPUBuffer; byteStart: number; byteLength: number }

export class WebGpuStorage implements DeviceStorage {
  readonly device = 'webgpu' as const;
  /** Set when a buffer of this tensor could not be allocated (reported asynchronously by the device). */
  failed?: FlashMlaError;
  /** Set by free(): the buffers are destroyed (or retired until the open batch is submitted). */
  freed = false;
  constructor(readonly byteLength: number, readonly chunks: Chunk[], readonly owner: WebGpuBackend) {}
  get buffer(): GPUBuffer { return this.chunks[0].buffer; }
}

export interface WebGpuBackendOptions {
  /** Processor count the scheduler plans for (WebGPU does not expose it). */
  numSms?: number;
  /**
   * The split-KV plan MlaDecoder makes for this backend when it plans a step itself (BackendInfo.schedule): 'auto' (the
   * default since session 26, webgpuScheduleDefault: 'fill' at <= 16 rows a KV head where FlashMLA's floor of five blocks
   * a part leaves SM parts idle, FlashMLA's plan elsewhere (autoRuleWebGpu); on the H200 0.58-0.96x the time of
   * FlashMLA's plan where it differs), 'flashmla' (getMlaMetadata's plan) or 'fill' (core/scheduler.ts: FlashMLA's walk
   * with the payload floor lowered to one overhead and one block). Where a plan cuts pieces under FlashMLA's floor, the
   * matrix kernel takes infSafe 'seen' (a piece made only of -inf-scored keys is then "keys seen, all -inf", not "no
   * key": docs/notes/webgpu-tensor-core.md, "call W3"). Metadata a caller passes to flashMlaWithKvcache is run as given,
   * whichever plan it is (with the kernel's default infSafe).
   */
  schedule?: ScheduleKind;
  /** Largest GPUBuffer to allocate (default: the device limit); lower it to exercise multi-buffer tensors. */
  maxBufferBytes?: number;
  /** Largest storage binding to use (default: the device limit). */
  maxBindingBytes?: number;
  /** Destroy the device on dispose() (true when the backend created it). */
  ownsDevice?: boolean;
  label?: string;
  /**
   * Write the kernels' multiply-adds as a * b + c instead of fma(): which one the driver turns into one FFMA
   * differs between drivers (`flashmla bench --backend webgpu --mul-add auto` measures both and picks).
   */
  mulAdd?: boolean;
  /** Force decode kernel knobs (tile rows, stage sizes, prefetch depth); for benchmarks and tests. */
  decodeTuning?: DecodeTuning;
  /** Which decode kernel to run (default 'auto': kernels/path.ts picks from the device's features). */
  decodePath?: DecodePath | 'auto';
  /**
   * Matrix kernel knobs (kernels/decode-matrix.ts), for benchmarks and tests: `vSplit` workgroups per 16-row tile
   * (default: 1 where the workgroup memory allows); `emulate` (tests only) runs its subgroup-matrix products as
   * scalar code, so decodePath 'matrix' runs on a device with shader-f16 and no subgroup matrices. `version`: 5 (the
   * default, kernels/decode-matrix5.ts: `subgroups` 8 where 48 KiB of workgroup memory allow, else 4), 4
   * (kernels/decode-matrix4.ts, `subgroups` 4 or 8) or 3 (one subgroup; vSplit applies to it); 6 (opt-in: 32 rows a
   * workgroup, kernels/decode-matrix6.ts; `subgroups` does not apply; correct on the H200, 300 random cases, but
   * slower than v5 at every shape timed there). `lazy` (v5, on by default; false: the eager
   * rescale): O rescaled only when a row's maximum moves past 2^8 (kernels/decode-matrix5.ts); correct on the H200
   * (GPU suite 25/25 with 100 random cases) and 0.88-0.90x the eager rescale's time there
   * (docs/notes/webgpu-matrix-kernel.md, "v5 lazy"). `tile16` (v5, opt-in candidate): 16-key tiles on
   * 8 subgroups, QK in 8 contraction parts, ~29 KiB of workgroup memory; `pair` (v5, opt-in candidate): two tiles an
   * iteration, their loads and lookups issued together; `lookahead` (v5, opt-in probe): each tile's block-table
   * lookup an iteration earlier (docs/notes/webgpu-matrix-tile16.md). `trim` (v5 lazy, on by default; false: off):
   * two barriers fewer a tile, 0.96-0.98x (docs/notes/webgpu-matrix-trim.md). `bounded` (v5, on by default where
   * trim runs since session 18; false: off; true with tile16 or pair: refused): the same values with indices Tint's
   * range analysis bounds, so that Dawn's robustness leaves the tile loop unclamped, 0.87-0.94x trim's time on the
   * H200 (docs/notes/webgpu-tensor-core.md, "Session 18"). `finite` (probe, opt-in): v5's and the combine's loops
   * with a runtime bound in a form Tint proves finite, so that robustness adds no iteration counter to them.
   * `combine` (session 19; every decode path's): unset, the wide split-KV combine (kernels/combine.ts, 8 lane groups)
   * where some request has >= 8 splits, the default one elsewhere, and no combine pass where no request is split
   * (chooseCombine); 0 (opt-out): the default combine on every launch, as before; 4 or 8: the wide one on every launch.
   * The combine's `finite` form runs where the default combine does. `combineCols` (session 25): the wide combine's
   * column slices, chosen by the plan unless set (kernels/combine.ts chooseCombineCols; 1 keeps rows whole). The v5
   * fields packedMax, qOnce, qRowLanes ('auto' by default: by the plan's mean keys a work item) and infSafe: see
   * kernels/decode-matrix5.ts Matrix5Choice.
   */
  matrix?: MatrixKnobs & { emulate?: boolean };
  /**
   * Split-K for the layer ops' skinny GEMMs (MlaAttention's projections at decode; kernels/layer.ts layerGemmSplitK):
   * true or unset with layerSplitKDefault's rule (the default, layerSplitKOn), false never (FLASHMLA_WEBGPU_LAYER_SPLITK=0
   * in Node), or the rule's fields to change (tuning; FLASHMLA_WEBGPU_LAYER_SPLITK=targetGroups=1024,minChunk=128).
   * On by default since session 42: on the H200 a V3-shaped step's recorded calls replayed back to back took 3.5 ms a
   * step with it against 11.0 without, forwardDevice 20 steps chained 3.7-8.9 against 9.9-10.0 ms a step, forward()'s
   * median 17 against 30-40 ms (docs/mla.md, "On WebGPU").
   */
  layerSplitK?: boolean | Partial<LayerSplitKRule>;
  /**
   * The layer gemm's main loop: 'tiled' (the default: 128-lane workgroups of 8 x 8 vec4-accumulator blocks, k-major
   * staging, 16-byte loads, the next slice fetched before the FMAs; kernels/layer.ts layerGemmTiledProgram) or 'classic'
   * (the 16 x 16-lane loop before it, for A/B runs; FLASHMLA_WEBGPU_LAYER_GEMM=classic in Node). Each takes its own
   * split-K rule unless layerSplitK gives fields (layerSplitKDefaults).
   */
  layerGemm?: LayerGemmKernel;
  /**
   * Bytes of the upload ring an open batch packs its calls' uniforms and host index tensors into (WebGpuBackend.batch;
   * default 1 MiB, made on the first batched call). A batch that would overflow it is submitted in parts; a call whose
   * own host bytes exceed it runs as its own submission, after the batch's earlier calls.
   */
  batchUploadBytes?: number;
  /**
   * Heads a workgroup of the sparse kernel (kernels/sparse.ts): 1, 2, 4 or 8 forced for every call (A/B runs;
   * FLASHMLA_WEBGPU_SPARSE_HEADS in Node); unset, chosen per call by chooseSparseHeads (from the batch, queries and heads).
   */
  sparseHeads?: SparseHeads;
  /**
   * How a token-sparse step runs (session 45): 'gather' (kernels/sparse-gather.ts: the referenced tokens decoded into
   * 16-bit pages, then the dense decode kernel, so that a sparse step runs on subgroup matrices where the device has
   * them), 'direct' (kernels/sparse.ts's f32 kernel), or 'auto' (the default): 'gather' where the dense
   * step would run the matrix kernel. 'gather' applies only with precision 'fast' (P in f16, and a V3.2 scale that is not a
   * power of two rounds the dequantized values to bf16) and bf16 queries over an FP8 cache or a cache of q's dtype;
   * other calls run 'direct' whatever this says. FLASHMLA_WEBGPU_SPARSE_PATH in Node.
   */
  sparsePath?: SparsePath;
  /**
   * How a dense decode over an FP8 cache runs (flashMlaWithKvcache with an fp8_e4m3 cache):
   * - 'fused' (session 48): the v5 subgroup-matrix kernel reads a V3.2 cache where it lies. By default (session 49,
   *   matrix.fp8Direct) each key's bytes go straight to f16 as its tile starts, times a key factor read off its scales
   *   (exact for FlashMLA's power-of-two scales; a tile whose scales or bytes fall outside that takes the scaled path);
   *   with matrix.fp8Direct (or bf16Direct) off, session 48's form: the bytes turned into the staged path's bf16 words
   *   (its results bit for bit with bf16Direct off). V3.2 (not MODEL1), bf16 queries, the v5 kernel (subgroup matrices),
   *   pages of page × 656 bytes; index tensors on the host or the device.
   * - 'staged' (session 47): each request's pages decoded once into bf16 pages (kernels/sparse-gather.ts
   *   denseFp8StageProgram), then the dense decode kernel over them with the caller's plan — bf16 queries, host block
   *   table and lengths; values held as bf16 (exact for FlashMLA's power-of-two scales).
   * - 'sparse': as a sparse step (core/dense-fp8.ts; with precision 'exact' the direct sparse kernel, which dequantizes
   *   exactly).
   * 'auto' (the default): fused where it can run (with fp8Direct off only up to denseFp8FusedAutoRows query rows), else
   * staged, else fused, else sparse, by what each can take; 'fused' and 'staged' run the sparse step where they cannot.
   */
  denseFp8Path?: DenseFp8Path;
}

export type SparsePath = 'auto' | 'gather' | 'direct';
export type DenseFp8Path = 'auto' | 'fused' | 'staged' | 'sparse';
export const denseFp8Paths: readonly DenseFp8Path[] = ['auto', 'fused', 'staged', 'sparse'];
/**
 * The most query rows (sQ · hQ) at which denseFp8Path 'auto' takes the fused path where it can run (else the staged
 * one) when the fused form is session 48's (matrix.fp8Direct or matrix.bf16Direct false). Session 48 (H100, one process
 * a path, b = 128 s_k = 8192, FP8 time against the bf16 cache's in the same process): that form 2.80x the bf16 time at
 * 16 rows against staged's 3.49x, but 2.91x at 128 rows against staged's 1.35x — each 16-row workgroup converts the same
 * keys again. With fp8Direct (session 49, the default) 'auto' takes fused at every row count: on an H100 1.22-1.27x the
 * bf16 time at 16 / 32 / 64 / 128 rows against staged's 3.53 / 2.30 / 1.68 / 1.35x (docs/notes/webgpu-decode.md,
 * "Session 49").
 */
export const denseFp8FusedAutoRows = 16;
export const sparsePaths: readonly SparsePath[] = ['auto', 'gather', 'direct'];

/** Whether the layer gemm splits k unless told (WebGpuBackendOptions.layerSplitK): on since session 42 (see there). */
export const layerSplitKOn = true;

/** The layer gemm's split-K rule of WebGpuBackendOptions.layerSplitK (undefined: off), checked. */
export function resolveLayerSplitK(o: WebGpuBackendOptions['layerSplitK'], kernel: LayerGemmKernel = 'tiled'): LayerSplitKRule | undefined {
  if (o === false || (o === undefined && !layerSplitKOn)) return undefined;
  if (o === undefined || o === true) return layerSplitKDefaults[kernel];
  const rule = { ...layerSplitKDefaults[kernel], ...o };
  for (const [name, v] of Object.entries(rule)) {
    if (!Number.isInteger(v) || v < 1 || v > 2 ** 30) throw invalidArgument(`layerSplitK.${name}`, 'a positive integer', String(v));
  }
  return rule;
}

/**
 * The split-KV plan MlaDecoder makes for a WebGPU backend unless told (WebGpuBackendOptions.schedule): 'auto', by the
 * backend's own rule (autoRuleWebGpu: 'fill' at <= 16 rows a KV head where the even share is <= 4 blocks, FlashMLA's
 * plan elsewhere). Session 25 measured CUDA's rule on the H200 (1.12x at b = 1 h_q = 64: four row blocks a part already
 * fill the SMs); session 26 call 1 the WebGPU rule on nine shapes not used to fit it: 0.575-0.955x the time of FlashMLA's
 * plan (geomean 0.750), the shapes it leaves on FlashMLA's plan level (docs/notes/webgpu-matrix-kernel.md, "Session 26").
 * Where a plan cuts pieces under FlashMLA's floor the matrix kernel takes infSafe 'seen' (DecodePlan.underFloor).
 */
export const webgpuScheduleDefault: ScheduleKind = 'auto';

/**
 * Where the WebGPU backend's 'auto' plan takes 'fill' (BackendInfo.autoRule): only at <= 16 rows a KV head (one row
 * block of the matrix kernel a part), for even shares up to 4 blocks. Fitted on session 25's call 6 ('fill' 0.59-0.93x
 * the time at 16 rows and b <= 8, but 1.12x at 64 rows); held on session 26's hold-out shapes (call 1, geomean 0.750).
 */
export const autoRuleWebGpu: AutoRule = { anyRows: 0, fewRows: 4, fewRowsMax: 16 };

const idxCapacityInit = 1 << 14;
const rowBytes = dQk * 2;

function gcd(a: number, b: number): number { return b ? gcd(b, a % b) : a; }

/** A host tensor's elements as bytes (a view, not a copy). */
function bytesOf(a: HostArray): Uint8Array<ArrayBuffer> {
  return new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
}

const decodePathChoices: readonly (DecodePath | 'auto')[] = ['auto', 'matrix', 'f16', 'f32'];

/**
 * The options that need no device, checked before any adapter or device is asked for (createWebGpuBackend) and
 * again by the constructor: a bad value is an invalid_argument naming it wherever the caller runs, also where
 * there is no adapter at all, and no device is made only to be dropped.
 */
export function checkWebGpuBackendOptions(opts: WebGpuBackendOptions): void {
  if (opts.schedule !== undefined) checkSchedule(opts.schedule);
  if (opts.numSms !== undefined) checkPositiveInt('numSms', opts.numSms, 65536);
  if (opts.decodePath !== undefined && !decodePathChoices.includes(opts.decodePath)) {
    throw invalidArgument('decodePath', decodePathChoices.map((k) => `'${k}'`).join(', '), String(opts.decodePath));
  }
  for (const k of ['maxBufferBytes', 'maxBindingBytes'] as const) if (opts[k] !== undefined) checkPositiveInt(k, opts[k]!);
  const cc = opts.matrix?.combineCols;
  if (cc !== undefined && ![1, 2, 4, 8, 'auto'].includes(cc)) throw invalidArgument('matrix.combineCols', "1, 2, 4, 8 or 'auto'", String(cc));
  if (opts.layerGemm !== undefined && !layerGemmKernels.includes(opts.layerGemm)) throw invalidArgument('layerGemm', layerGemmKernels.map((k) => `'${k}'`).join(' or '), String(opts.layerGemm));
  if (opts.sparseHeads !== undefined && !sparseHeadChoices.includes(opts.sparseHeads)) throw invalidArgument('sparseHeads', sparseHeadChoices.join(', '), String(opts.sparseHeads));
  if (opts.sparsePath !== undefined && !sparsePaths.includes(opts.sparsePath)) throw invalidArgument('sparsePath', sparsePaths.map((k) => `'${k}'`).join(', '), String(opts.sparsePath));
  if (opts.denseFp8Path !== undefined && !denseFp8Paths.includes(opts.denseFp8Path)) throw invalidArgument('denseFp8Path', denseFp8Paths.map((k) => `'${k}'`).join(', '), String(opts.denseFp8Path));
  const ub = opts.batchUploadBytes;
  if (ub !== undefined && (!Number.isInteger(ub) || ub < 256 || ub % 16 !== 0)) {
    throw invalidArgument('batchUploadBytes', "a multiple of 16 from 256 to the device's maxBufferSize", String(ub));
  }
}
export class WebGpuBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly info: BackendInfo;
  readonly programs: ProgramManager;
  private readonly maxBufferBytes: number;
  private readonly maxBindingBytes: number;
  private readonly layerSplitK?: LayerSplitKRule;
  private readonly layerGemm: LayerGemmKernel;
  private readonly batchUploadBytes: number;
  /** Whether the fused FP8 form here reads the bytes straight to f16 (DecodeMatrix5Spec.fp8Direct, from the matrix knobs). */
  private readonly denseFp8Direct: boolean;
  private idx: GPUBuffer;
  private idxCap = idxCapacityInit; // i32 elements
  private accum: GPUBuffer;
  private accumBytes = 256;
  private readonly decodeUniform: GPUBuffer;
  private readonly combineUniform: GPUBuffer;
  private readonly decodeBytes = new ArrayBuffer(decodeParams.byteSize);
  private readonly combineBytes = new ArrayBuffer(combineParams.byteSize);
  private readonly decodeView = new DataView(this.decodeBytes);
  private readonly combineView = new DataView(this.combineBytes);
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly decodeKernels = new DecodeKernelCache();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private timing?: TimingSlot;
  private disposed = false;
  /** See WebGpuBackendOptions.mulAdd; may be changed between launches (a new pipeline is built once). */
  mulAdd: boolean;
  /** See WebGpuBackendOptions.decodeTuning; may be reassigned between launches (assign a new object: it is compared by identity). */
  decodeTuning: DecodeTuning;
  /** The decode kernel this backend runs and why (see WebGpuBackendOptions.decodePath); may be reassigned. */
  decodePath: DecodePathChoice;

  constructor(readonly device: GPUDevice, readonly caps: DeviceCaps, description: string, private readonly opts: WebGpuBackendOptions = {}) {
    checkWebGpuBackendOptions(opts);
    this.layerGemm = opts.layerGemm ?? 'tiled';
    const ub = opts.batchUploadBytes ?? batchUploadBytesDefault;
    if (ub > caps.maxBufferSize) {
      throw invalidArgument('batchUploadBytes', `a multiple of 16 from 256 to the device's maxBufferSize ${caps.maxBufferSize}`, String(ub));
    }
    this.batchUploadBytes = ub;
    this.layerSplitK = resolveLayerSplitK(opts.layerSplitK, this.layerGemm);
    this.programs = new ProgramManager(device);
    this.mulAdd = opts.mulAdd ?? false;
    this.decodeTuning = opts.decodeTuning ?? {};
    this.decodePath = chooseDecodePath(caps, opts.decodePath, opts.matrix?.emulate);
    this.denseFp8Direct = this.decodePath.path === 'matrix' && fp8DirectOn(caps, this.decodePath, opts.matrix ?? {});
    this.maxBufferBytes = Math.min(opts.maxBufferBytes ?? caps.maxBufferSize, caps.maxBufferSize);
    this.maxBindingBytes = Math.min(opts.maxBindingBytes ?? caps.maxStorageBufferBindingSize, caps.maxStorageBufferBindingSize, this.maxBufferBytes);
    this.info = {
      kind: 'webgpu', device: description, numSms: opts.numSms ?? defaultNumSms, schedule: opts.schedule ?? webgpuScheduleDefault, autoRule: autoRuleWebGpu, readsIndexWords: true,
      details: { ...caps, decodePath: this.decodePath.path, decodePathWhy: this.decodePath.why, sparseKernel: sparseKernelWhy(opts.sparsePath ?? 'auto', this.decodePath), denseFp8Kernel: denseFp8KernelWhy(opts.denseFp8Path ?? 'auto', this.decodePath, opts.sparsePath ?? 'auto', this.denseFp8Direct) },
    };
    this.idx = this.buffer('flashmla.idx', idxCapacityInit * 4, Usage.STORAGE | Usage.COPY_DST);
    this.accum = this.buffer('flashmla.accum', this.accumBytes, Usage.STORAGE);
    this.decodeUniform = this.buffer('flashmla.decode.params', decodeParams.byteSize, Usage.UNIFORM | Usage.COPY_DST);
    this.combineUniform = this.buffer('flashmla.combine.params', combineParams.byteSize, Usage.UNIFORM | Usage.COPY_DST);
    // Errors surface asynchronously. A lost device, or an internal error, ends the backend: every later call
    // throws device_lost (recovery: a new backend). An out-of-memory or validation error is reported once, by the
    // next call.
    device.addEventListener?.('uncapturederror', (e) => {
      const err = (e as GPUUncapturedErrorEvent).error;
      const kind = err.constructor?.name ?? '';
      if (/Internal/.test(kind)) this.loseDevice(`internal error: ${err.message}`);
      else if (/OutOfMemory/.test(kind)) this.deviceError ??= outOfMemory('WebGPU', 0, 'the device reported out of memory', err);
      // Sizes are checked against the device's limits before any buffer is made, so a buffer that is "invalid due
      // to a previous error" is one whose allocation failed; its own out-of-memory report may come later or not
      // at all (seen on the H200 through Dawn and Vulkan).
      else if (/Invalid Buffer[\s\S]*invalid due to a previous error/.test(err.message)) {
        if (this.deviceError?.code !== 'out_of_memory') {
          this.deviceError = new FlashMlaError('out_of_memory', `WebGPU: the device could not allocate a buffer (${err.message.split('\n')[0]})`,
            'WebGPU buffer', 'an allocation the device can make', 'allocation failed');
        }
      }
      else this.deviceError ??= new FlashMlaError('driver_error', `WebGPU: ${err.message}`);
    });
    void device.lost.then((info) => {
      if (this.disposed && this.opts.ownsDevice) return; // our own destroy()
      this.loseDevice(`${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}`);
    });
  }

  private deviceError?: FlashMlaError;
  private lost?: FlashMlaError;
  /**
   * The awaits in flight (see guard), each with its own rejecter, removed when it settles. Not one long-lived
   * "lost" promise raced against every await: each race would leave a reaction on that never-settling promise,
   * about 320 bytes per synchronize() or download() kept for the backend's life (measured on lavapipe).
   */
  private readonly inFlight = new Set<(e: FlashMlaError) => void>();
  private rejectInFlight(e: FlashMlaError): void {
    for (const reject of this.inFlight) reject(e);
    this.inFlight.clear();
  }

  /** True once the device is lost (every call then throws device_lost; create a new backend). */
  get isLost(): boolean { return this.lost !== undefined; }
  get isDisposed(): boolean { return this.disposed; }

  private loseDevice(why: string): void {
    if (this.lost) return;
    this.lost = new FlashMlaError('device_lost', `WebGPU device lost (${why}); this backend cannot be used again: create a new one`);
    this.rejectInFlight(this.lost);
  }

  /** Await device work, turning a device loss or dispose() meanwhile into a typed rejection (never a hang). */
  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      let reject!: (e: FlashMlaError) => void;
      const stop = new Promise<never>((_, r) => { reject = r; });
      this.inFlight.add(reject);
      if (this.lost) reject(this.lost);
      else if (this.disposed) reject(new FlashMlaError('disposed', 'WebGPU backend disposed while the call was in flight'));
      try {
        return await Promise.race([p, stop]);
      } finally {
        this.inFlight.delete(reject);
      }
    } catch (e) {
      if (this.lost) throw this.lost;
      if (this.disposed) throw new FlashMlaError('disposed', 'WebGPU backend disposed while the call was in flight');
      if (e instanceof FlashMlaError) throw e;
      throw new FlashMlaError('driver_error', `WebGPU: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  private buffer(label: string, size: number, usage: number, storage?: WebGpuStorage): GPUBuffer {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    if (bytes > this.caps.maxBufferSize) throw outOfMemory(`WebGPU buffer ${label}`, bytes, `over the device's maxBufferSize ${fmtBytes(this.caps.maxBufferSize)}`);
    // Allocation failures are reported by the device later: an error scope catches them per buffer, marks the
    // tensor and queues an out_of_memory for the next call.
    this.device.pushErrorScope('out-of-memory');
    const b = this.device.createBuffer({ label, size: bytes, usage });
    const scope = this.device.popErrorScope().then((err) => {
      if (!err) return;
      const e = outOfMemory(`WebGPU buffer ${label}`, bytes, 'the device could not allocate it', err);
      if (storage) storage.failed ??= e;
      // A validation error already queued ("Invalid Buffer ... due to a previous error") is this failure's echo:
      // the cause is what the caller needs to hear.
      if (this.deviceError?.code !== 'out_of_memory') this.deviceError = e;
    }, () => { /* device lost: reported through device.lost */ });
    this.pendingScopes.add(scope);
    void scope.finally(() => this.pendingScopes.delete(scope));
    this.bufferIds.set(b, this.nextBufferId++);
    return b;
  }

  private id(b: GPUBuffer): number {
    let i = this.bufferIds.get(b);
    if (i === undefined) { i = this.nextBufferId++; this.bufferIds.set(b, i); }
    return i;
  }

  // ------------------------------------------------------------------ memory
  empty(dtype: DType, shape: readonly number[]): Tensor {
    this.live();
    const numel = numelOf(shape);
    const bytes = numel * dtypeBytes[dtype];
    const usage = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;
    // The most one tensor can use: a cache bound as every storage binding of a shader stage. Larger asks would
    // create thousands of buffers the device cannot hold or bind anyway.
    const most = this.caps.maxStorageBuffersPerShaderStage * this.maxBindingBytes;
    if (bytes > most) {
      throw outOfMemory(`WebGPU empty(${dtype}, [${shape.join(', ')}])`, bytes,
        `at most ${fmtBytes(most)} per tensor on this device (${this.caps.maxStorageBuffersPerShaderStage} bindings of ${fmtBytes(this.maxBindingBytes)})`);
    }
    const chunks: Chunk[] = [];
    const storage = new WebGpuStorage(bytes, chunks, this);
    try {
      this.fillChunks(dtype, shape, bytes, usage, chunks, storage);
    } catch (e) {
      for (const c of chunks) c.buffer.destroy();
      throw e;
    }
    return new Tensor(dtype, shape, storage);
  }

  private fillChunks(dtype: DType, shape: readonly number[], bytes: number, usage: number, chunks: Chunk[], storage: WebGpuStorage): void {
    const numel = numelOf(shape);
    if (bytes <= this.maxBufferBytes) {
      chunks.push({ buffer: this.buffer(`flashmla.${dtype}[${shape.join(',')}]`, Math.ceil(bytes / 4) * 4, usage, storage), byteStart: 0, byteLength: bytes });
    } else {
      // Split between rows of the outer dimension, in whole binding-sized groups, so a kernel can bind each
      // group at an aligned offset (a row of a cache is a page).
      const outerBytes = shape.length > 1 ? bytes / shape[0] : dtypeBytes[dtype];
      const perBinding = this.rowsPerBinding(outerBytes);
      const perChunk = perBinding * Math.max(1, Math.floor(this.maxBufferBytes / (perBinding * outerBytes)));
      const rows = shape.length > 1 ? shape[0] : numel;
      for (let r = 0; r < rows; r += perChunk) {
        const n = Math.min(perChunk, rows - r);
        chunks.push({ buffer: this.buffer(`flashmla.${dtype}[${shape.join(',')}]#${chunks.length}`, Math.ceil((n * outerBytes) / 4) * 4, usage, storage), byteStart: r * outerBytes, byteLength: n * outerBytes });
      }
    }
  }

  /** Outer rows (cache pages) per storage binding: fits the binding limit, and groups start 256-aligned. */
  rowsPerBinding(rowBytesOuter: number): number {
    const align = this.caps.minStorageBufferOffsetAlignment;
    const step = align / gcd(rowBytesOuter, align);
    const n = Math.floor(this.maxBindingBytes / rowBytesOuter / step) * step;
    if (n < 1) throw invalidArgument('kCache', `pages of at most ${this.maxBindingBytes} bytes`, `${rowBytesOuter}`);
    return n;
  }

  upload(t: Tensor<HostArray>): Tensor {
    const d = this.empty(t.dtype, t.shape);
    this.write(d, t);
    return d;
  }

  write(dst: Tensor, src: Tensor<HostArray>, dstOffset = 0): void {
    this.live();
    checkWrite(dst, src, dstOffset);
    this.flush(); // in a batch: its calls so far run before this write lands, as they would unbatched
    const st = this.storageOf(dst, 'dst');
    const es = dtypeBytes[dst.dtype];
    const start = (dst.offset + dstOffset) * es;
    const a = src.host();
    let bytes = new Uint8Array(a.buffer, a.byteOffset, src.numel * es);
    if (start % 4 !== 0) throw invalidArgument('dstOffset', 'a 4-byte aligned element offset', String(dstOffset));
    if (bytes.length % 4 !== 0) {
      if (dst.offset + dstOffset + src.numel !== dst.numel || dst.byteOffset + dst.byteLength !== st.byteLength) {
        throw invalidArgument('src', 'a whole number of 4-byte words (or the tail of dst)', `${bytes.length} bytes`);
      }
      const padded = new Uint8Array(bytes.length + 2);
      padded.set(bytes);
      bytes = padded;
    }
    for (const c of st.chunks) {
      const lo = Math.max(start, c.byteStart), hi = Math.min(start + bytes.length, c.byteStart + Math.ceil(c.byteLength / 4) * 4);
      if (lo >= hi) continue;
      this.device.queue.writeBuffer(c.buffer, lo - c.byteStart, bytes as Uint8Array<ArrayBuffer>, lo - start, hi - lo);
    }
  }

  async download(t: Tensor): Promise<Tensor<HostArray>> {
    this.live();
    const st = this.storageOf(t, 't');
    this.flush(); // in a batch: the calls recorded so far first (the read must see them)
    const es = dtypeBytes[t.dtype];
    const begin = t.offset * es, end = begin + t.numel * es;
    const host = hostArrayFor(t.dtype, t.numel);
    const dst = new Uint8Array(host.buffer);
    for (const c of st.chunks) {
      const lo = Math.max(begin, c.byteStart), hi = Math.min(end, c.byteStart + c.byteLength);
      if (lo >= hi) continue;
      const a0 = Math.floor((lo - c.byteStart) / 4) * 4, a1 = Math.ceil((hi - c.byteStart) / 4) * 4;
      const staging = this.takeReadBuffer(a1 - a0);
      const enc = this.device.createCommandEncoder({ label: 'flashmla.download' });
      enc.copyBufferToBuffer(c.buffer, a0, staging, 0, a1 - a0);
      this.device.queue.submit([enc.finish()]);
      try {
        await this.guard(staging.mapAsync(mapModeRead, 0, a1 - a0));
      } catch (e) {
        staging.destroy();
        throw e;
      }
      const got = new Uint8Array(staging.getMappedRange(0, a1 - a0));
      dst.set(got.subarray(lo - c.byteStart - a0, hi - c.byteStart - a0), lo - begin);
      staging.unmap();
      this.giveReadBuffer(staging);
    }
    return new Tensor(t.dtype, t.shape, host);
  }

  /**
   * Read-back staging buffers kept between download() calls. A fresh MAP_READ buffer a read costs far more than the
   * copy (session 42: 1.8 MB took ~5 ms fresh against ~0.6 ms reused on lavapipe; on the H200 download() of 1.8 MB
   * took 1.3-11 ms on an idle device). A buffer is out of the pool while a read uses it, so concurrent reads never share
   * one; sizes are powers of two up to readPoolMaxBytes (larger reads get a buffer of their own, destroyed after), and
   * at most readPoolCount buffers wait here.
   */
  private readPool: GPUBuffer[] = [];
  private static readonly readPoolMaxBytes = 64 << 20;
  private static readonly readPoolCount = 4;

  private takeReadBuffer(bytes: number): GPUBuffer {
    let best = -1;
    for (let i = 0; i < this.readPool.length; i++) {
      const sz = this.readPool[i].size;
      if (sz >= bytes && (best < 0 || sz < this.readPool[best].size)) best = i;
    }
    if (best >= 0) return this.readPool.splice(best, 1)[0];
    const size = bytes <= WebGpuBackend.readPoolMaxBytes ? Math.max(4096, 2 ** Math.ceil(Math.log2(bytes))) : bytes;
    return this.device.createBuffer({ label: 'flashmla.download', size, usage: Usage.MAP_READ | Usage.COPY_DST });
  }

  private giveReadBuffer(b: GPUBuffer): void {
    if (this.disposed || b.size > WebGpuBackend.readPoolMaxBytes) { b.destroy(); return; }
    this.readPool.push(b);
    if (this.readPool.length > WebGpuBackend.readPoolCount) {
      // keep the largest ones: a small read fits in a large buffer, not the other way round
      this.readPool.sort((p, q) => q.size - p.size);
      for (const x of this.readPool.splice(WebGpuBackend.readPoolCount)) x.destroy();
    }
  }

  free(t: Tensor): void {
    if (isHostTensor(t)) return;
    const st = t.data as WebGpuStorage;
    if (st.owner !== this || st.freed) return; // (freeing twice, or a view of a freed tensor: nothing to do)
    st.freed = true;
    for (const c of st.chunks) this.retire(c.buffer);
    this.bindGroups.clear(); // a destroyed buffer's id may sit in a cached bind group key
  }

  private storageOf(t: Tensor, name: string): WebGpuStorage {
    const st = t.data as WebGpuStorage;
    if (isHostTensor(t) || !(st instanceof WebGpuStorage)) throw invalidArgument(name, 'a tensor of this WebGPU backend', `a ${t.device} tensor`);
    if (st.owner !== this) {
      // Another backend's tensor: usable only on the same device, and only while its backend lives.
      if (st.owner.isDisposed) throw invalidArgument(name, 'a tensor of a live WebGPU backend', 'a tensor of a disposed backend (its buffers are destroyed)');
      if (st.owner.isLost) throw invalidArgument(name, 'a tensor of a live WebGPU backend', 'a tensor of a backend whose device was lost');
      if (st.owner.device !== this.device) throw invalidArgument(name, 'a tensor on this backend\'s GPUDevice', 'a tensor of a WebGPU backend on another device');
    }
    if (st.failed) throw st.failed;
    if (st.freed) throw invalidArgument(name, 'a live tensor of this WebGPU backend', 'a freed tensor (its buffers are destroyed)');
    return st;
  }

  /** The single buffer of a (small) tensor and the tensor's byte offset in it. */
  private single(t: Tensor, name: string): { buffer: GPUBuffer; byteOffset: number } {
    const st = this.storageOf(t, name);
    if (st.chunks.length !== 1) throw invalidArgument(name, `a tensor in one GPUBuffer (at most ${this.maxBufferBytes} bytes)`, `${st.chunks.length} buffers`);
    return { buffer: st.chunks[0].buffer, byteOffset: t.byteOffset };
  }

  /** The cache's bindings: whole pages each, equal page counts but the last. Cached per storage object. */
  private readonly segCache = new WeakMap<WebGpuStorage, { pageBytes: number; offset: number; pagesPerSeg: number; segs: GPUBufferBinding[] }>();
  cacheSegments(kCache: Tensor): { pagesPerSeg: number; segs: GPUBufferBinding[] } {
    const st = this.storageOf(kCache, 'kCache');
    const [numBlocks, page, hKv] = kCache.shape;
    const pageBytes = page * hKv * rowBytes;
    const hit = this.segCache.get(st);
    if (hit && hit.pageBytes === pageBytes && hit.offset === kCache.byteOffset) return hit;
    const { pagesPerSeg, segs } = this.pageSegments(kCache, 'kCache', pageBytes, numBlocks);
    const maxSegs = this.caps.maxStorageBuffersPerShaderStage - 5;
    if (segs.length > maxSegs) {
      throw invalidArgument('kCache', `at most ${maxSegs * pagesPerSeg} pages on this device (${maxSegs} bindings of ${pagesPerSeg} pages)`, String(numBlocks));
    }
    const r = { pageBytes, offset: kCache.byteOffset, pagesPerSeg, segs };
    this.segCache.set(st, r);
    return r;
  }

  /** Bindings of a paged tensor in runs of whole pages (rowsPerBinding), each at an aligned offset inside one GPUBuffer. */
  private pageSegments(t: Tensor, name: string, pageBytes: number, numPages: number): { pagesPerSeg: number; segs: GPUBufferBinding[] } {
    const st = this.storageOf(t, name);
    const pagesPerSeg = this.rowsPerBinding(pageBytes);
    const segs: GPUBufferBinding[] = [];
    if (t.byteOffset % this.caps.minStorageBufferOffsetAlignment !== 0) {
      throw invalidArgument(name, `an offset that is a multiple of ${this.caps.minStorageBufferOffsetAlignment} bytes`, `${t.byteOffset}`);
    }
    for (let p = 0; p < numPages; p += pagesPerSeg) {
      const start = t.byteOffset + p * pageBytes;
      const size = Math.min(pagesPerSeg, numPages - p) * pageBytes;
      const c = st.chunks.find((ch) => start >= ch.byteStart && start + size <= ch.byteStart + ch.byteLength);
      if (!c) throw new FlashMlaError('invalid_argument', `${name}: pages ${p}.. straddle two GPUBuffers (allocate it with this backend's empty())`, name);
      segs.push({ buffer: c.buffer, offset: start - c.byteStart, size });
    }
    return { pagesPerSeg, segs };
  }

  /**
   * A sparse call's cache bindings (kernels/sparse.ts sparseCacheBindingsWgsl): one binding from the aligned offset at or
   * below the cache's first byte where the whole cache fits one (the cache's offset then any multiple of 4 bytes), else
   * runs of whole pages (pageSegments). `off`: the cache's first byte (FP8) or element (bf16 / f16) in its first binding;
   * `pps`: pages a binding holds.
   */
  private sparseCacheBinding(t: Tensor, name: string, d: SparseProblem['cache']): { segs: GPUBufferBinding[]; off: number; pps: number } {
    const st = this.storageOf(t, name);
    if (t.byteOffset % 4 !== 0) throw invalidArgument(name, 'a 4-byte aligned offset on WebGPU', String(t.byteOffset));
    const fp8 = isFp8Format(d.kind);
    const pageBytes = fp8 ? d.blockStride : d.blockStride * 2, total = d.numBlocks * pageBytes;
    const c = st.chunks.find((ch) => t.byteOffset >= ch.byteStart && t.byteOffset + total <= ch.byteStart + ch.byteLength);
    if (c) {
      const inChunk = t.byteOffset - c.byteStart, rel = inChunk % this.caps.minStorageBufferOffsetAlignment;
      if (rel + total <= this.maxBindingBytes) return { segs: [{ buffer: c.buffer, offset: inChunk - rel, size: Math.ceil((rel + total) / 4) * 4 }], off: fp8 ? rel : rel / 2, pps: 0xffffffff };
    }
    const { pagesPerSeg, segs } = this.pageSegments(t, name, pageBytes, d.numBlocks);
    return { segs, off: 0, pps: pagesPerSeg };
  }

  // ------------------------------------------------------------------ decode
  /** Allocate the index and accumulator buffers a step's decodes need (MlaDecoder.plan calls it). */
  /** The WGSL decode kernel a problem runs: webgpu-f32, webgpu-f16 or webgpu-matrix (kernels/path.ts). */
  decodeKernel(p: MlaProblem): string {
    return `webgpu-${decodeKernelFor(this.decodePath, p.sQ * p.nGroups)}`;
  }

  reserve(plan: DecodePlan): void {
    this.live();
    this.ensureWorkspace(plan);
  }

  /** Grow the index and accumulator buffers to the plan's sizes; bind groups naming the old buffers are dropped. */
  private ensureWorkspace(plan: DecodePlan): void {
    const idxLen = plan.workspace.indexWords, accBytes = plan.workspace.accumFloats * 4;
    if (idxLen > this.idxCap) {
      this.retire(this.idx);
      this.idxCap = Math.max(idxLen, this.idxCap * 2);
      this.idx = this.buffer('flashmla.idx', this.idxCap * 4, Usage.STORAGE | Usage.COPY_DST);
      this.bindGroups.clear();
    }
    if (accBytes > this.accumBytes) {
      if (accBytes > this.maxBindingBytes) throw new FlashMlaError('out_of_memory', `split-KV accumulators need ${accBytes} bytes, over the binding limit ${this.maxBindingBytes}`);
      this.retire(this.accum);
      this.accumBytes = Math.min(Math.max(accBytes, this.accumBytes * 2), this.maxBindingBytes);
      this.accum = this.buffer('flashmla.accum', this.accumBytes, Usage.STORAGE);
      this.bindGroups.clear();
    }
  }

  /**
   * Put index tensor `t` (4-byte elements) at word `off` of `dst` before a call's passes: host bytes as an upload, a
   * device tensor's bytes as a copy (batch.ts); nothing for an absent tensor.
   */
  private stageIndex(t: Tensor | undefined, dst: GPUBuffer, off: number, uploads: Upload[], copies: Copy[]): void {
    if (!t) return;
    if (isHostTensor(t)) uploads.push({ dst, dstOffset: off * 4, data: bytesOf(t.host()) });
    else {
      const s = this.single(t, 'index tensor');
      copies.push({ src: s.buffer, srcOffset: s.byteOffset, dst, dstOffset: off * 4, size: t.numel * 4 });
    }
  }

  decode(l: DecodeCall): void {
    this.live();
    const p = l.problem;
    const cache = this.cacheSegments(l.kCache);
    const w = l.plan.workspace;
    // Index words packed in the workspace layout (MlaDecoder's, DecodeCall.indexWords) are read where they lie: no
    // copy into this.idx before the pass (session 43: a chained call's staging copies and their barriers cost ~8 us).
    const inPlace = l.indexWords && !isHostTensor(l.indexWords) ? this.single(l.indexWords, 'indexWords') : undefined;
    if (inPlace && (inPlace.byteOffset % 4 !== 0 || l.indexWords!.numel < w.indexWords)) {
      throw invalidArgument('indexWords', `a 4-byte aligned i32 tensor of at least ${w.indexWords} words`, `${l.indexWords!.numel} words at byte ${inPlace.byteOffset}`);
    }
    this.ensureWorkspace(l.plan); // (may replace this.idx: read it only after)
    const base = inPlace ? inPlace.byteOffset / 4 : 0, idxBuf = inPlace ? inPlace.buffer : this.idx;
    const q = this.single(l.q, 'q'), out = this.single(l.out, 'out'), lse = this.single(l.lse, 'lse');
    const uploads: Upload[] = [], copies: Copy[] = [];
    if (!inPlace) {
      this.stageDenseIndex(l, p.varlen ? l.qIndptr : undefined, w, uploads, copies);
    }
    const passes = this.densePasses(p, l.plan, cache, { buffer: idxBuf, base }, q, out, lse, uploads);
    this.record({ label: 'flashmla.decode', uploads, copies, passes, timing: this.timing });
  }

  /**
   * A dense call's index tensors into this.idx in the plan's workspace layout (`w`; ensureWorkspace done): block table,
   * lengths, qIndptr (varlen calls only), metadata, split counts.
   */
  private stageDenseIndex(l: Pick<DecodeCall, 'blockTable' | 'cacheSeqlens' | 'tileSchedulerMetadata' | 'numSplits'>, qIndptr: Tensor | undefined,
    w: DecodePlan['workspace'], uploads: Upload[], copies: Copy[]): void {
    for (const [t, off] of [[l.blockTable, w.blockTable], [l.cacheSeqlens, w.cacheSeqlens], [qIndptr, w.qIndptr], [l.tileSchedulerMetadata, w.tileSchedulerMetadata], [l.numSplits, w.numSplits]] as const) {
      this.stageIndex(t, this.idx, off, uploads, copies);
    }
  }

  /**
   * The passes of a dense decode of `p` under `plan` (the decode kernel, and the combine where the plan has one), the
   * index words at word `idx.base` of `idx.buffer` in the plan's workspace layout (ensureWorkspace(plan) done); the
   * uniform blocks are appended to `uploads`. decode() and the sparse gathered path (decodeSparse) use it.
   */
  private densePasses(p: MlaProblem, plan: DecodePlan, cache: { pagesPerSeg: number; segs: GPUBufferBinding[] }, idx: { buffer: GPUBuffer; base: number },
    q: { buffer: GPUBuffer; byteOffset: number }, out: { buffer: GPUBuffer; byteOffset: number }, lse: { buffer: GPUBuffer; byteOffset: number }, uploads: Upload[],
    fp8?: 'v32'): Pass[] {
    const { pagesPerSeg, segs } = cache;
    // The decode kernel (decode-kernel.ts, resolved once per plan): subgroup matrices, f16 arithmetic or f32; all
    // share params, bindings and the combine.
    const kernel = this.decodeKernels.get(plan, p.dtype, segs.length,
      { caps: this.caps, path: this.decodePath, mulAdd: this.mulAdd, tuning: this.decodeTuning, matrix: this.opts.matrix, ...(fp8 ? { fp8 } : {}) });
    const dec = this.programs.get(kernel.program, kernel.spec);
    const decKey = kernel.label;
    const mk = this.opts.matrix;
    // The combine (kernels/combine.ts chooseCombine): left out where the plan knows no request is split (every row is
    // then the decode kernel's own), unless the opt-out (combine 0) keeps the old launch.
    const groups = chooseCombine(plan, mk?.combine);
    const cols = chooseCombineCols(p.b * p.sQ * p.hQ, plan.numSmParts, groups, mk?.combineCols);
    const combSpec = { dtype: p.dtype, ...(groups ? { groups, ...(cols > 1 ? { cols } : {}) } : mk?.finite ? { finite: true } : {}) };
    const combinePass = plan.combine || mk?.combine !== undefined;
    const comb = combinePass ? this.programs.get(combineProgram, combSpec) : undefined;

    // The workspace layout is the plan's (core/plan.ts): index words blockTable | seqlens | qIndptr | metadata |
    // numSplits; accumulators lseAccum | oAccum.
    const w = plan.workspace, base = idx.base;
    const btOff = base + w.blockTable, seqOff = base + w.cacheSeqlens, qiOff = base + w.qIndptr, metaOff = base + w.tileSchedulerMetadata, nsOff = base + w.numSplits;
    const rowStride = plan.rowsPerSlot, oAccOff = w.oAccum;
    if (q.byteOffset % 16 !== 0) throw invalidArgument('q', 'a 16-byte aligned offset', `${q.byteOffset}`);
    if (out.byteOffset % 4 !== 0) throw invalidArgument('out', 'a 4-byte aligned offset', `${out.byteOffset}`);

    const posInfBits = 0x7f800000;
    decodeParams.pack({
      b: p.b, hQ: p.hQ, hKv: p.hKv, nGroups: p.nGroups, sQ: p.sQ, varlen: p.varlen ? 1 : 0, causal: p.causal ? 1 : 0,
      pageBlockSize: p.pageBlockSize, maxBlocksPerSeq: p.maxBlocksPerSeq, pagesPerSeg, scaleLog2: p.softmaxScale * Math.LOG2E,
      lseStrideB: p.lseStrideB, lseStrideH: p.lseStrideH, lseStrideT: p.lseStrideT,
      qOff: q.byteOffset / 16, outOff: out.byteOffset / 4, lseOff: lse.byteOffset / 4, rowStride, oAccOff,
      btOff, seqOff, qiOff, metaOff, nsOff, posInfBits,
    }, this.decodeView);
    combineParams.pack({
      b: p.b, hQ: p.hQ, sQ: p.sQ, varlen: p.varlen ? 1 : 0, rowStride, lseStrideB: p.lseStrideB, lseStrideH: p.lseStrideH,
      lseStrideT: p.lseStrideT, outOff: out.byteOffset / 4, lseOff: lse.byteOffset / 4, oAccOff, qiOff, nsOff, posInfBits,
    }, this.combineView);
    uploads.push({ dst: this.decodeUniform, dstOffset: 0, data: new Uint8Array(this.decodeBytes) });
    uploads.push({ dst: this.combineUniform, dstOffset: 0, data: new Uint8Array(this.combineBytes) });

    const whole = (b: GPUBuffer): GPUBufferBinding => ({ buffer: b });
    const decBg = this.bindGroup(decKey, dec.layout, [
      whole(this.decodeUniform), whole(idx.buffer), whole(q.buffer), whole(out.buffer), whole(lse.buffer), whole(this.accum), ...segs,
    ]);
    const passes: Pass[] = [{ label: 'flashmla.decode', dispatches: [{ pipeline: dec.pipeline, bindGroup: decBg, groups: kernel.dispatch }] }];
    if (comb) {
      const combBg = this.bindGroup(combineProgram.name + combineProgram.key(combSpec), comb.layout, [
        whole(this.combineUniform), whole(idx.buffer), whole(this.accum), whole(out.buffer), whole(lse.buffer),
      ]);
      passes.push({ label: 'flashmla.combine', dispatches: [{ pipeline: comb.pipeline, bindGroup: combBg, groups: combineDispatch(p, this.caps, cols) }] });
    }
    return passes;
  }

  // ------------------------------------------------------------------ matmul (the MLA layer's projections)
  /** y = x · wᵀ, the host path's projections (MlaAttention precision 'host'): the layer ops' gemm (kernels/layer.ts). */
  matmul(l: MatmulCall): void {
    this.live();
    checkMatmul(l, 'webgpu');
    this.layerOps().gemm({ m: l.m, n: l.n, k: l.k, x: l.x, xOff: l.xOff, xStride: l.xStride, w: l.w, wOff: l.wOff, wStride: l.wStride, y: l.y });
  }

  // ------------------------------------------------------------------ MlaAttention's device-resident step (layer.ts)
  private layerOpsOf?: MlaDeviceOps;
  private layerUniform?: GPUBuffer;

  /** The kernels of MlaAttention's decode step (kernels/layer.ts), made on first use and kept until dispose. */
  layerOps(): MlaDeviceOps {
    this.live();
    return (this.layerOpsOf ??= createWebGpuLayerOps({
      device: this.device, programs: this.programs, caps: this.caps, maxBindingBytes: this.maxBindingBytes,
      storageOf: (t, name) => this.storageOf(t, name),
      bindGroup: (key, layout, entries) => this.bindGroup(key, layout, entries),
      uniform: (bytes) => (this.layerUniform ??= this.buffer('flashmla.layer.params', bytes, Usage.UNIFORM | Usage.COPY_DST)),
      storage: (label, bytes) => this.buffer(label, bytes, Usage.STORAGE),
      splitK: this.layerSplitK,
      gemmKernel: this.layerGemm,
      live: () => this.live(),
      submit: (w) => this.record(w),
      retire: (b) => this.retire(b),
    }));
  }

  // ------------------------------------------------------------------ sparse decode (kernels/sparse.ts)
  private sparseIdx?: GPUBuffer;
  private sparseIdxCap = 0;
  private sparseUniform?: GPUBuffer;
  private readonly sparseBytes = new ArrayBuffer(sparseParams.byteSize);
  private readonly sparseView = new DataView(this.sparseBytes);

  decodeSparse(l: SparseCall): void {
    this.live();
    const p = l.problem;
    if (p.dQk > sparseMaxDqk || p.dQk % 2 !== 0) throw invalidArgument('q', `an even dQk <= ${sparseMaxDqk} on WebGPU`, String(p.dQk));
    const chunk = this.sparseGathers(p) ? this.gatherChunkRows(p) : 0;
    if (chunk >= 1) return this.decodeSparseGathered(l, chunk);
    const caches = this.sparseCaches(l, 4);
    const spec = { kind: p.cache.kind, dtype: p.dtype, heads: chooseSparseHeads(p, this.info.numSms, this.caps, this.opts.sparseHeads), segs: caches.segs };
    const prog = this.programs.get(sparseProgram, spec);
    const uploads: Upload[] = [], copies: Copy[] = [];
    const { idx, offs } = this.stageSparseIndex(l, uploads, copies);
    const { indOff, extraIndOff, tlOff, extraTlOff, sinkOff } = offs;
    const q = this.single(l.q, 'q'), out = this.single(l.out, 'out'), lse = this.single(l.lse, 'lse');
    const { kOff, extraOff, kPagesPerSeg, xPagesPerSeg } = caches;
    for (const [name, a] of [['q', q], ['out', out]] as const) {
      if (a.byteOffset % 4 !== 0) throw invalidArgument(name, 'a 4-byte aligned offset on WebGPU', String(a.byteOffset));
    }
    sparseParams.pack({
      b: p.b, sQ: p.sQ, hQ: p.hQ, dQk: p.dQk, topk: p.topk, extraTopk: p.extraTopk, hasTopkLength: p.hasTopkLength ? 1 : 0,
      hasExtraTopkLength: p.hasExtraTopkLength ? 1 : 0, hasSink: p.hasAttnSink ? 1 : 0,
      pageBlockSize: p.cache.pageBlockSize, extraPageBlockSize: p.extraCache?.pageBlockSize ?? 1,
      blockStride: p.cache.blockStride, extraBlockStride: p.extraCache?.blockStride ?? 0, kOff, extraOff, kPagesPerSeg, xPagesPerSeg,
      qOff: q.byteOffset / 4, outOff: out.byteOffset / 4, lseOff: lse.byteOffset / 4,
      indOff, extraIndOff, tlOff, extraTlOff, sinkOff, scale: p.softmaxScale, posInfBits: 0x7f800000, ...sparseTokenCounts(p),
    }, this.sparseView);
    this.sparseUniform ??= this.buffer('flashmla.sparse.params', sparseParams.byteSize, Usage.UNIFORM | Usage.COPY_DST);
    uploads.push({ dst: this.sparseUniform, dstOffset: 0, data: new Uint8Array(this.sparseBytes) });
    const whole = (b: GPUBuffer): GPUBufferBinding => ({ buffer: b });
    const bg = this.bindGroup(sparseProgram.name + sparseProgram.key(spec), prog.layout, [
      whole(this.sparseUniform), whole(idx), whole(q.buffer), whole(out.buffer), whole(lse.buffer), ...caches.bindings,
    ]);
    const passes = [{ label: 'flashmla.sparse', dispatches: [{ pipeline: prog.pipeline, bindGroup: bg, groups: sparseDispatch(p, this.caps, spec.heads) }] }];
    this.record({ label: 'flashmla.sparse', uploads, copies, passes, timing: this.timing });
  }

  /**
   * The index workspace of a sparse call (i32): indices | extraIndices | topkLength | extraTopkLength | attnSink (f32
   * bits), staged into this.sparseIdx (grown as needed) by the call's uploads and copies.
   */
  private stageSparseIndex(l: SparseCall, uploads: Upload[], copies: Copy[]) {
    const p = l.problem;
    const { len, offs } = sparseIndexLayout(p);
    const { indOff, extraIndOff, tlOff, extraTlOff, sinkOff } = offs;
    if (!this.sparseIdx || len > this.sparseIdxCap) {
      if (this.sparseIdx) this.retire(this.sparseIdx);
      this.sparseIdxCap = Math.max(len, 2 * this.sparseIdxCap, 1024);
      this.sparseIdx = this.buffer('flashmla.sparse.idx', this.sparseIdxCap * 4, Usage.STORAGE | Usage.COPY_DST);
      this.bindGroups.clear();
    }
    const idx = this.sparseIdx;
    const stage = (t: Tensor | undefined, off: number) => this.stageIndex(t, idx, off, uploads, copies);
    stage(l.indices, indOff);
    stage(l.extraIndices, extraIndOff);
    stage(l.topkLength, tlOff);
    stage(l.extraTopkLength, extraTlOff);
    stage(l.attnSink, sinkOff);
    return { idx, offs };
  }

  /**
   * A sparse call's cache bindings (sparseCacheBinding; without an extra cache the main cache's first binding stands in
   * for it, never read), checked against the bindings a kernel has left besides its `fixed` storage buffers.
   */
  private sparseCaches(l: Pick<SparseCall, 'kCache' | 'extraKCache'> & { problem: Pick<SparseProblem, 'cache' | 'extraCache'> }, fixed: number) {
    const p = l.problem;
    const k = this.sparseCacheBinding(l.kCache, 'kCache', p.cache);
    const x = l.extraKCache && p.extraCache ? this.sparseCacheBinding(l.extraKCache, 'extraKCache', p.extraCache) : { segs: [k.segs[0]], off: k.off, pps: k.pps };
    const most = this.caps.maxStorageBuffersPerShaderStage - fixed;
    if (k.segs.length + x.segs.length > most) {
      throw invalidArgument(l.extraKCache ? 'kCache, extraKCache' : 'kCache', `caches in at most ${most} storage bindings on this device (of at most ${fmtBytes(this.maxBindingBytes)} each)`, `${k.segs.length} + ${x.segs.length}`);
    }
    return { segs: { k: k.segs.length, x: x.segs.length }, bindings: [...k.segs, ...x.segs], kOff: k.off, extraOff: x.off, kPagesPerSeg: k.pps, xPagesPerSeg: x.pps };
  }

  // ------------------------------------------------------------------ sparse decode, gathered (kernels/sparse-gather.ts)
  /** Whether a sparse call takes the gathered path (WebGpuBackendOptions.sparsePath). */
  sparseGathers(p: Pick<SparseProblem, 'precision' | 'dtype' | 'hQ' | 'dQk'> & { cache: Pick<SparseProblem['cache'], 'kind'> }): boolean {
    const path = this.opts.sparsePath ?? 'auto';
    if (path === 'direct') return false;
    const kind = p.cache.kind;
    const fits = p.precision === 'fast' && p.dQk <= gatherRow && (kind === p.dtype || (isFp8Format(kind) && p.dtype === 'bf16'));
    return fits && (path === 'gather' || decodeKernelFor(this.decodePath, p.hQ) === 'matrix');
  }

  private gatherUniform?: GPUBuffer;
  private readonly gatherBytes = new ArrayBuffer(gatherParams.byteSize);
  private readonly gatherView = new DataView(this.gatherBytes);
  /** The gathered path's scratch, grown as needed: entry slots, dense index words, pages, padded q, the dense lse. */
  private readonly gatherBufs = new Map<string, GPUBuffer>();
  /** Dense plans of the gathered path by (rows, heads, pages a row, list length): rows of one planned length only. */
  private readonly gatherPlans = new Map<string, { plan: DecodePlan; meta: Int32Array; numSplits: Int32Array }>();

  private gatherBuf(name: string, bytes: number): GPUBuffer {
    const had = this.gatherBufs.get(name);
    if (had && had.size >= bytes) return had;
    if (had) this.retire(had);
    // (grown by doubling, but never past one binding: the gather passes bind these buffers whole)
    const b = this.buffer(`flashmla.gather.${name}`, Math.max(bytes, Math.min(2 * (had?.size ?? 0), this.maxBindingBytes), 256), Usage.STORAGE | Usage.COPY_DST);
    this.gatherBufs.set(name, b);
    this.bindGroups.clear();
    return b;
  }

  /** The dense plan of `rows` requests of the given (planned) lengths, each its own 64-key pages. */
  private gatherPlan(rows: number, hQ: number, maxBlocks: number, lengths: Int32Array, uniform: boolean) {
    const key = `${rows}:${hQ}:${maxBlocks}:${lengths[0]}`;
    const hit = uniform ? this.gatherPlans.get(key) : undefined;
    if (hit) return hit;
    const schedule = this.info.schedule ?? 'flashmla';
    const md = getMlaMetadata(lengths, hQ, 1, { numSms: this.info.numSms, backend: this, schedule });
    const meta = md.tileSchedulerMetadata.host(), numSplits = md.numSplits.host(), numSmParts = md.tileSchedulerMetadata.shape[0];
    const plan = planDecode({ b: rows, sQ: 1, hQ, hKv: 1, numSmParts, maxBlocksPerSeq: maxBlocks, varlen: false }, numSplits, lengths,
      cutsUnderFloor(lengths, numSmParts, schedule, hQ, this.info.autoRule));
    const r = { plan, meta, numSplits };
    if (uniform) {
      if (this.gatherPlans.size >= 32) this.gatherPlans.clear();
      this.gatherPlans.set(key, r);
    }
    return r;
  }

  /**
   * Query rows a submission of the gathered path takes: its pages and the dense split-KV accumulators each within one
   * binding (1 GiB at most). Below 1 (a single row's pages over the limit) the call runs the direct kernel.
   */
  private gatherChunkRows(p: SparseProblem): number {
    const { rowBytes } = gatherRows(p);
    const limit = Math.min(this.maxBindingBytes, 1 << 30);
    const parts = numSmPartsFor(this.info.numSms, p.hQ, 1), accRowBytes = p.hQ * (dV + 1) * 4;
    // (the padded q copy, hQ x 1152 bytes a row, too; - 1: the lse block's padding)
    return Math.min(p.b * p.sQ, Math.floor(limit / rowBytes), Math.floor(limit / (p.hQ * gatherRow * 2)), Math.floor(limit / accRowBytes) - parts - 1);
  }

  /** The gathered path, `chunk` query rows a submission (gatherChunkRows). */
  private decodeSparseGathered(l: SparseCall, chunk: number): void {
    const p = l.problem;
    const rowsAll = p.b * p.sQ, { n, maxBlocks, rowBytes } = gatherRows(p);
    const needQ = p.dQk !== gatherRow;
    const finish = p.sQ > 1 || p.hasAttnSink;
    const q = this.single(l.q, 'q'), out = this.single(l.out, 'out'), lse = this.single(l.lse, 'lse');
    const caches = this.sparseCaches(l, 4);
    const { kOff, extraOff, kPagesPerSeg, xPagesPerSeg } = caches;
    if (q.byteOffset % 4 !== 0) throw invalidArgument('q', 'a 4-byte aligned offset on WebGPU', String(q.byteOffset));
    if (out.byteOffset % 4 !== 0) throw invalidArgument('out', 'a 4-byte aligned offset on WebGPU', String(out.byteOffset));
    const qCopy = needQ || q.byteOffset % 16 !== 0;
    const hostLen = l.host?.topkLength, hostExtra = l.host?.extraTopkLength;
    const listProg = this.programs.get(gatherListProgram, {});
    const gSpec = { kind: p.cache.kind, dtype: p.dtype, segs: caches.segs };
    const gProg = this.programs.get(gatherProgram, gSpec);
    const qProg = qCopy ? this.programs.get(gatherQProgram, {}) : undefined;
    const finProg = finish ? this.programs.get(gatherFinishProgram, { dtype: p.dtype }) : undefined;
    this.gatherUniform ??= this.buffer('flashmla.gather.params', gatherParams.byteSize, Usage.UNIFORM | Usage.COPY_DST);
    const whole = (b: GPUBuffer): GPUBufferBinding => ({ buffer: b });
    for (let r0 = 0; r0 < rowsAll; r0 += chunk) {
      const rows = Math.min(chunk, rowsAll - r0);
      const uploads: Upload[] = [], copies: Copy[] = [];
      // (the index tensors staged once, with the first chunk: later chunks' passes run after it in queue order)
      const { idx, offs } = r0 === 0 ? this.stageSparseIndex(l, uploads, copies) : { idx: this.sparseIdx!, offs: sparseIndexLayout(p).offs };
      // Planned lengths: the host's topkLength where given, else the whole lists (the device's count is at most that).
      const lengths = new Int32Array(rows);
      let uniform = true;
      for (let r = 0; r < rows; r++) {
        const i = Math.floor((r0 + r) / p.sQ);
        const main = hostLen ? Math.min(Math.max(hostLen[i], 0), p.topk) : p.topk;
        const extra = hostExtra ? Math.min(Math.max(hostExtra[i], 0), p.extraTopk) : p.extraTopk;
        lengths[r] = main + extra;
        if (lengths[r] !== lengths[0]) uniform = false;
      }
      const { plan, meta, numSplits } = this.gatherPlan(rows, p.hQ, maxBlocks, lengths, uniform);
      this.ensureWorkspace(plan);
      const ws = plan.workspace;
      const words = this.gatherBuf('words', ws.indexWords * 4);
      uploads.push({ dst: words, dstOffset: ws.tileSchedulerMetadata * 4, data: new Uint8Array(meta.buffer, meta.byteOffset, meta.byteLength) as Uint8Array<ArrayBuffer> });
      uploads.push({ dst: words, dstOffset: ws.numSplits * 4, data: new Uint8Array(numSplits.buffer, numSplits.byteOffset, numSplits.byteLength) as Uint8Array<ArrayBuffer> });
      const dest = this.gatherBuf('dest', rows * n * 4);
      const pages = this.gatherBuf('pages', rows * rowBytes);
      const qg = qCopy ? this.gatherBuf('q', rows * p.hQ * gatherRow * 2) : undefined;
      const lt = finish ? this.gatherBuf('lse', rows * p.hQ * 4) : undefined;
      gatherParams.pack({
        rows, rowBase: r0, sQ: p.sQ, hQ: p.hQ, dQk: p.dQk, topk: p.topk, extraTopk: p.extraTopk,
        hasTopkLength: p.hasTopkLength ? 1 : 0, hasExtraTopkLength: p.hasExtraTopkLength ? 1 : 0,
        pageBlockSize: p.cache.pageBlockSize, extraPageBlockSize: p.extraCache?.pageBlockSize ?? 1,
        blockStride: p.cache.blockStride, extraBlockStride: p.extraCache?.blockStride ?? 0, kOff, extraOff, kPagesPerSeg, xPagesPerSeg,
        indOff: offs.indOff, extraIndOff: offs.extraIndOff, tlOff: offs.tlOff, extraTlOff: offs.extraTlOff, sinkOff: offs.sinkOff, hasSink: p.hasAttnSink ? 1 : 0,
        maxBlocks, btOff: ws.blockTable, seqOff: ws.cacheSeqlens, qOff: q.byteOffset / 4, outOff: out.byteOffset / 4, lseOff: lse.byteOffset / 4, posInfBits: 0x7f800000,
        ...sparseTokenCounts(p),
      }, this.gatherView);
      uploads.push({ dst: this.gatherUniform, dstOffset: 0, data: new Uint8Array(this.gatherBytes) });
      const U = whole(this.gatherUniform);
      const passes: Pass[] = [
        { label: 'flashmla.gather.list', dispatches: [{ pipeline: listProg.pipeline, bindGroup: this.bindGroup(gatherListProgram.name, listProg.layout, [U, whole(idx), whole(dest), whole(words)]), groups: gatherListDispatch(rows, this.caps) }] },
        { label: 'flashmla.gather', dispatches: [{ pipeline: gProg.pipeline, bindGroup: this.bindGroup(gatherProgram.name + gatherProgram.key(gSpec), gProg.layout, [U, whole(idx), whole(dest), whole(words), whole(pages), ...caches.bindings]), groups: gatherDispatch(rows, n, this.caps) }] },
      ];
      if (qProg && qg) {
        passes.push({ label: 'flashmla.gather.q', dispatches: [{ pipeline: qProg.pipeline, bindGroup: this.bindGroup(gatherQProgram.name, qProg.layout, [U, whole(q.buffer), whole(qg)]), groups: gatherQDispatch(rows, p.hQ, this.caps) }] });
      }
      const dense: MlaProblem = {
        b: rows, sQ: 1, totalQ: rows, hQ: p.hQ, hKv: 1, nGroups: p.hQ, dQk: gatherRow, dV, pageBlockSize: gatherPage,
        numBlocks: rows * maxBlocks, maxBlocksPerSeq: maxBlocks, dtype: p.dtype, kvDtype: p.dtype, softmaxScale: p.softmaxScale,
        causal: false, varlen: false, numSmParts: plan.numSmParts, ...lseStrides({ hQ: p.hQ, sQ: 1, varlen: false }),
      };
      const qAt = qg ? { buffer: qg, byteOffset: 0 } : { buffer: q.buffer, byteOffset: q.byteOffset + r0 * p.hQ * gatherRow * 2 };
      const outAt = { buffer: out.buffer, byteOffset: out.byteOffset + r0 * p.hQ * dV * 2 };
      const lseAt = lt ? { buffer: lt, byteOffset: 0 } : { buffer: lse.buffer, byteOffset: lse.byteOffset + r0 * p.hQ * 4 };
      const cache = { pagesPerSeg: rows * maxBlocks, segs: [{ buffer: pages, offset: 0, size: rows * rowBytes }] };
      passes.push(...this.densePasses(dense, plan, cache, { buffer: words, base: 0 }, qAt, outAt, lseAt, uploads));
      if (finProg && lt) {
        passes.push({ label: 'flashmla.gather.finish', dispatches: [{ pipeline: finProg.pipeline, bindGroup: this.bindGroup(gatherFinishProgram.name + p.dtype, finProg.layout, [U, whole(idx), whole(lt), whole(out.buffer), whole(lse.buffer)]), groups: gatherFinishDispatch(rows, p.hQ, this.caps) }] });
      }
      this.record({ label: 'flashmla.sparse.gathered', uploads, copies, passes, timing: this.timing });
    }
  }

  // ------------------------------------------------------------------ dense decode over an FP8 cache, staged
  private fp8StageUniform?: GPUBuffer;

  /**
   * The chunks of requests a staged dense FP8 decode runs in (each chunk's staged pages within one binding, 1 GiB at
   * most), or a reason it cannot run staged (WebGpuBackendOptions.denseFp8Path).
   */
  private denseFp8Chunks(l: Pick<DenseFp8Call, 'dtype' | 'cacheSeqlens' | 'blockTable' | 'pageBlockSize' | 'b'>): { chunks: [number, number][]; seqlens: Int32Array; table: Int32Array } | string {
    const path = this.opts.denseFp8Path ?? 'auto';
    if (path === 'sparse' || path === 'fused') return `denseFp8Path '${path}'`;
    if (l.dtype !== 'bf16') return 'f16 queries (the staged pages are bf16)';
    const seqlens = isHostTensor(l.cacheSeqlens) ? l.cacheSeqlens.host() as Int32Array : undefined;
    const table = isHostTensor(l.blockTable) ? l.blockTable.host() as Int32Array : undefined;
    if (!seqlens || !table) return 'index tensors on the device (the staged pages are laid out from their values)';
    const pageBytes = l.pageBlockSize * gatherRow * 2, most = Math.floor(Math.min(this.maxBindingBytes, 1 << 30) / pageBytes);
    const chunks: [number, number][] = [];
    let start = 0, pages = 0;
    for (let i = 0; i < l.b; i++) {
      const n = Math.ceil(Math.max(seqlens[i], 0) / l.pageBlockSize);
      if (n > most) return `request ${i}'s ${n} pages past one binding (${most} staged pages)`;
      if (pages + n > most) { chunks.push([start, i]); start = i; pages = 0; }
      pages += n;
    }
    chunks.push([start, l.b]);
    return { chunks, seqlens, table };
  }

  /**
   * Why the fused path cannot take a call (WebGpuBackendOptions.denseFp8Path), or undefined where it can. `rows`: hold
   * 'auto' to denseFp8FusedAutoRows (false where the staged path cannot take the call: fused is then far ahead of the
   * sparse step at any row count).
   */
  private denseFp8FusedWhyNot(l: Pick<DenseFp8Call, 'format' | 'dtype' | 'dQk' | 'sQ' | 'hQ' | 'pageBlockSize' | 'blockStride' | 'kCache' | 'q'>, rows = true): string | undefined {
    const path = this.opts.denseFp8Path ?? 'auto';
    if (path === 'sparse' || path === 'staged') return `denseFp8Path '${path}'`;
    if (l.format !== 'v32') return 'a MODEL1 cache (the fused path reads V3.2)';
    if (l.dtype !== 'bf16' || l.dQk !== gatherRow) return 'f16 queries';
    const m = this.opts.matrix ?? {};
    if (decodeKernelFor(this.decodePath, l.sQ * l.hQ) !== 'matrix' || (m.version ?? 5) !== 5 || !matrix5Fp8Fits('bf16', m)) return 'the dense kernel here is not v5 on subgroup matrices';
    if (l.blockStride !== l.pageBlockSize * fp8Layouts.v32.bytesPerToken) return `pages of ${l.blockStride} bytes (the fused path reads pages of page × ${fp8Layouts.v32.bytesPerToken})`;
    if (l.kCache.byteOffset % this.caps.minStorageBufferOffsetAlignment !== 0) return `a cache offset that is no multiple of ${this.caps.minStorageBufferOffsetAlignment} bytes`;
    if (l.q.byteOffset % 16 !== 0) return 'a q offset that is no multiple of 16 bytes';
    const segs = Math.ceil(l.kCache.shape[0] / this.rowsPerBinding(l.blockStride));
    if (segs > this.caps.maxStorageBuffersPerShaderStage - 5) return `a cache in ${segs} bindings`;
    if (rows && path === 'auto' && l.sQ * l.hQ > denseFp8FusedAutoRows && !this.denseFp8Direct) return `${l.sQ * l.hQ} query rows ('auto' takes session 48's fused form, matrix.fp8Direct off, up to ${denseFp8FusedAutoRows})`;
    return undefined;
  }

  /** The kernel decodeDenseFp8 runs for a launch (benchmarks record it); undefined where the call runs as a sparse step. */
  denseFp8Kernel(l: DenseFp8Call): string | undefined {
    const c = this.denseFp8Route(l);
    return c === 'fused' ? 'webgpu-fused-matrix' : typeof c === 'string' ? undefined : `webgpu-staged-${decodeKernelFor(this.decodePath, l.sQ * l.hQ)}`;
  }

  /**
   * How decodeDenseFp8 runs a call: 'fused', the staged path's chunks, or why neither takes it (the call then runs as a
   * sparse step). 'auto' takes fused where it can (with fp8Direct off: up to denseFp8FusedAutoRows query rows, staged
   * above, and fused at any row count where staged declines: index tensors on the device, a request's pages past a binding).
   */
  private denseFp8Route(l: DenseFp8Call): 'fused' | Exclude<ReturnType<WebGpuBackend['denseFp8Chunks']>, string> | string {
    if (this.denseFp8FusedWhyNot(l) === undefined) return 'fused';
    const c = this.denseFp8Chunks(l);
    return typeof c === 'string' && this.denseFp8FusedWhyNot(l, false) === undefined ? 'fused' : c;
  }

  /**
   * Dense decode over an FP8 cache (core/dense-fp8.ts): per chunk of requests, their pages decoded once into bf16 pages
   * (denseFp8StageProgram; MODEL1's 512-wide q padded to 576 by gatherQProgram), then the dense passes over them. The
   * caller's plan where one chunk takes the batch, else each chunk's own. False (the call then runs as a sparse step)
   * where denseFp8Chunks says why not.
   */
  decodeDenseFp8(l: DenseFp8Call): boolean {
    this.live();
    const c = this.denseFp8Route(l);
    if (c === 'fused') {
      this.decodeDenseFp8Fused(l);
      return true;
    }
    if (typeof c === 'string') return false;
    const { chunks, seqlens, table } = c;
    const { sQ, hQ, dQk, pageBlockSize: page } = l;
    const kind = l.format;
    // The stage pass binds the staged index words and pages besides the cache (the extra cache's slot: its first binding).
    const caches = this.sparseCaches({ kCache: l.kCache, problem: { cache: { kind, numBlocks: l.kCache.shape[0], pageBlockSize: page, blockStride: l.blockStride } } }, 2);
    const q = this.single(l.q, 'q'), out = this.single(l.out, 'out'), lse = this.single(l.lse, 'lse');
    if (q.byteOffset % 4 !== 0) throw invalidArgument('q', 'a 4-byte aligned offset on WebGPU', String(q.byteOffset));
    if (out.byteOffset % 4 !== 0) throw invalidArgument('out', 'a 4-byte aligned offset on WebGPU', String(out.byteOffset));
    const qCopy = dQk !== gatherRow || q.byteOffset % 16 !== 0;
    const stageSpec = { kind, segs: caches.segs.k };
    const stage = this.programs.get(denseFp8StageProgram, stageSpec);
    const qProg = qCopy ? this.programs.get(gatherQProgram, {}) : undefined;
    this.fp8StageUniform ??= this.buffer('flashmla.densefp8.params', gatherParams.byteSize, Usage.UNIFORM | Usage.COPY_DST);
    this.gatherUniform ??= this.buffer('flashmla.gather.params', gatherParams.byteSize, Usage.UNIFORM | Usage.COPY_DST);
    const whole = (b: GPUBuffer): GPUBufferBinding => ({ buffer: b });
    const schedule = this.info.schedule ?? 'flashmla';
    const callerMeta = chunks.length === 1 && isHostTensor(l.tileSchedulerMetadata) && isHostTensor(l.numSplits);
    for (const [i0, i1] of chunks) {
      const bc = i1 - i0, lens = seqlens.subarray(i0, i1);
      const pagesOf = Array.from(lens, (n) => Math.ceil(Math.max(n, 0) / page));
      const maxBlocks = Math.max(1, ...pagesOf), staged = Math.max(1, pagesOf.reduce((x, y) => x + y, 0));
      // The plan: the caller's (checked against the lengths by flashMlaWithFp8Kvcache) where one chunk is the batch.
      let meta: Int32Array, numSplits: Int32Array, plan: DecodePlan;
      if (callerMeta) {
        meta = l.tileSchedulerMetadata.host() as Int32Array;
        numSplits = l.numSplits.host() as Int32Array;
        plan = planDecode({ b: bc, sQ, hQ, hKv: 1, numSmParts: l.numSmParts, maxBlocksPerSeq: maxBlocks, varlen: false }, numSplits, lens);
      } else {
        const md = getMlaMetadata(lens, sQ * hQ, 1, { numSms: this.info.numSms, backend: this, schedule });
        meta = md.tileSchedulerMetadata.host() as Int32Array;
        numSplits = md.numSplits.host() as Int32Array;
        const parts = md.tileSchedulerMetadata.shape[0];
        plan = planDecode({ b: bc, sQ, hQ, hKv: 1, numSmParts: parts, maxBlocksPerSeq: maxBlocks, varlen: false }, numSplits, lens,
          cutsUnderFloor(lens, parts, schedule, sQ * hQ, this.info.autoRule));
      }
      this.ensureWorkspace(plan);
      // Index words: the staged block table, the lengths, the plan (the workspace layout), then each staged page's source.
      const ws = plan.workspace;
      const words = new Int32Array(ws.indexWords + staged);
      for (let r = 0, sp = 0; r < bc; r++) {
        for (let j = 0; j < pagesOf[r]; j++, sp++) {
          words[ws.blockTable + r * maxBlocks + j] = sp;
          words[ws.indexWords + sp] = table[(i0 + r) * l.maxBlocksPerSeq + j];
        }
      }
      words.set(lens, ws.cacheSeqlens);
      words.set(meta, ws.tileSchedulerMetadata);
      words.set(numSplits.subarray(0, bc + 1), ws.numSplits);
      const uploads: Upload[] = [];
      const wbuf = this.gatherBuf('fp8words', words.byteLength);
      uploads.push({ dst: wbuf, dstOffset: 0, data: new Uint8Array(words.buffer) as Uint8Array<ArrayBuffer> });
      const pages = this.gatherBuf('fp8pages', staged * page * gatherRow * 2);
      const qg = qCopy ? this.gatherBuf('fp8q', bc * sQ * hQ * gatherRow * 2) : undefined;
      const common = {
        sQ, hQ, dQk, topk: 0, extraTopk: 0, hasTopkLength: 0, hasExtraTopkLength: 0, pageBlockSize: page, extraPageBlockSize: 1,
        blockStride: l.blockStride, extraBlockStride: 0, kOff: caches.kOff, extraOff: caches.extraOff, kPagesPerSeg: caches.kPagesPerSeg, xPagesPerSeg: caches.xPagesPerSeg,
        indOff: 0, extraIndOff: 0, tlOff: 0, extraTlOff: 0, sinkOff: 0, hasSink: 0, maxBlocks, btOff: 0,
        qOff: q.byteOffset / 4, outOff: 0, lseOff: 0, posInfBits: 0x7f800000,
        numTokens: 0, extraNumTokens: 0, // (no index lists in a dense step: the stage reads pages by block table)
      };
      gatherParams.pack({ ...common, rows: staged, rowBase: 0, seqOff: ws.indexWords }, this.gatherView);
      uploads.push({ dst: this.fp8StageUniform, dstOffset: 0, data: new Uint8Array(this.gatherBytes.slice(0)) });
      const passes: Pass[] = [{
        label: 'flashmla.densefp8.stage',
        dispatches: [{ pipeline: stage.pipeline, bindGroup: this.bindGroup(denseFp8StageProgram.name + denseFp8StageProgram.key(stageSpec), stage.layout, [whole(this.fp8StageUniform), whole(wbuf), whole(pages), ...caches.bindings]), groups: denseFp8StageDispatch(staged * page, this.caps) }],
      }];
      if (qProg && qg) {
        gatherParams.pack({ ...common, rows: bc * sQ, rowBase: i0 * sQ, seqOff: 0 }, this.gatherView);
        uploads.push({ dst: this.gatherUniform, dstOffset: 0, data: new Uint8Array(this.gatherBytes.slice(0)) });
        passes.push({ label: 'flashmla.densefp8.q', dispatches: [{ pipeline: qProg.pipeline, bindGroup: this.bindGroup(gatherQProgram.name, qProg.layout, [whole(this.gatherUniform), whole(q.buffer), whole(qg)]), groups: gatherQDispatch(bc * sQ, hQ, this.caps) }] });
      }
      const dense = denseFp8Problem(l, bc, staged, maxBlocks, plan.numSmParts);
      const qAt = qg ? { buffer: qg, byteOffset: 0 } : { buffer: q.buffer, byteOffset: q.byteOffset + i0 * sQ * hQ * gatherRow * 2 };
      const outAt = { buffer: out.buffer, byteOffset: out.byteOffset + i0 * sQ * hQ * dV * 2 };
      const lseAt = { buffer: lse.buffer, byteOffset: lse.byteOffset + i0 * hQ * sQ * 4 };
      const cache = { pagesPerSeg: staged, segs: [{ buffer: pages, offset: 0, size: staged * page * gatherRow * 2 }] };
      passes.push(...this.densePasses(dense, plan, cache, { buffer: wbuf, base: 0 }, qAt, outAt, lseAt, uploads));
      this.record({ label: 'flashmla.densefp8.staged', uploads, copies: [], passes, timing: this.timing });
    }
    return true;
  }

  /**
   * Dense decode over a V3.2 FP8 cache read in place (denseFp8Path 'fused'): decode()'s passes with the cache's pages
   * bound as they lie and the v5 kernel's fp8 form (kernels/decode-matrix5.ts); the caller's plan and index tensors,
   * staged into the workspace as decode() stages them (host bytes uploaded, device tensors copied).
   */
  private decodeDenseFp8Fused(l: DenseFp8Call): void {
    const { b, sQ, hQ } = l;
    const cache = this.pageSegments(l.kCache, 'kCache', l.blockStride, l.kCache.shape[0]);
    const hostOf = (t: Tensor) => (isHostTensor(t) ? t.host() as Int32Array : undefined);
    const plan = planDecode({ b, sQ, hQ, hKv: 1, numSmParts: l.numSmParts, maxBlocksPerSeq: l.maxBlocksPerSeq, varlen: false }, hostOf(l.numSplits), hostOf(l.cacheSeqlens));
    this.ensureWorkspace(plan); // (may replace this.idx: read it only after)
    const uploads: Upload[] = [], copies: Copy[] = [];
    this.stageDenseIndex(l, undefined, plan.workspace, uploads, copies);
    const dense = denseFp8Problem(l, b, l.kCache.shape[0], l.maxBlocksPerSeq, l.numSmParts);
    const passes = this.densePasses(dense, plan, cache, { buffer: this.idx, base: 0 }, this.single(l.q, 'q'), this.single(l.out, 'out'), this.single(l.lse, 'lse'), uploads, 'v32');
    this.record({ label: 'flashmla.densefp8.fused', uploads, copies, passes, timing: this.timing });
  }

  // ------------------------------------------------------------------ batches (batch.ts)
  private depth = 0;
  private ring?: UploadRing;
  /** The open batch's calls, recorded and not yet submitted. */
  private pending: Encodable[] = [];
  /** Buffers dropped (grown workspace, free()) while recorded calls still bind them: destroyed after the submission. */
  private retired: GPUBuffer[] = [];

  /**
   * Run `fn` with this backend's decodes batched: every dense and sparse decode (and layer op) queued inside it is
   * recorded, and the calls are submitted together, in order, in one command buffer when `fn` settles; each call reads
   * its own uniforms and index tensors (copied into place by the encoder, batch.ts), so the results are the bits the
   * same calls give one by one. Resolves to fn's value after the submission (the work is queued, not done:
   * synchronize() or download() waits for it).
   * - A call that throws (an argument error, say) records nothing; the calls before it still run, whether fn catches
   *   the error or not (a rejected fn's batch is submitted, then the error rethrown), as they would unbatched.
   * - A nested batch() joins the open one (one submission at the outermost end); so does every call made on this
   *   backend while a batch is open, from any async task.
   * - write(), download() and synchronize() inside a batch first submit the calls recorded so far, so program order
   *   holds; free() of a tensor a recorded call uses destroys its buffers only after the submission.
   * - timeMs() inside a batch is refused (invalid_argument): a batch inside each repetition is how calls are chained.
   * - dispose() inside a batch submits the recorded calls first; the batch then ends with nothing to submit.
   * - A batch holds at most 4096 calls and the upload ring's bytes (WebGpuBackendOptions.batchUploadBytes): past
   *   either, the calls so far are submitted and the batch goes on in a new command buffer.
   * A device error (a validation error, out of memory) reported for a batch's command buffer drops the whole batch,
   * not one call; the next call throws it, as it does unbatched.
   */
  async batch<T>(fn: () => T | Promise<T>): Promise<T> {
    this.live();
    this.depth++;
    try {
      return await fn();
    } finally {
      if (--this.depth === 0) {
        if (this.lost || this.disposed) this.drop();
        else this.flush();
      }
    }
  }

  /** True while a batch() is open: calls are recorded, not yet submitted. */
  get batching(): boolean { return this.depth > 0; }

  /** Submit a call now (outside a batch, exactly as before batches existed) or record it into the open batch. */
  private record(w: CallWork): void {
    if (this.depth === 0) return this.submitAlone(w);
    const bytes = ringBytesOf(w.uploads);
    const ring = (this.ring ??= new UploadRing(this.batchUploadBytes, (n) => this.buffer('flashmla.batch.upload', n, Usage.COPY_SRC | Usage.COPY_DST)));
    if (bytes > ring.capacity) {
      this.flush();
      return this.submitAlone(w);
    }
    if (!ring.fits(bytes) || this.pending.length >= batchCallsMax) this.flush();
    this.pending.push({ copies: [...ring.place(w.uploads), ...w.copies], passes: w.passes, timing: w.timing });
  }

  private submitAlone(w: CallWork): void {
    for (const u of w.uploads) this.device.queue.writeBuffer(u.dst, u.dstOffset, u.data.buffer, u.data.byteOffset, u.data.byteLength);
    const enc = this.device.createCommandEncoder({ label: w.label });
    encodeCalls(enc, [w]);
    this.device.queue.submit([enc.finish()]);
  }

  /** Submit the open batch's recorded calls in one command buffer (the ring's bytes queued first); no-op when none. */
  private flush(): void {
    if (this.pending.length) {
      const calls = this.pending;
      this.pending = [];
      this.ring!.write(this.device.queue);
      const enc = this.device.createCommandEncoder({ label: 'flashmla.batch' });
      encodeCalls(enc, calls);
      this.device.queue.submit([enc.finish()]);
    }
    for (const b of this.retired.splice(0)) b.destroy();
  }

  /** A lost device: the recorded calls can never run. */
  private drop(): void {
    this.pending = [];
    if (this.ring) this.ring.used = 0;
    for (const b of this.retired.splice(0)) b.destroy();
  }

  /** Destroy a buffer now, or after the open batch's submission where a recorded call may bind it. */
  private retire(b: GPUBuffer): void {
    if (this.pending.length) this.retired.push(b);
    else b.destroy();
  }

  private bindGroup(programKey: string, layout: GPUBindGroupLayout, entries: GPUBufferBinding[]): GPUBindGroup {
    let key = programKey;
    for (const e of entries) key += `|${this.id(e.buffer)}@${e.offset ?? 0}+${e.size ?? -1}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      if (this.bindGroups.size > 256) this.bindGroups.clear();
      bg = this.device.createBindGroup({ label: programKey, layout, entries: entries.map((resource, binding) => ({ binding, resource })) });
      this.bindGroups.set(key, bg);
    }
    return bg;
  }

  /** Allocation checks not answered yet: synchronize() waits for them, so an out-of-memory is reported as such. */
  private readonly pendingScopes = new Set<Promise<void>>();

  async synchronize(): Promise<void> {
    this.live();
    this.flush(); // in a batch: what it recorded so far is queued work too
    await this.guard(this.device.queue.onSubmittedWorkDone());
    if (this.pendingScopes.size) await this.guard(Promise.all(this.pendingScopes).then(() => undefined));
    this.live();
  }

  /**
   * Device time of each repetition: a timestamp at the start of its first decode pass and at the end of its
   * last combine pass (its last decode pass where the combine is left out; timestamp-query), else the wall clock around
   * a synchronized run.
   */
  async timeMs(run: (rep: number) => void | Promise<void>, opts: TimeOptions): Promise<number[]> {
    this.live();
    if (this.depth > 0) {
      throw invalidArgument('timeMs', 'a call outside batch()', 'a call inside an open batch',
        'each repetition is timed as its own work; open the batch inside the repetition to chain calls');
    }
    // flushBytes: a scratch buffer cleared before every repetition, outside its timing (triton do_bench's protocol,
    // as the CUDA backend does it; docs/notes/benchmark-protocol.md).
    const flush = Math.ceil((opts.flushBytes ?? 0) / 4) * 4;
    if (flush > this.caps.maxBufferSize) throw invalidArgument('flushBytes', `at most the device's maxBufferSize, ${this.caps.maxBufferSize}`, String(flush));
    const scratch = flush ? this.buffer('flashmla.timing.flush', flush, Usage.COPY_DST) : undefined;
    const clear = () => {
      if (!scratch) return;
      const e = this.device.createCommandEncoder({ label: 'flashmla.timing.flush' });
      e.clearBuffer(scratch);
      this.device.queue.submit([e.finish({ label: 'flashmla.timing.flush' })]);
    };
    try {
      return await this.timeReps(run, opts, clear);
    } finally {
      scratch?.destroy();
    }
  }

  private async timeReps(run: (rep: number) => void | Promise<void>, opts: TimeOptions, clear: () => void): Promise<number[]> {
    for (let i = 0; i < opts.warmup; i++) { clear(); await run(i); }
    if (!this.caps.timestamps) {
      const times: number[] = [];
      for (let i = 0; i < opts.reps; i++) {
        clear();
        await this.synchronize();
        const t0 = performance.now();
        await run(i);
        await this.synchronize();
        times.push(performance.now() - t0);
      }
      return times;
    }
    // A query set holds at most 4096 timestamps (WebGPU's limit): repetitions are timed in chunks of 2048, each chunk's
    // times read back before the next (do_bench's loop asks for thousands of short repetitions).
    const chunk = Math.min(opts.reps, timedRepsPerQuerySet), count = 2 * chunk;
    const set = this.device.createQuerySet({ label: 'flashmla.timing', type: 'timestamp', count });
    const resolve = this.device.createBuffer({ label: 'flashmla.timing.resolve', size: count * 8, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC });
    const read = this.device.createBuffer({ label: 'flashmla.timing.read', size: count * 8, usage: Usage.MAP_READ | Usage.COPY_DST });
    try {
      const times: number[] = [];
      for (let first = 0; first < opts.reps; first += chunk) {
        const n = Math.min(chunk, opts.reps - first);
        for (let i = 0; i < n; i++) {
          clear(); // (its own submission, before the repetition's first timed pass)
          this.timing = { set, slot: i, begun: false };
          await run(first + i);
        }
        this.timing = undefined;
        const enc = this.device.createCommandEncoder({ label: 'flashmla.timing' });
        enc.resolveQuerySet(set, 0, 2 * n, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, read, 0, 2 * n * 8);
        this.device.queue.submit([enc.finish()]);
        await this.guard(read.mapAsync(mapModeRead));
        const ts = new BigInt64Array(read.getMappedRange().slice(0));
        read.unmap();
        for (let i = 0; i < n; i++) times.push(Number(ts[2 * i + 1] - ts[2 * i]) / 1e6);
      }
      return times;
    } finally {
      this.timing = undefined;
      set.destroy();
      resolve.destroy();
      read.destroy();
    }
  }

  /** Time arbitrary passes with timestamps (the bench's ceiling kernels use it). */
  timestampWritesFor(): GPUComputePassTimestampWrites | undefined {
    const tw = this.timing;
    if (!tw) return undefined;
    return { querySet: tw.set, beginningOfPassWriteIndex: 2 * tw.slot, endOfPassWriteIndex: 2 * tw.slot + 1 };
  }

  /** Every call starts here: disposed, lost (sticky), or an error the device reported since the last call (once). */
  private live(): void {
    if (this.disposed) throw new FlashMlaError('disposed', 'WebGPU backend used after dispose()');
    if (this.lost) throw this.lost;
    const e = this.deviceError;
    if (e) {
      this.deviceError = undefined;
      throw e;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    if (!this.lost) this.flush(); // a batch's calls recorded so far are submitted, as unbatched calls would have been
    this.disposed = true;
    this.rejectInFlight(new FlashMlaError('disposed', 'WebGPU backend disposed while the call was in flight'));
    this.bindGroups.clear();
    for (const b of this.readPool.splice(0)) b.destroy();
    this.idx.destroy();
    this.accum.destroy();
    this.decodeUniform.destroy();
    this.combineUniform.destroy();
    this.layerOpsOf?.dispose?.();
    this.layerUniform = undefined;
    this.sparseIdx?.destroy();
    this.sparseUniform?.destroy();
    for (const b of this.gatherBufs.values()) b.destroy();
    this.gatherBufs.clear();
    this.gatherUniform?.destroy();
    this.drop();
    this.ring?.destroy();
    if (this.opts.ownsDevice) this.device.destroy();
  }
}

/** A gathered row's entries (main + extra list), its 64-key pages and their bytes. */
function gatherRows(p: Pick<SparseProblem, 'topk' | 'extraTopk'>) {
  const n = p.topk + p.extraTopk, maxBlocks = Math.max(1, Math.ceil(n / gatherPage));
  return { n, maxBlocks, rowBytes: maxBlocks * gatherPage * gatherRow * 2 };
}

/** Word offsets of a sparse call's index workspace: indices | extraIndices | topkLength | extraTopkLength | attnSink. */
function sparseIndexLayout(p: SparseProblem) {
  const indOff = 0, extraIndOff = indOff + p.b * p.sQ * p.topk, tlOff = extraIndOff + p.b * p.sQ * p.extraTopk;
  const extraTlOff = tlOff + (p.hasTopkLength ? p.b : 0), sinkOff = extraTlOff + (p.hasExtraTopkLength ? p.b : 0);
  return { len: sinkOff + (p.hasAttnSink ? p.hQ : 0), offs: { indOff, extraIndOff, tlOff, extraTlOff, sinkOff } };
}

/**
 * The dense problem a dense FP8 step's bf16 passes run (staged pages or the fused read): b requests of the call's
 * shape over numBlocks pages, rows 576 wide, bf16.
 */
function denseFp8Problem(l: Pick<DenseFp8Call, 'sQ' | 'hQ' | 'pageBlockSize' | 'softmaxScale' | 'causal'>, b: number, numBlocks: number, maxBlocksPerSeq: number, numSmParts: number): MlaProblem {
  const { sQ, hQ } = l;
  return {
    b, sQ, totalQ: b * sQ, hQ, hKv: 1, nGroups: hQ, dQk: gatherRow, dV, pageBlockSize: l.pageBlockSize, numBlocks, maxBlocksPerSeq,
    dtype: 'bf16', kvDtype: 'bf16', softmaxScale: l.softmaxScale, causal: l.causal, varlen: false, numSmParts, ...lseStrides({ hQ, sQ, varlen: false }),
  };
}

/** Whether v5's fused FP8 form reads the bytes straight to f16 (DecodeMatrix5Spec.fp8Direct) on this device with these matrix knobs. */
function fp8DirectOn(caps: DeviceCaps, path: DecodePathChoice, m: MatrixKnobs): boolean {
  try {
    return decodeMatrix5Spec({ dtype: 'bf16', fp8: 'v32' }, caps, 1, path.emulate === true, m).fp8Direct === true;
  } catch {
    return false; // (no v5 here: the fused path is not offered at all)
  }
}

/** What `flashmla info` says of dense decode over FP8 caches here (WebGpuBackendOptions.denseFp8Path). */
function denseFp8KernelWhy(path: DenseFp8Path, dense: DecodePathChoice, sparse: SparsePath, direct: boolean): string {
  const asSparse = `as a sparse step (precision 'exact': ${sparse === 'gather' ? 'the gathered path declines it, so ' : ''}kernels/sparse.ts, exact dequantization)`;
  if (path === 'sparse') return `${asSparse} (denseFp8Path 'sparse')`;
  const staged = `staged: each request's pages decoded once into bf16 pages, then the dense ${dense.path} kernel (bf16 queries, host block table and lengths)`;
  const fused = dense.path === 'matrix' && (path === 'fused' || path === 'auto')
    ? `fused: V3.2 caches read in place by the v5 subgroup-matrix kernel (bf16 queries; ${direct ? 'the bytes straight to f16 (fp8Direct)' : `session 48's form (matrix.fp8Direct off)${path === 'auto' ? `, up to ${denseFp8FusedAutoRows} query rows and above where staged declines` : ''}`}), else ` : '';
  return path === 'fused' ? `${fused || 'fused (no subgroup matrices here), else '}${asSparse}` : `${fused}${staged}, else ${asSparse}`;
}

/** What `flashmla info` says of the sparse (and FP8-cache) decode this backend runs (WebGpuBackendOptions.sparsePath). */
function sparseKernelWhy(path: SparsePath, dense: DecodePathChoice): string {
  const direct = 'kernels/sparse.ts (f32 lanes, 1-8 heads a workgroup)';
  const gathered = `gathered: tokens decoded into 16-bit pages, then the dense ${dense.path} kernel (bf16 queries over FP8, or a cache of q's dtype; precision 'fast'), else ${direct}`;
  if (path === 'direct') return `${direct} (sparsePath 'direct')`;
  if (path === 'gather') return `${gathered} (sparsePath 'gather')`;
  return dense.path === 'matrix' ? `${gathered} (auto: the dense kernel runs on subgroup matrices)` : `${direct} (auto: no subgroup matrices for the gathered path)`;
}

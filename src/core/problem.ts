// The validated description of one MLA decode call, shared by every backend, and the Backend interface.
import type { MlaDeviceOps } from './mla/device.js';
import type { DType, HalfDType, HostArray } from './dtype.js';
import type { DeviceKind, Tensor } from './tensor.js';
import type { DecodePlan } from './plan.js';
import type { SparseCall, SparseProblem } from './sparse.js';
import type { DenseFp8Call } from './dense-fp8.js';
import type { AutoRule, ScheduleKind } from './scheduler.js';

import { dQk, dV } from './constants.js';

/** q / cache row head dim (constants.ts's dQk: 512 latent + 64 RoPE columns). */
export const dQkDefault = dQk;
/** V / out head dim (constants.ts's dV). */
export const dVDefault = dV;

/** Shapes and options of one decode call, after validation. Names follow FlashMLA (camelCase). */
export interface MlaProblem {
  b: number;
  /** Query tokens per request: uniform sQ, or the largest of the per-request lengths when `varlen`. */
  sQ: number;
  /** Total query tokens: b * sQ, or qIndptr[b] when `varlen`. */
  totalQ: number;
  hQ: number;
  hKv: number;
  /** hQ / hKv: query heads sharing one latent KV head. */
  nGroups: number;
  dQk: number;
  dV: number;
  pageBlockSize: number;
  /** Pages in the cache (kCache.shape[0]). */
  numBlocks: number;
  /** Row length of blockTable. */
  maxBlocksPerSeq: number;
  dtype: HalfDType;
  kvDtype: HalfDType;
  softmaxScale: number;
  causal: boolean;
  /** Per-request query lengths given as qIndptr [b + 1]: q [totalQ, hQ, dQk], out [totalQ, hQ, dV], lse [totalQ, hQ]. */
  varlen: boolean;
  numSmParts: number;
  /**
   * lse element of (batch, head, query j of that request) = batch*lseStrideB + head*lseStrideH + (qStart+j)*lseStrideT,
   * qStart being qIndptr[batch] (varlen) or batch*sQ. One formula serves [b, hQ, sQ] and [totalQ, hQ].
   */
  lseStrideB: number;
  lseStrideH: number;
  lseStrideT: number;
}

export function lseStrides(p: Pick<MlaProblem, 'hQ' | 'sQ' | 'varlen'>): { lseStrideB: number; lseStrideH: number; lseStrideT: number } {
  return p.varlen
    ? { lseStrideB: 0, lseStrideH: 1, lseStrideT: p.hQ }
    : { lseStrideB: (p.hQ - 1) * p.sQ, lseStrideH: p.sQ, lseStrideT: 1 };
}

/** Number of keys query j (0-based) of a request with qLen queries sees in a sequence of seqlen keys. */
export function visibleKeys(seqlen: number, qLen: number, j: number, causal: boolean): number {
  return causal ? Math.max(0, seqlen - qLen + j + 1) : seqlen;
}

/** Everything a backend needs to run one decode. Tensors live on the backend's device. */
export interface DecodeCall {
  problem: MlaProblem;
  q: Tensor; // [b, sQ, hQ, dQk] or [totalQ, hQ, dQk]
  kCache: Tensor; // [numBlocks, pageBlockSize, hKv, dQk]
  blockTable: Tensor; // [b, maxBlocksPerSeq] i32
  cacheSeqlens: Tensor; // [b] i32
  qIndptr?: Tensor; // [b + 1] i32, varlen only
  tileSchedulerMetadata: Tensor; // [numSmParts, 8] i32
  numSplits: Tensor; // [b + 1] i32
  out: Tensor; // [b, sQ, hQ, dV] or [totalQ, hQ, dV], q's dtype
  lse: Tensor; // [b, hQ, sQ] or [totalQ, hQ] f32
  /** Host copies when the caller has them (the CPU backend and validation use them; GPU kernels never need them). */
  host?: { cacheSeqlens: Int32Array; qIndptr?: Int32Array; tileSchedulerMetadata: Int32Array; numSplits: Int32Array };
  /** The step's plan (core/plan.ts): accumulator count, workspace layout, whether a combine runs. */
  plan: DecodePlan;
  /**
   * The same index words already packed in the plan's workspace layout (plan.workspace: blockTable | cacheSeqlens |
   * qIndptr | tileSchedulerMetadata | numSplits, `indexWords` i32 words), on the device, unchanged while any call that
   * uses it is queued: MlaDecoder makes it where the backend reads it in place (BackendInfo.readsIndexWords), so a call
   * stages nothing. The separate tensors above stay authoritative for every other backend and for validation.
   */
  indexWords?: Tensor;
}

/**
 * y [m, n] = x · wᵀ in f32, torch.nn.Linear's layout: row i of x starts at xOff + i * xStride, row j of w at
 * wOff + j * wStride (k elements each). All three tensors are f32 on the backend's device; y is contiguous.
 */
export interface MatmulCall {
  m: number;
  n: number;
  k: number;
  x: Tensor;
  xOff: number;
  xStride: number;
  w: Tensor;
  wOff: number;
  wStride: number;
  y: Tensor;
}

/** Backend.timeMs's options. */
export interface TimeOptions {
  warmup: number;
  reps: number;
  /**
   * GPU backends: before every repetition (warm-up ones too), outside its timing, write this many bytes of a scratch buffer,
   * as triton's do_bench does (256 MB zeroed before each repetition): L2 holds nothing of the previous run and the
   * card idles its tensor cores between two timed runs. 0 or absent: back to back.
   */
  flushBytes?: number;
}

export interface BackendInfo {
  kind: DeviceKind;
  /** What it runs on, e.g. "NVIDIA H100 80GB HBM3" or "2 CPU workers". */
  device: string;
  /** Processor count used to plan SM parts by default. */
  numSms: number;
  /**
   * The split-KV schedule MlaDecoder plans for this backend unless its config names one (default 'flashmla':
   * getMlaMetadata's; the CUDA backend on sm_90: 'auto'; the WebGPU backend's opt-in: 'fill'; core/scheduler.ts).
   * Metadata a caller passes is run as given.
   */
  schedule?: ScheduleKind;
  /**
   * Where this backend's 'auto' plan takes 'fill' (core/scheduler.ts AutoRule), measured with its kernels; absent:
   * the CUDA backend's rule (autoRuleCuda).
   */
  autoRule?: AutoRule;
  /**
   * True when the backend's decode reads DecodeCall.indexWords in place (WebGPU: bound as the index buffer, so a call
   * copies no index words into its workspace first); MlaDecoder then packs and uploads them once a step.
   */
  readsIndexWords?: boolean;
  details?: Record<string, unknown>;
}

/**
 * One small interface per device. A backend owns its device memory and kernels; the public functions validate
 * everything before they call it, so a backend may assume a consistent DecodeCall.
 */
export interface Backend {
  readonly kind: DeviceKind;
  readonly info: BackendInfo;
  /** Allocate an uninitialised tensor on this device. */
  empty(dtype: DType, shape: readonly number[]): Tensor;
  /** Copy host elements to a new tensor on this device (the CPU returns its argument). */
  upload(t: Tensor<HostArray>): Tensor;
  /** Copy host elements into `dst`, starting at element `dstOffset` of dst (default 0). */
  write(dst: Tensor, src: Tensor<HostArray>, dstOffset?: number): void;
  /** Copy a tensor back to the host (waits for queued work). */
  download(t: Tensor): Promise<Tensor<HostArray>>;
  /** Queue one decode; resolves when it is queued (GPU) or done (CPU). */
  decode(launch: DecodeCall): void | Promise<void>;
  /**
   * Optional: allocate the workspace a plan needs now (MlaDecoder.plan calls it once per step), so that the
   * decodes of the step allocate nothing. A backend without it grows its workspace at the first decode.
   */
  reserve?(plan: DecodePlan): void;
  /**
   * Optional: the name of the decode kernel a problem of this shape runs (benchmarks record it per row); with the
   * step's plan where the choice can depend on it (CUDA: 17-32 rows by the plan's keysPerSplit).
   */
  decodeKernel?(p: MlaProblem, plan?: DecodePlan): string;
  /** Optional: the merge kernel a step of this plan launches (benchmarks record it), undefined where none runs. */
  mergeKernel?(p: MlaProblem, plan: DecodePlan): string | undefined;
  /**
   * Optional: queue an f32 matmul (the MLA layer's projections). Callers check the launch with checkMatmul first;
   * without it, the layer runs its projections with the JS GEMM on the host.
   */
  matmul?(l: MatmulCall): void | Promise<void>;
  /** Optional: the kernels of MlaAttention's device-resident step (src/core/mla/device.ts); CUDA and WebGPU have them. */
  layerOps?(): MlaDeviceOps;
  /** Queue one token-sparse decode (flashMlaSparseWithKvcache); absent where the backend has no sparse kernel. */
  decodeSparse?(launch: SparseCall): void | Promise<void>;
  /**
   * True where decodeSparse plans a step itself on the device when its metadata says so (getSparseMlaMetadata's
   * onDevice: SparseProblem.devicePlan), writing the plan into the metadata's tensors before the decode reads them.
   */
  readonly sparseDevicePlan?: boolean;
  /**
   * Optional: queue a dense decode over an FP8 cache reading the cache by block table; false where this backend
   * cannot (the caller then runs it as a sparse decode with host-built indices).
   */
  decodeDenseFp8?(launch: DenseFp8Call): boolean | Promise<boolean>;
  /** Optional: the kernel decodeDenseFp8 would run for a launch (benchmarks record it), undefined where it would answer false. */
  denseFp8Kernel?(launch: DenseFp8Call): string | undefined;
  /** Optional: the kernel decodeSparse would run for a problem (benchmarks record it; the problem alone decides it). */
  sparseKernel?(problem: SparseProblem): string;
  /** Wait until all queued work is done. */
  synchronize(): Promise<void>;
  /**
   * Optional (WebGPU): run `fn` with the calls it queues recorded and submitted together, each seeing its own
   * arguments (WebGpuBackend.batch says what happens to errors, nesting, reads and dispose inside one).
   */
  batch?<T>(fn: () => T | Promise<T>): Promise<T>;
  /**
   * Device-side time of `run`, in ms, once per repetition after `warmup` untimed ones: CUDA events, WebGPU
   * timestamp queries; the CPU uses the wall clock. Benchmarks take the median. `flushBytes` (TimeOptions):
   * the GPU backends; the CPU ignores it.
   */
  timeMs(run: (rep: number) => void | Promise<void>, opts: TimeOptions): Promise<number[]>;
  /** Free a tensor this backend allocated. */
  free(t: Tensor): void;
  dispose(): void;
}

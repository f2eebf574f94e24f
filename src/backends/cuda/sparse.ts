// Host side of sparse_mma.cu: the tiled sparse decode (FlashMLA's sparse API) and dense page-table decode over an
// FP8 cache. CudaBackendImpl asks this runner first (decodeSparse, decodeDenseFp8); where no variant applies (a GPU
// whose shared memory is too small) it answers false and sparse.cu runs instead. An f16 query over an FP8 cache runs
// sparse_mma.cu with Q split into bf16 hi + lo tiles (32-row tiles at most).
// On sm_90 the runner hands sparse steps to sparse_sm90.cu, dense FP8 steps of at most 32 rows (V3.2) to
// dense_fp8_sm90.cu, and dense FP8 steps of 64 heads and more to sparse_sm90.cu as sparse steps whose lists are every
// key a row sees (denseOnSparse); so too, folded, steps whose sQ queries make a multiple of 64 rows (hQ 32 with sQ 2:
// one query of sQ * hQ heads over the keys all its queries see, then mla_dense_fp8_tail for the rest).
import type { DenseFp8Call } from '../../core/dense-fp8.js';
import type { HalfDType } from '../../core/dtype.js';
import { invalidArgument } from '../../core/errors.js';
import { type SparseCacheKind, type SparseCall, type SparsePrecision, pageBlockDivisors, sparseTokenCounts } from '../../core/sparse.js';
import { type Tensor, fromArray } from '../../core/tensor.js';
import type { Driver } from './driver.js';
import { Workspace } from './workspace.js';
import {
  type SparseMmaGrid, type SparseMmaVariant, chooseSparseMma, sparseBoundKernel, sparseBoundLaunch, sparseMmaAccumElems, sparseMmaCombineLaunch,
  sparseMmaKernelName, sparseMmaLaunch,
} from './kernels/sparse-mma-launch.js';
import {
  type DenseFold, type SparsePartial, denseFoldOnSparseSm90, denseListsKernel, denseListsLaunch, denseOnSparseSm90, denseTailKernelName, denseTailLaunch, sparseSm90Entry,
  sparseSm90Fatbin, sparseSm90Launch, useSparseSm90,
} from './kernels/sparse-sm90-launch.js';
import { planSparseSchedule } from '../../core/sparse-scheduler.js';
import { mostSplits } from '../../core/plan.js';
import { denseFp8Sm90Entry, denseFp8Sm90Fatbin, denseFp8Sm90Launch, denseFp8Sm90Nr, denseFp8Sm90Prefetch, denseFp8Sm90TilesPerPart, denseFp8Sm90W3Tiles, useDenseFp8Sm90 } from './kernels/dense-fp8-sm90-launch.js';
import { compilePacker, sparseMmaParamsLayout } from './params.js';
import type { LaunchShape } from './pdl.js';

/** Whether a step's requests need the split merge, and (numSplits on the host) the most pieces one of them is in. */
export interface SparseMerge { need: boolean; maxPieces?: number }

/** SparseMerge from numSplits [b + 1] on the host (undefined: on the device, so a merge is launched, pieces unknown). */
export function mergeOf(numSplits: Int32Array | undefined, b: number): SparseMerge {
  if (!numSplits) return { need: true };
  return { need: numSplits[b] !== b, maxPieces: mostSplits(numSplits, b) };
}

/**
 * Whether a split step merges by sparse_mma.cu's combineTrip (a warp's pieces loaded together, same bits) rather than
 * combine, unless FLASHMLA_CUDA_SPARSE_COMBINE says: where its most-split request is in more than sparseCombineTripFrom
 * pieces. H200, session 39 call 1: 0.83-0.90x the time at b = 2 (9-18 pieces), but 1.03-1.065x where requests are in 2
 * pieces (b = 74 / 148: its 8 pieces' registers cut the occupancy of a grid whose CTAs mostly exit at once).
 */
export const sparseCombineTripFrom = 4;
export function sparseCombineTripTakes(maxPieces: number | undefined): boolean {
  return maxPieces !== undefined && maxPieces > sparseCombineTripFrom;
}

/** What the runner needs from the backend that owns it. */
export interface SparseMmaHost {
  readonly drv: Driver;
  readonly stream: bigint;
  readonly maxSmem: number;
  /** Load a fatbin of the kernel folder (checked against the manifest). */
  load(file: string): bigint;
  /** sparse_sm90.cu may run: an sm_90 device whose build has sparse_sm90.fatbin, and no other kernel asked for. */
  readonly hopper?: boolean;
  /** dense_fp8_sm90.cu may run: an sm_90 device whose build has dense_fp8_sm90.fatbin, and no other kernel asked for. */
  readonly denseFp8Sm90?: boolean;
  /** dense_fp8_sm90.cu's 16-row threads where the kernel folder's manifest names them (absent: the shipped build's). */
  readonly denseFp8Sm90Threads16?: number;
  /** dense_fp8_sm90.cu's dispatch threshold where the kernel folder's manifest names one (tiles an SM part from which a
      16-row launch takes the n16w3 entry; absent: the shipped build's). */
  readonly denseFp8Sm90W3Tiles?: number | null;
  /** Dense FP8 steps of 64 heads and more may run on sparse_mma.cu's list kernel and sparse_sm90.cu (with `hopper`;
      FLASHMLA_CUDA_DENSE_FP8_SPARSE=0 or FLASHMLA_CUDA_DENSE_FP8=mma keep them on sparse_mma.cu for A/B runs). */
  readonly denseOnSparse?: boolean;
  /** With denseOnSparse: which dense FP8 steps run folded on sparse_sm90.cu (denseFoldOnSparseSm90; absent: none;
      the backend passes FLASHMLA_CUDA_DENSE_FP8_FOLD's choice, 'pair' unless set). */
  readonly denseFold?: DenseFold;
  /** Which sparse steps whose hQ is no multiple of 64 run sparse_sm90.cu (SparsePartial; absent: none; the backend
      passes 'all' unless FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=0). */
  readonly sm90Partial?: SparsePartial;
  /** Dense FP8 steps of any row count on sparse_sm90.cu (folded where sQ > 1), the last head tile part empty
      (the backend passes true unless FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0; absent: whole 64-head tiles only). */
  readonly densePartial?: boolean;
  /** dense_fp8_sm90.cu's L2 prefetch distance in pages (tuning runs; absent: denseFp8Sm90Prefetch, 0: the kernel's own, -1: none). */
  readonly denseFp8Prefetch?: number;
  /** The split merge by sparse_mma.cu's combineTrip (its pieces' loads together; the same bits) instead of combine
      everywhere (true) or nowhere (false) (FLASHMLA_CUDA_SPARSE_COMBINE=trip / old); absent: sparseCombineTripTakes. */
  readonly combineTrip?: boolean;
  /** Steps planned on the device walk the plan at every call, never skipped where the lengths are those planned for
      (FLASHMLA_CUDA_SPARSE_REPLAN=1: measurement of the walk; sparse steps and dense FP8 steps with device lengths). */
  readonly replanAlways?: boolean;
  /** Bytes left free ahead of the accumulators in the staging workspace (FLASHMLA_CUDA_SPARSE_STAGE_PAD, a multiple of
      256: measurement of where the partials land, session 58). */
  readonly stagePad?: number;
  /** Index tensors on the device used as they are, not bounded by mla_sparse_bound first (FLASHMLA_CUDA_SPARSE_BOUND=0:
      for measurement, or indices the caller trusts; an id outside the cache then reads outside it). */
  readonly trustDeviceIndices?: boolean;
  /** sparse_sm90.cu's steps bound device indices by mla_sparse_bound too, as before session 65, not only in the kernel
      (FLASHMLA_CUDA_SPARSE_BOUND=pass: measurement of that route, and the pass a build before session 65 needs). */
  readonly sm90BoundPass?: boolean;
  /** Queue a merge (a kernel that waits: pdl.cuh pdlWait) as a programmatic dependent where the backend's PDL allows it;
      the driver's result code. Absent: plain launches. */
  launchMerge?(l: LaunchShape, argv: bigint): number;
  /** Queue sparse_sm90.cu's kernel (it waits: pdlWait, before any global read) as a programmatic dependent of the
      sparse_mma.cu pass queued just before it (mla_sparse_bound, mla_dense_fp8_lists) where the backend's PDL allows
      it; the driver's result code. Absent: plain launches. */
  launchDependent?(l: LaunchShape, argv: bigint): number;
  /** Whether the backend's stream is being captured into a graph: host tensors are then refused (stage), as the dense
      path's staging does (a copy is no graph node to replay, and a skipped one would tie the graph to the workspace's
      bytes of that moment). Absent: never. */
  capturing?(): boolean;
  /** A kernel of a module, with its dynamic shared memory limit raised to smem (cached by name). */
  fn(module: bigint, name: string, smem: number): bigint;
  /** The device address of a tensor of this backend. */
  ptrOf(t: Tensor): bigint;
}

const pack = compilePacker(sparseMmaParamsLayout);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if ((a.byteOffset | b.byteOffset | a.length) % 4 === 0) {
    const x = new Int32Array(a.buffer, a.byteOffset, a.length / 4), y = new Int32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A loaded kernel: its module, its entry, and the query dtype (which picks the split combine). */
interface SparseKernel {
  module: bigint;
  name: string;
  dtype: HalfDType;
}

export class SparseMmaRunner {
  private module?: bigint;
  private sm90Module?: bigint;
  private denseSm90Module?: bigint;
  private params?: { ptr: bigint; view: DataView; argv: bigint };
  /** Staged host index tensors, then the split accumulators; grows by half at least. */
  private ws: Workspace;
  /** The workspace allocation (Workspace.epoch) and the offsets the bytes in lastBytes were copied to. */
  private lastEpoch = -1;
  private lastOffsets: number[] = [];
  private lastBytes: (Uint8Array | undefined)[] = [];

  /**
   * Dense FP8 steps planned on the device (denseOnSparse without host lengths): the plan and its record live here, not
   * in `ws`, so that a step's later layers (the same lengths) find the plan their first layer made and skip the walk.
   * `planEpoch`: the allocation whose record was cleared (a new one starts "not planned").
   */
  private planWs: Workspace;
  private planEpoch = -1;

  constructor(private readonly h: SparseMmaHost) { this.ws = this.newWorkspace(); this.planWs = this.newWorkspace(); }

  private newWorkspace(): Workspace {
    return new Workspace(this.h.drv, this.h.stream, 1.5, () => this.h.capturing?.() ?? false);
  }

  /** Keep the workspace's current allocation until the release runs (a captured graph reads it: Workspace.hold). */
  holdWorkspace(): () => void {
    const a = this.ws.hold(), b = this.planWs.hold();
    return () => { a(); b(); };
  }

  /** A graph replay may have written its accumulators over the staged host bytes: the next call copies them again. */
  forgetStaged(): void {
    this.lastEpoch = -1;
  }

  /** The variant a sparse launch gets, or undefined (sparse.cu then). */
  variantForSparse(l: Pick<SparseCall, 'problem'>): SparseMmaVariant | undefined {
    const p = l.problem;
    return chooseSparseMma(p.cache.kind, p.dtype, p.dQk, p.hQ, this.h.maxSmem);
  }

  /** The kernel a dense FP8 launch gets here: dense_fp8_sm90.cu, a sparse_mma.cu variant, or undefined. */
  kernelForDense(l: DenseFp8Call): string | undefined {
    if (useDenseFp8Sm90(l, this.h.denseFp8Sm90 ?? false, this.h.maxSmem)) return this.denseSm90Entry(l).name;
    if (this.denseFoldTakes(l)) return `${sparseSm90Entry(l.format, l.sQ * l.hQ, 'exact').name}+${denseTailKernelName(l.format)}`;
    if (this.denseOnSparseTakes(l)) return sparseSm90Entry(l.format, l.hQ, 'exact').name;
    const v = chooseSparseMma(l.format, l.dtype, l.dQk, l.sQ * l.hQ, this.h.maxSmem);
    return v && sparseMmaKernelName(v);
  }

  /** The kernel a sparse launch gets here: sparse_sm90.cu, a sparse_mma.cu variant, or undefined (sparse.cu). */
  kernelForSparse(l: Pick<SparseCall, 'problem'>): string | undefined {
    if (this.sm90Takes(l)) return sparseSm90Entry(l.problem.cache.kind, l.problem.hQ, l.problem.precision).name;
    const v = this.variantForSparse(l);
    return v && sparseMmaKernelName(v);
  }

  private sm90Takes(l: Pick<SparseCall, 'problem'>): boolean {
    const p = l.problem;
    return useSparseSm90({ kind: p.cache.kind, dtype: p.dtype, dQk: p.dQk, hQ: p.hQ }, this.h.hopper ?? false, this.h.maxSmem, this.h.sm90Partial ?? 'off');
  }

  /** Queue a sparse decode on sparse_sm90.cu or sparse_mma.cu; false (nothing queued) where neither applies. */
  sparse(l: SparseCall): boolean {
    const sm90 = this.sm90Takes(l);
    const v = this.variantForSparse(l);
    if (!v && !sm90) return false;
    const p = l.problem;
    const r = this.stageSparse(l, true, sm90 && !this.h.sm90BoundPass);
    const q = this.h.ptrOf(l.q), out = this.h.ptrOf(l.out), k = this.h.ptrOf(l.kCache), x = l.extraKCache ? this.h.ptrOf(l.extraKCache) : 0n;
    this.launch(this.kernel(sm90 ? undefined : v, p.dtype, p.cache.kind, p.hQ, p.precision), {
      q, kCache: k, extraKCache: x, ...r.values, out, lse: this.h.ptrOf(l.lse), b: p.b, sQ: p.sQ, hQ: p.hQ, topk: p.topk, extraTopk: p.extraTopk,
      pageBlockSize: p.cache.pageBlockSize, extraPageBlockSize: p.extraCache?.pageBlockSize ?? 1,
      blockStride: p.cache.blockStride, extraBlockStride: p.extraCache?.blockStride ?? 0, maxBlocksPerSeq: 0, dense: 0, causal: 0,
      scaleLog2: p.softmaxScale * Math.LOG2E, ...sparseTokenCounts(p), ...pageBlockDivisors(p),
    }, sm90 ? sparseSm90Launch(p.numSmParts, p.sQ, p.hQ, p.cache.kind) : sparseMmaLaunch(v!, p.numSmParts, p.sQ, p.hQ, false), p.b, p.sQ, p.hQ,
    r.merge, r.before);
    return true;
  }

  /**
   * Only the device plan of a sparse step (problem.devicePlan) whose decode runs elsewhere (sparse.cu, which reads no
   * plan): mla_sparse_bound writes it into the metadata's tensors, as it does before sparse_mma.cu's and sparse_sm90.cu's
   * decodes, so the metadata holds the step's plan after either.
   */
  planOnly(l: SparseCall): void {
    const r = this.stageSparse(l, false);
    if (!r.before.length) return;
    const p = l.problem;
    this.params ??= this.h.drv.pinnedParams(sparseMmaParamsLayout.size);
    this.launchAfter(r.before[0].name, r.before[0].g, {
      ...r.values, b: p.b, sQ: p.sQ, hQ: p.hQ, topk: p.topk, extraTopk: p.extraTopk, ...sparseTokenCounts(p),
    });
  }

  /**
   * A sparse step's index words on the device. Index and length tensors on the device are not read back:
   * mla_sparse_bound first copies them into the workspace, every id outside its cache as -1 and every length clamped to
   * 0..topk (host ones were checked by validateSparseDecode and are staged as they are). A step planned on the device
   * (problem.devicePlan) has the same pass write its plan into the metadata's tensors from those lengths (by one CTA;
   * skipped where the metadata's planState records the plan of the same blocks); its merge is then launched
   * without knowing the pieces. `decode` false: only what the plan pass reads (no accumulators, no copies
   * of the indices). `inKernel`: the decode is sparse_sm90.cu's, which bounds every id itself (idLive: one compare where
   * it tested the id for -1) and clamps the lengths to topk (itemOf; a negative length lists nothing), so the pass copies
   * nothing and runs only to plan a step planned on the device.
   */
  private stageSparse(l: SparseCall, decode = true, inKernel = false): {
    values: Record<string, bigint | number>; merge: SparseMerge; before: { name: string; g: SparseMmaGrid }[];
  } {
    const p = l.problem, b = p.b;
    const onDevice = (t: Tensor | undefined) => t !== undefined && t.device !== 'cpu' && !this.h.trustDeviceIndices && !inKernel;
    const n = decode && onDevice(l.indices) ? b * p.sQ * p.topk : 0, nx = decode && onDevice(l.extraIndices) ? b * p.sQ * p.extraTopk : 0;
    const nl = decode && onDevice(l.topkLength) ? b : 0, nxl = decode && onDevice(l.extraTopkLength) ? b : 0;
    const up = (e: number) => Math.ceil(e / 64) * 64; // (256-byte aligned regions)
    const at = { x: up(n), l: up(n) + up(nx), xl: up(n) + up(nx) + up(nl) };
    const plan = p.devicePlan;
    const dev = this.stage([decode ? l.indices : undefined, decode ? l.extraIndices : undefined, l.topkLength, l.extraTopkLength, decode ? l.attnSink : undefined,
      plan ? undefined : l.tileSchedulerMetadata, plan ? undefined : l.numSplits],
    decode ? sparseMmaAccumElems(b, p.numSmParts, p.sQ, p.hQ) : { o: 0, lse: 0 }, at.xl + nxl);
    const word = (i32: number) => dev.extra + BigInt(i32 * 4);
    const values = {
      indices: n ? dev.extra : dev[0], extraIndices: nx ? word(at.x) : dev[1],
      topkLength: nl ? word(at.l) : dev[2], extraTopkLength: nxl ? word(at.xl) : dev[3], attnSink: dev[4],
      rawIndices: n ? dev[0] : 0n, rawExtraIndices: nx ? dev[1] : 0n, rawTopkLength: nl || plan ? dev[2] : 0n, rawExtraTopkLength: nxl || plan ? dev[3] : 0n,
      blockTable: 0n, cacheSeqlens: 0n, oAccum: dev.oAccum, lseAccum: dev.lseAccum,
      tileSchedulerMetadata: plan ? this.h.ptrOf(l.tileSchedulerMetadata) : dev[5], numSplits: plan ? this.h.ptrOf(l.numSplits) : dev[6],
      planParts: plan ? p.numSmParts : 0, planState: plan && l.planState && !this.h.replanAlways ? this.h.ptrOf(l.planState) : 0n,
    };
    const ids = n + nx + nl + nxl;
    return {
      values, merge: mergeOf(plan ? undefined : l.host?.numSplits, b),
      before: ids || plan ? [{ name: sparseBoundKernel(plan ? p.numSmParts : 0, b), g: sparseBoundLaunch(ids, plan ? p.numSmParts : 0) }] : [],
    };
  }

  /** Whether a dense FP8 step runs on sparse_sm90.cu (denseOnSparseSm90's rule). */
  private denseOnSparseTakes(l: DenseFp8Call): boolean {
    return denseOnSparseSm90({ kind: l.format, dtype: l.dtype, dQk: l.dQk, hQ: l.hQ }, this.h.hopper ?? false, this.h.maxSmem, this.h.denseOnSparse ?? false,
      useDenseFp8Sm90(l, this.h.denseFp8Sm90 ?? false, this.h.maxSmem), this.h.densePartial ?? false);
  }

  /** Whether a dense FP8 step runs folded on sparse_sm90.cu (denseFoldOnSparseSm90's rule). */
  private denseFoldTakes(l: DenseFp8Call): boolean {
    return denseFoldOnSparseSm90({ kind: l.format, dtype: l.dtype, dQk: l.dQk, hQ: l.hQ, sQ: l.sQ }, this.h.hopper ?? false, this.h.maxSmem,
      this.h.denseOnSparse ? this.h.denseFold ?? false : false, this.h.densePartial ?? false, useDenseFp8Sm90(l, this.h.denseFp8Sm90 ?? false, this.h.maxSmem));
  }

  /**
   * A dense FP8 step on sparse_sm90.cu, as a sparse step whose list for a row is every key it sees: sparse_mma.cu's
   * mla_dense_fp8_lists writes the lists ([b, sQ, topk] in the workspace, -1 past a row's keys; topkLength =
   * cacheSeqlens), then the sparse kernel runs with P as hi + lo (precision 'exact': the dense FP8 kernels keep P to 2^-11
   * or better) and the combine merges split requests. The sparse scheduler plans the lists over the dense plan's SM parts:
   * on the host where the lengths are (topk = the longest; the combine only where a request is split), else on the device
   * (by CTA 0 of the same launch, into planWs with a record of the blocks it planned for, so that later layers with the
   * same lengths skip the walk; topk = the block table's width, the combine always), so that a step whose tensors all
   * live on the device copies nothing from the host. The dense metadata was checked against host lengths by
   * the caller; it is not read here.
   *
   * `fold` (denseFoldTakes): the step's sQ queries of hQ heads run as one query of sQ * hQ heads (the same q and out
   * rows), so one list a request holds the keys every query sees (listShift = sQ - 1 where causal) and the sparse kernel
   * writes their lse to the workspace ([b, sQ * hQ]); mla_dense_fp8_tail then adds each query's own last keys to its rows
   * and writes lse in the step's [b, hQ, sQ].
   */
  private denseOnSparse(l: DenseFp8Call, fold = false): boolean {
    const sQ = fold ? 1 : l.sQ, hQ = fold ? l.sQ * l.hQ : l.hQ, rows = l.b * l.sQ * l.hQ;
    const acc = sparseMmaAccumElems(l.b, l.numSmParts, sQ, hQ);
    const seqlens = l.cacheSeqlens.device === 'cpu' ? (l.cacheSeqlens.host() as Int32Array) : undefined;
    let topk = 1, dev: ReturnType<SparseMmaRunner['stage']>, meta: bigint, ns: bigint, indices: bigint, merge: SparseMerge = { need: true }, planParts = 0;
    let lseFold = 0n, planState = 0n;
    if (seqlens) {
      for (let i = 0; i < l.b; i++) topk = Math.max(topk, seqlens[i]);
      const plan = planSparseSchedule({ b: l.b, topk, topkLength: seqlens, extraTopk: 0 }, l.numSmParts);
      const lists = Math.ceil((l.b * sQ * topk) / 64) * 64;
      dev = this.stage([l.blockTable, l.cacheSeqlens, fromArray('i32', [l.numSmParts, 8], plan.tileSchedulerMetadata), fromArray('i32', [l.b + 1], plan.numSplits)],
        acc, lists + (fold ? rows : 0));
      [meta, ns, indices, merge] = [dev[2], dev[3], dev.extra, mergeOf(plan.numSplits, l.b)];
      lseFold = dev.extra + BigInt(lists * 4);
    } else {
      topk = Math.max(1, l.maxBlocksPerSeq * l.pageBlockSize);
      // the plan in planWs: its record ([4 + b], planStep), the rows, numSplits (each region 256-byte aligned)
      const stateI32 = Math.ceil((4 + l.b) / 64) * 64, metaI32 = Math.ceil((l.numSmParts * 8) / 64) * 64, nsI32 = Math.ceil((l.b + 1) / 64) * 64;
      const lists = Math.ceil((l.b * sQ * topk) / 64) * 64;
      dev = this.stage([l.blockTable, l.cacheSeqlens], acc, lists + (fold ? rows : 0));
      this.planWs.ensure((stateI32 + metaI32 + nsI32) * 4);
      const base = this.planWs.ptr;
      if (this.planEpoch !== this.planWs.epoch) { this.h.drv.memsetD32(base, 0, 4, this.h.stream); this.planEpoch = this.planWs.epoch; }
      [meta, ns, indices] = [base + BigInt(stateI32 * 4), base + BigInt((stateI32 + metaI32) * 4), dev.extra];
      planState = this.h.replanAlways ? 0n : base;
      lseFold = dev.extra + BigInt(lists * 4);
      planParts = l.numSmParts;
    }
    const values = {
      q: this.h.ptrOf(l.q), kCache: this.h.ptrOf(l.kCache), extraKCache: 0n, indices, extraIndices: 0n, topkLength: dev[1], extraTopkLength: 0n,
      attnSink: 0n, blockTable: dev[0], cacheSeqlens: dev[1], tileSchedulerMetadata: meta, numSplits: ns,
      out: this.h.ptrOf(l.out), lse: fold ? lseFold : this.h.ptrOf(l.lse), oAccum: dev.oAccum, lseAccum: dev.lseAccum,
      b: l.b, sQ, hQ, topk, extraTopk: 0, pageBlockSize: l.pageBlockSize, extraPageBlockSize: 1, blockStride: l.blockStride,
      extraBlockStride: 0, maxBlocksPerSeq: l.maxBlocksPerSeq, dense: 0, causal: l.causal ? 1 : 0, scaleLog2: l.softmaxScale * Math.LOG2E,
      listShift: fold && l.causal ? l.sQ - 1 : 0, planParts, planState,
      ...sparseTokenCounts({ cache: l }), // (idLive: a key of a stray device block-table entry counts as -1)
      ...pageBlockDivisors({ cache: l }),
    };
    this.launch(this.kernel(undefined, l.dtype, l.format, hQ, 'exact'), values, sparseSm90Launch(l.numSmParts, sQ, hQ, l.format), l.b, sQ, hQ, merge,
      [{ name: denseListsKernel(planParts, l.b), g: denseListsLaunch(l.b, sQ, topk, planParts) }]);
    if (fold) { // the step's own queries: their last keys, and lse in [b, hQ, sQ] (the folded lse is the tail's lseAccum)
      this.launchAfter(denseTailKernelName(l.format), denseTailLaunch(l.b, l.sQ, l.hQ),
        { ...values, sQ: l.sQ, hQ: l.hQ, lse: this.h.ptrOf(l.lse), lseAccum: lseFold, listShift: 0 });
    }
    return true;
  }

  /** Queue a dense decode over an FP8 cache by block table; false where no variant applies. */
  dense(l: DenseFp8Call): boolean {
    if (this.denseFoldTakes(l)) return this.denseOnSparse(l, true);
    if (this.denseOnSparseTakes(l)) return this.denseOnSparse(l);
    const sm90 = useDenseFp8Sm90(l, this.h.denseFp8Sm90 ?? false, this.h.maxSmem);
    const v = chooseSparseMma(l.format, l.dtype, l.dQk, l.sQ * l.hQ, this.h.maxSmem);
    if (!v && !sm90) return false;
    const dev = this.stage([l.blockTable, l.cacheSeqlens, l.tileSchedulerMetadata, l.numSplits], sparseMmaAccumElems(l.b, l.numSmParts, l.sQ, l.hQ));
    const ns = l.numSplits.device === 'cpu' ? (l.numSplits.host() as Int32Array) : undefined;
    const e = sm90 ? this.denseSm90Entry(l) : undefined; // (the mma.sync path needs none of it)
    const k: SparseKernel = e
      ? { module: (this.denseSm90Module ??= this.h.load(denseFp8Sm90Fatbin)), name: e.name, dtype: l.dtype }
      : this.kernel(v, v!.dtype);
    this.launch(k, {
      q: this.h.ptrOf(l.q), kCache: this.h.ptrOf(l.kCache), extraKCache: 0n, indices: 0n, extraIndices: 0n, topkLength: 0n, extraTopkLength: 0n,
      attnSink: 0n, blockTable: dev[0], cacheSeqlens: dev[1], tileSchedulerMetadata: dev[2], numSplits: dev[3],
      out: this.h.ptrOf(l.out), lse: this.h.ptrOf(l.lse), oAccum: dev.oAccum, lseAccum: dev.lseAccum,
      b: l.b, sQ: l.sQ, hQ: l.hQ, topk: 0, extraTopk: sm90 ? this.h.denseFp8Prefetch ?? denseFp8Sm90Prefetch : 0, pageBlockSize: l.pageBlockSize, extraPageBlockSize: 1, blockStride: l.blockStride,
      extraBlockStride: 0, maxBlocksPerSeq: l.maxBlocksPerSeq, dense: 1, causal: l.causal ? 1 : 0, scaleLog2: l.softmaxScale * Math.LOG2E,
    }, e ? denseFp8Sm90Launch(l.numSmParts, e.nr, e.threads16) : sparseMmaLaunch(v!, l.numSmParts, l.sQ, l.hQ, true), l.b, l.sQ, l.hQ, mergeOf(ns, l.b));
    return true;
  }

  /** dense_fp8_sm90.cu's entry for a call (and its 16-row threads): n16w3 at 16 rows where the kernel folder names a
      dispatch threshold and the call carries at least that many tiles an SM part, else the entry for its rows. */
  private denseSm90Entry(l: DenseFp8Call): { name: string; threads16: number; nr: 16 | 32 } {
    const nr = denseFp8Sm90Nr(l.sQ * l.hQ) ?? 16;
    const seqlens = l.cacheSeqlens.device === 'cpu' ? (l.cacheSeqlens.host() as Int32Array) : undefined;
    // the manifest's threshold (null: a build without the n16w3 entry), else (absent) the shipped build's
    const w3 = this.h.denseFp8Sm90W3Tiles === undefined ? denseFp8Sm90W3Tiles : this.h.denseFp8Sm90W3Tiles ?? undefined;
    const tiles = nr === 16 && w3 !== undefined ? denseFp8Sm90TilesPerPart(l.b, l.numSmParts, l.maxBlocksPerSeq, seqlens) : 0;
    return { ...denseFp8Sm90Entry(nr, tiles, w3, this.h.denseFp8Sm90Threads16), nr };
  }

  /**
   * The kernel a launch runs: a sparse_mma.cu variant, or (no variant) sparse_sm90.cu's entry for the cache format,
   * which takes the same parameters; dtype picks the combine of either one's split partials (sparse_mma.cu's).
   */
  private kernel(v: SparseMmaVariant | undefined, dtype: HalfDType, kind: SparseCacheKind = 'v32', hQ = 64, precision: SparsePrecision = 'fast'): SparseKernel {
    if (!v) return { module: (this.sm90Module ??= this.h.load(sparseSm90Fatbin)), name: sparseSm90Entry(kind, hQ, precision).name, dtype };
    return { module: (this.module ??= this.h.load('sparse_mma.fatbin')), name: sparseMmaKernelName(v), dtype };
  }

  /** Launch k (and first, in order and with the same parameters, sparse_mma.cu's kernels `before`), then the combine where needed. */
  private launch(k: SparseKernel, values: Record<string, bigint | number>, g: SparseMmaGrid, b: number, sQ: number, hQ: number, merge: SparseMerge,
    before: readonly { name: string; g: SparseMmaGrid }[] = []): void {
    const h = this.h;
    this.params ??= h.drv.pinnedParams(sparseMmaParamsLayout.size);
    if ((BigInt(values.q) | BigInt(values.kCache) | BigInt(values.extraKCache) | BigInt(values.out)) & 15n) {
      throw invalidArgument('q/kCache/out', 'device addresses aligned to 16 bytes (sparse_mma.cu copies 16-byte vectors)', 'an unaligned view');
    }
    pack(this.params.view, values);
    for (const x of before) this.queue((this.module ??= h.load('sparse_mma.fatbin')), x.name, x.g);
    if (before.length && k.module === this.sm90Module && h.launchDependent) {
      // (session 55: its launch and prologue overlap the pass, which is 3-4 us of a short call on an H100 otherwise)
      const rc = h.launchDependent({ fn: h.fn(k.module, k.name, g.smem), gx: g.grid[0], gy: g.grid[1], gz: g.grid[2], threads: g.block[0], smem: g.smem },
        this.params.argv);
      if (rc !== 0) h.drv.check(rc, `cuLaunchKernelEx(${k.name})`);
    } else this.queue(k.module, k.name, g);
    if (!merge.need) return;
    this.module ??= h.load('sparse_mma.fatbin');
    const trip = h.combineTrip ?? sparseCombineTripTakes(merge.maxPieces);
    const c = sparseMmaCombineLaunch(b, sQ, hQ), cname = `mla_sparse_mma_combine_${trip ? 'trip_' : ''}${k.dtype}`, fn = h.fn(this.module, cname, 0);
    const rc = trip && h.launchMerge
      ? h.launchMerge({ fn, gx: c.grid[0], gy: c.grid[1], gz: c.grid[2], threads: c.block[0], smem: 0 }, this.params.argv)
      : h.drv.api.cuLaunchKernel(fn, c.grid[0], c.grid[1], c.grid[2], c.block[0], 1, 1, 0, h.stream, this.params.argv, null);
    if (rc !== 0) h.drv.check(rc, `cuLaunchKernel(${cname})`);
  }

  /** Launch sparse_mma.cu's kernel `name` with these parameters (the block is copied at the launch), after what is queued. */
  private launchAfter(name: string, g: SparseMmaGrid, values: Record<string, bigint | number>): void {
    pack(this.params!.view, values);
    this.queue((this.module ??= this.h.load('sparse_mma.fatbin')), name, g);
  }

  /** cuLaunchKernel of `name` in `module` on the stream with the packed parameter block; a failure throws. */
  private queue(module: bigint, name: string, g: SparseMmaGrid): void {
    const h = this.h;
    const rc = h.drv.api.cuLaunchKernel(h.fn(module, name, g.smem), g.grid[0], g.grid[1], g.grid[2], g.block[0], 1, 1, g.smem, h.stream, this.params!.argv, null);
    if (rc !== 0) h.drv.check(rc, `cuLaunchKernel(${name})`);
  }

  /**
   * Device addresses of the given tensors (host ones are copied to the front of a grow-only workspace, device ones
   * used where they are; absent ones are 0), of the f32 accumulators behind them and of `extraI32` more i32 elements
   * after those (`extra`, 0 when none are asked for).
   */
  private stage(ts: readonly (Tensor | undefined)[], acc: { o: number; lse: number }, extraI32 = 0): bigint[] & { oAccum: bigint; lseAccum: bigint; extra: bigint } {
    const h = this.h;
    if (h.capturing?.() && ts.some((t) => t?.device === 'cpu')) {
      throw invalidArgument('index tensors', 'device tensors while capturing a graph (sparse decode: the index, length and sink tensors on the device, and metadata from getSparseMlaMetadata({ onDevice: true }))', 'host tensors');
    }
    const offsets: number[] = [];
    let bytes = 0;
    for (const t of ts) {
      offsets.push(bytes);
      if (t && t.device === 'cpu') bytes += Math.ceil(t.byteLength / 256) * 256;
    }
    const lseAt = bytes + (h.stagePad ?? 0), oAt = lseAt + Math.ceil((acc.lse * 4) / 256) * 256, extraAt = oAt + Math.ceil((acc.o * 4) / 256) * 256, total = extraAt + extraI32 * 4;
    this.ws.ensure(total); // (after a sync when it grows: a queued launch may still read the old one)
    // A step's layers pass the same index tensors: bytes already at the same place of this workspace allocation are not
    // copied again (compared on the host for tensors up to 256 KiB; larger ones are always copied). The allocation, not
    // its address: a grown workspace may come back where the old one was (Workspace.epoch).
    const fresh = this.lastEpoch !== this.ws.epoch || this.lastOffsets.length !== offsets.length || this.lastOffsets.some((o, k) => o !== offsets[k]);
    if (fresh) { this.lastEpoch = this.ws.epoch; this.lastOffsets = offsets; this.lastBytes = []; }
    const out = ts.map((t, k) => {
      if (!t) { this.lastBytes[k] = undefined; return 0n; }
      if (t.device !== 'cpu') return h.ptrOf(t);
      const dst = this.ws.ptr + BigInt(offsets[k]);
      const src = t.host() as ArrayBufferView;
      const bytes = new Uint8Array(src.buffer, src.byteOffset, t.byteLength);
      const prev = this.lastBytes[k];
      if (prev && prev.length === bytes.length && sameBytes(prev, bytes)) return dst;
      h.drv.copyHtoD(dst, src, t.byteLength, h.stream);
      this.lastBytes[k] = bytes.length <= 256 * 1024 ? bytes.slice() : undefined;
      return dst;
    }) as bigint[] & { oAccum: bigint; lseAccum: bigint; extra: bigint };
    out.lseAccum = this.ws.ptr + BigInt(lseAt);
    out.oAccum = this.ws.ptr + BigInt(oAt);
    out.extra = extraI32 > 0 ? this.ws.ptr + BigInt(extraAt) : 0n;
    return out;
  }

  /** Free what the runner holds (each step through `attempt`, which swallows the errors of a faulted context). */
  dispose(attempt: (f: () => void) => void): void {
    const sp = this.params;
    this.ws.dispose(attempt);
    this.planWs.dispose(attempt);
    this.planWs = this.newWorkspace();
    this.planEpoch = -1;
    if (sp) { attempt(() => this.h.drv.koffi.free(sp.ptr)); attempt(() => this.h.drv.koffi.free(sp.argv)); }
    this.ws = this.newWorkspace();
    this.lastEpoch = -1;
    this.params = undefined;
    this.lastBytes = [];
  }
}

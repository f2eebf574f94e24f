// Launch math of sparse_sm90.cu (token-sparse decode over FlashMLA's V3.2 and MODEL1 FP8 caches with wgmma, sm_90a
// only): which problems it takes, its entries, grid and shared memory. It shares SparseMmaParams, the sparse scheduler and the
// split combine (mla_sparse_mma_combine_*) with sparse_mma.cu; see docs/notes/cuda-sparse-decode.md.
import type { HalfDType } from '../../../core/dtype.js';
import type { SparseCacheKind, SparsePrecision } from '../../../core/sparse.js';
import { type SparseMmaGrid, planEntrySuffix } from './sparse-mma-launch.js';

/** The V3.2 entry. */
export const sparseSm90KernelName = 'mla_sparse_sm90_v32_bf16';
/** The MODEL1 entry (same parameters and grid; less shared memory). */
export const sparseSm90Model1KernelName = 'mla_sparse_sm90_model1_bf16';
export const sparseSm90Fatbin = 'sparse_sm90.fatbin';
/** Heads a CTA (the wgmma M dimension). */
export const sparseSm90Rows = 64;
/** Dynamic shared memory of the V3.2 entry (sparse_sm90.cu ssp::Fmt<false>::SMEM, asserted there): Q and two key
    tiles of nine 64 x 64 bf16 boxes, the P box, alignment slack. */
export const sparseSm90Smem = 9 * 8192 * 3 + 8192 + 1024;
/** The MODEL1 entry's (ssp::Fmt<true>::SMEM): eight boxes each, P hi and P lo boxes (V takes the RoPE box too). */
export const sparseSm90Model1Smem = 8 * 8192 * 3 + 2 * 8192 + 1024;

/** The pair entries' suffix: h_q a multiple of 128, the two head tiles of a (part, query) as one 2-CTA cluster that
    shares each tile's dequantization (the build mode decides; with the bit clear they are the one-CTA kernel). */
export const sparseSm90PairSuffix = '_c2';

/** The suffix of the entries that pass P as one bf16 (precision 'fast', FlashMLA's rounding); without it P is hi + lo. */
export const sparseSm90SinglePSuffix = '_sp';

/** The entry of a cache format (only V3.2 and MODEL1 have one); h_q a multiple of 128 takes the pair entry; precision
    'fast' the single-P twin. */
export function sparseSm90Entry(kind: SparseCacheKind, hQ = 64, precision: SparsePrecision = 'fast'): { name: string; smem: number } {
  const e = kind === 'model1' ? { name: sparseSm90Model1KernelName, smem: sparseSm90Model1Smem } : { name: sparseSm90KernelName, smem: sparseSm90Smem };
  const name = e.name + (hQ % (2 * sparseSm90Rows) === 0 ? sparseSm90PairSuffix : '') + (precision === 'fast' ? sparseSm90SinglePSuffix : '');
  return { ...e, name };
}

/** What decides whether sparse_sm90.cu takes a sparse launch. */
export interface SparseSm90Shape {
  kind: SparseCacheKind;
  dtype: HalfDType;
  dQk: number;
  hQ: number;
}

/**
 * The rule: an sm_90 device with the kernel built (`hopper`), a V3.2 FP8 cache with 576-dim bf16 queries or a MODEL1
 * FP8 cache with 512-dim bf16 queries, and hQ a multiple of 64 (the kernel's head tile); everything else stays on
 * sparse_mma.cu; with `partial` 'all' (SparsePartial, the backend's default) any other head count too.
 */
export function useSparseSm90(s: SparseSm90Shape, hopper: boolean, maxSmem: number, partial: SparsePartial = 'off'): boolean {
  const format = (s.kind === 'v32' && s.dQk === 576) || (s.kind === 'model1' && s.dQk === 512);
  const heads = s.hQ % sparseSm90Rows === 0 || partial === 'all';
  return hopper && format && s.dtype === 'bf16' && s.hQ >= 1 && heads && sparseSm90Entry(s.kind).smem <= maxSmem;
}

/**
 * Whether sparse steps whose hQ is no multiple of 64 run sparse_sm90.cu, the last head tile part empty (the kernel
 * zero-fills the rows past hQ and stores none of them): 'all' (the backend's default) or 'off' (sparse_mma.cu, mma.sync;
 * FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=0). Measured against sparse_mma.cu on FlashMLA's 12 shapes at b = 128: 16 or 32
 * heads (DeepSeek-V3.2 on 8- or 4-way tensor parallelism) in 0.51-0.67x its time (H200, session 50), 96 heads in
 * 0.38-0.42x (H100, session 51).
 */
export type SparsePartial = 'off' | 'all';
export function sparsePartialFromEnv(v: string | undefined): SparsePartial {
  return v === '0' ? 'off' : 'all';
}

/** Grid (numSmParts, sQ, hQ / 64), 384 threads (two consumer warpgroups and a producer warpgroup); the shared memory of
    the format's entry (V3.2 unless kind says otherwise). */
export function sparseSm90Launch(numSmParts: number, sQ: number, hQ: number, kind: SparseCacheKind = 'v32'): SparseMmaGrid {
  return { grid: [numSmParts, sQ, Math.ceil(hQ / sparseSm90Rows)], block: [384, 1, 1], smem: sparseSm90Entry(kind, hQ).smem };
}

/** Which dense FP8 steps fold (denseFoldOnSparseSm90): none, those whose hQ is no multiple of 64 ('rows'), those and
    the ones the fold moves onto the pair entry ('pair', the default), or every step with sQ > 1 ('all', measurement). */
export type DenseFold = false | 'rows' | 'pair' | 'all';
/** DenseFold from FLASHMLA_CUDA_DENSE_FP8_FOLD: 0 none, rows, all, else (unset) 'pair'. */
export function denseFoldFromEnv(v: string | undefined): DenseFold {
  return v === '0' ? false : v === 'rows' || v === 'all' ? v : 'pair';
}

/**
 * Whether a dense FP8 step runs folded on sparse_sm90.cu: its sQ > 1 queries of hQ heads as one query of sQ * hQ heads
 * (the q / out rows' order is the same), sQ * hQ a multiple of 64; the lists then hold the keys every query sees and
 * sparse_mma.cu's mla_dense_fp8_tail adds each query's own last keys (causal: at most sQ - 1) and writes lse in the
 * step's order. 'rows': where hQ alone is no multiple of 64 (hQ 32 with sQ 2, 16 with 4, ...), steps that otherwise run
 * sparse_mma.cu (mma.sync). 'pair' adds steps whose hQ is a multiple of 64 but not of 128 and sQ * hQ one of 128 (hQ 64
 * with sQ 2): unfolded each query's CTA runs the single entry and dequantizes every key tile again, folded the pair
 * entry's two CTAs share the tiles (H100, session 50: 0.90x the time at hQ 64 sQ 2; level at 64 x 3 and 128 x 2,
 * which 'pair' leaves as they are). `fold`: that rule, with denseOnSparse allowed (FLASHMLA_CUDA_DENSE_FP8_FOLD=0 /
 * rows / all). `partial` (the backend's default; FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0 turns it off): sQ * hQ need not be a
 * multiple of 64 (the last head tile part empty, as SparsePartial), so hQ 16 with sQ 3 folds to 48 rows; `denseSm90`:
 * dense_fp8_sm90.cu takes the step (it keeps it).
 */
export function denseFoldOnSparseSm90(s: SparseSm90Shape & { sQ: number }, hopper: boolean, maxSmem: number, fold: DenseFold, partial = false, denseSm90 = false): boolean {
  if (fold === false || denseSm90 || s.sQ < 2 || (!partial && (s.sQ * s.hQ) % sparseSm90Rows !== 0)) return false;
  const take = fold === 'all' || s.hQ % sparseSm90Rows !== 0 || (fold === 'pair' && s.hQ % (2 * sparseSm90Rows) !== 0 && (s.sQ * s.hQ) % (2 * sparseSm90Rows) === 0);
  return take && useSparseSm90({ ...s, hQ: s.sQ * s.hQ }, hopper, maxSmem, partial ? 'all' : 'off');
}

/** sparse_mma.cu's kernel that ends a folded dense step (denseFoldOnSparseSm90), for the cache's format. */
export function denseTailKernelName(kind: 'v32' | 'model1'): string {
  return `mla_dense_fp8_tail_${kind}`;
}

/** Grid of mla_dense_fp8_tail: a warp a row of the step (b * sQ * hQ rows), 4 warps a CTA. */
export function denseTailLaunch(b: number, sQ: number, hQ: number): SparseMmaGrid {
  return { grid: [Math.ceil((b * sQ * hQ) / 4), 1, 1], block: [128, 1, 1], smem: 0 };
}

/** sparse_mma.cu's kernel that writes the sparse lists of a dense step (dense decode over an FP8 cache on this kernel),
    and where the lengths are only on the device the step's plan (the sparse scheduler on the device). */
export const denseListsKernelName = 'mla_dense_fp8_lists';
/** Its entry for a step of b requests planned over planParts SM parts (0: planned on the host; planEntrySuffix). */
export function denseListsKernel(planParts: number, b: number): string {
  return denseListsKernelName + planEntrySuffix(planParts, b);
}

/** List entries a CTA of mla_dense_fp8_lists writes (sparse_mma.cu kListChunk). */
export const denseListChunk = 2048;

/** Grid of mla_dense_fp8_lists: one CTA that writes a plan of `planParts` SM parts made on the device (none where the
    host planned the step: planParts 0), then a CTA a denseListChunk entries of each row of the [b, sQ, topk] lists,
    256 threads each. */
export function denseListsLaunch(b: number, sQ: number, topk: number, planParts = 0): SparseMmaGrid {
  return { grid: [(planParts > 0 ? 1 : 0) + b * sQ * Math.ceil(Math.max(topk, 1) / denseListChunk), 1, 1], block: [256, 1, 1], smem: 0 };
}

/**
 * Whether a dense decode over an FP8 cache runs on this kernel (sparse.ts SparseMmaRunner.denseOnSparse): sparse_sm90.cu
 * may run (`hopper`) and takes the shape (useSparseSm90: V3.2 or MODEL1 with bf16 queries, hQ a multiple of 64), dense
 * FP8 on it is not turned off (`enabled`), and dense_fp8_sm90.cu does not take the call (`denseSm90`: its rows are at
 * most 32, never a multiple of 64). `partial` (the backend's default; FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0 turns it off):
 * any hQ, the last head tile part empty (V3.2 above 32 rows; MODEL1 at any row count, which dense_fp8_sm90.cu does not
 * read). H100, session 51: V3.2 16 x 3, 24 x 2, 40 x 1 and 5 x 7 at b = 128 s_k 8192 in 0.46-0.47x sparse_mma.cu's time.
 */
export function denseOnSparseSm90(s: SparseSm90Shape, hopper: boolean, maxSmem: number, enabled: boolean, denseSm90: boolean, partial = false): boolean {
  return enabled && !denseSm90 && useSparseSm90(s, hopper, maxSmem, partial ? 'all' : 'off');
}

/** The CUDA backend's routes for FP8 caches, as `flashmla info` prints them (info.details.sparseKernel / denseFp8Kernel). */
export interface CudaFp8Routes {
  /** sparse_sm90.cu may run: an sm_90 device, its fatbin built, no other kernel asked for. */
  sparseSm90: boolean;
  /** dense_fp8_sm90.cu may run (the same, for its fatbin). */
  denseFp8Sm90: boolean;
  denseOnSparse: boolean;
  fold: DenseFold;
  partial: SparsePartial;
  densePartial: boolean;
}

/** One line each: which kernel takes which sparse and which dense FP8 steps under these switches. */
export function cudaFp8RoutesText(r: CudaFp8Routes): { sparse: string; denseFp8: string } {
  const rest = 'sparse_mma.cu (mma.sync) for the rest (f16 queries over FP8 caches as bf16 hi + lo)';
  const heads = r.partial === 'all' ? 'any hQ (a part-empty last head tile)' : 'hQ a multiple of 64 (FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=0)';
  const sparse = r.sparseSm90 ? `sparse_sm90.cu (wgmma) for bf16 queries over V3.2 / MODEL1 caches with ${heads}; ${rest}` : rest.replace(' for the rest', '');
  const dense: string[] = [];
  if (r.denseFp8Sm90) dense.push('dense_fp8_sm90.cu (wgmma) for V3.2 caches, bf16 queries, 64-token pages, up to 32 rows');
  if (r.sparseSm90 && r.denseOnSparse) {
    dense.push(`sparse_sm90.cu on lists of every key a row sees for bf16 queries with ${r.densePartial ? 'any hQ (a part-empty last head tile)' : 'hQ a multiple of 64 (FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0)'}`);
    if (r.fold !== false) dense.push(`folded (sQ queries as one of sQ x hQ heads, then mla_dense_fp8_tail) ${r.fold === 'all' ? 'for every sQ > 1 (FLASHMLA_CUDA_DENSE_FP8_FOLD=all)' : `where sQ x hQ ${r.densePartial ? 'exceeds 32 rows' : 'is a multiple of 64'} and hQ is not${r.fold === 'pair' ? ', or the fold reaches the pair entry (hQ 64 x sQ 2)' : ''}`}`);
  }
  dense.push('sparse_mma.cu (mma.sync) for the rest');
  return { sparse, denseFp8: dense.join('; ') };
}

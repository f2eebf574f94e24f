// Launch math of sparse_sm90.cu (token-sparse decode over a DeepSeek-V3.2 FP8 cache with wgmma, sm_90a only):
// which problems it takes, its grid and shared memory. It shares SparseMmaParams, the sparse scheduler and the
// split combine (mla_sparse_mma_combine_*) with sparse_mma.cu; see docs/notes/cuda-sparse-decode.md.
import type { HalfDType } from '../../../core/dtype.js';
import type { SparseCacheKind } from '../../../core/sparse.js';
import type { SparseMmaGrid } from './sparse-mma-launch.js';

export const sparseSm90KernelName = 'mla_sparse_sm90_v32_bf16';
export const sparseSm90Fatbin = 'sparse_sm90.fatbin';
/** Heads a CTA (the wgmma M dimension). */
export const sparseSm90Rows = 64;
/** Dynamic shared memory (sparse_sm90.cu ssp::SMEM, asserted there): Q, two key tiles, the P box, alignment slack. */
export const sparseSm90Smem = 9 * 8192 * 3 + 8192 + 1024;

/** What decides whether sparse_sm90.cu takes a sparse launch. */
export interface SparseSm90Shape {
  kind: SparseCacheKind;
  dtype: HalfDType;
  dQk: number;
  hQ: number;
}

/**
 * The rule: an sm_90 device with the kernel built (`hopper`), the V3.2 FP8 cache, bf16 queries of 576 dims, and hQ a
 * multiple of 64 (the kernel's head tile); everything else stays on sparse_mma.cu / sparse.cu.
 */
export function useSparseSm90(s: SparseSm90Shape, hopper: boolean, maxSmem: number): boolean {
  return hopper && s.kind === 'v32' && s.dtype === 'bf16' && s.dQk === 576 && s.hQ % sparseSm90Rows === 0 && sparseSm90Smem <= maxSmem;
}

/** Grid (numSmParts, sQ, hQ / 64), 384 threads (two consumer warpgroups and a producer warpgroup). */
export function sparseSm90Launch(numSmParts: number, sQ: number, hQ: number): SparseMmaGrid {
  return { grid: [numSmParts, sQ, Math.ceil(hQ / sparseSm90Rows)], block: [384, 1, 1], smem: sparseSm90Smem };
}

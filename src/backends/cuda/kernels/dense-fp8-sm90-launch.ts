// Launch math of dense_fp8_sm90.cu (dense block-table decode over FlashMLA's V3.2 FP8 cache with wgmma, sm_90a only):
// which problems it takes, its entries, grid and shared memory. It shares SparseMmaParams, the dense scheduler's
// metadata and the split combine (mla_sparse_mma_combine_bf16) with sparse_mma.cu; see docs/notes/cuda-dense-fp8.md.
import type { HalfDType } from '../../../core/dtype.js';
import type { Fp8Format } from '../../../core/fp8.js';
import type { SparseMmaGrid } from './sparse-mma-launch.js';

export const denseFp8Sm90Fatbin = 'dense_fp8_sm90.fatbin';
/** Query rows (sQ * hQ) an entry takes at most: its wgmma N. */
export const denseFp8Sm90Rows = [16, 32] as const;
/** Dynamic shared memory (dense_fp8_sm90.cu dfp8::Layout<NR>::SMEM, asserted there): the bf16 V tile (64 KiB), raw page
    slots of 41,984 bytes (three at 16 rows, two at 32), Q^T, the partial-S^T exchange, P^T, maxima, barriers, alignment. */
export function denseFp8Sm90Smem(nr: 16 | 32): number {
  const slots = nr === 16 ? 3 : 2;
  return 65536 + slots * 41984 + nr * 576 * 2 + 4 * (nr / 2) * 128 * 4 + 2 * nr * 64 * 2 + 2 * 4 * nr * 4 + 16 * slots + 1024;
}

/** What decides whether dense_fp8_sm90.cu takes a dense FP8 launch. */
export interface DenseFp8Sm90Shape {
  format: Fp8Format;
  dtype: HalfDType;
  dQk: number;
  sQ: number;
  hQ: number;
  pageBlockSize: number;
  blockStride: number;
}

/** The entry's row count for a shape (16 or 32), or undefined where no entry takes it. */
export function denseFp8Sm90Nr(rows: number): 16 | 32 | undefined {
  return rows >= 1 && rows <= 16 ? 16 : rows <= 32 ? 32 : undefined;
}

/**
 * The rule: an sm_90 device with the kernel built (`hopper`), a V3.2 FP8 cache (576-dim bf16 queries) with 64-token
 * pages laid out contiguously (block stride 64 * 656 bytes, a multiple of 16 for the bulk copy), and sQ * hQ <= 32
 * rows; everything else stays on sparse_mma.cu.
 */
export function useDenseFp8Sm90(s: DenseFp8Sm90Shape, hopper: boolean, maxSmem: number): boolean {
  const nr = denseFp8Sm90Nr(s.sQ * s.hQ);
  return hopper && s.format === 'v32' && s.dQk === 576 && s.dtype === 'bf16' && s.pageBlockSize === 64 && s.blockStride === 64 * 656 &&
    nr !== undefined && denseFp8Sm90Smem(nr) <= maxSmem;
}

export function denseFp8Sm90KernelName(nr: 16 | 32): string {
  return `mla_dense_fp8_sm90_v32_bf16_n${nr}`;
}

/** The shipped build's 16-row threads: 384, or 512 where MLA_DENSE_FP8_SHIPPED has bit 2199023255552 (three consumer
    warpgroups; a host test ties the two). */
export const denseFp8Sm90Threads16 = 384;

/** A dispatch build's (dense_fp8_sm90.cu bit 4398046511104) three-consumer 16-row entry, 512 threads. */
export const denseFp8Sm90W3Name = 'mla_dense_fp8_sm90_v32_bf16_n16w3';
/** The shipped build's dispatch threshold (tiles an SM part from which a 16-row launch takes the n16w3 entry): 48 since
    session 18 (MLA_DENSE_FP8_SHIPPED has bit 4398046511104; call J measured the build with 48, docs/notes/cuda-dense-fp8.md);
    an A/B folder's manifest may name another (denseFp8Sm90W3Tiles), undefined where a build has no n16w3 entry. */
export const denseFp8Sm90W3Tiles: number | undefined = 48;
/** The producer's L2 prefetch distance in pages passed to dense_fp8_sm90.cu (its `extraTopk` argument): -1 none, 0 the
    kernel's own (6 pages), n > 0 n pages. None since session 21: on the H200 the kernel's 6-page prefetch doubled each
    part's opening burst of DRAM requests, so the first page and Q^T landed ~10 us after entry, and at 8192 x 16 rows
    the call took 206.5 us against 188.6 us without it (docs/notes/cuda-dense-fp8.md, "Session 21"). */
export const denseFp8Sm90Prefetch = -1;

/** Tiles (64-token pages) an SM part carries on average: from the sequence lengths where the host has them, else from
    the block table's width for every request (an upper bound). */
export function denseFp8Sm90TilesPerPart(b: number, numSmParts: number, maxBlocksPerSeq: number, seqlens?: Int32Array): number {
  let tiles = 0;
  if (seqlens) for (let i = 0; i < b; i++) tiles += Math.ceil(Math.max(0, seqlens[i]) / 64);
  else tiles = b * maxBlocksPerSeq;
  return tiles / Math.max(1, numSmParts);
}

/** The entry a launch takes and its 16-row threads: n16w3 (512 threads) where a threshold is set and a 16-row launch
    carries at least that many tiles an SM part, else denseFp8Sm90KernelName(nr) with threads16. */
export function denseFp8Sm90Entry(nr: 16 | 32, tilesPerPart: number, w3Tiles = denseFp8Sm90W3Tiles, threads16 = denseFp8Sm90Threads16): { name: string; threads16: number } {
  if (nr === 16 && w3Tiles !== undefined && tilesPerPart >= w3Tiles) return { name: denseFp8Sm90W3Name, threads16: 512 };
  return { name: denseFp8Sm90KernelName(nr), threads16 };
}

/**
 * Grid (numSmParts, 1, 1), 384 threads (two consumer warpgroups and a producer warpgroup). threads16: the 16-row
 * entry's threads, where a kernel folder's manifest names them (A/B folders: ab.sh writes 512 for a build with bit
 * 2199023255552 of dense_fp8_sm90.cu, 384 for any other), else the shipped build's; the 32-row entry always takes 384.
 */
export function denseFp8Sm90Launch(numSmParts: number, nr: 16 | 32, threads16 = denseFp8Sm90Threads16): SparseMmaGrid {
  if (threads16 !== 384 && threads16 !== 512) throw new RangeError(`denseFp8Sm90Launch: threads16 ${threads16} is not 384 or 512`);
  return { grid: [numSmParts, 1, 1], block: [nr === 16 ? threads16 : 384, 1, 1], smem: denseFp8Sm90Smem(nr) };
}

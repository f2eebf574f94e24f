// Launch math of the CUDA kernels, beside their sources: which decode variants exist, what shared memory each
// needs, which one a problem gets, and the grids. kernels/params.h is generated from this file and params.ts
// (scripts/build-kernels.mjs), so the variant list and the struct are written down once.
import type { HalfDType } from '../../../core/dtype.js';
import { invalidArgument } from '../../../core/errors.js';
import type { MlaProblem } from '../../../core/problem.js';
import { mlaParamsLayout, sparseParamsLayout, structHeader } from '../params.js';
import { layerHeader } from '../layer-params.js';
import type { SparseProblem } from '../../../core/sparse.js';
import { sparseMmaHeader } from './sparse-mma-launch.js';
import { constantsHeader, dQk } from '../../../core/constants.js';
import type { TiledTensorMapSpec } from '../tensor-map.js';

/** A decode.cu instantiation: BM query rows x BN keys a tile, STAGES key tiles in flight, NWARPS warps. */
export interface DecodeVariant {
  readonly bm: 16 | 32 | 64;
  readonly bn: 16 | 32 | 48 | 64;
  readonly stages: 1 | 2 | 3 | 4;
  readonly nwarps: 4 | 8;
  /**
   * Set: decode.cu's DecodeRows shape (S as Decode; in PV every warp takes all bm rows x 512/nwarps columns) with
   * the first qRegs of the 36 query k-steps held in registers for a whole work item. Unset: Decode.
   */
  readonly qRegs?: number;
}

/**
 * The instantiated variants. Shared memory decides where each runs: sm_90 opts in to 227 KiB a block, sm_80 to
 * 163 KiB, sm_86 / sm_89 to 99 KiB (only the last one fits there).
 */
export const decodeVariants: readonly DecodeVariant[] = [
  { bm: 16, bn: 64, stages: 2, nwarps: 8 }, // few query rows (hQ*sQ/hKv <= 16), Hopper: 72 KiB key tiles
  { bm: 32, bn: 64, stages: 2, nwarps: 8 }, // <= 32 rows, Hopper
  { bm: 16, bn: 64, stages: 2, nwarps: 4 }, // 4 warps: each takes 16 keys of S, a quarter fewer ldmatrix per MMA
  { bm: 32, bn: 64, stages: 2, nwarps: 4 },
  { bm: 32, bn: 48, stages: 3, nwarps: 4 },
  { bm: 32, bn: 32, stages: 3, nwarps: 8 }, // <= 32 rows on sm_80 (and the small-row fallback there)
  { bm: 64, bn: 48, stages: 2, nwarps: 8 }, // many rows, Hopper: FlashMLA's 64-row tile
  { bm: 64, bn: 32, stages: 2, nwarps: 8 }, // many rows, sm_80
  { bm: 32, bn: 32, stages: 1, nwarps: 8 }, // 99 KiB devices: no overlap, but it runs
  { bm: 32, bn: 64, stages: 2, nwarps: 8, qRegs: 0 }, // <= 32 rows: V read once per CTA in PV
  { bm: 32, bn: 64, stages: 2, nwarps: 8, qRegs: 16 }, // ... and 16 query k-steps in registers
  { bm: 32, bn: 64, stages: 2, nwarps: 8, qRegs: 24 },
];

/** Bytes of dynamic shared memory (decode.cu's Decode::SMEM; the generated header asserts they agree). */
export function decodeSmem(v: DecodeVariant): number {
  const wm = v.bm / 16, wn = v.nwarps / wm, stride = dQk + 8;
  const rowFloats = v.qRegs === undefined ? 2 * wn * v.bm : 2 * wn * v.bm + 2 * v.bm; // DecodeRows adds alpha and final max
  return (v.bm * stride + v.stages * v.bn * stride + v.bm * (v.bn + 8)) * 2 + rowFloats * 4;
}

export function sameVariant(a: DecodeVariant, b: DecodeVariant): boolean {
  return a.bm === b.bm && a.bn === b.bn && a.stages === b.stages && a.nwarps === b.nwarps && a.qRegs === b.qRegs;
}

/** Refuses a variant that is not one of decodeVariants (the backend's `variant` option and setDecodeVariant). */
export function checkDecodeVariant(v: DecodeVariant): void {
  if (!decodeVariants.some((x) => sameVariant(x, v))) throw invalidArgument('variant', 'one of decodeVariants', JSON.stringify(v));
}

/** The variant part of the kernel names (e.g. m32_n64_s2_w8, m32_n64_s2_w8_q16). */
export function variantTag(v: DecodeVariant): string {
  return `m${v.bm}_n${v.bn}_s${v.stages}_w${v.nwarps}${v.qRegs === undefined ? '' : `_q${v.qRegs}`}`;
}

export function decodeKernelName(dtype: HalfDType, v: DecodeVariant): string {
  return `mla_decode_${dtype}_${variantTag(v)}`;
}

/**
 * The fastest variant per bucket of query rows (rows <= maxRows; the last bucket takes everything above), as
 * measured on an H100 by a variant sweep (table in docs/journal/cuda-decode.md; now `flashmla bench --variants winners`). Used where it fits.
 */
export const preferredVariants: readonly { maxRows: number; variant: DecodeVariant }[] = [
  { maxRows: 16, variant: { bm: 32, bn: 64, stages: 2, nwarps: 8, qRegs: 24 } }, // measured: beats m16 with half its rows idle
  { maxRows: 32, variant: { bm: 32, bn: 64, stages: 2, nwarps: 8, qRegs: 24 } },
  { maxRows: 64, variant: { bm: 64, bn: 48, stages: 2, nwarps: 8 } },
  { maxRows: 128, variant: { bm: 64, bn: 48, stages: 2, nwarps: 8 } },
  { maxRows: 256, variant: { bm: 64, bn: 48, stages: 2, nwarps: 8 } },
];

/**
 * The variant for a problem on a device allowing `maxSmem` bytes a block: the measured preference for its row
 * bucket if it fits; otherwise the smallest row tile covering the rows (fewer wasted MMA rows), else the
 * largest; among equals, the first listed. Undefined if none fits.
 */
export function chooseDecodeVariant(rows: number, maxSmem: number, variants: readonly DecodeVariant[] = decodeVariants): DecodeVariant | undefined {
  const pref = (preferredVariants.find((p) => p.maxRows >= rows) ?? preferredVariants[preferredVariants.length - 1])?.variant;
  if (pref && decodeSmem(pref) <= maxSmem && variants.some((v) => sameVariant(v, pref))) return pref;
  const fits = variants.filter((v) => decodeSmem(v) <= maxSmem);
  const covering = fits.filter((v) => v.bm >= rows).sort((a, b) => a.bm - b.bm);
  if (covering.length) return covering[0];
  return [...fits].sort((a, b) => b.bm - a.bm)[0];
}

export interface Launch {
  grid: [number, number, number];
  block: [number, number, number];
  smem: number;
}

/** One CTA per (SM part, KV head, tile of bm rows); rows = sQ * hQ / hKv. */
export function decodeLaunch(p: MlaProblem, v: DecodeVariant): Launch {
  const rows = p.sQ * p.nGroups;
  return { grid: [p.numSmParts, p.hKv, Math.ceil(rows / v.bm)], block: [v.nwarps * 32, 1, 1], smem: decodeSmem(v) };
}

/**
 * Rows one combine CTA merges: 1 while the whole problem makes at most 16 CTAs an SM (a long sequence split over
 * every SM wants all the parallelism it can get), more as it grows, so a large batch does not pay for a hundred
 * thousand CTAs that mostly find their request unsplit and exit.
 */
export function combineRows(p: MlaProblem, numSms: number): number {
  return Math.max(1, Math.ceil((p.b * p.sQ * p.hQ * 4) / (16 * numSms)));
}

/** combine.cu: a CTA of 8 warps per (request, combineRows rows j * hQ + h, quarter of the 512 columns). */
export function combineLaunch(p: MlaProblem, rows: number): Launch {
  return { grid: [p.b, Math.ceil((p.sQ * p.hQ) / rows), 4], block: [256, 1, 1], smem: 0 };
}

/** combine.cu's combineWarps: one warp per row j * hQ + h of a request, 8 rows a CTA, no CTA barriers. */
export function combineWarpsLaunch(p: MlaProblem): Launch {
  return { grid: [p.b, Math.ceil((p.sQ * p.hQ) / 8), 1], block: [256, 1, 1], smem: 0 };
}

/** Pieces a lane of combineWarps loads at a time (combine.cu kRowSplits): a request in more takes several round trips. */
export const combineWarpsRowSplits = 4;

/** combine.cu's combineQuarter: one warp per quarter of a row (16 pieces a lane in flight), 2 rows a CTA. */
export function combineQuarterLaunch(p: MlaProblem): Launch {
  return { grid: [p.b, Math.ceil((p.sQ * p.hQ) / 2), 1], block: [256, 1, 1], smem: 0 };
}

/** combine.cu's mla_combine_q32: one warp per quarter of a row (32 pieces a lane in flight), one row a CTA of 128 threads. */
export function combineQ32Launch(p: MlaProblem): Launch {
  return { grid: [p.b, p.sQ * p.hQ, 1], block: [128, 1, 1], smem: 0 };
}

/** The pieces mla_combine_q32 is timed for under FLASHMLA_CUDA_COMBINE_Q32=1 (a measurement knob): 5 to 64 (one or two round trips). */
export function combineQ32Covers(maxSplits: number | undefined): boolean {
  return maxSplits !== undefined && maxSplits > combineWarpsRowSplits && maxSplits <= 64;
}

/** The most pieces, and the fewest rows (b * sQ * hQ, its grid's CTAs), of a step whose CTA merge mla_combine_q32 takes. */
export const combineQ32Pieces = 32;
export const combineQ32MinRows = 112;

/**
 * Whether mla_combine_q32 takes a step whose merge would be the CTA merge (mla_combine itself, not its twins; session 41,
 * H200): its largest request in 5-32 pieces (one round trip) and its grid at least combineQ32MinRows CTAs and at most one
 * wave of three an SM. Call 1 (fit): 0.89-0.98x the call's time on nine such steps (112-320 rows, 12-32 pieces), level at
 * 80 rows, slower with few rows (1.04-1.32x at 16-64 rows: the CTA merge's eight warps a quarter row keep more pieces in
 * flight there) or two trips (1.05x at 63 pieces). Call 2 (14 steps not timed before, with the bound at 96 rows): 0.93-0.97x
 * from 128 rows, but 0.997x and 1.02x at 96 rows, so the rule written before it failed and the bound moved to 112 (call 1's
 * 7 x 16 rows: 0.95x); call 3 tested that on 16 more steps (docs/notes/cuda-hopper-decode.md, "Session 41").
 */
export function combineQ32Takes(maxSplits: number | undefined, ctas: number, numSms: number): boolean {
  return combineQ32TakesPieces(maxSplits) && combineQ32Fits(ctas, numSms);
}
/** combineQ32Takes' grid half (a shape's: shape-kernels.ts resolves q32 only where it holds). */
export function combineQ32Fits(ctas: number, numSms: number): boolean {
  return ctas >= combineQ32MinRows && ctas <= 3 * numSms;
}
/** combineQ32Takes' pieces half (a step's: mergeFor). */
export function combineQ32TakesPieces(maxSplits: number | undefined): boolean {
  return maxSplits !== undefined && maxSplits > combineWarpsRowSplits && maxSplits <= combineQ32Pieces;
}

/** mla_combine_q32's default (FLASHMLA_CUDA_COMBINE_Q32=0 turns it off, =1 runs it for every step with 5-64 pieces). */
export const combineQ32Default = true;

/**
 * Whether a merge that would run combineWarps runs combineQuarter instead (where the backend has it on): the step's
 * largest request is in more pieces than combineWarps loads at once (maxSplits from the host plan; unknown: no).
 */
export function combineQuarterTakes(maxSplits: number | undefined): boolean {
  return maxSplits !== undefined && maxSplits > combineWarpsRowSplits;
}

/** combineQuarter's default (FLASHMLA_CUDA_COMBINE_QUARTER=1 / 0 overrides): on since session 38 (call 8, H200: on 13
    shapes never timed before, 0.951x the time in do_bench's loop and 0.944x from graphs, none above 0.977x; the
    merges it takes write the same bits). */
export const combineQuarterDefault = true;

/**
 * The combine for p (entry name without the dtype suffix, and its launch). With `warps` (the default; not with
 * FLASHMLA_CUDA_COMBINE=cta, shape-kernels.ts): combineWarps where a combine CTA would merge more than one row in
 * turn (a large batch: many rows, few splits a request; at b = 128 with 128 rows the CTA-a-row-group combine took 192
 * of a 692 us call on an H200, session 11), combine elsewhere (b = 1 and small batches: few rows, a request split
 * over many SM parts, where its eight warps a row keep many loads in flight). Without it: combine everywhere.
 */
export function combinePick(p: MlaProblem, rows: number, warps: boolean): { name: string; launch: Launch } {
  return warps && rows > 1 ? { name: 'mla_combine_warps', launch: combineWarpsLaunch(p) } : { name: 'mla_combine', launch: combineLaunch(p, rows) };
}

/** Splits of one request that combine.cu's mla_combine merges in one memory round trip (13 partials a lane, 8 warps). */
export const combineOneTripSplits = 104;

/**
 * Pieces a request may have per wave of the CTA-a-row merge for combineEntry to move that merge to one warp a row:
 * the CTA merge's time grows with its waves, the one-warp merge's (one wave) with the pieces a warp walks. 10 since
 * session 28 (session 23 fitted 9; session 28's hold-outs: one warp a row faster up to 9.8 a wave, slower from 10.85).
 */
export const combineWarpsSplitsPerWave = 10;
/** The most pieces combineEntry moves to one warp a row however many waves (session 28: 24; the most timed there: 24). */
export const combineWarpsSplits = 24;

/**
 * The entry that merges a step whose largest request has `maxSplits` pieces (DecodePlan.maxSplits; undefined when
 * numSplits is not on the host) where combinePick chose mla_combine, whose grid is `waves` full waves of three CTAs an
 * SM: mla_combine_t128 (16 partials a lane, one round trip up to 128 pieces, two CTAs an SM) above
 * combineOneTripSplits; mla_combine_warps (one warp a row, 8 rows a CTA) where the CTA merge would take more than one
 * wave and the pieces are at most combineWarpsSplitsPerWave per wave and at most combineWarpsSplits; else mla_combine. Session 23 (H200; calls E, F,
 * I of docs/notes/cuda-hopper-decode.md): t128 1.3 us less at b = 1 s_k 65536 (128 pieces) and the 'fill' plan's
 * 128-piece b = 1 steps level instead of 5 % slower, but 0.1-1.6 us slower than mla_combine with few pieces. One warp a
 * row: 0.60-0.79x the merge-inclusive time at 2-7 pieces over 2.6-5.2 waves, 0.77x at 13 pieces over 5.2 waves, 0.94-0.98x
 * at 11-16 pieces over 1.3-1.9 waves; 1.02-1.03x at 14-16 pieces over 1.1-1.3 waves, 1.04-1.11x at 22-32 pieces over
 * 1.3-1.6 waves. Session 28's hold-out (call 1, twelve shapes): 0.89-0.99x at 12-22 pieces, 5.8-9.8 a wave, 1.3-3.2
 * waves, including three the bound of 9 sent to the CTA merge and three past the cap of 16. The bounds (10 a wave, 24
 * in all) separate all 25 shapes of both sessions.
 */
export function combineEntry(name: string, maxSplits: number | undefined, waves = 0): string {
  if (name !== 'mla_combine' || maxSplits === undefined) return name;
  if (maxSplits > combineOneTripSplits) return 'mla_combine_t128';
  return waves > 1 && maxSplits <= Math.min(combineWarpsSplits, combineWarpsSplitsPerWave * waves) ? 'mla_combine_warps' : name;
}

/** Full waves of three CTAs an SM that a combine launch makes on `numSms` SMs. */
export function combineWaves(l: Launch, numSms: number): number {
  return (l.grid[0] * l.grid[1] * l.grid[2]) / (3 * numSms);
}

/**
 * decode_sm90.cu (sm_90a only; the default on sm_90 for the shapes it takes): one CTA per (SM part, KV head) of
 * `cw` consumer warpgroups and a producer warp (a producer warpgroup when cw = 2), taking all rows <= nr at once;
 * nr 16 or 32. Its shared memory (asserted in the .cu): a ring of 8 KB key-chunk slots, Q^T, P^T and row arrays
 * per consumer warpgroup, the merge's row arrays, two mbarriers a slot, and 1024 bytes to align the ring for the
 * 128-byte swizzle. It reads the cache through a tensor map (sm90CacheMap), its second kernel parameter.
 */
export const sm90RowTiles = [16, 32] as const;
/** Consumer warpgroups of the entry the library launches, per row tile (the _1wg entries are the harness's). */
export const sm90Warpgroups: Record<16 | 32, 1 | 2> = { 16: 2, 32: 2 };
export function sm90Threads(cw: 1 | 2): number {
  return cw === 1 ? 160 : 384;
}
export function sm90Slots(nr: 16 | 32, cw: 1 | 2): number {
  return nr === 16 ? 25 : cw === 1 ? 23 : 22;
}
export function sm90Smem(nr: 16 | 32, cw: 1 | 2 = sm90Warpgroups[nr]): number {
  const slots = sm90Slots(nr, cw);
  return slots * 64 * 128 + nr * dQk * 2 + cw * (nr * 64 * 2 + 4 * nr * 4) + (cw - 1) * 3 * nr * 4 + 16 * slots + 32 + 1024;
}
/**
 * The sm90 kernel's view of the cache (page 64, one KV head): a 2-D tensor of numBlocks * 64 rows of dQk
 * elements, copied in 64 x 64 boxes (one 128-byte column chunk of one page) with the 128-byte swizzle.
 */
/**
 * The sm90 kernel for p, or undefined where it does not take the shape: only what was checked on the H200
 * (bench/cuda/hopper/harness.cu): at most 32 rows, one KV head, page size 64, uniform query lengths.
 */
export function sm90Launch(p: MlaProblem): (Launch & { name: string; ldName: string; nr: 16 | 32 }) | undefined {
  const rows = p.sQ * p.nGroups;
  const nr = sm90RowTiles.find((n) => rows <= n);
  if (nr === undefined || p.hKv !== 1 || p.pageBlockSize !== 64 || p.varlen) return undefined;
  const cw = sm90Warpgroups[nr];
  // name: the library's entry (since session 19 it also takes q's tensor map, sm90QMap, as its third parameter);
  // ldName: the same kernel without that map (Q^T by the consumers' copies) for a call whose map cannot be made.
  return {
    name: `mla_decode_sm90${cw === 1 ? '_1wg' : ''}_${p.dtype}_n${nr}`, ldName: `mla_decode_sm90_ld_${p.dtype}_n${nr}`, nr,
    grid: [p.numSmParts, p.hKv, 1], block: [sm90Threads(cw), 1, 1], smem: sm90Smem(nr, cw),
  };
}

/**
 * decode_sm90_wide.cu (sm_90a only): 64 query rows of one KV head a CTA on the wgmma M dimension, two consumer
 * warpgroups and a TMA producer warpgroup (384 threads). Dynamic shared memory (asserted in the .cu): Q (9 boxes of
 * 64 x 64), two 64-key stages (9 boxes each), the P tile, 1024 bytes of alignment slack; the row arrays and
 * mbarriers are static (1496 bytes: 1472 and, since session 31, the three hand-off mbarriers).
 */
export const sm90WideSmem = 9 * 8192 + 2 * 9 * 8192 + 8192 + 1024;
/**
 * The wide sm90 kernel for p, or undefined where it does not take the shape: what was checked on the H200
 * (bench/cuda/hopper/harness_wide.cu, test/gpu/sm90-wide.test.ts): at least 64 rows, one KV head, page size 64,
 * uniform query lengths. Its launch carries the KV cache's tensor map after MlaParams (sm90CacheMap). `minRows` below 64
 * (sm90WideTakes): fewer rows, the rest of the 64-row tile dead.
 */
export function sm90WideLaunch(p: MlaProblem, minRows = 64): (Launch & { name: string; ldName: string; nr: 64 }) | undefined {
  const rows = p.sQ * p.nGroups;
  if (rows < minRows || p.hKv !== 1 || p.pageBlockSize !== 64 || p.varlen) return undefined;
  // Row tiles on grid x, SM parts on z: a part's row tiles are neighbouring CTAs (decode_sm90_wide.cu kVarGridX).
  // ldName: a build whose library entries take q's map (decode_sm90_wide.cu kVarBQTma | kVarBQAll, shipped since session
  // 21: 64-row boxes, sm90QMap) has these entries without it; a build without them takes no map and ignores it.
  return {
    name: `mla_decode_sm90w_${p.dtype}`, ldName: `mla_decode_sm90w_ld_${p.dtype}`, nr: 64,
    grid: [Math.ceil(rows / 64), p.hKv, p.numSmParts], block: [384, 1, 1], smem: sm90WideSmem,
  };
}

/**
 * Whether decode_sm90_wide.cu takes a shape of 17-32 rows a KV head, which decode_sm90.cu's 32-row entry takes
 * otherwise: where the batch has at least half as many requests as the plan has SM parts (b = 128 on 132 SMs: one
 * request a part). Measured on the H200 in session 36 (docs/notes/cuda-hopper-decode.md): FlashMLA's six 32-row
 * b = 128 rows 0.97-0.996x the time in every run of two calls (the 64-row tile with 32 live rows streams a tile faster
 * than the 32-row entry), while small batches whose parts hold pieces of several requests ran up to 1.5 % slower, so
 * they keep the narrow kernel. `from` (FLASHMLA_CUDA_SM90W_FROM, measurement): the wide kernel from that many rows
 * whatever the batch. Rows of 64 or more are the wide kernel's anyway (sm90WideLaunch).
 * `short` (session 37): also where the step's plan is known on the host and its work items are short, `keysPerSplit`
 * (DecodePlan: the cache lengths' sum over the pieces) at most `short.maxKeys` (sm90WideShortKeys by default), and q
 * holds at least 64 rows (b * rows: the wide kernel's 64-row q boxes fit; b = 1 launches its _ld twin, which loads Q^T
 * with the consumers): in session 36 the tiny batches with <= 128 keys a piece ran 0.94-0.998x the time on the wide
 * kernel, those with 250-430 1.005-1.015x; in session 37 (call 4) 0.948x over 13 new such shapes in do_bench's loop,
 * but the b = 1 32-row shapes 1.065-1.068x from CUDA graphs (docs/notes/cuda-hopper-decode.md, "Session 37"). Without
 * host lengths (index tensors on the device) the batch rule alone decides. `short.minRows` (FLASHMLA_CUDA_SM90W_SHORT_FROM,
 * measurement, default 17): the short-item rule from that many rows (fewer than 17 rows: not yet timed on the wide kernel).
 */
export function sm90WideTakes(
  p: Pick<MlaProblem, 'b' | 'sQ' | 'nGroups' | 'numSmParts'>, from?: number,
  short?: { maxKeys: number; keysPerSplit?: number; minRows?: number },
): boolean {
  const rows = p.sQ * p.nGroups;
  if (from !== undefined) return rows >= from;
  if (rows > 32) return false;
  if (rows > 16 && 2 * p.b >= p.numSmParts) return true;
  if (short === undefined || rows < (short.minRows ?? 17)) return false;
  return short.keysPerSplit !== undefined && short.keysPerSplit <= short.maxKeys && p.b * rows >= 64;
}

/** The most keys a work item may average for 17-32 rows of a small batch to run on the wide kernel (sm90WideTakes). */
export const sm90WideShortKeys = 160;

/**
 * sm90WideTakes' `short.maxKeys` from FLASHMLA_CUDA_SM90W_KPS: unset (or not a number) sm90WideShortKeys, 0 never (the
 * batch rule alone, session 36's), n >= 1 at most n keys.
 */
export function sm90WideMaxKeysFrom(env: string | undefined): number | undefined {
  const n = env === undefined || env.trim() === '' ? NaN : Number(env);
  if (!Number.isFinite(n) || n < 0) return sm90WideShortKeys;
  return n >= 1 ? n : undefined;
}

/**
 * Both Hopper kernels' view of the cache (page 64, one KV head): a 2-D tensor of numBlocks * 64 rows of dQk
 * elements (one key each), copied in 64 x 64 boxes (one 128-byte column chunk of 64 keys) with the 128-byte swizzle.
 */
export function sm90CacheMap(p: Pick<MlaProblem, 'dtype' | 'numBlocks' | 'pageBlockSize'>, kCache: bigint): TiledTensorMapSpec {
  return { dtype: p.dtype, base: kCache, dims: [dQk, p.numBlocks * p.pageBlockSize], strides: [dQk * 2], box: [64, 64], swizzle: '128B', l2Promotion: '256B' };
}

/**
 * The narrow kernel's view of q (decode_sm90.cu kNVarQTma, shipped in session 19): a 2-D tensor of b * sQ * hQ query
 * rows of dQk elements (one KV head: a work item's rows are consecutive rows of q), copied in boxes of 64 columns x
 * nr rows (one 128-byte column chunk of an item's rows) with the 128-byte swizzle; box rows past the tensor read as
 * zero. nr 64: the wide kernel's boxes (decode_sm90_wide.cu kVarBQTma: its Q region is nine such boxes; it takes >= 64
 * rows, so the box always fits). Undefined where the box does not fit in the tensor (fewer query rows in q than nr: b = 1 with 8 heads, say):
 * the library then launches the entry without the map (sm90Launch's ldName). `q` is the address of q's element 0
 * (a view's offset included), 16-byte aligned (CudaBackend.decode checks it first); the row stride is dQk elements
 * (tensors are contiguous).
 */
export function sm90QMap(p: Pick<MlaProblem, 'dtype' | 'totalQ' | 'hQ'>, q: bigint, nr: 16 | 32 | 64): TiledTensorMapSpec | undefined {
  if (!sm90QMapFits(p, nr)) return undefined;
  return { dtype: p.dtype, base: q, dims: [dQk, p.totalQ * p.hQ], strides: [dQk * 2], box: [64, nr], swizzle: '128B', l2Promotion: '256B' };
}
/** Whether q's map (sm90QMap) can be made for p's shape: at least nr query rows in q. */
export function sm90QMapFits(p: Pick<MlaProblem, 'totalQ' | 'hQ'>, nr: 16 | 32 | 64): boolean {
  return p.totalQ * p.hQ >= nr;
}

/** naive.cu: a CTA of 4 warps per (request, query j, head h). */
export function naiveLaunch(p: MlaProblem): Launch {
  return { grid: [p.b, p.sQ, p.hQ], block: [128, 1, 1], smem: 0 };
}

/** The text of kernels/params.h. */
export function kernelsHeader(): string {
  const variants = decodeVariants.map((v) => `X(${variantTag(v)}, ${v.bm}, ${v.bn}, ${v.stages}, ${v.nwarps}, ${v.qRegs ?? -1}, ${decodeSmem(v)})`).join(' \\\n  ');
  return [
    '// GENERATED by scripts/build-kernels.mjs from src/core/constants.ts, src/backends/cuda/params.ts and kernels/launch.ts. Do not edit.',
    '#pragma once',
    '#include <stddef.h>',
    '',
    constantsHeader(),
    '',
    structHeader('MlaParams', mlaParamsLayout),
    '',
    structHeader('SparseParams', sparseParamsLayout),
    layerHeader(),
    '',
    '// decode.cu variants: X(NAME, BM, BN, STAGES, NWARPS, QREGS (-1: Decode), dynamic shared memory bytes)',
    `#define MLA_DECODE_VARIANTS(X) \\\n  ${variants}`,
    sparseMmaHeader(),
    '',
  ].join('\n');
}

/** sparse.cu: a CTA of 4 warps per (head h, query j, request i); the kernel for the cache kind and q's dtype. */
export function sparseLaunch(p: SparseProblem): Launch {
  return { grid: [p.hQ, p.sQ, p.b], block: [128, 1, 1], smem: 0 };
}

export function sparseKernelName(p: Pick<SparseProblem, 'cache' | 'dtype' | 'dQk'>): string {
  return `mla_sparse_${p.cache.kind}_${p.dtype}_d${p.dQk}`;
}

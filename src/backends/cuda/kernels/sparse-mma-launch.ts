// Launch math of sparse_mma.cu (the tiled sparse decode, and dense page-table decode over FP8 caches): its
// instantiations, their shared memory, the grid, and which one a problem gets. kernels/params.h gets the
// parameter struct and the variant list from here (through launch.ts kernelsHeader), so both sides agree.
import type { HalfDType } from '../../../core/dtype.js';
import type { SparseCacheKind } from '../../../core/sparse.js';
import { sparseMmaParamsLayout, structHeader } from '../params.js';
import { SparseMeta, sparseBlockSizeTopk } from '../../../core/sparse-scheduler.js';

/** One instantiation: cache kind, q's dtype, head dim, BM query rows a CTA (64 tokens a tile, 8 warps). */
export interface SparseMmaVariant {
  readonly kind: SparseCacheKind;
  readonly dtype: HalfDType;
  readonly dQk: 576 | 512;
  readonly bm: 16 | 32 | 64;
}

const rowTiles = [16, 32, 64] as const;
/** FP8 caches with bf16 or f16 queries, and 16-bit caches. */
const families: readonly Omit<SparseMmaVariant, 'bm'>[] = [
  { kind: 'v32', dtype: 'bf16', dQk: 576 },
  { kind: 'model1', dtype: 'bf16', dQk: 512 },
  { kind: 'bf16', dtype: 'bf16', dQk: 576 },
  { kind: 'bf16', dtype: 'bf16', dQk: 512 },
  { kind: 'f16', dtype: 'f16', dQk: 576 },
  { kind: 'f16', dtype: 'f16', dQk: 512 },
  { kind: 'v32', dtype: 'f16', dQk: 576 },
  { kind: 'model1', dtype: 'f16', dQk: 512 },
];

/** An f16 query over an FP8 cache: sparse_mma.cu holds Q as bf16 hi + lo tiles (SparseMma::QS), whose second tile
    leaves no room for 64-row tiles. */
export function sparseMmaSplitQ(v: Pick<SparseMmaVariant, 'kind' | 'dtype'>): boolean {
  return v.dtype === 'f16' && (v.kind === 'v32' || v.kind === 'model1');
}
/** Row tiles a family has: 16 and 32 where Q is split, else 16, 32 and 64. */
function rowTilesOf(f: Omit<SparseMmaVariant, 'bm'>): readonly (16 | 32 | 64)[] {
  return sparseMmaSplitQ(f) ? [16, 32] : rowTiles;
}
export const sparseMmaVariants: readonly SparseMmaVariant[] = families.flatMap((f) => rowTilesOf(f).map((bm) => ({ ...f, bm })));

/** Staged bytes a token (sparse_mma.cu Fmt<K>::RAW): V3.2 656; MODEL1 576 + 8 scale bytes + 8 pad; 16-bit caches none. */
function rawBytes(kind: SparseCacheKind): number {
  return kind === 'v32' ? 656 : kind === 'model1' ? 592 : 0;
}

/** Shared memory a block may opt in to on sm_90 (227 KiB). */
export const hopperSmem = 232448;

function smemWith(v: SparseMmaVariant, stages: number): number {
  const bn = 64, stride = v.dQk + 8, wn = 8 / (v.bm / 16), qTiles = sparseMmaSplitQ(v) ? 2 : 1;
  return (qTiles * v.bm * stride + bn * stride + 2 * v.bm * (bn + 8)) * 2 + 2 * wn * v.bm * 4 + 4 * bn * 4 + stages * bn * rawBytes(v.kind); // P: hi and lo tiles
}

/** Staging buffers (sparse_mma.cu RS): none for a 16-bit cache, else two where they fit Hopper's 227 KiB, else one. */
export function sparseMmaRawStages(v: SparseMmaVariant): 0 | 1 | 2 {
  return rawBytes(v.kind) === 0 ? 0 : smemWith(v, 2) <= hopperSmem ? 2 : 1;
}

/** Dynamic shared memory (SparseMma::SMEM): Q tile (two where Q is split), key tile, P tile, row maxima/sums, flags,
    staging buffers. */
export function sparseMmaSmem(v: SparseMmaVariant): number {
  return smemWith(v, sparseMmaRawStages(v));
}

export function sparseMmaKernelName(v: SparseMmaVariant): string {
  return `mla_sparse_mma_${v.kind}_${v.dtype}_d${v.dQk}_m${v.bm}`;
}

const cKind: Record<SparseCacheKind, string> = { v32: 'V32', model1: 'Model1', bf16: 'Half', f16: 'Half' };
const cType: Record<HalfDType, string> = { bf16: '__nv_bfloat16', f16: '__half' };

/** The sparse scheduler's metadata row (core/sparse-scheduler.ts SparseMeta) as constexpr fields for sparse_mma.cu. */
function sparseMetaHeader(): string {
  const fields: [string, number][] = [
    ['BeginReqIdx', SparseMeta.BeginReqIdx], ['EndReqIdx', SparseMeta.EndReqIdx], ['BeginBlockIdx', SparseMeta.BeginBlockIdx],
    ['EndBlockIdx', SparseMeta.EndBlockIdx], ['BeginSplitIdx', SparseMeta.BeginSplitIdx],
    ['IsFirstReqSplitted', SparseMeta.IsFirstReqSplitted], ['IsLastReqSplitted', SparseMeta.IsLastReqSplitted],
  ];
  return [
    '// The sparse scheduler\'s tileSchedulerMetadata row, FlashMLA\'s DecodingSchedMeta (src/core/sparse-scheduler.ts)',
    `constexpr int kSparseBlockTopk = ${sparseBlockSizeTopk}; // indices per scheduler block of a request's list`,
    ...fields.map(([k, v]) => `constexpr int kSparseMeta${k} = ${v};`),
  ].join('\n');
}

/** The params.h text: the sparse metadata layout, the struct and MLA_SPARSE_MMA_VARIANTS(X) with X(NAME, KIND, T, DQK, BM, SMEM). */
export function sparseMmaHeader(): string {
  const rows = sparseMmaVariants.map((v) => `X(${sparseMmaKernelName(v)}, ${cKind[v.kind]}, ${cType[v.dtype]}, ${v.dQk}, ${v.bm}, ${sparseMmaSmem(v)})`);
  return [
    '',
    sparseMetaHeader(),
    '',
    structHeader('SparseMmaParams', sparseMmaParamsLayout),
    '',
    '// sparse_mma.cu variants: X(NAME, KIND, T, DQK, BM, dynamic shared memory bytes)',
    `#define MLA_SPARSE_MMA_VARIANTS(X) \\\n  ${rows.join(' \\\n  ')}`,
  ].join('\n');
}

/**
 * The variant for `rows` query rows a CTA shares (sparse: hQ of one query position; dense: sQ * hQ), or undefined
 * where none exists or its shared memory does not fit `maxSmem` (then sparse.cu runs). An f16 query over an FP8 cache
 * takes tiles of at most 32 rows (sparseMmaSplitQ).
 */
export function chooseSparseMma(kind: SparseCacheKind, dtype: HalfDType, dQk: number, rows: number, maxSmem: number): SparseMmaVariant | undefined {
  const bm = rows <= 16 ? 16 : rows <= 32 || sparseMmaSplitQ({ kind, dtype }) ? 32 : 64;
  const v = sparseMmaVariants.find((x) => x.kind === kind && x.dtype === dtype && x.dQk === dQk && x.bm === bm);
  return v && sparseMmaSmem(v) <= maxSmem ? v : undefined;
}

export interface SparseMmaGrid {
  grid: [number, number, number];
  block: [number, number, number];
  smem: number;
}

/** Sparse: (numSmParts, sQ, ceil(hQ / bm)); dense: (numSmParts, 1, ceil(sQ * hQ / bm)); 256 threads. */
export function sparseMmaLaunch(v: SparseMmaVariant, numSmParts: number, sQ: number, hQ: number, dense: boolean): SparseMmaGrid {
  const grid: [number, number, number] = dense ? [numSmParts, 1, Math.ceil((sQ * hQ) / v.bm)] : [numSmParts, sQ, Math.ceil(hQ / v.bm)];
  return { grid, block: [256, 1, 1], smem: sparseMmaSmem(v) };
}

/**
 * mla_sparse_bound's grid: one CTA that writes a device plan of `planParts` SM parts (none where the host planned the
 * step), then for `ids` index and length words to copy a grid-stride loop of at most 1024 CTAs of 256 threads (none
 * where ids is 0).
 */
export function sparseBoundLaunch(ids: number, planParts = 0): SparseMmaGrid {
  const copies = ids > 0 ? Math.max(1, Math.min(1024, Math.ceil(ids / 256))) : 0;
  return { grid: [(planParts > 0 ? 1 : 0) + copies, 1, 1], block: [256, 1, 1], smem: 0 };
}
export const sparseBoundKernelName = 'mla_sparse_bound';
/**
 * The requests and SM parts the plan entries' parallel walk holds in shared memory (sparse_mma.cu PlanSmall / PlanWide;
 * past the wide one warp 0 walks as the host does). Every CTA of an entry holds its arrays: ~10 KB in the small one,
 * 37 KB in the wide one; the entries without the plan CTA hold none.
 */
export const planCapacity = { small: { requests: 1024, parts: 512 }, wide: { requests: 4096, parts: 1024 } } as const;
/** The suffix of a pass's entry: none without the plan CTA (planParts 0), '_plan' within the small capacity, else '_plan_wide'. */
export function planEntrySuffix(planParts: number, b: number): '' | '_plan' | '_plan_wide' {
  if (planParts <= 0) return '';
  return b <= planCapacity.small.requests && planParts <= planCapacity.small.parts ? '_plan' : '_plan_wide';
}
/** mla_sparse_bound's entry for a step of b requests planned over planParts SM parts (0: planned on the host). */
export function sparseBoundKernel(planParts: number, b: number): string {
  return sparseBoundKernelName + planEntrySuffix(planParts, b);
}

/** The split combine: a warp per row (batch, j, h), four rows a CTA. */
export function sparseMmaCombineLaunch(b: number, sQ: number, hQ: number): SparseMmaGrid {
  return { grid: [b, sQ, Math.ceil(hQ / 4)], block: [128, 1, 1], smem: 0 };
}

/** f32 partials: [b + numSmParts, sQ, hQ, 512] and [b + numSmParts, sQ, hQ]. */
export function sparseMmaAccumElems(b: number, numSmParts: number, sQ: number, hQ: number): { o: number; lse: number } {
  const rows = (b + numSmParts) * sQ * hQ;
  return { o: rows * 512, lse: rows };
}

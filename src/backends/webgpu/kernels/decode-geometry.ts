// Geometry of the f32 decode kernel (kernels/decode.ts): how the 256 lanes of a workgroup divide the work of a
// specialisation (kernels/decode-spec.ts) in each phase, and how much workgroup memory it declares. Everything
// here is derived from the spec; the WGSL generator reads it instead of recomputing it.
//
// One workgroup owns `rowsPerTile` query rows (CUDA: bm) and walks the keys of its SM part in tiles of
// `keysPerTile` (CUDA: bn). A key tile is a pipeline of stages through two stage buffers:
//   QK stages: S = Q K^T over `qkColumnsPerStage` of the 576 columns; every lane owns a 4-row x 4-key microtile of
//     a column slice (tiles of fewer rows split the columns over `qkSlices` slices, summed once per tile);
//   the softmax: `softmaxLanesPerRow` consecutive lanes own one row;
//   PV stages: O += P V over `pvKeysPerStage` keys; every lane owns `pvRowsPerLane` rows x `pvColumnsPerLane`
//     columns, the rows shared by a whole subgroup so P loads broadcast.
import { dQk, dV } from '../../../core/constants.js';
import type { DecodeSpec } from './decode-spec.js';

/** Lanes of a decode workgroup (CUDA: nwarps * 32; here a multiple of any subgroup size). */
export const workgroupSize = 256;
/** Keys per tile (FlashMLA's blockSizeN; CUDA: bn). */
export const keysPerTile = 64;
/** vec4<u32> per cache or q row (8 halves each). */
export const qkVec4sPerRow = dQk / 8;

/** The tiling knobs the layout depends on (dtype, bindings and code-style flags do not change it). */
export type DecodeTiling = Pick<DecodeSpec, 'rowsPerTile' | 'qkColumnsPerStage' | 'pvKeysPerStage'>;

/** The lane layout of a tile size: what depends on the rows per tile alone. */
export interface TileLayout {
  /** Groups of 4 query rows: the QK microtile's row dimension. */
  rowGroups: number;
  /** Column slices of a QK stage: lanes of different slices own the same microtile over different columns. */
  qkSlices: number;
  /** Output columns a lane owns in PV (4 or 8). */
  pvColumnsPerLane: number;
  /** Lanes side by side over the 512 output columns in PV. */
  pvColumnGroups: number;
  /** Query rows a lane owns in PV. */
  pvRowsPerLane: number;
  /**
   * Workgroup halves that take alternate halves of a PV stage's keys (2 for 16-row tiles: every lane keeps all 16
   * rows, so 4 broadcast P loads per V load, not 2; the halves are summed at the end of the item), else 1.
   */
  pvKeySplit: number;
}

export function tileLayout(rowsPerTile: number): TileLayout {
  const rowGroups = rowsPerTile / 4;
  const qkSlices = workgroupSize / (16 * rowGroups);
  const pvColumnsPerLane = rowsPerTile === 64 ? 8 : 4;
  const pvColumnGroups = dV / pvColumnsPerLane;
  const pvKeySplit = rowsPerTile === 16 ? 2 : 1;
  return { rowGroups, qkSlices, pvColumnsPerLane, pvColumnGroups, pvRowsPerLane: (rowsPerTile * pvColumnGroups * pvKeySplit) / workgroupSize, pvKeySplit };
}

/** Everything the WGSL generator needs to know about a specialisation's layout. */
export interface DecodeGeometry extends TileLayout {
  /** Columns of a QK stage per slice (a multiple of 8: whole 8-column parts). */
  qkColumnsPerSlice: number;
  /** 8-column parts (one vec4<u32> of halves each) per row per QK stage. */
  qkPartsPerStage: number;
  /** vec4 slots of one stage buffer: the larger of a QK stage (q and k columns) and a PV stage (V rows). */
  stageVec4s: number;
  /** Offset of the k columns after the q columns in a QK stage buffer (vec4 slots). */
  qkKeyColumnsOffset: number;
  /** QK stages per key tile (576 / qkColumnsPerStage) and PV stages (keysPerTile / pvKeysPerStage). */
  qkStages: number;
  pvStages: number;
  /** Keys of a PV stage each lane multiplies (pvKeysPerStage / pvKeySplit). */
  pvKeysPerLane: number;
  /** vec4 column groups of a lane's PV accumulators (pvColumnsPerLane / 4). */
  pvVec4sPerLane: number;
  /** vec4<u32> of V a lane loads per PV stage (1 or 2). */
  vLoadsPerLane: number;
  /** Lanes of one row in the softmax, and keys each of them takes. */
  softmaxLanesPerRow: number;
  softmaxKeysPerLane: number;
  /** Stages per loop iteration of the QK and PV loops (see DecodeSpec.stagesPerIteration). */
  qkStagesPerIteration: number;
  pvStagesPerIteration: number;
  /** The QK slice partial sums overflow stage buffer 0 into buffer 1 (the reduction then needs one more barrier). */
  slicePartialsSpill: boolean;
  /** Bytes of workgroup memory the kernel declares. */
  sharedBytes: number;
}

/** vec4 slots of one stage buffer. */
function stageVec4sOf(t: DecodeTiling): number {
  return Math.max(t.qkColumnsPerStage * (t.rowsPerTile / 4 + keysPerTile / 4), t.pvKeysPerStage * 128);
}

/**
 * Workgroup memory of a specialisation, array by array as the WGSL declares them: the two stage buffers and the
 * tile's scores (vec4), keyRow and keySeg, five per-row arrays, the diagNF flag, and the reduction scratch when
 * there are no subgroups. (Before 2026-11-29 the 4-byte diagNF flag was left out; no spec came within 4 bytes under
 * a power-of-two or common device limit, so no choice changed.)
 */
export function decodeSharedBytes(t: DecodeTiling, subgroups: boolean): number {
  return 16 * (2 * stageVec4sOf(t) + (t.rowsPerTile * keysPerTile) / 4) + 4 * (2 * keysPerTile + 5 * t.rowsPerTile + 1) + (subgroups ? 0 : workgroupSize * 4);
}

/**
 * Stages per loop iteration: the largest even divisor of `stages` up to `most` (1: no unrolling, the stage buffer
 * offset a runtime value).
 */
function stagesPerIterationOf(stages: number, most: number): number {
  if (most === 1) return 1;
  const candidates = Array.from({ length: most + 1 }, (_, i) => i).filter((u) => u >= 2 && u % 2 === 0 && stages % u === 0);
  return Math.max(...candidates);
}

export function decodeGeometry(s: DecodeSpec): DecodeGeometry {
  const layout = tileLayout(s.rowsPerTile);
  const qkStages = dQk / s.qkColumnsPerStage, pvStages = keysPerTile / s.pvKeysPerStage;
  const stageVec4s = stageVec4sOf(s);
  const softmaxLanesPerRow = workgroupSize / s.rowsPerTile;
  return {
    ...layout,
    qkColumnsPerSlice: s.qkColumnsPerStage / layout.qkSlices,
    qkPartsPerStage: s.qkColumnsPerStage / 8,
    stageVec4s,
    qkKeyColumnsOffset: s.qkColumnsPerStage * layout.rowGroups,
    qkStages,
    pvStages,
    pvKeysPerLane: s.pvKeysPerStage / layout.pvKeySplit,
    pvVec4sPerLane: layout.pvColumnsPerLane / 4,
    vLoadsPerLane: s.pvKeysPerStage / 4,
    softmaxLanesPerRow,
    softmaxKeysPerLane: keysPerTile / softmaxLanesPerRow,
    qkStagesPerIteration: stagesPerIterationOf(qkStages, s.stagesPerIteration),
    pvStagesPerIteration: stagesPerIterationOf(pvStages, s.stagesPerIteration),
    slicePartialsSpill: (layout.qkSlices - 1) * 4 * 16 * layout.rowGroups > stageVec4s,
    sharedBytes: decodeSharedBytes(s, s.subgroups),
  };
}

/** Whether a tiling (with `prefetchStages`) satisfies the kernel's layout rules in `limit` bytes of workgroup memory. */
export function tilingFits(t: DecodeTiling & Pick<DecodeSpec, 'prefetchStages'>, limit: number, subgroups: boolean): boolean {
  const { rowGroups, qkSlices } = tileLayout(t.rowsPerTile);
  const { qkColumnsPerStage: dc, pvKeysPerStage: kc, prefetchStages: pf } = t;
  const columnsPerSlice = dc / qkSlices;
  const slicePartials = (qkSlices - 1) * 4 * 16 * rowGroups; // vec4s of the slice reduction (stage buffers)
  return (dc === 16 || dc === 32) && (kc === 4 || kc === 8) && (pf === 1 || pf === 2) && columnsPerSlice >= 8 && columnsPerSlice % 8 === 0
    && (dQk / dc) % 2 === 0 && (keysPerTile / kc) % 2 === 0 && slicePartials <= 2 * stageVec4sOf(t)
    && decodeSharedBytes(t, subgroups) <= limit;
}

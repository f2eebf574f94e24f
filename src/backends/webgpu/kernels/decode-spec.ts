// The specialisation of the f32 decode kernel (kernels/decode.ts): the tiling choice, its pipeline key, and how
// the backend picks one for a decode plan on a device. The knobs are named as the CUDA backend names the same
// ideas where there is one (kernels/launch.ts DecodeVariant: bm, bn, stages, nwarps); docs/architecture.md's
// glossary pairs them.
import type { HalfDType } from '../../../core/dtype.js';
import type { DecodePlan } from '../../../core/plan.js';
import type { DeviceCaps } from '../program.js';
import { tilingFits, workgroupSize } from './decode-geometry.js';

export interface DecodeSpec {
  dtype: HalfDType;
  /** Query rows per workgroup (CUDA: bm): 16, 32 or 64. */
  rowsPerTile: number;
  /** Columns of q and k per QK stage: 16 or 32. */
  qkColumnsPerStage: number;
  /** Keys of V per PV stage: 4 or 8. */
  pvKeysPerStage: number;
  /** Stages loaded ahead into registers (CUDA's `stages` counts key tiles in shared memory instead): 1 or 2. */
  prefetchStages: number;
  /**
   * Stages per loop iteration, at most (each loop takes the largest even divisor of its stage count up to this):
   * 1 (a runtime buffer offset, least code), 2, 4 or 6 (buffer offsets and register slots constant).
   */
  stagesPerIteration: number;
  /** Storage bindings the cache is split over (each holds whole pages). */
  cacheBindings: number;
  /** Row reductions by subgroup shuffles (lanes of one row are consecutive invocations of one subgroup). */
  subgroups: boolean;
  /** Multiply-adds written a * b + c (left to the driver to fuse) instead of the fma() builtin. */
  mulAdd: boolean;
}

/** The knobs a benchmark may force (everything else follows from the problem and the device). */
export type DecodeTuning = Partial<Pick<DecodeSpec, 'rowsPerTile' | 'qkColumnsPerStage' | 'pvKeysPerStage' | 'prefetchStages' | 'stagesPerIteration'>>;

/** The pipeline key: everything that changes the generated code (the short names predate the spec's field names). */
export function decodeSpecKey(s: DecodeSpec): string {
  return `${s.dtype}.m${s.rowsPerTile}.dc${s.qkColumnsPerStage}.kc${s.pvKeysPerStage}.pf${s.prefetchStages}.u${s.stagesPerIteration}.seg${s.cacheBindings}.${s.subgroups ? 'sg' : 'wg'}.${s.mulAdd ? 'mad' : 'fma'}`;
}

/** Query rows per KV head of a plan (sQ * hQ / hKv): the rows the workgroups of one KV head share. */
export function queryRowsPerKvHead(plan: Pick<DecodePlan, 'sQ' | 'hQ' | 'hKv'>): number {
  return (plan.sQ * plan.hQ) / plan.hKv;
}

/**
 * Choose the specialisation for a plan's shape on a device: the largest tiles and stages that fit its workgroup
 * memory (16, 32 or 64 rows per tile as the query rows per KV head need).
 */
export function chooseDecodeSpec(
  plan: Pick<DecodePlan, 'sQ' | 'hQ' | 'hKv'>, dtype: HalfDType, caps: DeviceCaps, cacheBindings: number, mulAdd = false, tune: DecodeTuning = {},
): DecodeSpec {
  const rows = queryRowsPerKvHead(plan);
  const limit = caps.maxComputeWorkgroupStorageSize;
  let rowsPerTile = tune.rowsPerTile ?? (rows <= 16 ? 16 : rows <= 32 ? 32 : 64);
  for (;;) {
    const subgroups = caps.subgroups && caps.subgroupMinSize >= workgroupSize / rowsPerTile;
    for (const [dc, kc] of [[32, 8], [32, 4], [16, 8], [16, 4]]) {
      const t = {
        rowsPerTile, qkColumnsPerStage: tune.qkColumnsPerStage ?? dc, pvKeysPerStage: tune.pvKeysPerStage ?? kc, prefetchStages: tune.prefetchStages ?? 2,
      };
      if (tilingFits(t, limit, subgroups)) return { dtype, ...t, stagesPerIteration: tune.stagesPerIteration ?? 2, cacheBindings, subgroups, mulAdd };
    }
    if (rowsPerTile === 16) throw new Error(`workgroup memory ${limit} B is too small for the decode kernel (or the forced tuning ${JSON.stringify(tune)} does not fit)`);
    rowsPerTile /= 2;
  }
}

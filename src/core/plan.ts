// The decode plan: everything about one decode step that does not depend on a layer's q and kCache, worked out
// once, backend-neutral. MlaDecoder.plan() builds it once per step (flashMlaWithKvcache builds one per call), hands
// it to Backend.reserve() so the backend allocates its workspace up front, and passes it in every DecodeCall,
// so backends read the accumulator count and the workspace layout from here instead of re-deriving them.
import { dV, metadataFields } from './constants.js';
import type { MlaProblem } from './problem.js';
import { maxPartials } from './scheduler.js';

/** What a plan depends on: the problem's batch, query and head shape, its SM parts and block-table width. */
export type PlanShape = Pick<MlaProblem, 'b' | 'sQ' | 'hQ' | 'hKv' | 'numSmParts' | 'maxBlocksPerSeq' | 'varlen'>;

/**
 * Where a backend's scratch lives, as offsets into two buffers.
 * Index buffer (i32 words), for a backend that copies the index tensors into one buffer:
 *   blockTable [b, maxBlocksPerSeq] | cacheSeqlens [b] | qIndptr [b + 1] (varlen only) | metadata [numSmParts, 8] | numSplits [b + 1].
 * Accumulator buffer (f32 elements): lseAccum [slots, rows], then oAccum [slots, rows, dV] from a 256-byte boundary
 * (the kernels read oAccum as 16-byte vectors).
 */
export interface DecodeWorkspace {
  blockTable: number;
  cacheSeqlens: number;
  qIndptr: number;
  tileSchedulerMetadata: number;
  numSplits: number;
  /** i32 words of the index buffer. */
  indexWords: number;
  lseAccum: number;
  oAccum: number;
  /** f32 elements of the accumulator buffer (lseAccum, padding, oAccum). */
  accumFloats: number;
}

export interface DecodePlan extends PlanShape {
  /** Rows of the f32 partial buffers: b + numSmParts, the most partial results a schedule can make. */
  accumSlots: number;
  /** Query rows of one partial result: sQ * hQ (row j * hQ + h). */
  rowsPerSlot: number;
  workspace: DecodeWorkspace;
  /**
   * Whether the combine has work: some request is split across SM parts (numSplits[b] > b). True when numSplits
   * is not on the host, since then nobody can tell without reading the device.
   */
  combine: boolean;
  /**
   * The most partial results of one request (numSplits' largest step) when numSplits is on the host; absent when it
   * is not. The WebGPU backend picks its combine kernel by it (kernels/combine.ts chooseCombine).
   */
  maxSplits?: number;
  /**
   * The mean keys of a work item (the cache lengths' sum over numSplits[b]) when both are on the host; absent when
   * not. The WebGPU backend picks the v5 matrix kernel's q prologue by it (kernels/decode-matrix5.ts matrix5QRowLanesFor).
   */
  keysPerSplit?: number;
  /**
   * True when the planner made this plan with split pieces under FlashMLA's floor (core/scheduler.ts cutsUnderFloor:
   * 'fill', or 'auto' where it picks 'fill'); absent for a caller's metadata. The WebGPU backend's matrix kernel then
   * takes its "keys seen, all -inf" state.
   */
  underFloor?: boolean;
}

/**
 * The plan for a decode of this shape; `numSplits` (host, [b + 1]) decides whether a combine runs, and with
 * `seqlens` (cacheSeqlens on the host, [b]) gives the mean keys of a work item.
 */
export function planDecode(s: PlanShape, numSplits?: Int32Array, seqlens?: Int32Array, underFloor?: boolean): DecodePlan {
  const accumSlots = maxPartials(s.b, s.numSmParts), rowsPerSlot = s.sQ * s.hQ;
  const blockTable = 0, cacheSeqlens = blockTable + s.b * s.maxBlocksPerSeq, qIndptr = cacheSeqlens + s.b;
  const tileSchedulerMetadata = qIndptr + (s.varlen ? s.b + 1 : 0), numSplitsAt = tileSchedulerMetadata + s.numSmParts * metadataFields;
  const lseElems = accumSlots * rowsPerSlot, oAccum = Math.ceil(lseElems / 64) * 64;
  return {
    b: s.b, sQ: s.sQ, hQ: s.hQ, hKv: s.hKv, numSmParts: s.numSmParts, maxBlocksPerSeq: s.maxBlocksPerSeq, varlen: s.varlen,
    accumSlots, rowsPerSlot,
    workspace: {
      blockTable, cacheSeqlens, qIndptr, tileSchedulerMetadata, numSplits: numSplitsAt, indexWords: numSplitsAt + s.b + 1,
      lseAccum: 0, oAccum, accumFloats: oAccum + lseElems * dV,
    },
    combine: numSplits === undefined || numSplits[s.b] !== s.b,
    ...(numSplits === undefined ? {} : { maxSplits: mostSplits(numSplits, s.b) }),
    ...(numSplits !== undefined && seqlens !== undefined && numSplits[s.b] > 0 ? { keysPerSplit: sumOf(seqlens, s.b) / numSplits[s.b] } : {}),
    ...(underFloor ? { underFloor } : {}),
  };
}

function sumOf(a: Int32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.max(a[i], 0);
  return s;
}

/** The most pieces one of the b requests is in, from numSplits [b + 1] (FlashMLA's cumulative split counts). */
export function mostSplits(numSplits: Int32Array, b: number): number {
  let most = 0;
  for (let i = 0; i < b; i++) most = Math.max(most, numSplits[i + 1] - numSplits[i]);
  return most;
}

/** True when `plan` was made for this problem's shape (a launch must never use another shape's plan). */
export function planFits(plan: DecodePlan, p: PlanShape): boolean {
  return plan.b === p.b && plan.sQ === p.sQ && plan.hQ === p.hQ && plan.hKv === p.hKv && plan.numSmParts === p.numSmParts
    && plan.maxBlocksPerSeq === p.maxBlocksPerSeq && plan.varlen === p.varlen;
}

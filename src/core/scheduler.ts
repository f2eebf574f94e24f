// The split-KV tile scheduler: FlashMLA's get_mla_metadata, on the host.
//
// Work is counted in 64-token KV tiles ("blocks" of blockSizeN keys, independent of the cache's page size).
// Every sequence costs its tiles plus a fixed overhead of 5 tiles (the cost of starting a sequence and of one
// more partial result to combine). The total is cut into numSmParts equal payloads; each part walks the batch
// in order, taking whole sequences while they fit and otherwise a prefix of the next one's tiles, which splits
// that sequence across parts. Payloads are at least two overheads, so tiny batches are not shredded. A split sequence is merged afterwards by the combine kernel.

import { Meta, blockSizeM, blockSizeN, fixedOverheadNumBlocks, metadataFields } from './constants.js';

// Re-exported for the modules that import them from here; their home is constants.ts.
export { Meta, blockSizeM, blockSizeN, fixedOverheadNumBlocks, metadataFields };

/** How many SM parts FlashMLA launches: one CTA per part, per KV head, per 64-row query tile. */
export function numSmPartsFor(numSms: number, numHeadsPerHeadK: number, numHeadsK: number): number {
  return Math.max(1, Math.floor(numSms / numHeadsK / Math.ceil(numHeadsPerHeadK / blockSizeM)));
}

export interface Schedule {
  /** [numSmParts, 8] i32; fields 5..7 are zero. */
  tileSchedulerMetadata: Int32Array;
  /** [b + 1] i32: cumulative count of partial results per sequence. */
  numSplits: Int32Array;
  numSmParts: number;
}

/**
 * Which split-KV plan: FlashMLA's (the default), 'fill' (a lower payload floor; see the header) or 'auto' (one of
 * the two per step, autoSchedule's rule).
 */
export type ScheduleKind = 'flashmla' | 'fill' | 'auto';
export const scheduleKinds: readonly ScheduleKind[] = ['flashmla', 'fill', 'auto'];

/** The smallest payload (blocks, overhead included) a schedule plans. */
export function minPayloadBlocks(kind: Exclude<ScheduleKind, 'auto'>): number {
  return kind === 'fill' ? fixedOverheadNumBlocks + 1 : 2 * fixedOverheadNumBlocks;
}

/**
 * The plan 'auto' makes (session 23, measured on the H200 with the Hopper kernels and the mma.sync kernel;
 * docs/notes/cuda-hopper-decode.md, "Session 23"). The two plans differ only where the even share of the work, T = ceil(total / numSmParts) blocks with
 * the overheads, is under FlashMLA's floor of 5 blocks a part: there FlashMLA's plan gives fewer parts 5 blocks each
 * and 'fill' gives more parts T blocks each (more split pieces to merge). 'fill' wherever T <= 3 (3 to 24 % faster
 * at every such shape timed, 16 to 256 rows); at T = 4 only for at most 32 rows a KV head, whose split pieces are
 * small (level to 6.6 % faster there, and 2 % slower at 64 rows, b = 1 s_k 32768); FlashMLA's elsewhere.
 * `rowsPerKvHead` (sQ * hQ / hKv) unknown counts as more than 32.
 */
export function autoSchedule(seqlens: ArrayLike<number>, numSmParts: number, rowsPerKvHead = Infinity, rule: AutoRule = autoRuleCuda): 'flashmla' | 'fill' {
  return autoKind(evenShare(seqlens, numSmParts), rowsPerKvHead, rule);
}

/**
 * Where 'auto' takes 'fill', by the even share T (blocks a part, overheads included): T <= `anyRows` at any rows a KV
 * head, T <= `fewRows` at most `fewRowsMax` rows a KV head. A backend states its own (BackendInfo.autoRule), measured
 * with its kernels; getMlaMetadata and MlaDecoder read it from the backend they plan for.
 */
export interface AutoRule {
  readonly anyRows: number;
  readonly fewRows: number;
  readonly fewRowsMax: number;
}
/** The rule of session 23 (the CUDA backend's Hopper and mma.sync kernels on the H200), and the default. */
export const autoRuleCuda: AutoRule = { anyRows: 3, fewRows: 4, fewRowsMax: 32 };

/** The even share of a batch's work, T = ceil(total / numSmParts) blocks a part, each request's overhead included. */
function evenShare(seqlens: ArrayLike<number>, numSmParts: number): number {
  let total = 0;
  for (let i = 0; i < seqlens.length; i++) total += Math.ceil(seqlens[i] / blockSizeN) + fixedOverheadNumBlocks;
  return Math.ceil(total / numSmParts);
}

/**
 * Whether a plan of `kind` cuts split pieces under FlashMLA's floor (two overheads a part): 'fill' (or 'auto' where it
 * picks 'fill') where the even share is under 5 blocks; elsewhere the plan is FlashMLA's. The WebGPU backend's matrix
 * kernel then takes its "keys seen, all -inf" state (kernels/decode-matrix5.ts infSafe 'seen'), which such pieces need.
 */
export function cutsUnderFloor(seqlens: ArrayLike<number>, numSmParts: number, kind: ScheduleKind, rowsPerKvHead = Infinity, rule: AutoRule = autoRuleCuda): boolean {
  if (kind === 'flashmla') return false;
  const share = evenShare(seqlens, numSmParts);
  const k = kind === 'auto' ? autoKind(share, rowsPerKvHead, rule) : kind;
  return k === 'fill' && share + fixedOverheadNumBlocks < minPayloadBlocks('flashmla');
}

/** autoSchedule's rule on the even share (blocks a part, overheads included) and the rows a KV head. */
function autoKind(share: number, rowsPerKvHead = Infinity, rule: AutoRule = autoRuleCuda): 'flashmla' | 'fill' {
  return share <= rule.anyRows || (share <= rule.fewRows && rowsPerKvHead <= rule.fewRowsMax) ? 'fill' : 'flashmla';
}

/**
 * Plan the split-KV work exactly as FlashMLA's get_mla_metadata kernel does for `numSmParts` parts (with `kind`
 * 'fill', the same walk with a lower payload floor; 'auto': one of the two by autoSchedule, which reads
 * `rowsPerKvHead` and `rule`, default autoRuleCuda). `seqlens` are the keys of each sequence (non-negative; validated by the caller).
 */
export function planSchedule(seqlens: ArrayLike<number>, numSmParts: number, kind: ScheduleKind = 'flashmla', rowsPerKvHead?: number, rule?: AutoRule): Schedule {
  const b = seqlens.length;
  const numBlocks = new Int32Array(b);
  let total = 0;
  for (let i = 0; i < b; i++) {
    numBlocks[i] = Math.ceil(seqlens[i] / blockSizeN);
    total += numBlocks[i] + fixedOverheadNumBlocks;
  }
  // A split piece is worth at least as much work as its overhead: FlashMLA never plans payloads under two overheads
  // ('fill': one overhead and one block, so every split piece still gets at least one block).
  const share = Math.ceil(total / numSmParts);
  const payload = Math.max(share + fixedOverheadNumBlocks, minPayloadBlocks(kind === 'auto' ? autoKind(share, rowsPerKvHead, rule) : kind));
  const meta = new Int32Array(numSmParts * metadataFields);
  const numSplits = new Int32Array(b + 1);

  let idx = 0, block = 0, nSplit = 0, cumSplits = 0;
  for (let p = 0; p < numSmParts; p++) {
    const m = p * metadataFields;
    meta[m + Meta.BeginIdx] = idx;
    meta[m + Meta.BeginSeqlen] = block * blockSizeN;
    meta[m + Meta.BeginNSplitIdx] = nSplit;
    let remain = payload;
    while (idx < b) {
      const remainBlocks = numBlocks[idx] - block;
      if (remain >= remainBlocks + fixedOverheadNumBlocks) {
        cumSplits += nSplit + 1;
        numSplits[idx + 1] = cumSplits;
        remain -= remainBlocks + fixedOverheadNumBlocks;
        idx++;
        block = 0;
        nSplit = 0;
      } else {
        if (remain - fixedOverheadNumBlocks > 0) {
          block += remain - fixedOverheadNumBlocks;
          nSplit++;
          remain = 0;
        }
        break;
      }
    }
    meta[m + Meta.EndIdx] = block > 0 ? idx : idx - 1;
    meta[m + Meta.EndSeqlen] = block > 0 ? block * blockSizeN : idx > 0 ? seqlens[idx - 1] : 0;
  }
  return { tileSchedulerMetadata: meta, numSplits, numSmParts };
}

/** One contiguous run of keys [kBegin, kEnd) of sequence `batch` that one SM part computes. */
export interface WorkItem {
  part: number;
  batch: number;
  kBegin: number;
  kEnd: number;
  /** true when this item covers the whole sequence: the result goes straight to out / lse. */
  noSplit: boolean;
  /** Row of the fp32 partial buffers (numSplits[batch] + split index) when split. */
  splitSlot: number;
}

/**
 * The work items of one SM part, in order, as the decode kernel derives them from the metadata. The same walk
 * is what every backend's kernel does on the device; this host version drives the CPU backend and the tests.
 */
export function partWork(meta: Int32Array, numSplits: Int32Array, seqlens: ArrayLike<number>, part: number): WorkItem[] {
  const m = part * metadataFields;
  const beginIdx = meta[m + Meta.BeginIdx], beginSeqlen = meta[m + Meta.BeginSeqlen];
  const endIdx = meta[m + Meta.EndIdx], endSeqlen = meta[m + Meta.EndSeqlen];
  const items: WorkItem[] = [];
  for (let batch = beginIdx; batch <= endIdx; batch++) {
    const seqlen = seqlens[batch];
    const kBegin = batch === beginIdx ? beginSeqlen : 0;
    const kEnd = batch === endIdx ? endSeqlen : seqlen;
    const split = batch === beginIdx ? meta[m + Meta.BeginNSplitIdx] : 0;
    const noSplit = kBegin === 0 && kEnd === seqlen;
    items.push({ part, batch, kBegin, kEnd, noSplit, splitSlot: numSplits[batch] + split });
  }
  return items;
}

/** Upper bound on the partial results a schedule can produce: the rows the fp32 accumulators need. */
export function maxPartials(b: number, numSmParts: number): number {
  return b + numSmParts;
}

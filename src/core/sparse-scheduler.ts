// The sparse decode scheduler: FlashMLA's get_mla_metadata kernel for token-sparse decoding (9241ae3,
// smxx/decode/get_decoding_sched_meta), on the host.
//
// A request's work is its top-k list cut into 64-index blocks: topkLength[i] (or topk) indices, at least 1 so a
// request always has a block; with an extra cache the main list is padded to a multiple of 64 and the extra
// list (extraTopkLength[i] or extraTopk) follows it. Parts take payload = ceil(total / numSmParts) + 5 blocks
// in batch order exactly as the dense scheduler does, but the metadata rows are FlashMLA's DecodingSchedMeta.

export const sparseBlockSizeTopk = 64;
export const sparseFixedOverheadNumBlocks = 5;

/** Fields of one DecodingSchedMeta row ([numSmParts, 8] i32; field 7 is padding, left 0 here). */
export const enum SparseMeta {
  BeginReqIdx = 0, // inclusive
  EndReqIdx = 1, // inclusive
  BeginBlockIdx = 2, // inclusive, in 64-index blocks of the request's list
  EndBlockIdx = 3, // exclusive
  BeginSplitIdx = 4,
  IsFirstReqSplitted = 5,
  IsLastReqSplitted = 6,
}

/**
 * FlashMLA's sm90 rule: max(numSms / sQ / (hQ / 64), 1). It is written for hQ 64 and 128; for other head
 * counts (beyond FlashMLA) a part holds up to 64 heads, so the divisor is ceil(hQ / 64).
 */
export function sparseNumSmParts(numSms: number, sQ: number, hQ: number): number {
  return Math.max(Math.floor(Math.floor(numSms / sQ) / Math.ceil(hQ / 64)), 1);
}

export interface SparseScheduleInputs {
  b: number;
  topk: number;
  topkLength?: ArrayLike<number>;
  /** 0 when there is no extra cache. */
  extraTopk: number;
  extraTopkLength?: ArrayLike<number>;
}

/** Length of request i's index list as the scheduler counts it (the padded main list, then the extra list). */
export function sparseListLength(s: SparseScheduleInputs, i: number): number {
  let n = s.topkLength ? s.topkLength[i] : s.topk;
  if (n === 0) n = 1;
  if (s.extraTopk) n = Math.ceil(n / sparseBlockSizeTopk) * sparseBlockSizeTopk + (s.extraTopkLength ? s.extraTopkLength[i] : s.extraTopk);
  return n;
}

/** Where request i's extra list starts in its combined list (no extra cache: never). */
export function sparseMainRegion(s: SparseScheduleInputs, i: number): number {
  const n = Math.max(s.topkLength ? s.topkLength[i] : s.topk, 1);
  return s.extraTopk ? Math.ceil(n / sparseBlockSizeTopk) * sparseBlockSizeTopk : n;
}

export interface SparseSchedule {
  tileSchedulerMetadata: Int32Array;
  numSplits: Int32Array;
  numSmParts: number;
}

export function planSparseSchedule(s: SparseScheduleInputs, numSmParts: number): SparseSchedule {
  const { b } = s;
  const numBlocks = new Int32Array(b);
  const lastBlock = new Int32Array(b); // inclusive
  let total = 0;
  for (let i = 0; i < b; i++) {
    const len = sparseListLength(s, i);
    lastBlock[i] = Math.floor(Math.max(len - 1, 0) / sparseBlockSizeTopk);
    numBlocks[i] = lastBlock[i] + 1;
    total += numBlocks[i] + sparseFixedOverheadNumBlocks;
  }
  const payload = Math.ceil(total / numSmParts) + sparseFixedOverheadNumBlocks;
  const meta = new Int32Array(numSmParts * 8);
  const numSplits = new Int32Array(b + 1);
  let req = 0, block = 0, nSplit = 0, cum = 0;
  for (let p = 0; p < numSmParts; p++) {
    const m = p * 8;
    meta[m + SparseMeta.BeginReqIdx] = req;
    // FlashMLA adds first_block_idx[req] (always 0). Past the last request it reads the next shared-memory
    // array, last_block_idx[0]: kept, so the rows match FlashMLA's bit for bit (no kernel reads them).
    meta[m + SparseMeta.BeginBlockIdx] = block + (req < b ? 0 : lastBlock[0]);
    meta[m + SparseMeta.BeginSplitIdx] = nSplit;
    let first = block !== 0;
    let remain = payload;
    while (req < b) {
      const left = numBlocks[req] - block;
      if (remain >= left + sparseFixedOverheadNumBlocks) {
        cum += nSplit + 1;
        numSplits[req + 1] = cum;
        remain -= left + sparseFixedOverheadNumBlocks;
        req++;
        block = 0;
        nSplit = 0;
      } else {
        if (remain - sparseFixedOverheadNumBlocks > 0) {
          block += remain - sparseFixedOverheadNumBlocks;
          nSplit++;
          remain = 0;
        }
        break;
      }
    }
    const endReq = block > 0 ? req : req - 1;
    const endBlock = block > 0 ? block : lastBlock[req - 1] + 1;
    let last = endBlock !== lastBlock[endReq] + 1;
    if (meta[m + SparseMeta.BeginReqIdx] === endReq) first = last = first || last;
    meta[m + SparseMeta.EndReqIdx] = endReq;
    meta[m + SparseMeta.EndBlockIdx] = endBlock;
    meta[m + SparseMeta.IsFirstReqSplitted] = first ? 1 : 0;
    meta[m + SparseMeta.IsLastReqSplitted] = last ? 1 : 0;
  }
  return { tileSchedulerMetadata: meta, numSplits, numSmParts };
}

/** One piece of work: blocks [blockBegin, blockEnd) of request `req`, written to out directly or to a split slot. */
export interface SparseWorkItem {
  req: number;
  blockBegin: number;
  blockEnd: number;
  noSplit: boolean;
  splitSlot: number;
}

/** The items of one part, as a kernel derives them from its metadata row. */
export function sparsePartWork(meta: Int32Array, numSplits: Int32Array, numBlocksOf: (req: number) => number, part: number): SparseWorkItem[] {
  const m = part * 8;
  const items: SparseWorkItem[] = [];
  const br = meta[m + SparseMeta.BeginReqIdx], er = meta[m + SparseMeta.EndReqIdx];
  for (let r = br; r <= er; r++) {
    const blockBegin = r === br ? meta[m + SparseMeta.BeginBlockIdx] : 0;
    const blockEnd = r === er ? meta[m + SparseMeta.EndBlockIdx] : numBlocksOf(r);
    const split = r === br ? meta[m + SparseMeta.BeginSplitIdx] : 0;
    items.push({ req: r, blockBegin, blockEnd, noSplit: numSplits[r + 1] - numSplits[r] === 1, splitSlot: numSplits[r] + split });
  }
  return items;
}

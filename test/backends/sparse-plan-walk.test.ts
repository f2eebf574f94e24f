// The device scheduler's walk (sparse_mma.cu planRows, session 56) restated step for step in JS: a part a step, a ballot
// of "requests req .. req + lane fit whole" over 32 lanes, then the host's split. Checked against the host scheduler
// (planSparseSchedule) on random lengths, so that the reformulation itself is known to give FlashMLA's rows; the GPU
// suites check the CUDA code against the host scheduler the same way (test/gpu/sparse.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSparseSchedule, sparseListLength, sparseNumSmParts } from '../../src/core/sparse-scheduler.js';

const overhead = 5;

function ballotWalk(blocksOf: number[], parts: number): { meta: Int32Array; numSplits: Int32Array } {
  const b = blocksOf.length;
  const cost = new Int32Array(b + 1);
  for (let i = 0; i < b; i++) cost[i + 1] = cost[i] + blocksOf[i] + overhead;
  const blocks = (i: number) => cost[i + 1] - cost[i] - overhead;
  const payload = Math.ceil(cost[b] / parts) + overhead;
  const meta = new Int32Array(parts * 8), numSplits = new Int32Array(b + 1);
  let req = 0, block = 0, nSplit = 0, cum = 0;
  for (let part = 0; part < parts; part++) {
    const beginReq = req, beginBlock = block + (req < b ? 0 : blocks(0) - 1), beginSplit = nSplit;
    let first = block !== 0;
    let remain = payload;
    while (req < b) {
      let k = 0;
      for (let lane = 0; lane < 32; lane++) { const r = req + lane; if (r < b && cost[r + 1] - cost[req] - block <= remain) k++; }
      if (k > 0) {
        for (let lane = 0; lane < k; lane++) numSplits[req + lane + 1] = cum + nSplit + 1 + lane;
        remain -= cost[req + k] - cost[req] - block;
        cum += nSplit + k; req += k; block = 0; nSplit = 0;
        if (k === 32) continue;
      }
      if (req < b && remain - overhead > 0) { block += remain - overhead; nSplit++; remain = 0; }
      break;
    }
    const endReq = block > 0 ? req : req - 1, endBlock = block > 0 ? block : blocks(req - 1);
    let last = endBlock !== blocks(endReq);
    if (beginReq === endReq) first = last = first || last;
    meta.set([beginReq, endReq, beginBlock, endBlock, beginSplit, first ? 1 : 0, last ? 1 : 0, 0], part * 8);
  }
  return { meta, numSplits };
}

test('the ballot walk gives the host scheduler\'s rows and split counts (3000 random steps, b up to 300, 1-132 parts)', () => {
  let seed = 56;
  const r = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let c = 0; c < 3000; c++) {
    const b = c % 10 === 0 ? int(33, 300) : int(1, 70), topk = [1, 7, 64, 100, 2048][int(0, 4)], extraTopk = r() < 0.4 ? [2, 64, 70, 1024][int(0, 3)] : 0;
    const topkLength = r() < 0.5 ? Int32Array.from({ length: b }, () => [0, topk, int(0, topk)][int(0, 2)]) : undefined;
    const extraTopkLength = extraTopk && r() < 0.5 ? Int32Array.from({ length: b }, () => int(0, extraTopk)) : undefined;
    const parts = c % 7 === 0 ? int(1, 132) : sparseNumSmParts([132, 8, 3, 1][int(0, 3)], int(1, 3), [1, 64, 128][int(0, 2)]);
    const s = { b, topk, topkLength, extraTopk, extraTopkLength };
    const want = planSparseSchedule(s, parts);
    const got = ballotWalk(Array.from({ length: b }, (_, i) => Math.floor(Math.max(sparseListLength(s, i) - 1, 0) / 64) + 1), parts);
    assert.deepEqual([...got.numSplits], [...want.numSplits], `case ${c}: numSplits (b ${b}, parts ${parts})`);
    for (let p = 0; p < parts; p++) {
      assert.deepEqual([...got.meta.subarray(p * 8, p * 8 + 7)], [...want.tileSchedulerMetadata.subarray(p * 8, p * 8 + 7)], `case ${c}: row ${p} (b ${b}, parts ${parts})`);
    }
  }
});

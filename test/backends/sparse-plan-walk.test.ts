// The device scheduler's walk (sparse_mma.cu planRows, session 57) restated phase for phase in JS: the walk on one axis
// (a request boundary's next landing boundary and step count found independently of the others, one pass over the
// boundaries the walk lands on, then every part's point, row and split count), with the kernel's searches and its
// bounds. Checked against the host scheduler (planSparseSchedule) on random lengths and on the shapes the CUDA backend
// plans, so that the reformulation itself is known to give FlashMLA's rows; the GPU suites check the CUDA code against
// the host scheduler the same way (test/gpu/sparse.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planSparseSchedule, sparseListLength, sparseNumSmParts, type SparseScheduleInputs } from '../../src/core/sparse-scheduler.js';
import { planCapacity } from '../../src/backends/cuda/kernels/sparse-mma-launch.js';

// (the wide entry's bounds; the small entry runs the same phases within its own, where a chain holds at most parts + 1)
const overhead = 5, planShared = planCapacity.wide.requests, planParts = planCapacity.wide.parts;

/** planLowerBound: the first i in [lo, hi) with s[i] >= x (hi where none), probing lo, lo + 1, lo + 2, lo + 4 .., then bisecting. */
function lowerBound(s: Int32Array, lo: number, hi: number, x: number): number {
  let a = lo, probe = lo, step = 1;
  while (probe < hi && s[probe] < x) { a = probe + 1; probe = lo + step; step *= 2; }
  let h = Math.min(probe, hi);
  while (a < h) { const m = (a + h) >> 1; if (s[m] < x) a = m + 1; else h = m; }
  return a;
}

/** planLastAtMost: the last i in [0, n) with s[i] <= x. */
function lastAtMost(s: Int32Array, n: number, x: number): number {
  let a = 0, h = n;
  while (h - a > 1) { const m = (a + h) >> 1; if (s[m] <= x) a = m; else h = m; }
  return a;
}

const cdiv = (a: number, b: number) => Math.floor((a + b - 1) / b);

function deviceWalk(blocksOf: number[], parts: number): { meta: Int32Array; numSplits: Int32Array; landed: number } {
  const b = blocksOf.length;
  assert.ok(b <= planShared && parts <= planParts, 'within the parallel walk\'s bounds');
  // 1. S_i
  const cost = new Int32Array(b + 1);
  for (let i = 0; i < b; i++) cost[i + 1] = cost[i] + blocksOf[i] + overhead;
  const total = cost[b], q = cdiv(total, parts);
  // 2. each boundary's next landing boundary and its steps (packed as the kernel packs them)
  const walk = new Int32Array(Math.max(b, parts + 1));
  for (let j = 0; j < b; j++) {
    const sj = cost[j], cap = Math.max(1, cdiv(total - sj - overhead, q));
    let c = 1, lo = j + 1, next = b, steps = cap;
    while (c < cap) {
      const at = lowerBound(cost, lo, b, sj + c * q);
      const d = cost[at] - sj;
      if (d <= c * q + overhead) {
        steps = c; next = at;
        while (next < b && cost[next + 1] <= sj + c * q + overhead) next++;
        break;
      }
      c = cdiv(d - overhead, q);
      lo = at;
    }
    assert.ok(next < 1 << 16 && steps < 1 << 15);
    walk[j] = next | (steps << 16);
  }
  // 3. the boundaries the walk lands on
  const chain: number[] = [];
  for (let j = 0, k = 0; ;) {
    chain.push(j | (k << 16));
    if (j === b || k >= parts) break;
    k += walk[j] >> 16;
    j = walk[j] & 0xffff;
  }
  assert.ok(chain.length <= planParts + 1);
  const segmentOf = (k: number) => { let a = 0, h = chain.length; while (h - a > 1) { const m = (a + h) >> 1; if ((chain[m] >> 16) <= k) a = m; else h = m; } return a; };
  // 4. each part's point
  for (let k = 0; k <= parts; k++) {
    const e = chain[segmentOf(k)], j = e & 0xffff;
    walk[k] = j === b ? total : cost[j] + (k - (e >> 16)) * q;
  }
  // 5. rows and split counts
  const blocks = (i: number) => cost[i + 1] - cost[i] - overhead;
  const reqOf = (at: number) => (at >= total ? b : lastAtMost(cost, b, at));
  const meta = new Int32Array(parts * 8), numSplits = new Int32Array(b + 1);
  for (let k = 0; k < parts; k++) {
    const x0 = walk[k], x1 = walk[k + 1], r0 = reqOf(x0), r1 = reqOf(x1);
    const block0 = r0 < b ? x0 - cost[r0] : 0, block1 = r1 < b ? x1 - cost[r1] : 0;
    let split = 0;
    if (block0 > 0) { const e = chain[segmentOf(k)]; split = k - (e >> 16) - Math.floor((cost[r0] - cost[e & 0xffff]) / q); }
    // planWriteRow
    const endReq = block1 > 0 ? r1 : r1 - 1, endBlock = block1 > 0 ? block1 : blocks(r1 - 1);
    let first = block0 !== 0, last = endBlock !== blocks(endReq);
    if (r0 === endReq) first = last = first || last;
    meta.set([r0, endReq, block0 + (r0 < b ? 0 : blocks(0) - 1), endBlock, split, first ? 1 : 0, last ? 1 : 0, 0], k * 8);
  }
  for (let i = 0; i < b; i++) {
    const below = lowerBound(walk, 0, parts + 1, cost[i + 1]);
    let landed = 0, h = chain.length;
    while (landed < h) { const m = (landed + h) >> 1; if ((chain[m] & 0xffff) <= i) landed = m + 1; else h = m; }
    numSplits[i + 1] = i + 1 + below - landed;
  }
  return { meta, numSplits, landed: chain.length };
}

function check(s: SparseScheduleInputs, parts: number, what: string): number {
  const want = planSparseSchedule(s, parts);
  const got = deviceWalk(Array.from({ length: s.b }, (_, i) => Math.floor(Math.max(sparseListLength(s, i) - 1, 0) / 64) + 1), parts);
  assert.deepEqual([...got.numSplits], [...want.numSplits], `${what}: numSplits (b ${s.b}, parts ${parts})`);
  for (let p = 0; p < parts; p++) {
    assert.deepEqual([...got.meta.subarray(p * 8, p * 8 + 7)], [...want.tileSchedulerMetadata.subarray(p * 8, p * 8 + 7)], `${what}: row ${p} (b ${s.b}, parts ${parts})`);
  }
  return got.landed;
}

test('the device walk gives the host scheduler\'s rows and split counts (6000 random steps, b up to 600, 1-1024 parts)', () => {
  let seed = 57;
  const r = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  let longest = 0;
  for (let c = 0; c < 6000; c++) {
    const b = c % 10 === 0 ? int(33, 600) : int(1, 70), topk = [1, 7, 64, 100, 2048, 8192][int(0, 5)], extraTopk = r() < 0.4 ? [2, 64, 70, 1024][int(0, 3)] : 0;
    const topkLength = r() < 0.5 ? Int32Array.from({ length: b }, () => [0, topk, int(0, topk), 1][int(0, 3)]) : undefined;
    const extraTopkLength = extraTopk && r() < 0.5 ? Int32Array.from({ length: b }, () => int(0, extraTopk)) : undefined;
    const parts = c % 7 === 0 ? int(1, c % 14 === 0 ? 1024 : 300) : sparseNumSmParts([132, 8, 3, 1, 78][int(0, 4)], int(1, 3), [1, 64, 128][int(0, 2)]);
    longest = Math.max(longest, check({ b, topk, topkLength, extraTopk, extraTopkLength }, parts, `case ${c}`));
  }
  assert.ok(longest > 200, `some walks land on many boundaries (${longest})`);
});

test('the device walk on the shapes the backend plans: equal dense lengths over 132 parts, FlashMLA\'s sparse shapes, b = 1, b = 4096', () => {
  for (const [b, sK] of [[128, 8192], [128, 1024], [132, 4096], [264, 8192], [1, 32768], [4, 45118], [4096, 64]]) {
    for (const parts of [132, 66, 33, 1]) check({ b, topk: sK, extraTopk: 0 }, parts, `dense b ${b} s_k ${sK}`);
  }
  const uneven = Int32Array.from([4641, 45118, 1730, 1696]);
  check({ b: 4, topk: 45118, topkLength: uneven, extraTopk: 0 }, 132, 'the uneven batch');
  for (const b of [2, 64, 74, 128, 148]) {
    for (const [topk, extraTopk] of [[2048, 0], [512, 0], [1024, 0], [512, 2048], [1024, 2048]]) check({ b, topk, extraTopk }, sparseNumSmParts(132, 2, 128), `sparse b ${b}`);
  }
  // one long request among short ones, and every request one block
  check({ b: 100, topk: 8192, topkLength: Int32Array.from({ length: 100 }, (_, i) => (i === 50 ? 8192 : 1)), extraTopk: 0 }, 132, 'one long request');
  check({ b: 4096, topk: 1, extraTopk: 0 }, 1024, '4096 one-block requests over 1024 parts');
});

// The split-KV scheduler: equal to FlashMLA's get_mla_metadata on its own recorded outputs, and, on random
// seqlens, a schedule that every kernel can trust (each key computed once, split rows consistent with numSplits).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getMlaMetadata } from '../../src/index.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { Meta, type ScheduleKind, autoRuleCuda, autoSchedule, cutsUnderFloor, blockSizeN, fixedOverheadNumBlocks, maxPartials, metadataFields, minPayloadBlocks, numSmPartsFor, partWork, planSchedule, scheduleKinds } from '../../src/core/scheduler.js';
import { validateDecode } from '../../src/core/validate.js';
import { autoRuleWebGpu } from '../../src/backends/webgpu/backend.js';
import type { Backend } from '../../src/core/problem.js';
import { fromArray } from '../../src/core/tensor.js';
import { goldenCaseNames, loadGolden, loadMetadataCases } from '../support/golden.js';
import { Rng } from '../support/random.js';

/** Fields 0..4 of each part; FlashMLA leaves 5..7 uninitialised, ours are 0. */
function meaningful(meta: ArrayLike<number>, parts: number): number[][] {
  return Array.from({ length: parts }, (_, p) => Array.from({ length: 5 }, (_, f) => meta[p * metadataFields + f]));
}

describe('FlashMLA metadata_cases.json (40 cases, 132 SMs)', () => {
  const cases = loadMetadataCases();
  test('there are 40 cases', () => assert.equal(cases.length, 40));
  cases.forEach((c, k) => {
    test(`case ${k}: b=${c.cache_seqlens.length} numHeadsPerHeadK=${c.num_heads_per_head_k} hKv=${c.num_heads_k}`, () => {
      const md = getMlaMetadata(Int32Array.from(c.cache_seqlens), c.num_heads_per_head_k, c.num_heads_k, { numSms: c.num_sms });
      const parts = c.tile_scheduler_metadata.length;
      assert.deepEqual(md.tileSchedulerMetadata.shape, [parts, 8], 'numSmParts');
      assert.deepEqual(meaningful(md.tileSchedulerMetadata.host(), parts), c.tile_scheduler_metadata.map((r) => r.slice(0, 5)));
      assert.deepEqual(Array.from(md.numSplits.host()), c.num_splits);
      for (let p = 0; p < parts; p++) {
        for (let f = 5; f < 8; f++) assert.equal(md.tileSchedulerMetadata.host()[p * 8 + f], 0, 'unused fields are 0');
      }
    });
  });
});

describe('metadata of every golden decode case', () => {
  for (const name of goldenCaseNames()) {
    test(name, () => {
      const g = loadGolden(name);
      const md = getMlaMetadata(g.cacheSeqlens, g.params.num_heads_per_head_k, g.params.h_kv, { numSms: 132 });
      const parts = md.tileSchedulerMetadata.shape[0];
      assert.equal(parts * 8, g.tileSchedulerMetadata.length, 'numSmParts');
      assert.deepEqual(meaningful(md.tileSchedulerMetadata.host(), parts), meaningful(g.tileSchedulerMetadata, parts));
      assert.deepEqual(Array.from(md.numSplits.host()), Array.from(g.numSplits));
    });
  }
});

describe('numSmPartsFor', () => {
  test('FlashMLA: numSms / hKv / ceil(numHeadsPerHeadK / 64), at least 1', () => {
    assert.equal(numSmPartsFor(132, 128, 1), 66);
    assert.equal(numSmPartsFor(132, 64, 1), 132);
    assert.equal(numSmPartsFor(132, 16, 2), 66);
    assert.equal(numSmPartsFor(132, 256, 1), 33);
    assert.equal(numSmPartsFor(132, 65, 1), 66);
    assert.equal(numSmPartsFor(132, 3, 8), 16);
    assert.equal(numSmPartsFor(1, 512, 8), 1);
  });
});

/**
 * Check everything a kernel relies on. Returns the number of work items, for the caller's sanity checks.
 * - parts walk batches in order; each key of each sequence is computed by exactly one item;
 * - a sequence is one noSplit item, or >= 2 split items whose slots are numSplits[i] .. numSplits[i+1]-1, once each;
 * - empty sequences still get an item (the kernel writes their zeros and +inf there);
 * - slots stay below maxPartials(b, numSmParts), the rows the accumulators are sized for.
 */
function checkSchedule(seqlens: Int32Array, numSmParts: number, kind: ScheduleKind = 'flashmla'): number {
  const b = seqlens.length;
  const s = planSchedule(seqlens, numSmParts, kind);
  assert.equal(s.numSmParts, numSmParts);
  assert.equal(s.tileSchedulerMetadata.length, numSmParts * metadataFields, 'at most numSmParts parts');
  assert.equal(s.numSplits.length, b + 1);
  assert.equal(s.numSplits[0], 0);
  const items = Array.from({ length: b }, () => [] as { kBegin: number; kEnd: number; noSplit: boolean; slot: number; part: number }[]);
  let lastBatch = -1, total = 0;
  for (let p = 0; p < numSmParts; p++) {
    const work = partWork(s.tileSchedulerMetadata, s.numSplits, seqlens, p);
    const m = p * metadataFields;
    assert.equal(work.length, Math.max(0, s.tileSchedulerMetadata[m + Meta.EndIdx] - s.tileSchedulerMetadata[m + Meta.BeginIdx] + 1));
    for (const w of work) {
      assert.ok(w.batch >= 0 && w.batch < b, `part ${p}: batch ${w.batch}`);
      assert.ok(w.batch >= lastBatch, `parts walk batches in order (part ${p}, batch ${w.batch} after ${lastBatch})`);
      lastBatch = w.batch;
      assert.ok(w.kBegin >= 0 && w.kBegin <= w.kEnd && w.kEnd <= seqlens[w.batch], `part ${p} batch ${w.batch}: [${w.kBegin}, ${w.kEnd}) of ${seqlens[w.batch]}`);
      assert.equal(w.kBegin % blockSizeN, 0, 'split points are on 64-key tiles');
      items[w.batch].push({ kBegin: w.kBegin, kEnd: w.kEnd, noSplit: w.noSplit, slot: w.splitSlot, part: p });
      total++;
    }
  }
  for (let i = 0; i < b; i++) {
    const its = items[i], n = s.numSplits[i + 1] - s.numSplits[i];
    assert.ok(its.length >= 1, `sequence ${i} (seqlen ${seqlens[i]}) has no work item`);
    assert.equal(its.length, n, `sequence ${i}: ${its.length} items, numSplits says ${n}`);
    // Keys covered exactly once: items sorted by begin tile [0, seqlen) end to end.
    its.sort((x, y) => x.kBegin - y.kBegin);
    let at = 0;
    for (const it of its) {
      assert.equal(it.kBegin, at, `sequence ${i}: keys ${at}..${it.kBegin} uncovered or covered twice`);
      if (n > 1) assert.ok(it.kEnd > it.kBegin, `sequence ${i}: an empty split`);
      at = it.kEnd;
    }
    assert.equal(at, seqlens[i], `sequence ${i}: keys ${at}..${seqlens[i]} not covered`);
    if (n === 1) {
      assert.ok(its[0].noSplit, `sequence ${i}: a single item must write out directly`);
    } else {
      assert.ok(its.every((it) => !it.noSplit), `sequence ${i}: split items write partials`);
      const slots = its.map((it) => it.slot).sort((x, y) => x - y);
      assert.deepEqual(slots, Array.from({ length: n }, (_, k) => s.numSplits[i] + k), `sequence ${i}: split slots`);
      // Split k is computed by the k-th part in order, so slot order follows key order.
      assert.deepEqual(its.map((it) => it.slot), slots, `sequence ${i}: slots follow key order`);
    }
  }
  assert.ok(s.numSplits[b] <= maxPartials(b, numSmParts), `numSplits[b] = ${s.numSplits[b]} > maxPartials ${maxPartials(b, numSmParts)}`);
  return total;
}

describe('schedule properties on random seqlens', () => {
  test('400 random batches: coverage, split slots, part count, maxPartials', () => {
    const rng = new Rng(2024);
    let splitSeen = 0, emptySeen = 0;
    for (let k = 0; k < 400; k++) {
      const b = rng.pick([1, 1, 2, 3, 5, 8, 16, 33, 64, 128, 200]);
      const style = k % 4;
      const seqlens = Int32Array.from({ length: b }, () =>
        style === 0 ? rng.int(0, 200) : style === 1 ? rng.int(0, 70000) : style === 2 ? rng.pick([0, 1, 63, 64, 65, 128, 129]) : rng.int(0, 9000));
      const numSmParts = rng.pick([1, 2, 3, 5, 16, 33, 66, 132, 264]);
      checkSchedule(seqlens, numSmParts);
      const ns = planSchedule(seqlens, numSmParts).numSplits;
      for (let i = 0; i < b; i++) {
        if (ns[i + 1] - ns[i] > 1) splitSeen++;
        if (seqlens[i] === 0) emptySeen++;
      }
    }
    assert.ok(splitSeen > 100, `the random batches exercise split sequences (${splitSeen})`);
    assert.ok(emptySeen > 50, `and empty ones (${emptySeen})`);
  });

  test('the 40 FlashMLA metadata cases satisfy the same properties', () => {
    for (const c of loadMetadataCases()) checkSchedule(Int32Array.from(c.cache_seqlens), c.tile_scheduler_metadata.length);
  });

  test('one long sequence over many parts is split into ordered tile-aligned pieces', () => {
    const seqlens = Int32Array.of(100_000);
    checkSchedule(seqlens, 132);
    const s = planSchedule(seqlens, 132);
    assert.ok(s.numSplits[1] > 50, `splits: ${s.numSplits[1]}`);
  });

  test('all-empty batch: each sequence still one noSplit item', () => {
    const seqlens = new Int32Array(10);
    assert.equal(checkSchedule(seqlens, 132), 10);
  });
});

describe("the 'fill' schedule (session 19: the WebGPU backend's opt-in plan)", () => {
  const splitsOf = (seqlens: number[], parts: number, kind: ScheduleKind) => planSchedule(Int32Array.from(seqlens), parts, kind).numSplits;
  test('floors: FlashMLA two overheads, fill one overhead and one block', () => {
    assert.equal(minPayloadBlocks('flashmla'), 2 * fixedOverheadNumBlocks);
    assert.equal(minPayloadBlocks('fill'), fixedOverheadNumBlocks + 1);
  });
  test('b = 1 on 132 parts: s_k 32768 103 -> 128 splits (5 -> 4 blocks), s_k 8192 26 -> 64 (5 -> 2)', () => {
    assert.equal(splitsOf([32768], 132, 'flashmla')[1], 103);
    assert.equal(splitsOf([32768], 132, 'fill')[1], 128);
    assert.equal(splitsOf([8192], 132, 'flashmla')[1], 26);
    assert.equal(splitsOf([8192], 132, 'fill')[1], 64);
    assert.equal(splitsOf([16384], 132, 'fill')[1], 128);
    // every split piece of the fill plan has at least one block
    const s = planSchedule(Int32Array.of(32768), 132, 'fill');
    for (let p = 0; p < 132; p++) for (const w of partWork(s.tileSchedulerMetadata, s.numSplits, [32768], p)) assert.ok(w.kEnd - w.kBegin >= blockSizeN || w.kEnd === 32768);
  });
  test('the same plan as FlashMLA where every part gets >= 5 blocks: the uneven batch, b = 128 s_k 8192 (h16, h128)', () => {
    for (const [seqlens, parts] of [[[4641, 45118, 1730, 1696], 132], [Array(128).fill(8192), 132], [Array(128).fill(8192), 66]] as const) {
      const a = planSchedule(Int32Array.from(seqlens), parts), f = planSchedule(Int32Array.from(seqlens), parts, 'fill');
      assert.deepEqual(f, a);
    }
  });
  test('400 random batches: coverage, split slots, part count, maxPartials (fill)', () => {
    const rng = new Rng(2025);
    let differ = 0;
    for (let k = 0; k < 400; k++) {
      const b = rng.pick([1, 1, 1, 2, 3, 5, 8, 16, 33, 128]);
      const style = k % 4;
      const seqlens = Int32Array.from({ length: b }, () =>
        style === 0 ? rng.int(0, 200) : style === 1 ? rng.int(0, 70000) : style === 2 ? rng.pick([0, 1, 63, 64, 65, 128, 129]) : rng.int(0, 9000));
      const numSmParts = rng.pick([1, 2, 3, 5, 8, 16, 33, 66, 132, 264]);
      checkSchedule(seqlens, numSmParts, 'fill');
      const a = planSchedule(seqlens, numSmParts).numSplits, f = planSchedule(seqlens, numSmParts, 'fill').numSplits;
      if (a.some((x, i) => x !== f[i])) differ++;
    }
    assert.ok(differ > 50, `the fill plan differs from FlashMLA's on ${differ} batches`);
  });
  test('seqlens 0 / 1 / 63 / 64 / 65 over 132 and 8 parts', () => {
    for (const parts of [132, 8]) {
      checkSchedule(Int32Array.of(0, 1, 63, 64, 65), parts, 'fill');
      checkSchedule(Int32Array.of(65), parts, 'fill');
    }
    assert.equal(splitsOf([65], 132, 'fill')[1], 2, '65 keys: 2 blocks, split in 2 at one block');
    assert.equal(splitsOf([65], 132, 'flashmla')[1], 1);
  });
  test("getMlaMetadata: FlashMLA's plan unless schedule 'fill' is asked for; bad names refused", () => {
    const seq = Int32Array.of(32768);
    assert.equal(getMlaMetadata(seq, 16, 1).numSplits.host()[1], 103);
    assert.equal(getMlaMetadata(seq, 16, 1, { schedule: 'flashmla' }).numSplits.host()[1], 103);
    assert.equal(getMlaMetadata(seq, 16, 1, { schedule: 'fill' }).numSplits.host()[1], 128);
    assert.throws(() => getMlaMetadata(seq, 16, 1, { schedule: 'even' as ScheduleKind }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'schedule');
  });
  test("validation accepts FlashMLA's plan and the fill plan, and still refuses a stale one", () => {
    const seqlens = Int32Array.of(640, 0, 65);
    const page = 64, pages = 12, w = 10;
    const table = Int32Array.from({ length: 3 * w }, (_, i) => (i < 10 ? i : i >= 2 * w && i < 2 * w + 2 ? 10 + i - 2 * w : 0));
    const args = (md: ReturnType<typeof getMlaMetadata>, seq = seqlens) => ({
      q: fromArray('bf16', [3, 1, 16, 576], new Uint16Array(3 * 16 * 576)), kCache: fromArray('bf16', [pages, page, 1, 576], new Uint16Array(pages * page * 576)),
      blockTable: fromArray('i32', [3, w], table),
      cacheSeqlens: fromArray('i32', [3], seq), headDimV: 512, tileSchedulerMetadata: md.tileSchedulerMetadata, numSplits: md.numSplits,
    });
    for (const schedule of ['flashmla', 'fill'] as const) {
      const md = getMlaMetadata(seqlens, 16, 1, { numSms: 132, schedule });
      assert.equal(md.numSplits.host()[3] - md.numSplits.host()[2], schedule === 'fill' ? 2 : 1);
      validateDecode(args(md));
      const stale = Int32Array.of(576, 0, 65);
      assert.throws(() => validateDecode(args(md, stale)), (e: unknown) => e instanceof FlashMlaError && e.code === 'metadata_mismatch', schedule);
    }
  });
});

describe("the 'auto' schedule (session 23: the CUDA backend's plan on sm_90)", () => {
  const kindOf = (seqlens: number[], parts: number, rows?: number) => autoSchedule(Int32Array.from(seqlens), parts, rows);
  test('fill where the even share is <= 3 blocks a part, or 4 at <= 32 rows; FlashMLA elsewhere', () => {
    // the shapes session 23 timed (docs/notes/cuda-hopper-decode.md), 132 parts unless said
    assert.equal(kindOf([32768], 132, 16), 'fill'); // share 4 at 16 rows: level on the H200
    assert.equal(kindOf([32768], 132, 64), 'flashmla'); // share 4 at 64 rows: fill 2 % slower
    assert.equal(kindOf([32768], 132), 'flashmla'); // rows unknown: more than 32
    assert.equal(kindOf([8192, 8192, 8192], 132, 16), 'fill'); // share 4: fill 6.6 % faster
    assert.equal(kindOf([24576], 132, 64), 'fill'); // share 3
    assert.equal(kindOf([8192], 66, 128), 'fill'); // share 3 on 66 parts (128 rows)
    assert.equal(kindOf([4096], 33, 256), 'fill');
    assert.equal(kindOf([65536], 132, 16), 'flashmla'); // share 8: the plans are the same
    assert.equal(kindOf(Array(128).fill(1024), 132, 16), 'flashmla'); // share 21
    assert.equal(kindOf([4641, 45118, 1730, 1696], 132, 64), 'flashmla'); // share 7
    assert.equal(kindOf([0], 132, 16), 'fill'); // share 1: nothing to split either way
  });
  test('a backend\'s own rule (BackendInfo.autoRule): the WebGPU backend\'s takes fill only at <= 16 rows, shares <= 4', () => {
    const web = autoRuleWebGpu;
    const at = (seqlens: number[], parts: number, rows: number) => autoSchedule(Int32Array.from(seqlens), parts, rows, web);
    assert.equal(at([32768], 132, 16), 'fill'); // share 4
    assert.equal(at([2048], 132, 16), 'fill'); // share 1
    assert.equal(at([8192], 132, 64), 'flashmla'); // 64 rows: 1.12x on the H200 (session 25 call 6)
    assert.equal(at([8192], 132, 32), 'flashmla');
    assert.equal(at([8192], 132, 17), 'flashmla');
    assert.equal(at([40960], 132, 16), 'flashmla'); // share 5: the plans are the same
    assert.equal(at([2048], 132, 5), 'fill'); // 5 rows: one row block
    for (const [seq, parts, rows] of [[[32768], 132, 16], [[8192], 132, 64], [[24576], 132, 64]] as const) {
      const kind = at([...seq], parts, rows);
      assert.deepEqual(planSchedule(Int32Array.from(seq), parts, 'auto', rows, web), planSchedule(Int32Array.from(seq), parts, kind));
      assert.equal(cutsUnderFloor(Int32Array.from(seq), parts, 'auto', rows, web), kind === 'fill');
    }
    // the default rule is CUDA's: at 64 rows share 3 takes fill there, not on the WebGPU rule
    assert.equal(autoSchedule(Int32Array.of(24576), 132, 64), 'fill');
    assert.equal(autoSchedule(Int32Array.of(24576), 132, 64, autoRuleCuda), 'fill');
    assert.equal(at([24576], 132, 64), 'flashmla');
  });
  test('getMlaMetadata \'auto\' plans by the backend\'s rule', () => {
    const be = { info: { kind: 'webgpu', device: 'x', numSms: 132, autoRule: autoRuleWebGpu } } as unknown as Backend;
    assert.equal(getMlaMetadata(Int32Array.of(8192), 64, 1, { schedule: 'auto', backend: be }).numSplits.host()[1], 26);
    assert.equal(getMlaMetadata(Int32Array.of(8192), 64, 1, { schedule: 'auto' }).numSplits.host()[1], 64);
    assert.equal(getMlaMetadata(Int32Array.of(8192), 16, 1, { schedule: 'auto', backend: be }).numSplits.host()[1], 64);
  });
  test("planSchedule 'auto' is exactly the plan autoSchedule names, on 600 random batches", () => {
    const rng = new Rng(2323);
    const seen = new Set<string>();
    for (let k = 0; k < 600; k++) {
      const b = rng.pick([1, 1, 1, 2, 3, 5, 8, 16, 33, 128]);
      const seqlens = Int32Array.from({ length: b }, () => (k % 3 === 0 ? rng.int(0, 70000) : k % 3 === 1 ? rng.int(0, 9000) : rng.pick([0, 1, 63, 64, 65, 4096, 32768])));
      const parts = rng.pick([1, 8, 33, 66, 132]);
      const rows = rng.pick([1, 16, 32, 33, 64, 128, 256]);
      const kind = autoSchedule(seqlens, parts, rows);
      seen.add(kind);
      assert.deepEqual(planSchedule(seqlens, parts, 'auto', rows), planSchedule(seqlens, parts, kind));
      checkSchedule(seqlens, parts, kind);
    }
    assert.deepEqual([...seen].sort(), ['fill', 'flashmla']);
  });
  test("getMlaMetadata schedule 'auto' reads the rows: b = 1 s_k 32768 128 splits at 16 rows, 103 at 64", () => {
    assert.deepEqual(scheduleKinds, ['flashmla', 'fill', 'auto']);
    const seq = Int32Array.of(32768);
    assert.equal(getMlaMetadata(seq, 16, 1, { schedule: 'auto' }).numSplits.host()[1], 128);
    assert.equal(getMlaMetadata(seq, 64, 1, { schedule: 'auto' }).numSplits.host()[1], 103);
    assert.equal(getMlaMetadata(Int32Array.of(8192), 64, 1, { schedule: 'auto' }).numSplits.host()[1], 64);
    assert.throws(() => getMlaMetadata(seq, 16, 1, { schedule: 'Auto' as ScheduleKind }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'schedule' && /'auto'/.test(e.message));
  });
});

describe('getMlaMetadata arguments', () => {
  const bad = (f: () => unknown, argument: string) => {
    assert.throws(f, (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && e.argument === argument, argument);
  };
  test('negative seqlen', () => bad(() => getMlaMetadata(Int32Array.of(5, -1), 16, 1), 'cacheSeqlens[1]'));
  test('no sequences', () => bad(() => getMlaMetadata(new Int32Array(0), 16, 1), 'cacheSeqlens'));
  test('numHeadsPerHeadK 0', () => bad(() => getMlaMetadata(Int32Array.of(5), 0, 1), 'numHeadsPerHeadK'));
  test('numHeadsK 1.5', () => bad(() => getMlaMetadata(Int32Array.of(5), 16, 1.5), 'numHeadsK'));
  test('numSms 0', () => bad(() => getMlaMetadata(Int32Array.of(5), 16, 1, { numSms: 0 }), 'numSms'));
  test('numSms defaults to 132', () => {
    assert.equal(getMlaMetadata(Int32Array.of(5), 64, 1).tileSchedulerMetadata.shape[0], 132);
  });
});

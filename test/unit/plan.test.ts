// core/plan.ts: the decode plan every backend reads (accumulator count, workspace layout, whether a combine runs),
// and MlaDecoder's use of it: planned once per step, reserved up front, so the step's decodes allocate nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dV, metadataFields } from '../../src/core/constants.js';
import { planDecode, planFits } from '../../src/core/plan.js';
import { maxPartials, planSchedule } from '../../src/core/scheduler.js';
import { InlineCpuBackend, MlaDecoder, fromArray } from '../../src/index.js';
import type { DecodeCall } from '../../src/core/problem.js';
import type { DecodePlan } from '../../src/core/plan.js';

test('workspace: index regions in order without overlap, oAccum 256-byte aligned after lseAccum', () => {
  let s = 99;
  const r = (n: number) => 1 + ((s = (s * 16807) % 2147483647) % n);
  for (let t = 0; t < 200; t++) {
    const shape = { b: r(64), sQ: r(4), hQ: r(128), hKv: 1, numSmParts: r(132), maxBlocksPerSeq: r(300), varlen: t % 2 === 0 };
    const p = planDecode(shape);
    const w = p.workspace;
    assert.equal(p.accumSlots, maxPartials(shape.b, shape.numSmParts));
    assert.equal(p.rowsPerSlot, shape.sQ * shape.hQ);
    const regions: [string, number, number][] = [
      ['blockTable', w.blockTable, shape.b * shape.maxBlocksPerSeq], ['cacheSeqlens', w.cacheSeqlens, shape.b],
      ['qIndptr', w.qIndptr, shape.varlen ? shape.b + 1 : 0], ['tileSchedulerMetadata', w.tileSchedulerMetadata, shape.numSmParts * metadataFields],
      ['numSplits', w.numSplits, shape.b + 1],
    ];
    let end = 0;
    for (const [name, at, len] of regions) { assert.equal(at, end, `${name} starts where the previous region ends`); end = at + len; }
    assert.equal(w.indexWords, end);
    const lse = p.accumSlots * p.rowsPerSlot;
    assert.equal(w.lseAccum, 0);
    assert.ok(w.oAccum >= lse && w.oAccum % 64 === 0 && w.oAccum - lse < 64);
    assert.equal(w.accumFloats, w.oAccum + lse * dV);
    assert.ok(planFits(p, shape));
    assert.ok(!planFits(p, { ...shape, b: shape.b + 1 }));
  }
});

test('combine runs exactly when some request is split', () => {
  const shape = { sQ: 1, hQ: 16, hKv: 1, maxBlocksPerSeq: 64, varlen: false };
  const one = planSchedule(Int32Array.from([64, 64]), 2); // two parts, one short request each: no split
  assert.equal(planDecode({ ...shape, b: 2, numSmParts: 2 }, one.numSplits).combine, one.numSplits[2] !== 2);
  const long = planSchedule(Int32Array.from([4096]), 8); // one long request over 8 parts: split
  assert.ok(long.numSplits[1] > 1);
  assert.equal(planDecode({ ...shape, b: 1, numSmParts: 8 }, long.numSplits).combine, true);
  assert.equal(planDecode({ ...shape, b: 1, numSmParts: 8 }).combine, true, 'numSplits not on the host: combine');
  // maxSplits: numSplits' largest step when on the host (the WebGPU backend picks its combine by it), else absent
  assert.equal(planDecode({ ...shape, b: 1, numSmParts: 8 }, long.numSplits).maxSplits, long.numSplits[1]);
  assert.equal(planDecode({ ...shape, b: 2, numSmParts: 2 }, one.numSplits).maxSplits, Math.max(one.numSplits[1], one.numSplits[2] - one.numSplits[1]));
  const uneven = planSchedule(Int32Array.from([64, 20000, 0, 640]), 32);
  const steps = Array.from({ length: 4 }, (_, i) => uneven.numSplits[i + 1] - uneven.numSplits[i]);
  assert.ok(steps[1] > steps[0] && steps[1] > 1, steps.join(' '));
  assert.equal(planDecode({ ...shape, b: 4, numSmParts: 32 }, uneven.numSplits).maxSplits, steps[1]);
  assert.equal(planDecode({ ...shape, b: 1, numSmParts: 8 }).maxSplits, undefined);
});

/** A CPU backend that records reserve() and the plan each decode gets. */
class Recording extends InlineCpuBackend {
  reserved: DecodePlan[] = [];
  plans: DecodePlan[] = [];
  override reserve(plan: DecodePlan): void { this.reserved.push(plan); super.reserve(plan); }
  override decode(l: DecodeCall): void { this.plans.push(l.plan); super.decode(l); }
}

test('MlaDecoder: one plan a step, reserved at plan(), the same object in every run()', async () => {
  const be = new Recording();
  const dec = new MlaDecoder(be, { hQ: 16, numSms: 8 });
  const seqlens = Int32Array.from([300, 5, 1000]);
  const bt = fromArray('i32', [3, 16], Int32Array.from({ length: 48 }, (_, i) => i));
  dec.plan(seqlens, bt);
  assert.equal(be.reserved.length, 1);
  const kCache = be.upload(fromArray('bf16', [48, 64, 1, 576], new Uint16Array(48 * 64 * 576)));
  const q = be.upload(fromArray('bf16', [3, 1, 16, 576], new Uint16Array(3 * 16 * 576)));
  for (let layer = 0; layer < 3; layer++) await dec.run(q, kCache);
  assert.equal(be.plans.length, 3);
  for (const p of be.plans) assert.equal(p, be.reserved[0]);
  const p = be.reserved[0];
  assert.deepEqual([p.b, p.sQ, p.hQ, p.maxBlocksPerSeq, p.varlen], [3, 1, 16, 16, false]);
});

test('keysPerSplit: the cache lengths\' sum over numSplits[b] when both are on the host, absent otherwise', () => {
  const shape = { b: 3, sQ: 1, hQ: 16, hKv: 1, numSmParts: 8, maxBlocksPerSeq: 40, varlen: false };
  const seq = Int32Array.from([1000, 0, 2500]);
  const ns = planSchedule(seq, 8).numSplits;
  const p = planDecode(shape, ns, seq);
  assert.equal(p.keysPerSplit, 3500 / ns[3]);
  assert.ok(ns[3] >= 3, `numSplits ${ns.join(' ')}`);
  assert.equal(planDecode(shape, ns).keysPerSplit, undefined, 'no seqlens');
  assert.equal(planDecode(shape, undefined, seq).keysPerSplit, undefined, 'no numSplits');
});

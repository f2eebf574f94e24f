// triton do_bench's loop on a Backend (src/cli/do-bench.ts): the order of its steps, the counts from the estimate,
// which calls are flushed, and the CPU backend end to end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { doBenchMs } from '../../src/cli/do-bench.js';
import type { TimeOptions } from '../../src/core/problem.js';

/** A backend whose calls each take `callMs` and whose flushes take `flushMs` of a simulated clock, logging every step. */
function simulated(callMs: number, flushMs: number) {
  let t = 0;
  const log: string[] = [];
  const run = () => { t += callMs; log.push('call'); };
  const backend = {
    async synchronize() { log.push('sync'); },
    async timeMs(fn: (rep: number) => void | Promise<void>, o: TimeOptions) {
      const times: number[] = [];
      for (let i = 0; i < o.warmup; i++) { if (o.flushBytes) { t += flushMs; log.push('flush'); } await fn(i); }
      for (let i = 0; i < o.reps; i++) {
        if (o.flushBytes) { t += flushMs; log.push('flush'); }
        const t0 = t;
        await fn(i);
        times.push(t - t0);
      }
      log.push(`timed ${o.reps}`);
      return times;
    },
  };
  return { backend, run, log, clock: () => t };
}

describe('do_bench loop', () => {
  it('estimates over five flushed calls, warms by count without flushes, then times flushed repetitions', async () => {
    const s = simulated(0.08, 0.07); // 0.15 ms a flushed call
    const r = await doBenchMs(s.backend, s.run, { warmMs: 25, repMs: 200, flushBytes: 256e6, clock: s.clock });
    assert.ok(Math.abs(r.estimateMs - 0.15) < 1e-9);
    assert.equal(r.warmup, Math.floor(25 / 0.15));
    assert.equal(r.reps, Math.floor(200 / 0.15));
    assert.equal(r.times.length, r.reps);
    assert.ok(r.times.every((x) => Math.abs(x - 0.08) < 1e-9), 'a repetition times its call, not its flush');
    const firstTimed = s.log.indexOf('timed 5');
    assert.deepEqual(s.log.slice(0, firstTimed + 1), ['call', 'sync', ...Array(5).fill(['flush', 'call']).flat(), 'timed 5']);
    const warm = s.log.slice(firstTimed + 2, firstTimed + 2 + r.warmup); // after the estimate's sync
    assert.deepEqual(warm, Array(r.warmup).fill('call'), 'the warm-up calls are back to back, unflushed');
    assert.equal(s.log.filter((x) => x === 'flush').length, 5 + r.reps);
  });
  it('without a flush, and at least one warm-up call and repetition however long a call is; capped', async () => {
    const slow = simulated(500, 0);
    const r = await doBenchMs(slow.backend, slow.run, { warmMs: 25, repMs: 200, flushBytes: 0, clock: slow.clock });
    assert.deepEqual([r.warmup, r.reps, r.estimateMs], [1, 1, 500]);
    assert.equal(slow.log.filter((x) => x === 'flush').length, 0);
    const fast = simulated(0.001, 0);
    const c = await doBenchMs(fast.backend, fast.run, { warmMs: 25, repMs: 200, flushBytes: 0, maxReps: 300, clock: fast.clock });
    assert.deepEqual([c.warmup, c.reps], [300, 300]);
  });
  it('runs on a real backend (the CPU) with its own clock', async () => {
    const be = await createCpuBackend({ workers: 1 });
    try {
      let calls = 0;
      const r = await doBenchMs(be, () => { calls++; }, { warmMs: 1, repMs: 2, flushBytes: 0, maxReps: 50 });
      assert.ok(r.reps >= 1 && r.reps <= 50 && r.warmup >= 1 && r.warmup <= 50);
      assert.equal(calls, 1 + 5 + r.warmup + r.reps);
      assert.equal(r.times.length, r.reps);
    } finally {
      be.dispose();
    }
  });
});

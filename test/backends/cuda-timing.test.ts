// The CUDA backend's event timer (src/backends/cuda/timing.ts) on a recording stand-in for the driver: what it queues
// on the stream and in which order, with and without the L2 flush of triton's do_bench protocol (TimeOptions.flushBytes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Driver } from '../../src/backends/cuda/driver.js';
import { EventTimer } from '../../src/backends/cuda/timing.js';

function fakeDriver() {
  const log: string[] = [];
  let events = 0, ptrs = 0;
  const live = new Set<bigint>();
  const drv = {
    createEvent: () => BigInt(++events),
    destroyEvent: (e: bigint) => { log.push(`destroyEvent ${e}`); },
    record: (e: bigint) => { log.push(`record ${e}`); },
    eventSynchronize: () => { log.push('sync'); },
    elapsedMs: (a: bigint, b: bigint) => Number(b - a),
    alloc: (bytes: number) => { const p = BigInt(0x1000 * ++ptrs); live.add(p); log.push(`alloc ${bytes}`); return p; },
    free: (p: bigint) => { assert.ok(live.delete(p), 'frees what it allocated, once'); log.push('free'); },
    memsetD32: (p: bigint, v: number, words: number) => { assert.ok(live.has(p)); log.push(`memset ${v} ${words}`); },
  };
  return { drv: drv as unknown as Driver, log, live };
}

describe('CUDA event timer', () => {
  it('times back to back without a flush: two events a repetition, nothing in between', async () => {
    const { drv, log } = fakeDriver();
    const t = new EventTimer(drv, 7n);
    const runs: string[] = [];
    const ms = await t.timeMs((r) => { runs.push(`run ${r}`); log.push(`run ${r}`); }, { warmup: 1, reps: 2 });
    assert.deepEqual(ms, [1, 1]);
    assert.deepEqual(log, ['run 0', 'record 1', 'run 0', 'record 2', 'record 3', 'run 1', 'record 4', 'sync']);
    assert.ok(!log.some((x) => x.startsWith('memset') || x.startsWith('alloc')));
  });

  it('writes the scratch buffer before every repetition, outside its events, and frees it on dispose', async () => {
    const { drv, log, live } = fakeDriver();
    const t = new EventTimer(drv, 7n);
    await t.timeMs((r) => { log.push(`run ${r}`); }, { warmup: 1, reps: 2, flushBytes: 1000 });
    assert.deepEqual(log, ['alloc 1000', 'memset 0 250', 'run 0', 'memset 0 250', 'record 1', 'run 0', 'record 2',
      'memset 0 250', 'record 3', 'run 1', 'record 4', 'sync']);
    log.length = 0;
    await t.timeMs(() => { log.push('run'); }, { warmup: 0, reps: 1, flushBytes: 999 }); // rounded up to whole words, buffer reused
    assert.deepEqual(log, ['memset 0 250', 'record 1', 'run', 'record 2', 'sync']);
    log.length = 0;
    await t.timeMs(() => { log.push('run'); }, { warmup: 0, reps: 1, flushBytes: 4000 }); // grows: the old one is freed first
    assert.deepEqual(log.slice(0, 3), ['free', 'alloc 4000', 'memset 0 1000']);
    t.dispose((f) => f());
    assert.equal(live.size, 0);
    assert.equal(log.filter((x) => x.startsWith('destroyEvent')).length, 4);
  });
});

// CPU-only checks of the CUDA backend's grow-only workspaces (workspace.ts) and of the graphs' hold on them
// (graphs.ts) over a fake driver: no growth while capturing, an allocation a captured graph reads outlives the
// workspace's growth until the graph is disposed, and a failed allocation leaves no freed address behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureGraph } from '../../src/backends/cuda/graphs.js';
import { Workspace } from '../../src/backends/cuda/workspace.js';
import { FlashMlaError } from '../../src/core/errors.js';

function fakeDriver() {
  const log: string[] = [];
  const live = new Set<bigint>();
  let next = 0x1000n, failNext = false;
  const drv = {
    alloc: (bytes: number) => {
      if (failNext) { failNext = false; throw new FlashMlaError('out_of_memory', 'fake: no memory'); }
      const p = next; next += BigInt(bytes + 256); live.add(p); log.push(`alloc ${bytes}`); return p;
    },
    free: (p: bigint) => { assert.ok(live.delete(p), `free of ${p}: not live`); log.push(`free ${p}`); },
    synchronize: () => { log.push('sync'); },
    beginCapture: () => { log.push('begin'); },
    endCapture: () => { log.push('end'); return 7n; },
    instantiate: () => 8n,
    destroyGraph: () => { log.push('destroyGraph'); },
    destroyGraphExec: () => { log.push('destroyExec'); },
    graphLaunch: () => { log.push('launch'); },
  };
  return { drv, log, live, failOnce: () => { failNext = true; } };
}

test('a workspace refuses to grow while its stream is captured (a typed error), and grows outside', () => {
  const { drv } = fakeDriver();
  let capturing = false;
  const ws = new Workspace(drv as never, 0n, 1.5, () => capturing);
  ws.ensure(1000);
  capturing = true;
  ws.ensure(1000); // (no growth: fine)
  assert.throws(() => ws.ensure(1001), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && e.argument === 'workspace'
    && /grow from 1000 to 1001 bytes while capturing a graph/.test(e.message));
  assert.equal(ws.bytes, 1000);
  capturing = false;
  ws.ensure(1001);
  assert.equal(ws.bytes, 1500);
});

test('a held allocation outlives the workspace\'s growth until its last release, which synchronizes first', () => {
  const { drv, log, live } = fakeDriver();
  const ws = new Workspace(drv as never, 0n, 2);
  assert.doesNotThrow(ws.hold(), 'nothing allocated: nothing held');
  ws.ensure(100);
  const first = ws.ptr;
  const r1 = ws.hold(), r2 = ws.hold();
  ws.ensure(300);
  assert.notEqual(ws.ptr, first);
  assert.ok(live.has(first), 'held: not freed when the workspace grew');
  log.length = 0;
  r1();
  r1(); // (a second call of one release does nothing)
  assert.ok(live.has(first), 'one hold left');
  assert.deepEqual(log, []);
  r2();
  assert.ok(!live.has(first), 'the last release frees it');
  assert.deepEqual(log, ['sync', `free ${first}`]);
  // a hold on the current allocation, released before any growth: nothing freed then, the growth frees it
  const cur = ws.ptr, r3 = ws.hold();
  r3();
  assert.ok(live.has(cur));
  ws.ensure(10_000);
  assert.ok(!live.has(cur));
  // dispose frees what is still held and grown past
  const r4 = ws.hold(), held = ws.ptr;
  ws.ensure(100_000);
  ws.dispose((f) => f());
  assert.ok(!live.has(held) && live.size === 0, 'dispose frees the current and the retired allocations');
  r4(); // (after dispose: nothing left to free, no throw)
});

test('a failed allocation leaves the workspace empty, not at the address it freed', () => {
  const { drv, live, failOnce } = fakeDriver();
  const ws = new Workspace(drv as never, 0n, 2);
  ws.ensure(100);
  const epoch = ws.epoch;
  failOnce();
  assert.throws(() => ws.ensure(1000), (e: unknown) => e instanceof FlashMlaError && e.code === 'out_of_memory');
  assert.equal(ws.ptr, 0n);
  assert.equal(ws.bytes, 0);
  assert.equal(live.size, 0);
  ws.ensure(1000);
  assert.ok(ws.ptr !== 0n && ws.epoch > epoch);
});

test('captureGraph holds the workspaces after a capture succeeds and releases them at dispose; a failed capture holds nothing', async () => {
  const { drv, log } = fakeDriver();
  let holds = 0, released = 0, capturing = false, replays = 0;
  const hold = () => { holds++; return [() => { released++; }, () => { released++; }]; };
  const g = await captureGraph(drv as never, 0n, (on) => { capturing = on; }, () => { assert.ok(capturing || log.includes('begin') === false); }, {}, hold,
    () => { replays++; assert.equal(log[log.length - 1], 'launch', 'after the replay is queued'); });
  assert.equal(holds, 1);
  assert.equal(replays, 0);
  g.launch();
  g.launch();
  assert.equal(replays, 2, 'onLaunch after each replay (the backend forgets its staged words)');
  assert.equal(released, 0);
  g.dispose();
  assert.equal(released, 2);
  g.dispose();
  assert.equal(released, 2, 'dispose twice releases once');
  await assert.rejects(captureGraph(drv as never, 0n, () => {}, () => { throw new Error('boom'); }, { warmup: false }, hold), /boom/);
  assert.equal(holds, 1, 'a failed capture takes no hold');
});

// Dawn's polling spaced during long waits (src/backends/webgpu/poll.ts), on lavapipe: a Node WebGPU backend installs
// it; other setImmediate callers get Node's own function's behaviour (an Immediate, promisify, clearImmediate); a wait
// longer than the spin time is polled by a 1 ms timer and still settles with the right bits; FLASHMLA_DAWN_POLL parses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { dawnPollFromEnv } from '../../src/backends/webgpu/node.js';
import { dawnPollState, installDawnPoll } from '../../src/backends/webgpu/poll.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { fromArray } from '../../src/core/tensor.js';
import { MlaDecoder } from '../../src/index.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });

describe('webgpu: Dawn\'s polling during long waits', () => {
  test('installed with the backend; other setImmediate callers see Node\'s behaviour', async (t) => {
    if (!gpu.need(t)) return;
    assert.equal(dawnPollState().installed, process.env.FLASHMLA_DAWN_POLL !== 'spin');
    const order: string[] = [];
    const im = setImmediate((x: string) => order.push(x), 'a');
    assert.equal(im.constructor.name, 'Immediate');
    const cancelled = setImmediate(() => order.push('cancelled'));
    clearImmediate(cancelled);
    const v = await promisify(setImmediate)('b');
    order.push(v);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['a', 'b']);
  });

  test('a wait longer than the spin time is polled by a timer and gives the same bits', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    if (process.env.FLASHMLA_DAWN_POLL === 'spin') { t.skip('FLASHMLA_DAWN_POLL=spin'); return; }
    const { globals } = await import('webgpu');
    const sK = 4096, hQ = 64, page = 64, pages = sK / page, b = 2;
    const k = be.upload(fromArray('bf16', [b * pages, page, 1, 576], Uint16Array.from({ length: b * pages * page * 576 }, (_, i) => 0x3c00 + ((i * 7) % 251))));
    const q = be.upload(fromArray('bf16', [b, 1, hQ, 576], Uint16Array.from({ length: b * hQ * 576 }, (_, i) => 0x3b00 + (i % 97))));
    const dec = new MlaDecoder(be, { hQ });
    dec.plan(new Int32Array(b).fill(sK), fromArray('i32', [b, pages], Int32Array.from({ length: b * pages }, (_, i) => i)));
    const bits = async () => Array.from((await be.download((await dec.run(q, k)).out)).host() as Uint16Array);
    try {
      installDawnPoll(globals as unknown as Record<string, unknown>, 1e9); // never spaced: Dawn's own polling
      const want = await bits();
      const before = dawnPollState().slowPolls;
      installDawnPoll(globals as unknown as Record<string, unknown>, 0); // every poll of a pending wait spaced
      const got = await bits();
      assert.ok(dawnPollState().slowPolls > before, `slow polls ${before} -> ${dawnPollState().slowPolls}`);
      assert.equal(dawnPollState().pending, 0, 'no wait left pending');
      assert.deepEqual(got, want);
    } finally {
      installDawnPoll(globals as unknown as Record<string, unknown>, 10);
      dec.dispose(); be.free(q); be.free(k);
    }
  });

  test('FLASHMLA_DAWN_POLL: spin, milliseconds, or a typed error', () => {
    assert.equal(dawnPollFromEnv(undefined), 10);
    assert.equal(dawnPollFromEnv(''), 10);
    assert.equal(dawnPollFromEnv('spin'), 'spin');
    assert.equal(dawnPollFromEnv('2.5'), 2.5);
    assert.throws(() => dawnPollFromEnv('fast'), (e: unknown) => e instanceof FlashMlaError && /FLASHMLA_DAWN_POLL/.test((e as Error).message));
    assert.throws(() => dawnPollFromEnv('-1'), FlashMlaError);
  });
});

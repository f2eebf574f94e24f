// The WebGPU backend's timer with flushBytes (TimeOptions; triton do_bench's protocol, docs/notes/benchmark-protocol.md):
// a scratch buffer cleared in a submission of its own before every repetition, warm-up ones too, outside the timing;
// more than the device's maxBufferSize is an argument error. Runs on Mesa's lavapipe here and in CI.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlashMlaError } from '../../src/core/errors.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });

describe('webgpu: timing with an L2 flush', () => {
  test('one clear submission a repetition, outside the timed work; refused over maxBufferSize', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const queue = be.device.queue;
    const submit = queue.submit.bind(queue);
    const labels: string[] = [];
    (queue as { submit: GPUQueue['submit'] }).submit = (bufs: Iterable<GPUCommandBuffer>) => {
      for (const b of bufs) labels.push(b.label ?? '');
      return submit(bufs);
    };
    try {
      const runs: number[] = [];
      const noop = async (rep: number) => { runs.push(rep); };
      const plain = await be.timeMs(noop, { warmup: 1, reps: 3 });
      assert.equal(plain.length, 3);
      assert.equal(labels.filter((l) => l === 'flashmla.timing.flush').length, 0);
      const timed = await be.timeMs(noop, { warmup: 2, reps: 3, flushBytes: 1 << 20 });
      assert.equal(timed.length, 3);
      for (const x of timed) assert.ok(Number.isFinite(x) && x >= 0, String(x));
      assert.equal(labels.filter((l) => l === 'flashmla.timing.flush').length, 5, 'warm-up 2 + reps 3');
      assert.deepEqual(runs, [0, 0, 1, 2, 0, 1, 0, 1, 2]);
    } finally {
      (queue as { submit: GPUQueue['submit'] }).submit = submit;
    }
    // past one query set's 4096 timestamps (do_bench's loop asks for thousands of short repetitions): timed in chunks
    const seen: number[] = [];
    const many = await be.timeMs(async (rep) => { seen.push(rep); }, { warmup: 0, reps: 2 * 2048 + 5 });
    assert.equal(many.length, 4101);
    assert.ok(many.every((x) => Number.isFinite(x) && x >= 0));
    assert.deepEqual(seen, Array.from({ length: 4101 }, (_, i) => i));
    await assert.rejects(be.timeMs(async () => {}, { warmup: 0, reps: 1, flushBytes: be.caps.maxBufferSize + 4 }),
      (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && /flushBytes/.test(e.message));
  });
});

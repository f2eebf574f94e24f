// WebGpuBackend.batch (src/backends/webgpu/batch.ts) on lavapipe: dense and sparse decodes recorded into one command
// buffer give the bits the same calls give one by one; a call that throws records nothing and the others run; the
// upload ring's overflow, nesting, dispose, write / download / free inside a batch, timeMs's refusal, and the
// timestamps a chain of calls writes (one start, one end a repetition).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } from '../../src/core/sparse.js';
import { quantizeCache } from '../../src/core/fp8.js';
import { flashMlaSparseWithKvcache } from '../../src/core/sparse-api.js';
import { type Tensor, fromArray } from '../../src/core/tensor.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { type CaseSpec, caseMetadata, caseTensors, makeCase, poisonedOutputs } from '../support/random.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });
const need = (t: { skip: (m?: string) => void }) => gpu.need(t);
const extra: WebGpuBackend[] = [];
after(() => { for (const b of extra) b.dispose(); });

/** One decode call with its own device inputs and outputs, launchable again and again. */
interface Call {
  launch(): Promise<unknown>;
  /** Outputs reset to NaN (a call that did not run shows). */
  poison(): void;
  read(): Promise<[Uint16Array, Float32Array]>;
  /** Whether some request is split (the combine pass runs). */
  split: boolean;
  free(): void;
}

/**
 * A dense call of the random matrix: `numSms` sets the plan (many SMs split short sequences: the combine runs); index
 * tensors on the host (staged by the call) or on the device (copied by the encoder).
 */
function denseCall(be: WebGpuBackend, spec: CaseSpec, seed: number, numSms: number, deviceIndices: boolean): Call {
  const c = makeCase(spec, seed), t = caseTensors(c), md = caseMetadata(c, numSms, 'flashmla');
  const q = be.upload(t.q), k = be.upload(t.kCache);
  const out = be.empty(c.dtype, c.outShape), lse = be.empty('f32', c.lseShape);
  const idx = (x: Tensor | undefined) => (x && deviceIndices ? be.upload(x as never) : x);
  const bt = idx(t.blockTable)!, sl = idx(t.cacheSeqlens)!, qi = idx(t.qIndptr), meta = idx(md.tileSchedulerMetadata)!, ns = idx(md.numSplits)!;
  const splits = md.numSplits.host() as Int32Array;
  return {
    launch: () => flashMlaWithKvcache(q, k, bt, sl, 512, meta, ns, { causal: c.causal, qIndptr: qi, backend: be, out, lse }),
    poison() { const p = poisonedOutputs(c); be.write(out, p.out); be.write(lse, p.lse); },
    read: async () => [(await be.download(out)).host() as Uint16Array, (await be.download(lse)).host() as Float32Array],
    split: splits.some((s, i) => i > 0 && s - splits[i - 1] > 1),
    free() { for (const x of [q, k, out, lse, ...(deviceIndices ? [bt, sl, qi, meta, ns] : [])]) if (x) be.free(x); },
  };
}

/** A sparse call over one V3.2 FP8 cache: indices, topkLength and sink on the host (staged per call). */
function sparseCall(be: WebGpuBackend, seed: number, k: Tensor): Call {
  const b = 2, hQ = 3, topk = 5, nTok = 16;
  const ind = Int32Array.from({ length: b * topk }, (_, i) => ((i * 7 + seed * 3) % (nTok + 1)) - 1); // -1: skipped
  const tl = fromArray('i32', [b], Int32Array.of(1 + (seed % topk), topk));
  const sink = fromArray('f32', [hQ], Float32Array.of(seed * 0.25, -Infinity, 1 - seed));
  const q = be.upload(fromArray('bf16', [b, 1, hQ, 576], Uint16Array.from({ length: b * hQ * 576 }, (_, i) => f32ToBf16(Math.cos(i * (seed + 1) * 0.01)))));
  const out = be.empty('bf16', [b, 1, hQ, 512]), lse = be.empty('f32', [b, hQ, 1]);
  const meta = getSparseMlaMetadata({ b, sQ: 1, hQ, topk, topkLength: tl, numSms: 3 });
  return {
    launch: () => flashMlaSparseWithKvcache(q, k, fromArray('i32', [b, 1, topk], ind), 512, meta, { topkLength: tl, attnSink: sink, backend: be, out, lse }),
    poison() {
      be.write(out, fromArray('bf16', [b, 1, hQ, 512], new Uint16Array(b * hQ * 512).fill(0x7fc1)));
      be.write(lse, fromArray('f32', [b, hQ, 1], new Float32Array(b * hQ).fill(NaN)));
    },
    read: async () => [(await be.download(out)).host() as Uint16Array, (await be.download(lse)).host() as Float32Array],
    split: false,
    free() { for (const x of [q, out, lse]) be.free(x); },
  };
}

/** Count the command buffers submitted while `fn` runs. */
async function submissions(be: WebGpuBackend, fn: () => Promise<unknown>): Promise<number> {
  const queue = be.device.queue, submit = queue.submit.bind(queue);
  let n = 0;
  (queue as { submit: GPUQueue['submit'] }).submit = (bufs: Iterable<GPUCommandBuffer>) => { for (const _ of bufs) n++; return submit(bufs); };
  try {
    await fn();
  } finally {
    (queue as { submit: GPUQueue['submit'] }).submit = submit;
  }
  return n;
}

/** Every call's outputs after running them one by one (the reference bits). */
async function oneByOne(be: WebGpuBackend, calls: readonly Call[]): Promise<[Uint16Array, Float32Array][]> {
  for (const c of calls) c.poison();
  for (const c of calls) await c.launch();
  await be.synchronize();
  return Promise.all(calls.map((c) => c.read()));
}

async function assertSameBits(got: [Uint16Array, Float32Array][], want: [Uint16Array, Float32Array][], what: string): Promise<void> {
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i][0], want[i][0], `${what}: call ${i} out`);
    assert.deepEqual(new Uint32Array(got[i][1].buffer), new Uint32Array(want[i][1].buffer), `${what}: call ${i} lse`);
  }
}

/**
 * The calls one by one (the reference bits, returned as `want`), their outputs poisoned, then all of them in one
 * batch(): checks the batch gives the same bits and returns how many submissions it made.
 */
async function batchedSameBits(be: WebGpuBackend, calls: readonly Call[], what: string): Promise<{ n: number; want: [Uint16Array, Float32Array][] }> {
  const want = await oneByOne(be, calls);
  for (const c of calls) c.poison();
  const n = await submissions(be, () => be.batch(async () => { for (const c of calls) await c.launch(); }));
  await assertSameBits(await Promise.all(calls.map((c) => c.read())), want, what);
  return { n, want };
}

/** Small hostile shapes (lavapipe is slow): the long sequences on 132 SMs are split, the rest are not. */
const spec = (name: string, o: Partial<CaseSpec>): CaseSpec => ({ name, dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [65], sQ: 1, causal: false, ...o });
const specs: [CaseSpec, number][] = [
  [spec('long b=2', { seqlens: [1000, 65] }), 132],
  [spec('f16 page 16 sQ 2', { dtype: 'f16', hQ: 3, pageBlockSize: 16, seqlens: [0, 129, 7], sQ: 2, causal: true }), 1],
  [spec('hKv 2 page 100', { hQ: 4, hKv: 2, pageBlockSize: 100, seqlens: [700] }), 132],
  [spec('page 1 sQ 3', { hQ: 5, pageBlockSize: 1, seqlens: [33, 1], sQ: 3, causal: true }), 1],
  [spec('varlen', { hQ: 2, seqlens: [300, 800, 64], qLens: [1, 0, 3], causal: true }), 132],
  [spec('f16 page 256', { dtype: 'f16', hQ: 17, pageBlockSize: 256, seqlens: [900, 5] }), 2],
];
const denseCalls = (be: WebGpuBackend) => specs.map(([s, numSms], i) => denseCall(be, s, 900 + i, numSms, i % 3 === 0));

describe('webgpu batch: the same bits as the calls one by one', () => {
  test('6 dense calls of different shapes, plans (split and unsplit) and index tensors in one submission', async (t) => {
    const be = need(t);
    if (!be) return;
    const calls = denseCalls(be);
    try {
      assert.ok(calls.some((c) => c.split) && calls.some((c) => !c.split), 'the set has split and unsplit plans');
      const { n, want } = await batchedSameBits(be, calls, 'dense batch');
      assert.equal(n, 1, 'one command buffer for the batch');
      // The same calls twice in one batch (each call's uniforms are copied into place just before its passes).
      for (const c of calls) c.poison();
      await be.batch(async () => { for (const c of [...calls, ...calls]) await c.launch(); });
      await assertSameBits(await Promise.all(calls.map((c) => c.read())), want, 'dense batch, twice');
    } finally {
      for (const c of calls) c.free();
    }
  });

  test('sparse calls with host indices, topkLength and sinks, mixed with a dense call', async (t) => {
    const be = need(t);
    if (!be) return;
    const nb = 4, B = 4;
    const vals = Uint16Array.from({ length: nb * B * 576 }, (_, i) => f32ToBf16(Math.sin(i) * 0.3));
    const k = uploadFp8Cache(be, fp8CacheTensor('v32', nb, B, quantizeCache('v32', vals, B, nb)));
    const calls = [0, 1, 2, 3, 4].map((s) => sparseCall(be, s, k));
    calls.splice(2, 0, denseCall(be, specs[0][0], 77, 132, false));
    try {
      assert.equal((await batchedSameBits(be, calls, 'sparse batch')).n, 1);
    } finally {
      for (const c of calls) c.free();
      be.free(k);
    }
  });
});

describe('webgpu batch: layer ops', () => {
  test('layer gemms of different shapes (skinny ones split over k) between decodes: the same bits', async (t) => {
    const be = need(t);
    if (!be) return;
    const ops = be.layerOps();
    const f32 = (n: number, seed: number) => be.upload(fromArray('f32', [n], Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed))));
    const shapes = [[1, 64, 512], [3, 40, 96], [2, 16, 2048]] as const;
    const gemms = shapes.map(([m, n, k], i) => ({ m, n, k, x: f32(m * k, i), w: f32(n * k, 10 + i), y: be.empty('f32', [m * n]) }));
    const gemmCall = (g: (typeof gemms)[number]): Call => ({
      launch: async () => ops.gemm(g),
      poison() { be.write(g.y, fromArray('f32', [g.m * g.n], new Float32Array(g.m * g.n).fill(NaN))); },
      read: async () => [new Uint16Array(((await be.download(g.y)).host() as Float32Array).buffer), new Float32Array(1)],
      split: false,
      free() { for (const x of [g.x, g.w, g.y]) be.free(x); },
    });
    const dense = denseCalls(be).slice(0, 2);
    const calls = [gemmCall(gemms[0]), dense[0], gemmCall(gemms[1]), gemmCall(gemms[2]), dense[1]];
    try {
      assert.equal((await batchedSameBits(be, calls, 'layer ops in a batch')).n, 1);
    } finally {
      for (const c of calls) c.free();
    }
  });
});

describe('webgpu batch: the MLA layer step', () => {
  // Session 43, call 1 (H200): the batched step's f32 output differed from the unbatched one from the third token of
  // the 3-token prefill on (~2^-8 relative), while decodes and layer ops batched alone kept their bits there and
  // lavapipe keeps them here; the step is therefore not batched by default (core/mla/device.ts), and this stays a todo
  // on GPUs until the cause is found. (On lavapipe it passes and must keep passing.)
  // Session 44 (no GPU): that run compared the suite's backend, batched, with a second backend made on its device
  // (`createNodeWebGpuBackend({ device })`), which reads the adapter's abilities from device.adapterInfo, not from the
  // adapter. So two things changed at once. The test now runs the step three ways, the suite's backend batched and
  // unbatched and the second backend unbatched, and names every pair that differs; the next test checks that the
  // second backend sees the same abilities and decode path. On the H200 these two say which of the two it was.
  // Session 45 (H200, call 2): batched and unbatched on the suite's backend gave the same bits; the second backend
  // differed from both from token 1, and its caps lacked subgroupMatrixF16 (Dawn's device.adapterInfo has no
  // subgroupMatrixConfigs there), so it ran another decode kernel. Fixed in webgpu/index.ts (the adapter information of
  // the devices the library requests is remembered). Call 3 (H200): no differing pair, the caps equal: the todo is gone.
  test('a device step wrapped in backend.batch gives the bits of the same step unbatched', async (t) => {
    const be = need(t);
    if (!be) return;
    const { MlaAttention } = await import('../../src/core/mla/index.js');
    const { normals, poisonedCache, randomWeights, runSequences, smallConfig } = await import('../support/mla-case.js');
    const c = smallConfig(), w = randomWeights(c, 17), hidden = normals(99, 2 * 6 * c.hiddenSize, 1);
    // the same device through a second backend object: every kernel its own submission
    const plain = await createNodeWebGpuBackend({ device: be.device });
    extra.push(plain);
    const runs = [['batched', be, true], ['unbatched', be, false], ['second backend, unbatched', plain, false]] as const;
    const got = new Map<string, Float32Array>(), subs = new Map<string, number>();
    for (const [name, b, batched] of runs) {
      for (const precision of ['f32', 'bf16'] as const) {
        const layer = new MlaAttention(c, w, { cache: poisonedCache(b, 16, 4, 'bf16'), precision });
        const run = async () => { got.set(`${name} ${precision}`, await runSequences(layer, hidden, 2, 6, 3)); };
        subs.set(`${name} ${precision}`, await submissions(be, () => (batched ? be.batch(run) : run())));
        layer.dispose();
        layer.cache.dispose();
      }
    }
    assert.ok(subs.get('batched f32')! < subs.get('unbatched f32')! / 3, `submissions batched ${subs.get('batched f32')}, unbatched ${subs.get('unbatched f32')}`);
    assert.ok(got.get('batched f32')!.every(Number.isFinite));
    const differ: string[] = [];
    for (const precision of ['f32', 'bf16']) {
      const bits = runs.map(([name]) => new Uint32Array(got.get(`${name} ${precision}`)!.buffer));
      for (let i = 0; i < bits.length; i++) {
        for (let j = i + 1; j < bits.length; j++) {
          const first = bits[i].findIndex((x, e) => x !== bits[j][e]);
          if (first >= 0) differ.push(`${precision}: ${runs[i][0]} vs ${runs[j][0]} from element ${first} (token ${Math.floor(first / c.hiddenSize) % 6} of sequence ${Math.floor(first / c.hiddenSize / 6)})`);
        }
      }
    }
    assert.deepEqual(differ, []);
  });

  test('a second backend made on the same device sees the same abilities and decode path', async (t) => {
    const be = need(t);
    if (!be) return;
    const plain = await createNodeWebGpuBackend({ device: be.device });
    extra.push(plain);
    assert.deepEqual(plain.caps, be.caps);
    assert.equal(plain.info.details?.decodePath, be.info.details?.decodePath);
  });
});

describe('webgpu batch: the MLA layer step, control', () => {
  test('the same step unbatched on two fresh backends of one device gives the same bits', async (t) => {
    const be = need(t);
    if (!be) return;
    const { MlaAttention } = await import('../../src/core/mla/index.js');
    const { normals, poisonedCache, randomWeights, runSequences, smallConfig } = await import('../support/mla-case.js');
    const c = smallConfig(), w = randomWeights(c, 17), hidden = normals(99, 2 * 6 * c.hiddenSize, 1);
    const got: Float32Array[] = [];
    for (let i = 0; i < 2; i++) {
      const b = await createNodeWebGpuBackend({ device: be.device });
      extra.push(b);
      const layer = new MlaAttention(c, w, { cache: poisonedCache(b, 16, 4, 'bf16'), precision: 'f32' });
      got.push(await runSequences(layer, hidden, 2, 6, 3));
      layer.dispose();
      layer.cache.dispose();
    }
    assert.ok(got[0].every(Number.isFinite));
    assert.deepEqual(new Uint32Array(got[0].buffer), new Uint32Array(got[1].buffer));
  });
});

describe('webgpu batch: errors, nesting, ordering, limits', () => {
  test('a call that throws records nothing: caught, the batch goes on; uncaught, the calls before it still run', async (t) => {
    const be = need(t);
    if (!be) return;
    const calls = denseCalls(be).slice(0, 3);
    // q as a view 2 bytes into its buffer: the WebGPU decode refuses it (a 16-byte aligned offset) after its plan's
    // workspace is made, before anything is recorded.
    const c = makeCase(specs[0][0], 900), tt = caseTensors(c), md = caseMetadata(c, 132, 'flashmla');
    const qBig = be.upload(fromArray(c.dtype, [c.q.length + 8], new Uint16Array(c.q.length + 8)));
    const { Tensor: T } = await import('../../src/core/tensor.js');
    const qBad = new T(c.dtype, c.qShape, qBig.data, 1);
    const kBad = be.upload(tt.kCache);
    const bad = () => flashMlaWithKvcache(qBad, kBad, tt.blockTable, tt.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, { causal: c.causal, backend: be });
    const isAlign = (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && /16-byte aligned/.test(e.message);
    try {
      const want = await oneByOne(be, calls);
      for (const x of calls) x.poison();
      await be.batch(async () => {
        await calls[0].launch();
        await assert.rejects(bad(), isAlign);
        await calls[1].launch();
        await calls[2].launch();
      });
      await assertSameBits(await Promise.all(calls.map((x) => x.read())), want, 'caught');
      for (const x of calls) x.poison();
      await assert.rejects(be.batch(async () => { await calls[0].launch(); await calls[1].launch(); await bad(); await calls[2].launch(); }), isAlign);
      assert.equal(be.batching, false);
      const got = await Promise.all(calls.map((x) => x.read()));
      await assertSameBits(got.slice(0, 2), want.slice(0, 2), 'uncaught');
      assert.ok(Number.isNaN(got[2][1][0]), 'the call after the error never ran');
    } finally {
      for (const x of calls) x.free();
      be.free(qBig);
      be.free(kBad);
    }
  });

  test('nested batches join the outer one; write, download and free inside keep program order', async (t) => {
    const be = need(t);
    if (!be) return;
    const calls = denseCalls(be).slice(0, 3);
    try {
      const want = await oneByOne(be, calls);
      for (const c of calls) c.poison();
      const n = await submissions(be, () => be.batch(async () => {
        await calls[0].launch();
        await be.batch(async () => { await calls[1].launch(); });
        assert.equal(be.batching, true);
        await calls[2].launch();
      }));
      assert.equal(n, 1);
      await assertSameBits(await Promise.all(calls.map((c) => c.read())), want, 'nested');
      // download inside a batch sees the calls recorded before it; a poison written inside lands after call 0 ran.
      for (const c of calls) c.poison();
      await be.batch(async () => {
        await calls[0].launch();
        const [o] = await calls[0].read();
        assert.deepEqual(o, want[0][0], 'download inside the batch');
        calls[0].poison();
        await calls[1].launch();
      });
      const [o0] = await calls[0].read();
      assert.ok(o0.every((x) => (x & 0x7fff) > 0x7c00), 'call 0 ran before the write that poisoned its output');
      await assertSameBits([await calls[1].read()], [want[1]], 'after the write');
    } finally {
      for (const c of calls) c.free();
    }
    // free() of a call's inputs inside the batch: destroyed after the submission, so the call still reads them.
    const [c2] = denseCalls(be).slice(2, 3);
    const want2 = await oneByOne(be, [c2]);
    c2.poison();
    await be.batch(async () => { await c2.launch(); c2.free(); });
    // (its outputs were freed too: rebuild the call and compare a fresh run against the one-by-one bits instead)
    const [c3] = denseCalls(be).slice(2, 3);
    c3.poison();
    await be.batch(async () => { await c3.launch(); });
    await assertSameBits([await c3.read()], want2, 'after a free in a batch');
    c3.free();
  });

  test('the upload ring overflows: the batch is submitted in parts, and a call larger than the ring alone', async (t) => {
    const be0 = need(t);
    if (!be0) return;
    const be = await createNodeWebGpuBackend({ device: be0.device, batchUploadBytes: 1024 });
    extra.push(be);
    const calls = [...denseCalls(be), ...denseCalls(be)];
    // a host block table of 8 x 40 words (1280 bytes) is over the ring on its own
    const big = denseCall(be, { name: 'big', dtype: 'bf16', hQ: 2, hKv: 1, pageBlockSize: 1, seqlens: [30, 3, 38, 1, 0, 12, 38, 5], sQ: 1, causal: false, extraTableSlots: 1 }, 5, 132, false);
    calls.splice(5, 0, big);
    try {
      const { n } = await batchedSameBits(be, calls, 'ring overflow');
      assert.ok(n > 2 && n < calls.length, `${n} submissions for ${calls.length} calls`);
    } finally {
      for (const c of calls) c.free();
    }
    assert.throws(() => new (be.constructor as typeof WebGpuBackend)(be.device, be.caps, 'x', { batchUploadBytes: 100 }), /batchUploadBytes: expected a multiple of 16/);
  });

  test('dispose inside a batch submits what it recorded; later calls and batches throw disposed', async (t) => {
    const be0 = need(t);
    if (!be0) return;
    const be = await createNodeWebGpuBackend({ device: be0.device });
    const [c, d] = denseCalls(be).slice(0, 2);
    const n = await submissions(be, () => be.batch(async () => {
      await c.launch();
      be.dispose();
      await assert.rejects(d.launch(), (e: unknown) => e instanceof FlashMlaError && e.code === 'disposed');
    }));
    assert.equal(n, 1, 'the recorded call was submitted by dispose()');
    assert.equal(be.batching, false);
    await assert.rejects(be.batch(async () => {}), (e: unknown) => e instanceof FlashMlaError && e.code === 'disposed');
  });

  test('timeMs inside a batch is refused; a chain in each repetition writes one start and one end timestamp', async (t) => {
    const be = need(t);
    if (!be) return;
    await assert.rejects(be.batch(() => be.timeMs(async () => {}, { warmup: 0, reps: 1 })),
      (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && /timeMs: expected a call outside batch\(\)/.test(e.message));
    const calls = denseCalls(be).slice(0, 4);
    assert.ok(calls.some((c) => c.split));
    const writes: GPUComputePassTimestampWrites[] = [];
    const make = be.device.createCommandEncoder.bind(be.device);
    (be.device as { createCommandEncoder: GPUDevice['createCommandEncoder'] }).createCommandEncoder = (desc) => {
      const enc = make(desc), begin = enc.beginComputePass.bind(enc);
      enc.beginComputePass = (d) => { if (d?.timestampWrites) writes.push(d.timestampWrites); return begin(d); };
      return enc;
    };
    try {
      const times = await be.timeMs(() => be.batch(async () => { for (const c of calls) await c.launch(); }), { warmup: 1, reps: 3 });
      assert.equal(times.length, 3);
      assert.ok(times.every((x) => Number.isFinite(x) && x > 0), String(times));
      if (be.caps.timestamps) {
        const idx = writes.flatMap((w) => [w.beginningOfPassWriteIndex, w.endOfPassWriteIndex].filter((x) => x !== undefined));
        assert.deepEqual(idx, [0, 1, 2, 3, 4, 5], 'each repetition: its first pass starts the timing, its last pass ends it');
      }
    } finally {
      (be.device as { createCommandEncoder: GPUDevice['createCommandEncoder'] }).createCommandEncoder = make;
      for (const c of calls) c.free();
    }
  });
});

// Dense decode over an FP8 cache with index tensors on the device: a backend that reads the cache by block table
// (Backend.decodeDenseFp8, CUDA's sparse_mma.cu) takes them as they are, as dense decode over a 16-bit cache does;
// a path that must build sparse indices from their values refuses them with a typed error naming the argument,
// before any launch. No GPU: the "device" tensors and the backend are stand-ins that record what reaches them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DenseFp8Call } from '../../src/core/dense-fp8.js';
import { flashMlaWithFp8Kvcache } from '../../src/core/dense-fp8.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { Backend } from '../../src/core/problem.js';
import { getMlaMetadata } from '../../src/core/api.js';
import { type SparseCall, fp8CacheTensor, getSparseMlaMetadata } from '../../src/core/sparse.js';
import { type DeviceStorage, Tensor, fromArray } from '../../src/core/tensor.js';

const b = 2, sQ = 1, hQ = 16, B = 64, numBlocks = 4, maxBlocks = 2;
const onDevice = (device: 'cuda' | 'webgpu', t: Tensor): Tensor => new Tensor(t.dtype, t.shape, { device, byteLength: t.byteLength } as DeviceStorage);
const hostTable = fromArray('i32', [b, maxBlocks], Int32Array.of(3, 1, 0, 2));
const hostLens = fromArray('i32', [b], Int32Array.of(100, 7));
const md = getMlaMetadata(Int32Array.of(100, 7), sQ * hQ, 1, { numSms: 8 });
const q = onDevice('cuda', fromArray('bf16', [b, sQ, hQ, 576], new Uint16Array(b * sQ * hQ * 576)));
const k = onDevice('cuda', fp8CacheTensor('v32', numBlocks, B));
const out = onDevice('cuda', fromArray('bf16', [b, sQ, hQ, 512], new Uint16Array(b * sQ * hQ * 512)));
const lse = onDevice('cuda', fromArray('f32', [b, hQ, sQ], new Float32Array(b * hQ * sQ)));

function stubBackend(take: boolean | undefined): { backend: Backend; calls: DenseFp8Call[] } {
  const calls: DenseFp8Call[] = [];
  const backend = { kind: 'cuda' } as Record<string, unknown>;
  if (take !== undefined) backend.decodeDenseFp8 = (l: DenseFp8Call) => { calls.push(l); return take; };
  backend.decodeSparse = () => { throw new Error('the sparse path must not run'); };
  return { backend: backend as unknown as Backend, calls };
}

async function refused(p: Promise<unknown>, arg: string, calls: DenseFp8Call[], asked: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof FlashMlaError && e.argument === arg, `a FlashMlaError naming ${arg}`);
  assert.equal(calls.length, asked);
}

test('device blockTable and cacheSeqlens reach a backend that reads the cache by block table, unread', async () => {
  const { backend, calls } = stubBackend(true);
  const table = onDevice('cuda', hostTable), lens = onDevice('cuda', hostLens);
  const r = await flashMlaWithFp8Kvcache(q, k, table, lens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].blockTable, table);
  assert.equal(calls[0].cacheSeqlens, lens);
  assert.deepEqual([calls[0].b, calls[0].hQ, calls[0].maxBlocksPerSeq, calls[0].pageBlockSize], [b, hQ, maxBlocks, B]);
  assert.equal(r.out, out);
});

test('host index tensors are still checked by value on that backend', async () => {
  const { backend, calls } = stubBackend(true);
  const bad = fromArray('i32', [b, maxBlocks], Int32Array.of(3, 9, 0, 2)); // page 9 of 4
  await refused(flashMlaWithFp8Kvcache(q, k, bad, hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'blockTable[0, 1]', calls, 0);
});

test('a backend that declines the step: device index tensors are refused, naming the argument', async () => {
  const { backend, calls } = stubBackend(false);
  await refused(flashMlaWithFp8Kvcache(q, k, hostTable, onDevice('cuda', hostLens), 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'cacheSeqlens', calls, 1);
  await refused(flashMlaWithFp8Kvcache(q, k, onDevice('cuda', hostTable), hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'blockTable', calls, 2);
});

test('a backend without a block-table FP8 kernel refuses device index tensors before anything runs', async () => {
  const { backend, calls } = stubBackend(undefined);
  await refused(flashMlaWithFp8Kvcache(q, k, onDevice('cuda', hostTable), hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'blockTable', calls, 0);
});

test('an index tensor on another device is refused', async () => {
  const { backend, calls } = stubBackend(true);
  await refused(flashMlaWithFp8Kvcache(q, k, onDevice('webgpu', hostTable), hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'blockTable', calls, 0);
});

test('host lengths are checked against a device table\'s width before the backend is asked', async () => {
  const { backend, calls } = stubBackend(true);
  const long = fromArray('i32', [b], Int32Array.of(100, maxBlocks * B + 1)); // one key past the table's 2 pages
  const mdLong = getMlaMetadata(Int32Array.of(100, maxBlocks * B + 1), sQ * hQ, 1, { numSms: 8 });
  await refused(flashMlaWithFp8Kvcache(q, k, onDevice('cuda', hostTable), long, 512, mdLong.tileSchedulerMetadata, mdLong.numSplits, { backend, out, lse }), 'cacheSeqlens[1]', calls, 0);
  const fits = fromArray('i32', [b], Int32Array.of(100, maxBlocks * B));
  const mdFits = getMlaMetadata(Int32Array.of(100, maxBlocks * B), sQ * hQ, 1, { numSms: 8 });
  await flashMlaWithFp8Kvcache(q, k, onDevice('cuda', hostTable), fits, 512, mdFits.tileSchedulerMetadata, mdFits.numSplits, { backend, out, lse });
  assert.equal(calls.length, 1, 'a length that fills the table exactly reaches the backend');
});

test('the cache a block-table kernel reads is checked first: its storage holds every block (MODEL1 pads a block), hKv = 1, q\'s device', async () => {
  const { backend, calls } = stubBackend(true);
  const q1 = onDevice('cuda', fromArray('bf16', [b, sQ, hQ, 512], new Uint16Array(b * sQ * hQ * 512)));
  // A MODEL1 view [numBlocks, 64, 1, 584] over exactly numBlocks x 64 x 584 bytes: each block needs 37440 (65 x 576).
  const short = new Tensor('fp8_e4m3', [numBlocks, B, 1, 584], { device: 'cuda', byteLength: numBlocks * B * 584 } as DeviceStorage);
  await refused(flashMlaWithFp8Kvcache(q1, short, hostTable, hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'kCache', calls, 0);
  const full = fp8CacheTensor('model1', numBlocks, B);
  const model1 = new Tensor('fp8_e4m3', full.shape, { device: 'cuda', byteLength: full.data.byteLength } as DeviceStorage);
  await flashMlaWithFp8Kvcache(q1, model1, hostTable, hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse });
  assert.equal(calls.length, 1, 'the full MODEL1 storage reaches the backend');
  const twoHeads = new Tensor('fp8_e4m3', [numBlocks, B, 2, 656], { device: 'cuda', byteLength: numBlocks * B * 2 * 656 } as DeviceStorage);
  await refused(flashMlaWithFp8Kvcache(q, twoHeads, hostTable, hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'kCache', calls, 1);
  await refused(flashMlaWithFp8Kvcache(q, onDevice('webgpu', fp8CacheTensor('v32', numBlocks, B)), hostTable, hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }), 'kCache', calls, 1);
});

test('the sparse route (a backend without a block-table FP8 kernel) plans each request by its own length', async () => {
  const launches: SparseCall[] = [];
  const backend = { kind: 'cpu', info: { kind: 'cpu', device: 'stub', numSms: 8 }, decodeSparse: (l: SparseCall) => { launches.push(l); } } as unknown as Backend;
  const lens = Int32Array.of(4000, 30, 0), bb = lens.length, nb = 64, width = 63;
  const table = fromArray('i32', [bb, width], Int32Array.from({ length: bb * width }, (_, i) => i % nb));
  const m = getMlaMetadata(lens, 2 * hQ, 1, { numSms: 8 });
  const host = (dtype: 'bf16' | 'f32', shape: number[]) => fromArray(dtype, shape, dtype === 'f32' ? new Float32Array(shape.reduce((x, y) => x * y)) : new Uint16Array(shape.reduce((x, y) => x * y)));
  await flashMlaWithFp8Kvcache(host('bf16', [bb, 2, hQ, 576]), fp8CacheTensor('v32', nb, B), table, fromArray('i32', [bb], lens), 512, m.tileSchedulerMetadata, m.numSplits,
    { backend, out: host('bf16', [bb, 2, hQ, 512]), lse: host('f32', [bb, hQ, 2]) });
  assert.equal(launches.length, 1);
  const l = launches[0];
  assert.deepEqual([...(l.host?.topkLength ?? [])], [4000, 30, 0], 'topkLength: each request\'s cache length');
  assert.equal(l.indices.shape[2], 4000);
  // Planned by the keys there are: the 30- and 0-key requests take no part of their own beyond what their keys need.
  const plan = getSparseMlaMetadata({ b: bb, sQ: 2, hQ, topk: 4000, topkLength: lens, numSms: 8 });
  assert.deepEqual([...(l.host?.numSplits ?? [])], [...(plan.numSplits.host() as Int32Array)]);
  assert.notDeepEqual([...(plan.numSplits.host() as Int32Array)], [...(getSparseMlaMetadata({ b: bb, sQ: 2, hQ, topk: 4000, numSms: 8 }).numSplits.host() as Int32Array)]);
});

// Session 54 (GPU fuzz, H100, seed 14): q [2, 2, 0, 576] was accepted and reached CUDA, whose launch of a grid with no
// head tiles failed (driver_error). A dimension of q of 0 is refused, naming it, before any backend is asked, as dense
// decode over a 16-bit cache refuses it.
test('q with no heads or no queries, or a step with no sequences, is refused before the backend is asked', async () => {
  const { backend, calls } = stubBackend(true);
  const qOf = (s: number, h: number, n = b) => onDevice('cuda', fromArray('bf16', [n, s, h, 576], new Uint16Array(n * s * h * 576)));
  await refused(flashMlaWithFp8Kvcache(qOf(1, 0), k, hostTable, hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend }), 'q hQ (dim 2)', calls, 0);
  await refused(flashMlaWithFp8Kvcache(qOf(0, hQ), k, hostTable, hostLens, 512, md.tileSchedulerMetadata, md.numSplits, { backend }), 'q sQ (dim 1)', calls, 0);
  const none = fromArray('i32', [0, maxBlocks], new Int32Array(0)), noLens = fromArray('i32', [0], new Int32Array(0));
  await refused(flashMlaWithFp8Kvcache(qOf(1, hQ, 0), k, none, noLens, 512, md.tileSchedulerMetadata, fromArray('i32', [1], Int32Array.of(0)), { backend }), 'q b (dim 0)', calls, 0);
});

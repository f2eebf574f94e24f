// The WebGPU backend against the float64 reference: FlashMLA's golden cases, randomized cases (NaN in every unused
// slot, NaN-poisoned outputs), caches larger than one storage binding and the program cache. Runs on Mesa's
// lavapipe here and in CI, and unchanged on a real GPU. test/long/webgpu.test.ts holds the slow sweeps (every
// tuning, the reduced device, the mulAdd variant, 300 random cases): lavapipe spends tens of seconds compiling each
// kernel specialisation.
//   WEBGPU_RANDOM_CASES=n   randomized cases on the full-featured device (default 24)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { Tensor, fromArray } from '../../src/core/tensor.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { goldenCaseNames } from '../support/golden.js';
import { caseReference, caseTensors, makeCase, poisonedOutputs, runCase } from '../support/random.js';
import { checkRandomWebGpu, runGoldenWebGpu, useWebGpu } from '../support/webgpu.js';

const randomCases = Number(process.env.WEBGPU_RANDOM_CASES ?? 24);
const tol = tolerances.webgpu;
const gpu = useWebGpu();
const need = (t: { skip: (m?: string) => void }) => gpu.need(t);

describe('webgpu: FlashMLA golden cases (full features)', () => {
  for (const name of goldenCaseNames()) {
    test(name, async (t) => {
      if (need(t)) await runGoldenWebGpu(gpu.backend, name);
    });
  }
});

describe('webgpu: randomized cases vs the float64 reference', () => {
  test(`${randomCases} cases (full features: shader-f16, subgroups where the adapter has them)`, async (t) => {
    const be = need(t);
    // Alternate FlashMLA's 132-SM plan (many splits, the combine kernel) with the backend's own.
    if (be) await checkRandomWebGpu(be, randomCases, 0x3e6b, 1000, (i) => (i % 2 ? 132 : be.info.numSms));
  });
});

/**
 * A cache larger than one storage binding: the case's pages are scattered over a big cache so that some sit
 * past the first binding (and, with a small maxBufferBytes, in another GPUBuffer). Pages not used stay zero.
 */
async function bigCacheCase(be: WebGpuBackend, cacheBytes: number, seed: number): Promise<void> {
  const c = makeCase({ name: 'big', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [700, 0, 1500, 129], sQ: 2, causal: true, sparePages: 0, extraTableSlots: 1 }, seed);
  const pageElems = 64 * 576;
  const numBlocks = Math.ceil(cacheBytes / (pageElems * 2));
  const kCache = be.empty('bf16', [numBlocks, 64, 1, 576]);
  // Move page p of the case to a page spread over the whole big cache (last page included).
  const used = [...new Set(Array.from(c.blockTable).filter((x) => x >= 0 && x < c.numBlocks))].sort((a, b) => a - b);
  const where = new Map(used.map((p, i) => [p, i === used.length - 1 ? numBlocks - 1 : Math.floor((i * numBlocks) / used.length)]));
  const table = c.blockTable.map((x) => where.get(x) ?? x);
  for (const [from, to] of where) be.write(kCache, fromArray('bf16', [pageElems], c.kCache.subarray(from * pageElems, (from + 1) * pageElems)), to * pageElems);
  const t = caseTensors(c);
  const q = be.upload(t.q);
  const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, 1, { numSms: 132 });
  const poison = poisonedOutputs(c);
  const out = be.upload(poison.out), lse = be.upload(poison.lse);
  await flashMlaWithKvcache(q, kCache, fromArray('i32', [c.b, c.maxBlocksPerSeq], table), t.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: be, out, lse });
  await be.synchronize();
  const o = (await be.download(out)).host() as Uint16Array, l = (await be.download(lse)).host() as Float32Array;
  for (const x of [q, kCache, out, lse]) be.free(x);
  assertOutputsClose(o, l, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tol, `cache of ${cacheBytes} bytes`);
}

describe('webgpu: robustness: false (Dawn without robust buffer access)', () => {
  test('the backend makes its device without robustness, says so, and matches the reference', async (t) => {
    if (!need(t)) return;
    const fast = await createNodeWebGpuBackend({ robustness: false });
    try {
      assert.equal(fast.info.details?.robustness, false);
      assert.equal(gpu.backend.info.details?.robustness, process.env.FLASHMLA_WEBGPU_ROBUSTNESS !== '0', 'the suite backend follows FLASHMLA_WEBGPU_ROBUSTNESS');
      await checkRandomWebGpu(fast, Number(process.env.WEBGPU_NOROBUST_CASES ?? 3), 0x70b5, 1000, () => 132);
    } finally { fast.dispose(); }
  });
  test('it needs a device of its own: with a caller-provided device it is refused before any work', async (t) => {
    if (!need(t)) return;
    await assert.rejects(createNodeWebGpuBackend({ robustness: false, device: gpu.backend.device }),
      (e: Error) => e.name === 'FlashMlaError' && /robustness/.test(e.message));
  });
});

describe('webgpu: caches larger than a storage binding', () => {
  test('a cache over maxStorageBufferBindingSize decodes through several bindings', async (t) => {
    const be = need(t);
    if (!be) return;
    const limit = be.caps.maxStorageBufferBindingSize;
    const bytes = Number(process.env.WEBGPU_BIG_CACHE_BYTES ?? Math.min(limit + 32 * 2 ** 20, 0.9 * be.caps.maxBufferSize));
    if (bytes <= limit && !process.env.WEBGPU_BIG_CACHE_BYTES) t.diagnostic(`maxBufferSize ${be.caps.maxBufferSize} <= binding limit: one binding suffices`);
    await bigCacheCase(be, bytes, 11);
  });
  test('a cache split over several GPUBuffers (maxBufferBytes 48 MiB, bindings of 20 MiB)', async (t) => {
    if (!need(t)) return;
    const small = await createNodeWebGpuBackend({ maxBufferBytes: 48 * 2 ** 20, maxBindingBytes: 20 * 2 ** 20 });
    try {
      await bigCacheCase(small, 100 * 2 ** 20, 12);
    } finally { small.dispose(); }
  });
});

describe('webgpu: program cache', () => {
  test('pipelines compile once per specialisation', async (t) => {
    const be = need(t);
    if (!be) return;
    const c = makeCase({ name: 'cache', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [100, 5], sQ: 1, causal: true }, 5);
    await runCase(c, be, flashMlaWithKvcache);
    const n = be.programs.compiles;
    await runCase(c, be, flashMlaWithKvcache);
    await runCase(makeCase({ ...c.spec, seqlens: [300, 0, 64] }, 6), be, flashMlaWithKvcache);
    assert.equal(be.programs.compiles, n, 'same specialisation, new shapes: no new pipeline');
  });
  test('timeMs returns one positive device time per repetition', async (t) => {
    const be = need(t);
    if (!be) return;
    const c = makeCase({ name: 'time', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [100], sQ: 1, causal: true }, 8);
    const ts = caseTensors(c);
    const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, 1, { numSms: 8 });
    const q = be.upload(ts.q), k = be.upload(ts.kCache);
    const times = await be.timeMs(() => flashMlaWithKvcache(q, k, ts.blockTable, ts.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: be }).then(() => {}), { warmup: 1, reps: 3 });
    be.free(q); be.free(k);
    assert.equal(times.length, 3);
    for (const x of times) assert.ok(x > 0 && Number.isFinite(x), `time ${x}`);
  });
});

describe('webgpu: read-back staging buffers (download reuses them)', () => {
  test('downloads of many sizes, offsets and dtypes, sequential and concurrent, read the bytes written; the pool stays bounded', async (t) => {
    const be0 = need(t);
    if (!be0) return;
    // A backend of its own on the same device: its pool starts empty and dispose() must release it.
    const be = await createNodeWebGpuBackend({ device: be0.device });
    try {
      const pool = () => (be as unknown as { readPool: GPUBuffer[] }).readPool;
      const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.37 + seed) * 1e3));
      // Large, then small (fits in the large buffer), then odd sizes; each read must be this tensor's, not the last one's.
      for (const [n, seed] of [[1 << 18, 1], [5, 2], [1 << 18, 3], [777, 4], [3, 5], [(1 << 16) + 1, 6]] as const) {
        const host = fill(n, seed);
        const d = be.upload(fromArray('f32', [n], host));
        assert.deepEqual((await be.download(d)).host(), host, `f32 [${n}]`);
        be.free(d);
      }
      // A view at an offset, and 2-byte elements whose range does not start or end on a word.
      const host = fill(1000, 7);
      const d = be.upload(fromArray('f32', [1000], host));
      const view = new Tensor('f32', [10], d.data, d.offset + 333);
      assert.deepEqual((await be.download(view)).host(), host.subarray(333, 343));
      be.free(d);
      const h16 = Uint16Array.from({ length: 9 }, (_, i) => 0x3c00 + i);
      const d16 = be.upload(fromArray('bf16', [9], h16));
      const v16 = new Tensor('bf16', [5], d16.data, d16.offset + 3);
      assert.deepEqual((await be.download(v16)).host(), h16.subarray(3, 8));
      be.free(d16);
      // Concurrent reads of different tensors: each gets a buffer of its own.
      const hosts = Array.from({ length: 7 }, (_, i) => fill(1000 * (i + 1), 10 + i));
      const devs = hosts.map((h) => be.upload(fromArray('f32', [h.length], h)));
      const got = await Promise.all(devs.map((x) => be.download(x)));
      got.forEach((g, i) => assert.deepEqual(g.host(), hosts[i], `concurrent read ${i}`));
      for (const x of devs) be.free(x);
      assert.ok(pool().length >= 1 && pool().length <= 4, `${pool().length} pooled read buffers`);
      // A read larger than the pool's largest buffer size gets a buffer of its own, not kept.
      const big = be.empty('f32', [(64 << 20) / 4 + 16]);
      const before = pool().length;
      const r = await be.download(big);
      assert.equal(r.numel, (64 << 20) / 4 + 16);
      assert.ok(pool().every((b) => b.size <= 64 << 20) && pool().length === before);
      be.free(big);
    } finally {
      be.dispose();
    }
    assert.equal((be as unknown as { readPool: GPUBuffer[] }).readPool.length, 0, 'dispose() empties the pool');
  });
});

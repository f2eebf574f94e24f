// The WebGPU backend against the float64 reference: FlashMLA's golden cases, the shared randomized matrix
// (NaN in every unused slot, NaN-poisoned outputs), and caches larger than one storage binding. Runs on Mesa's
// lavapipe here and in CI, and unchanged on a real GPU (scripts/webgpu-gpu.sh).
//   WEBGPU_RANDOM_CASES=n   randomized cases on the full-featured device (default 300)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../src/backends/webgpu/backend.js';
import { type DecodeTuning, chooseDecodeSpec } from '../src/backends/webgpu/kernels/decode.js';
import { createNodeWebGpuBackend } from '../src/backends/webgpu/node.js';
import type { MlaProblem } from '../src/core/problem.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../src/core/api.js';
import { fromArray } from '../src/core/tensor.js';
import { assertOutputsClose, tolerances } from './support/compare.js';
import { goldenCaseNames, loadGolden } from './support/golden.js';
import { caseMatrix, caseReference, caseTensors, makeCase, nanBits, poisonedOutputs, runCase, specName } from './support/random.js';

const randomCases = Number(process.env.WEBGPU_RANDOM_CASES ?? 300);
const tol = tolerances.webgpu;

let backend: WebGpuBackend | undefined;
let reduced: WebGpuBackend | undefined; // no shader-f16, no subgroups: the f32 and workgroup-memory paths
let unavailable: string | undefined;

before(async () => {
  try {
    backend = await createNodeWebGpuBackend();
    reduced = await createNodeWebGpuBackend({ disableFeatures: ['shader-f16', 'subgroups'] });
  } catch (e) {
    unavailable = `no WebGPU adapter (${(e as Error).message}); install Mesa >= 25 (lavapipe) from bookworm-backports`;
  }
});
after(() => { backend?.dispose(); reduced?.dispose(); });

/** In CI a missing adapter is a failure; elsewhere the suite skips and says why. */
function need(t: { skip: (m?: string) => void }): WebGpuBackend | undefined {
  if (backend) return backend;
  if (process.env.CI) assert.fail(`WebGPU suite cannot run in CI: ${unavailable}`);
  t.skip(unavailable);
  return undefined;
}

describe('webgpu: FlashMLA golden cases', () => {
  for (const name of goldenCaseNames()) {
    for (const which of ['full', 'reduced'] as const) {
      test(`${name} (${which} features)`, async (t) => {
        if (!need(t)) return;
        const be = which === 'full' ? backend! : reduced!;
        const g = loadGolden(name), p = g.params;
        const q = be.upload(fromArray(p.dtype, [p.batch, p.s_q, p.h_q, 576], g.q));
        const k = be.upload(fromArray(p.dtype, [p.num_blocks, p.page_block_size, p.h_kv, 576], g.kcache));
        const out = be.empty(p.dtype, [p.batch, p.s_q, p.h_q, 512]), lse = be.empty('f32', [p.batch, p.h_q, p.s_q]);
        be.write(out, fromArray(p.dtype, out.shape, new Uint16Array(out.numel).fill(nanBits[p.dtype])));
        be.write(lse, fromArray('f32', lse.shape, new Float32Array(lse.numel).fill(NaN)));
        await flashMlaWithKvcache(q, k, fromArray('i32', [p.batch, g.maxBlocksPerSeq], g.blockTable), fromArray('i32', [p.batch], g.cacheSeqlens), 512,
          fromArray('i32', [g.tileSchedulerMetadata.length / 8, 8], g.tileSchedulerMetadata), fromArray('i32', [p.batch + 1], g.numSplits),
          { backend: be, causal: p.causal, softmaxScale: p.softmax_scale, out, lse });
        await be.synchronize();
        const o = (await be.download(out)).host() as Uint16Array, l = (await be.download(lse)).host() as Float32Array;
        for (const x of [q, k, out, lse]) be.free(x);
        assertOutputsClose(o, l, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tol, name);
      });
    }
  }
});

describe('webgpu: randomized cases vs the float64 reference', () => {
  const specs = caseMatrix(randomCases, 0x3e6b);
  test(`${specs.length} cases (full features: shader-f16, subgroups where the adapter has them)`, async (t) => {
    const be = need(t);
    if (!be) return;
    for (let i = 0; i < specs.length; i++) {
      const c = makeCase(specs[i], 1000 + i);
      // Alternate FlashMLA's 132-SM plan (many splits, the combine kernel) with the backend's own.
      const r = await runCase(c, be, flashMlaWithKvcache, { numSms: i % 2 ? 132 : be.info.numSms });
      assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tol, specName(specs[i], i));
    }
  });
  const few = caseMatrix(48, 0x51f0);
  test(`${few.length} cases on the reduced device (f32 math, workgroup-memory reductions)`, async (t) => {
    if (!need(t)) return;
    for (let i = 0; i < few.length; i++) {
      const c = makeCase(few[i], 7000 + i);
      const r = await runCase(c, reduced!, flashMlaWithKvcache, { numSms: i % 2 ? 132 : 8 });
      assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tol, specName(few[i], i));
    }
  });
  const madCases = caseMatrix(16, 0x6ad0);
  test(`${madCases.length} cases with multiply-adds written a * b + c (the mulAdd kernel variant)`, async (t) => {
    if (!need(t)) return;
    const be = await createNodeWebGpuBackend({ mulAdd: true });
    try {
      for (let i = 0; i < madCases.length; i++) {
        const c = makeCase(madCases[i], 9000 + i);
        const r = await runCase(c, be, flashMlaWithKvcache, { numSms: i % 2 ? 132 : 8 });
        assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tol, specName(madCases[i], i));
      }
    } finally { be.dispose(); }
  });
});

describe('webgpu: every decode tuning that fits the device', () => {
  test('tile rows x stage sizes x prefetch depth x unrolling, 4 random cases each', async (t) => {
    const be = need(t);
    if (!be) return;
    const seen = new Set<string>();
    const tunings: DecodeTuning[] = [];
    for (const mT of [16, 32, 64]) for (const dc of [16, 32]) for (const kc of [4, 8]) for (const pf of [1, 2]) {
      let key: string;
      try {
        const s = chooseDecodeSpec({ sQ: 1, nGroups: mT, dtype: 'bf16' } as MlaProblem, be.caps, 1, false, { mT, dc, kc, pf });
        key = `${s.mT}.${s.dc}.${s.kc}.${s.pf}`;
      } catch { continue; }
      if (!seen.has(key)) { seen.add(key); tunings.push({ mT, dc, kc, pf }); }
    }
    assert.ok(tunings.length >= 4, `only ${tunings.length} tunings fit`);
    // Loop unrolling: one stage an iteration, and up to 4 and 6.
    tunings.push({ mT: 16, dc: 32, kc: 4, pf: 2, unroll: 1 }, { mT: 32, dc: 16, kc: 4, pf: 1, unroll: 1 }, { mT: 32, dc: 16, kc: 4, pf: 2, unroll: 4 }, { mT: 16, dc: 32, kc: 4, pf: 1, unroll: 6 });
    const specs = caseMatrix(4, 0x7c3);
    try {
      for (const tuning of tunings) {
        be.decodeTuning = tuning;
        for (let i = 0; i < specs.length; i++) {
          const c = makeCase(specs[i], 11000 + i);
          const r = await runCase(c, be, flashMlaWithKvcache, { numSms: i % 2 ? 132 : 8 });
          assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tol, `${JSON.stringify(tuning)} ${specName(specs[i], i)}`);
        }
      }
    } finally { be.decodeTuning = {}; }
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

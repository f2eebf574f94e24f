// Reliability as a server sees it, on every backend that runs here (CPU in-thread, CPU workers, WebGPU on
// lavapipe): many overlapping calls with different shapes (each checked against the float64 reference), several
// MlaDecoders sharing one backend, dispose() while calls are in flight, allocations that cannot succeed, dtype
// checks of fromArray, and a worker that dies during a call. WebGPU shapes are tiny (lavapipe is slow).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { createCudaBackend } from '../../src/backends/cuda/index.js';
import { MlaDecoder, flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import type { Backend } from '../../src/core/problem.js';
import { Tensor, empty, fromArray } from '../../src/core/tensor.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { type CaseSpec, Rng, caseReference, makeCase, runCase } from '../support/random.js';
import { MiB, sampleMemory } from '../support/leak.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';
import { runRandomSparse } from '../support/sparse-random.js';

type Kind = 'inline' | 'workers' | 'webgpu';
const kinds: Kind[] = ['inline', 'workers', 'webgpu'];
let webgpu: WebGpuBackend | undefined;
let webgpuWhy = '';
let workers: Backend;
const inline = new InlineCpuBackend();

before(async () => {
  workers = await createCpuBackend({ workers: 2 });
  try { webgpu = await createNodeWebGpuBackend(); } catch (e) { webgpuWhy = `no WebGPU adapter (${(e as Error).message})`; }
});
after(() => { workers?.dispose(); webgpu?.dispose(); });

/** The backend of a kind, or a skip (a failure in CI) when WebGPU has no adapter here. */
function backendFor(kind: Kind, t: { skip: (m?: string) => void }): Backend | undefined {
  if (kind === 'inline') return inline;
  if (kind === 'workers') return workers;
  if (webgpu) return webgpu;
  if (process.env.CI) assert.fail(`WebGPU cannot run in CI: ${webgpuWhy}`);
  t.skip(webgpuWhy);
  return undefined;
}

const tolOf = (k: Kind) => (k === 'webgpu' ? tolerances.webgpu : tolerances.cpu);

/** n small, different shapes (tiny for lavapipe): heads, page sizes, sQ, varlen, dtypes and seqlens all vary. */
function concurrentSpecs(n: number, seed: number, tiny: boolean): CaseSpec[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const hQ = rng.pick(tiny ? [1, 2, 3, 4] : [1, 2, 3, 5, 8]);
    const hKv = hQ % 2 === 0 && rng.float() < 0.3 ? 2 : 1;
    const b = rng.int(1, 2);
    const varlen = i % 5 === 4;
    const spec: CaseSpec = {
      name: `concurrent #${i}`, dtype: i % 2 ? 'f16' : 'bf16', hQ, hKv, pageBlockSize: rng.pick([16, 64, 7]),
      seqlens: Array.from({ length: b }, () => rng.int(0, tiny ? 40 : 90)), sQ: rng.int(1, 2),
      qLens: varlen ? Array.from({ length: b }, () => rng.int(1, 2)) : undefined, causal: i % 7 !== 6,
      softmaxScale: i % 3 === 0 ? 0.05 + rng.float() * 0.1 : undefined,
    };
    spec.name += ` ${spec.dtype} hQ=${hQ} hKv=${hKv} page=${spec.pageBlockSize} seqlens=[${spec.seqlens}]`;
    return spec;
  });
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string, what: string): Promise<FlashMlaError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof FlashMlaError, `${what}: expected FlashMlaError(${code}), got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return e;
  }
  assert.fail(`${what}: expected FlashMlaError(${code}), but it succeeded`);
}

/** Settles or fails after ms: a pending promise is a failure, never a hang of the suite. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: still pending after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}

describe('concurrency: 32 overlapping calls with different shapes', () => {
  for (const kind of kinds) {
    test(kind, async (t) => {
      const be = backendFor(kind, t);
      if (!be) return;
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      try {
        const cases = concurrentSpecs(32, 1010 + kinds.indexOf(kind), kind === 'webgpu').map((s, i) => makeCase(s, 77 + i));
        // A hang guard, not a speed bound: on lavapipe with a cold shader cache each of the 32 shapes' pipelines is
        // compiled on first use (85 s once on a loaded 2-core machine, 2026-12-02), hence 3 minutes there.
        const got = await within(Promise.all(cases.map((c) => runCase(c, be, flashMlaWithKvcache))), kind === 'webgpu' ? 180_000 : 60_000, `${kind} concurrent calls`);
        cases.forEach((c, i) => assertOutputsClose(got[i].out, got[i].lse, caseReference(c), c.dtype, c, tolOf(kind), `${c.spec.name} on ${kind}`));
        // And the backend is still right afterwards, one call at a time.
        const c = cases[3];
        const again = await runCase(c, be, flashMlaWithKvcache);
        assertOutputsClose(again.out, again.lse, caseReference(c), c.dtype, c, tolOf(kind), `${c.spec.name} on ${kind}, after the burst`);
      } finally {
        await new Promise((r) => setImmediate(r));
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), [], 'no listener leak');
    });
  }
});

describe('concurrency: dense decodes over 16-bit and FP8 caches overlapping (one set of split-KV accumulators)', () => {
  for (const kind of kinds) {
    test(kind, async (t) => {
      const be = backendFor(kind, t);
      if (!be) return;
      // The dense FP8 paths (the CPU's paged source, WebGPU's staged pages) share the backend's split-KV accumulators
      // and, on WebGPU, its index and staging buffers with 16-bit decodes: interleaved, each must still be right.
      const tol = kind === 'webgpu' ? tolerances.webgpu : kind === 'workers' ? tolerances.cpuF32 : tolerances.cpu;
      const cases = concurrentSpecs(8, 3030 + kinds.indexOf(kind), true).map((sp, i) => makeCase({ ...sp, qLens: undefined }, 300 + i));
      const runs = [
        ...cases.map((c) => runCase(c, be, flashMlaWithKvcache).then((r) => assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, c, tolOf(kind), `${c.spec.name} on ${kind}`))),
        ...[7500, 7501, 7502, 7503, 7504, 7505].map((seed) => runRandomDenseFp8(seed, be, tol, true, false, false, false, { dtype: 'bf16' })),
      ];
      await within(Promise.all(runs), kind === 'webgpu' ? 180_000 : 60_000, `${kind} overlapping 16-bit and FP8 decodes`);
    });
  }
});

describe('concurrency: sparse decodes overlapping each other and dense decodes', () => {
  for (const kind of kinds) {
    test(kind, async (t) => {
      const be = backendFor(kind, t);
      if (!be) return;
      // Sparse calls share the backend's index staging, split accumulators and (WebGPU) uniform and index buffers with
      // every other call: each random case (FP8 V3.2 / MODEL1 and 16-bit caches, topkLength, sinks, extra caches;
      // checked against the float64 reference inside runRandomSparse) runs while the others and dense decodes are in
      // flight, some with their index tensors on the device.
      const tol = kind === 'webgpu' ? tolerances.webgpu : kind === 'workers' ? tolerances.cpuF32 : tolerances.cpu;
      const cases = concurrentSpecs(6, 5050 + kinds.indexOf(kind), true).map((sp, i) => makeCase({ ...sp, qLens: undefined }, 500 + i));
      const runs = [
        ...cases.map((c) => runCase(c, be, flashMlaWithKvcache).then((r) => assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, c, tolOf(kind), `${c.spec.name} on ${kind}`))),
        ...Array.from({ length: 10 }, (_, i) => runRandomSparse(9100 + i, be, tol, undefined, true, undefined, { deviceIndices: kind === 'webgpu' && i % 3 === 0 })),
      ];
      await within(Promise.all(runs), kind === 'webgpu' ? 180_000 : 60_000, `${kind} overlapping sparse and dense decodes`);
    });
  }
});

describe('concurrency: several MlaDecoders share one backend', () => {
  for (const kind of kinds) {
    test(kind, async (t) => {
      const be = backendFor(kind, t);
      if (!be) return;
      const tiny = kind === 'webgpu';
      const hQ = tiny ? 2 : 8;
      const decoders = [0, 1, 2, 3].map((d) => {
        const c = makeCase({ name: `decoder ${d}`, dtype: 'bf16', hQ, hKv: 1, pageBlockSize: 16, seqlens: [d * 9 + 5, tiny ? 20 : 70 - d * 11], sQ: 1 + (d % 2), causal: true }, 500 + d);
        const dec = new MlaDecoder(be, { hQ, hKv: 1, dtype: 'bf16' });
        dec.plan(c.cacheSeqlens, fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), { sQ: c.sQ, outputs: 3 });
        const q = be.upload(fromArray('bf16', c.qShape, c.q)), k = be.upload(fromArray('bf16', [c.numBlocks, c.pageBlockSize, 1, 576], c.kCache));
        return { c, dec, q, k };
      });
      // Three layers of every decoder in flight at once, interleaved; each output pair is its own.
      const runs = await within(Promise.all(decoders.flatMap(({ dec, q, k }) => [0, 1, 2].map(async () => {
        const o = await dec.run(q, k);
        await be.synchronize();
        return { out: (await be.download(o.out)).host() as Uint16Array, lse: (await be.download(o.lse)).host() as Float32Array };
      }))), 60_000, `${kind} decoders`);
      runs.forEach((r, i) => {
        const { c } = decoders[Math.floor(i / 3)];
        assertOutputsClose(r.out, r.lse, caseReference(c), 'bf16', c, tolOf(kind), `decoder ${Math.floor(i / 3)} layer ${i % 3} on ${kind}`);
      });
      for (const { dec, q, k } of decoders) { dec.dispose(); be.free(q); be.free(k); }
    });
  }
});

describe('dispose() during work', () => {
  test('workers: in-flight and queued calls reject with disposed (never pending); every method throws after', async () => {
    const be = await createCpuBackend({ workers: 2 });
    const cases = concurrentSpecs(8, 33, false).map((s, i) => makeCase({ ...s, seqlens: s.seqlens.map((x) => x + 100) }, 900 + i));
    const calls = cases.map((c) => runCase(c, be, flashMlaWithKvcache));
    // One turn of the event loop: the first call reaches the workers, the other seven stay queued (each needs worker
    // round trips, which take more than a turn). A fixed 5 ms was not enough once the workers load their kernel before
    // they report ready: all eight small calls then finished first on this machine (2026-12-02).
    await new Promise((r) => setImmediate(r));
    be.dispose();
    const settled = await within(Promise.allSettled(calls), 10_000, 'calls after dispose()');
    let rejected = 0;
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        assertOutputsClose(r.value.out, r.value.lse, caseReference(cases[i]), cases[i].dtype, cases[i], tolerances.cpu, `completed before dispose: ${cases[i].spec.name}`);
      } else {
        rejected++;
        assert.ok(r.reason instanceof FlashMlaError && r.reason.code === 'disposed', `call ${i}: ${String(r.reason)}`);
      }
    });
    assert.ok(rejected > 0, 'dispose() came while calls were queued, so some must have been rejected');
    await checkAllMethodsDisposed(be);
  });

  test('workers: sparse calls in flight settle (completed and right, or disposed)', async () => {
    const be = await createCpuBackend({ workers: 2 });
    // (runRandomSparse checks a completed call against the float64 reference itself: a wrong one rejects untyped)
    const calls = Array.from({ length: 8 }, (_, i) => runRandomSparse(9300 + i, be, tolerances.cpuF32));
    await new Promise((r) => setImmediate(r));
    be.dispose();
    const settled = await within(Promise.allSettled(calls), 10_000, 'sparse calls after dispose()');
    settled.forEach((r, i) => {
      if (r.status === 'rejected') assert.ok(r.reason instanceof FlashMlaError && r.reason.code === 'disposed', `call ${i}: ${String(r.reason)}`);
    });
    assert.ok(settled.some((r) => r.status === 'rejected'), 'dispose() came while calls were queued, so some must have been rejected');
  });

  test('inline: every method throws disposed after dispose()', async () => {
    const be = new InlineCpuBackend();
    be.dispose();
    await checkAllMethodsDisposed(be);
  });

  test('webgpu: queued work and downloads settle; every method throws disposed; its tensors are refused elsewhere', async (t) => {
    if (!backendFor('webgpu', t)) return;
    const be = await createNodeWebGpuBackend();
    const c = makeCase({ name: 'dispose', dtype: 'bf16', hQ: 2, hKv: 1, pageBlockSize: 16, seqlens: [30, 5], sQ: 1, causal: true }, 4);
    const calls = [0, 1, 2, 3].map(() => runCase(c, be, flashMlaWithKvcache));
    const mine = be.upload(fromArray('bf16', [4, 576], new Uint16Array(4 * 576)));
    await new Promise((r) => setImmediate(r));
    be.dispose();
    const settled = await within(Promise.allSettled(calls), 20_000, 'WebGPU calls after dispose()');
    for (const r of settled) {
      if (r.status === 'fulfilled') assertOutputsClose(r.value.out, r.value.lse, caseReference(c), 'bf16', c, tolerances.webgpu, 'completed before dispose');
      else assert.ok(r.reason instanceof FlashMlaError && ['disposed', 'device_lost'].includes(r.reason.code), String(r.reason));
    }
    await checkAllMethodsDisposed(be);
    // Another backend refuses the disposed backend's tensor with a clear error.
    const e = await expectCode(() => webgpu!.download(mine), 'invalid_argument', 'download of a disposed backend tensor');
    assert.match(e.message, /disposed/);
  });
});

async function checkAllMethodsDisposed(be: Backend): Promise<void> {
  const host = fromArray('i32', [4], new Int32Array(4));
  const c = makeCase({ name: 'after dispose', dtype: 'bf16', hQ: 1, hKv: 1, pageBlockSize: 16, seqlens: [3], sQ: 1, causal: true }, 1);
  await expectCode(() => be.empty('f32', [4]), 'disposed', 'empty');
  await expectCode(() => be.upload(host), 'disposed', 'upload');
  await expectCode(() => be.write(host, host), 'disposed', 'write');
  await expectCode(be.download(host).catch((e) => { throw e; }), 'disposed', 'download');
  await expectCode(() => be.synchronize(), 'disposed', 'synchronize');
  await expectCode(() => be.timeMs(() => {}, { warmup: 0, reps: 1 }), 'disposed', 'timeMs');
  await expectCode(() => runCase(c, be, flashMlaWithKvcache), 'disposed', 'decode');
  // The sparse and dense FP8 entries too (called directly: their public calls stop at the first allocation). The
  // disposed check comes before the launch is read, so an empty one is enough.
  if (be.decodeSparse) await expectCode(async () => be.decodeSparse!({} as never), 'disposed', 'decodeSparse');
  if (be.decodeDenseFp8) await expectCode(async () => be.decodeDenseFp8!({} as never), 'disposed', 'decodeDenseFp8');
  be.dispose(); // twice is fine
}

describe('freed tensors (WebGPU; CUDA in test/gpu/cuda.test.ts)', () => {
  test('webgpu: a freed tensor or a view of it is refused by every call (typed); freeing twice is a no-op', async (t) => {
    const be = backendFor('webgpu', t) as WebGpuBackend | undefined;
    if (!be) return;
    const a = be.upload(fromArray('f32', [64], new Float32Array(64).fill(3)));
    const view = new Tensor('f32', [8], a.data, 8);
    be.free(a);
    be.free(a);
    be.free(view);
    for (const [what, f] of [['download', () => be.download(view)], ['write', () => be.write(a, fromArray('f32', [64], new Float32Array(64)))]] as const) {
      const e = await expectCode(f, 'invalid_argument', `${what} of a freed tensor`);
      assert.match(e.message, /freed tensor/);
    }
    const q = be.upload(fromArray('bf16', [1, 1, 2, 576], new Uint16Array(2 * 576)));
    be.free(q);
    const md = getMlaMetadata(Int32Array.of(20), 2, 1, { backend: be });
    const k = be.upload(fromArray('bf16', [2, 16, 1, 576], new Uint16Array(2 * 16 * 576)));
    await expectCode(flashMlaWithKvcache(q, k, fromArray('i32', [1, 2], Int32Array.of(0, 1)), fromArray('i32', [1], Int32Array.of(20)), 512,
      md.tileSchedulerMetadata, md.numSplits, { backend: be }), 'invalid_argument', 'a decode with a freed q');
    be.free(k);
    // the backend is unaffected
    const c = makeCase({ name: 'after', dtype: 'bf16', hQ: 2, hKv: 1, pageBlockSize: 16, seqlens: [30, 5], sQ: 1, causal: true }, 4);
    const r = await runCase(c, be, flashMlaWithKvcache);
    assertOutputsClose(r.out, r.lse, caseReference(c), 'bf16', c, tolerances.webgpu, 'after the refused calls');
  });
});

describe('worker failure', () => {
  test('a worker that dies during a call rejects that call (typed); the backend replaces it and stays correct', async () => {
    const be = await createCpuBackend({ workers: 2 });
    try {
      const c = makeCase({ name: 'crash', dtype: 'bf16', hQ: 8, hKv: 1, pageBlockSize: 64, seqlens: [500, 400], sQ: 2, causal: true }, 8);
      const call = runCase(c, be, flashMlaWithKvcache);
      await new Promise((r) => setTimeout(r, 10));
      // Kill one worker thread from outside, as a crash would.
      const slots = (be as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
      const dead = slots[0].worker.terminate();
      const r = await within(call.then(() => 'resolved', (e) => e), 20_000, 'the call during the crash');
      if (r !== 'resolved') {
        assert.ok(r instanceof FlashMlaError && r.code === 'driver_error', `typed error, got ${String(r)}`);
      }
      // On a loaded machine the first call can finish before the thread is gone, and the crash would then land in the
      // next call (which is the documented outcome for a call in flight, not what this test checks): wait for the
      // thread's end and the backend's exit handler before the call that must succeed.
      await within(dead, 20_000, 'the worker thread ending');
      await new Promise((r) => setImmediate(r));
      const got = await within(runCase(c, be, flashMlaWithKvcache), 20_000, 'a call after the crash');
      assertOutputsClose(got.out, got.lse, caseReference(c), 'bf16', c, tolerances.cpu, 'after a worker crash');
    } finally {
      be.dispose();
    }
  });
});

describe('allocation failure: out_of_memory naming the request; the backend stays usable', () => {
  const huge = 2 ** 36; // 64 Gi elements: no JS engine here hands out that much
  for (const kind of kinds) {
    test(kind, async (t) => {
      const be = backendFor(kind, t);
      if (!be) return;
      const e = await expectCode(async () => { const x = be.empty('bf16', [huge, 576]); await be.synchronize(); return x; }, 'out_of_memory', `${kind} empty()`);
      assert.match(e.message, /\d+/, 'names the size');
      await expectCode(async () => { const m = new KvCacheManager({ backend: be, numBlocks: 2 ** 26, pageBlockSize: 64 }); await be.synchronize(); return m; },
        'out_of_memory', `${kind} KvCacheManager with a 4.5 TiB pool`);
      const c = makeCase({ name: 'after OOM', dtype: 'bf16', hQ: 2, hKv: 1, pageBlockSize: 16, seqlens: [20, 33], sQ: 1, causal: true }, 2);
      const got = await runCase(c, be, flashMlaWithKvcache);
      assertOutputsClose(got.out, got.lse, caseReference(c), 'bf16', c, tolOf(kind), `${kind} after an allocation failure`);
    });
  }

  test('host tensors: empty() and hostArrayFor', async () => {
    const e = await expectCode(() => empty('f32', [2 ** 34]), 'out_of_memory', 'empty f32 [2^34]');
    assert.match(e.message, /68719476736 bytes/);
    await expectCode(() => empty('f32', [2 ** 30, 2 ** 30]), 'invalid_argument', 'more than 2^53 elements');
    await expectCode(() => empty('f32', [-1]), 'invalid_argument', 'negative dimension');
  });
});

describe('fromArray checks the typed array against the dtype', () => {
  const cases: [string, ArrayBufferView, string][] = [
    ['bf16', new Float32Array(4), 'Uint16Array'], ['f16', new Int32Array(4), 'Uint16Array'], ['f32', new Uint16Array(4), 'Float32Array'],
    ['i32', new Float32Array(4), 'Int32Array'], ['fp8_e4m3', new Uint16Array(4), 'Uint8Array'], ['f64', new Float32Array(4), 'Float64Array'],
    ['i32', new Uint32Array(4), 'Int32Array'],
  ];
  for (const [dtype, arr, expected] of cases) {
    test(`${dtype} with ${arr.constructor.name}`, async () => {
      const e = await expectCode(() => fromArray(dtype as 'bf16', [4], arr as Uint16Array), 'invalid_argument', `${dtype} from ${arr.constructor.name}`);
      assert.equal(e.argument, 'data');
      assert.match(e.message, new RegExp(expected));
      assert.match(e.message, new RegExp(arr.constructor.name));
    });
  }
  test('the right arrays are accepted', () => {
    fromArray('bf16', [2], new Uint16Array(2)); fromArray('f16', [2], new Uint16Array(2)); fromArray('f32', [2], new Float32Array(2));
    fromArray('i32', [2], new Int32Array(2)); fromArray('fp8_e4m3', [2], new Uint8Array(2)); fromArray('f64', [2], new Float64Array(2));
  });
  test('an unknown dtype is refused', async () => {
    await expectCode(() => fromArray('bf17' as 'bf16', [2], new Uint16Array(2)), 'invalid_argument', 'unknown dtype');
  });
});




describe('no per-call retention: synchronize() 5000 times keeps heapUsed flat', () => {
  for (const kind of kinds) {
    test(kind, async (t) => {
      const be = backendFor(kind, t);
      if (!be) return;
      await be.synchronize();
      const m0 = await sampleMemory(0);
      for (let i = 0; i < 5000; i++) await be.synchronize();
      const m1 = await sampleMemory(5000);
      // Was 322 B per call on WebGPU (each await raced against a never-settling "device lost" promise): 1.5 MiB.
      const perCall = (m1.heap - m0.heap) / 5000;
      t.diagnostic(`${kind}: heapUsed ${((m1.heap - m0.heap) / 1024).toFixed(0)} KiB over 5000 calls (${perCall.toFixed(1)} B/call)`);
      assert.ok(m1.heap - m0.heap < 0.4 * MiB, `heapUsed grew ${(perCall).toFixed(0)} B per synchronize()`);
    });
  }
});

describe('webgpu device loss', () => {
  test('device.destroy(): in-flight calls reject (typed), every later call throws device_lost, a new backend works', async (t) => {
    if (!backendFor('webgpu', t)) return;
    const be = await createNodeWebGpuBackend();
    const c = makeCase({ name: 'loss', dtype: 'bf16', hQ: 2, hKv: 1, pageBlockSize: 16, seqlens: [25, 3], sQ: 1, causal: true }, 12);
    const calls = [0, 1, 2].map(() => runCase(c, be, flashMlaWithKvcache));
    be.device.destroy();
    const settled = await within(Promise.allSettled(calls), 20_000, 'calls in flight at the loss');
    for (const r of settled) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof FlashMlaError && ['device_lost', 'driver_error'].includes(r.reason.code), String(r.reason));
    }
    const e = await expectCode(() => be.synchronize(), 'device_lost', 'synchronize after the loss');
    assert.match(e.message, /create a new/);
    await expectCode(() => be.empty('f32', [4]), 'device_lost', 'empty after the loss');
    await expectCode(() => runCase(c, be, flashMlaWithKvcache), 'device_lost', 'decode after the loss');
    be.dispose();
    const fresh = await createNodeWebGpuBackend();
    try {
      const got = await runCase(c, fresh, flashMlaWithKvcache);
      assertOutputsClose(got.out, got.lse, caseReference(c), 'bf16', c, tolerances.webgpu, 'a new backend after the loss');
    } finally {
      fresh.dispose();
    }
  });
});

describe('bad backend options: an invalid_argument naming the option, before any driver, adapter or device', () => {
  const refusedAs = (argument: string) => (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && e.argument === argument;

  test('WebGPU: checked before the adapter is asked for (a gpu whose requestAdapter must not run)', async () => {
    let asked = 0;
    const gpu = { requestAdapter: async () => { asked++; throw new Error('requestAdapter called for options that are refused'); } } as unknown as GPU;
    const bad: [Parameters<typeof createWebGpuBackend>[0], string][] = [
      [{ decodePath: 'gpu' as never }, 'decodePath'], [{ numSms: 0 }, 'numSms'], [{ numSms: 1.5 }, 'numSms'],
      [{ schedule: 'fast' as never }, 'schedule'], [{ maxBufferBytes: -1 }, 'maxBufferBytes'], [{ maxBindingBytes: 0 }, 'maxBindingBytes'],
      [{ matrix: { combineCols: 3 as never } }, 'matrix.combineCols'], [{ layerGemm: 'x' as never }, 'layerGemm'],
      [{ sparseHeads: 3 as never }, 'sparseHeads'], [{ sparsePath: 'x' as never }, 'sparsePath'],
      [{ denseFp8Path: 'x' as never }, 'denseFp8Path'], [{ batchUploadBytes: 100 }, 'batchUploadBytes'], [{ batchUploadBytes: 1000 }, 'batchUploadBytes'],
    ];
    for (const [o, arg] of bad) {
      await assert.rejects(createWebGpuBackend({ ...o, gpu }), refusedAs(arg), arg);
      await assert.rejects(createNodeWebGpuBackend(o as never), refusedAs(arg), `${arg} (node)`);
    }
    assert.equal(asked, 0);
    // Good options reach the adapter (this gpu then fails, as a machine without one would).
    await assert.rejects(createWebGpuBackend({ gpu, numSms: 8, decodePath: 'f32', batchUploadBytes: 4096 }), /requestAdapter called/);
    assert.equal(asked, 1);
  });

  test('CUDA: checked before the driver is loaded, with or without one', async () => {
    const bad: [Parameters<typeof createCudaBackend>[0], string][] = [
      [{ kernel: 'sm_90' as never }, 'kernel'], [{ device: -1 }, 'device'], [{ device: 0.5 }, 'device'], [{ pdl: 1 as never }, 'pdl'],
      [{ boundDeviceIndices: 'yes' as never }, 'boundDeviceIndices'], [{ schedule: 'x' as never }, 'schedule'],
      [{ kernelDir: '' }, 'kernelDir'], [{ variant: { bm: 16, bn: 16, stages: 9, nwarps: 4 } as never }, 'variant'],
      [{ layerSplitK: { minChunk: 0 } }, 'layerSplitK.minChunk'],
    ];
    for (const [o, arg] of bad) await assert.rejects(createCudaBackend(o), refusedAs(arg), arg);
  });
});

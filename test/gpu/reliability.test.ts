// Reliability on the GPU host, for CUDA and for WebGPU (Dawn in Node, on the hardware adapter):
//   node --import tsx --test test/gpu/reliability.test.ts          (or the tsc build: node --test build/test/gpu/reliability.test.js)
// - concurrency: 48 overlapping calls with different shapes vs the float64 reference, and MlaDecoders sharing a backend
// - dispose() during work: every call settles (completed and correct, or FlashMlaError 'disposed'); methods throw after
// - allocation failure: one huge tensor, then device memory exhausted in 1 GiB pieces: 'out_of_memory' naming the
//   request (and the free memory on CUDA), then a correct call on the same backend
// - leaks: LEAK_CALLS decode calls (default 10^5), 20 samples after gc: heapUsed and external flat, the RSS slope of
//   the second half small, CUDA free memory (cuMemGetInfo) and WebGPU live buffers flat
// - faults: CUDA kernel reading an unmapped address (CUDA_ERROR_ILLEGAL_ADDRESS) -> 'device_lost' naming it, later
//   calls fail fast, a new backend in the same process is refused fast (the driver keeps the fault for the whole
//   process), recovery in a new process; WebGPU device.destroy() -> 'device_lost', recovery by a new backend
// A backend that is not available here is skipped with the reason (FLASHMLA_REQUIRE=cuda,webgpu makes it a failure).
// Prints "# summary ..." lines with the numbers at the end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { MlaDecoder, flashMlaWithKvcache } from '../../src/index.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { Backend } from '../../src/core/problem.js';
import { type DeviceStorage, Tensor, fromArray } from '../../src/core/tensor.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { MiB, sampleMemory, slope } from '../support/leak.js';
import { type CaseSpec, Rng, caseMetadata, caseReference, caseTensors, makeCase, runCase } from '../support/random.js';

/** A new process after a CUDA fault: a backend, one decode, checked against the in-thread CPU backend. */
const recoveryScript = `
const { createCudaBackend } = await import(${JSON.stringify(new URL('../../src/backends/cuda/index.js', import.meta.url).href)});
const api = await import(${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)});
const { fromArray } = await import(${JSON.stringify(new URL('../../src/core/tensor.js', import.meta.url).href)});
const { f32ToBf16, bf16ToF32 } = await import(${JSON.stringify(new URL('../../src/core/dtype.js', import.meta.url).href)});
const b = 2, hQ = 16, page = 64, seqlens = Int32Array.from([100, 37]);
let s = 11; const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const q = fromArray('bf16', [b, 1, hQ, 576], Uint16Array.from({ length: b * hQ * 576 }, () => f32ToBf16(rnd())));
const k = fromArray('bf16', [3, page, 1, 576], Uint16Array.from({ length: 3 * page * 576 }, () => f32ToBf16(rnd())));
const table = fromArray('i32', [b, 2], Int32Array.from([2, 0, 1, 0])), lens = fromArray('i32', [b], seqlens);
const md = api.getMlaMetadata(seqlens, hQ, 1);
const cuda = await createCudaBackend();
const g = await api.flashMlaWithKvcache(cuda.upload(q), cuda.upload(k), table, lens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: cuda });
const got = (await cuda.download(g.out)).host();
const ref = (await api.flashMlaWithKvcache(q, k, table, lens, 512, md.tileSchedulerMetadata, md.numSplits)).out.host();
let err = 0; for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(bf16ToF32(got[i]) - bf16ToF32(ref[i])));
cuda.dispose();
if (!(err < 0.02)) { console.log('wrong: max error ' + err); process.exit(1); }
console.log('recovered: ' + cuda.info.device + ', a decode matches the CPU (max error ' + err.toExponential(1) + ')');
`;

const leakCalls = Number(process.env.LEAK_CALLS ?? 100_000);
const require = (process.env.FLASHMLA_REQUIRE ?? '').split(',');
const summary: string[] = [];
after(() => { for (const s of summary) console.log(`# summary ${s}`); });

type Kind = 'cuda' | 'webgpu';
interface Handle { make: () => Promise<Backend>; why?: string }
const handles: Record<Kind, Handle> = {
  cuda: { make: async () => (await import('../../src/backends/cuda/index.js')).createCudaBackend() },
  webgpu: { make: async () => (await import('../../src/backends/webgpu/node.js')).createNodeWebGpuBackend({ powerPreference: 'high-performance' }) },
};
/** Every backend this file made, so a fault test can dispose them all (CUDA backends share the primary context). */
const made: Backend[] = [];
async function open(kind: Kind, t: { skip: (m?: string) => void }): Promise<Backend | undefined> {
  try {
    const b = await handles[kind].make();
    made.push(b);
    return b;
  } catch (e) {
    const why = `${kind} unavailable: ${(e as Error).message}`;
    if (require.includes(kind)) assert.fail(why);
    t.skip(why);
    return undefined;
  }
}
after(() => { for (const b of made) { try { b.dispose(); } catch { /* already gone */ } } });

async function expectCode(f: () => unknown, code: string, what: string): Promise<FlashMlaError> {
  try { await f(); } catch (e) {
    assert.ok(e instanceof FlashMlaError, `${what}: expected FlashMlaError(${code}), got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return e;
  }
  return assert.fail(`${what}: expected FlashMlaError(${code}), it succeeded`);
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: still pending after ${ms} ms`)), ms); })]).finally(() => clearTimeout(timer));
}

const tol = (k: Kind) => tolerances[k];

function specs(n: number, seed: number): CaseSpec[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const hQ = rng.pick([1, 8, 16, 32, 64]), hKv = 1, b = rng.int(1, 4), varlen = i % 6 === 5;
    return {
      name: `concurrent #${i} hQ=${hQ}`, dtype: i % 2 ? 'f16' : 'bf16', hQ, hKv, pageBlockSize: rng.pick([64, 64, 16, 1]),
      seqlens: Array.from({ length: b }, () => rng.int(0, 600)), sQ: rng.int(1, 2),
      qLens: varlen ? Array.from({ length: b }, () => rng.int(0, 3)) : undefined, causal: i % 9 !== 8,
    };
  });
}

/** A small decode and its reusable inputs on the device (for the leak loop). */
function leakSetup(be: Backend) {
  const c = makeCase({ name: 'leak', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [300, 70], sQ: 1, causal: true }, 11);
  const t = caseTensors(c), md = caseMetadata(c, be.info.numSms);
  const q = be.upload(t.q), k = be.upload(t.kCache);
  const out = be.empty('bf16', c.outShape), lse = be.empty('f32', c.lseShape);
  return { c, t, md, q, k, out, lse };
}

for (const kind of ['cuda', 'webgpu'] as const) {
  describe(kind, () => {
    test('48 overlapping calls with different shapes, and 4 MlaDecoders sharing the backend', async (t) => {
      const be = await open(kind, t);
      if (!be) return;
      const cases = specs(48, 4242).map((s, i) => makeCase(s, 100 + i));
      const t0 = performance.now();
      const got = await within(Promise.all(cases.map((c) => runCase(c, be, flashMlaWithKvcache))), 300_000, 'concurrent calls');
      const ms = performance.now() - t0;
      cases.forEach((c, i) => assertOutputsClose(got[i].out, got[i].lse, caseReference(c), c.dtype, c, tol(kind), `${c.spec.name} on ${kind}`));
      const decs = [0, 1, 2, 3].map((d) => {
        const c = makeCase({ name: `dec ${d}`, dtype: 'bf16', hQ: 64, hKv: 1, pageBlockSize: 64, seqlens: [100 + 300 * d, 900 - 200 * d, 5], sQ: 1 + (d % 2), causal: true }, 60 + d);
        const dec = new MlaDecoder(be, { hQ: 64, hKv: 1, dtype: 'bf16' });
        dec.plan(c.cacheSeqlens, fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), { sQ: c.sQ, outputs: 4 });
        return { c, dec, q: be.upload(fromArray('bf16', c.qShape, c.q)), k: be.upload(fromArray('bf16', [c.numBlocks, 64, 1, 576], c.kCache)) };
      });
      const runs = await Promise.all(decs.flatMap(({ dec, q, k }) => [0, 1, 2, 3].map(async () => {
        const o = await dec.run(q, k);
        await be.synchronize();
        return { out: (await be.download(o.out)).host() as Uint16Array, lse: (await be.download(o.lse)).host() as Float32Array };
      })));
      runs.forEach((r, i) => assertOutputsClose(r.out, r.lse, caseReference(decs[i >> 2].c), 'bf16', decs[i >> 2].c, tol(kind), `decoder ${i >> 2} layer ${i & 3}`));
      for (const d of decs) { d.dec.dispose(); be.free(d.q); be.free(d.k); }
      summary.push(`${kind} ${be.info.device}: 48 concurrent calls correct (${ms.toFixed(0)} ms), 4 decoders x 4 layers correct`);
    });

    test('dispose() during work: every call settles, methods throw disposed, its tensors are refused elsewhere', async (t) => {
      const be = await open(kind, t);
      if (!be) return;
      const other = await open(kind, t);
      if (!other) return;
      const cases = specs(16, 77).map((s, i) => makeCase({ ...s, seqlens: s.seqlens.map((x) => x + 800) }, 300 + i));
      const calls = cases.map((c) => runCase(c, be, flashMlaWithKvcache));
      const mine = be.upload(fromArray('bf16', [8, 576], new Uint16Array(8 * 576)));
      await new Promise((r) => setImmediate(r));
      be.dispose();
      const settled = await within(Promise.allSettled(calls), 60_000, 'calls after dispose');
      let done = 0, rejected = 0;
      settled.forEach((r, i) => {
        if (r.status === 'fulfilled') { done++; assertOutputsClose(r.value.out, r.value.lse, caseReference(cases[i]), cases[i].dtype, cases[i], tol(kind), 'completed before dispose'); }
        else { rejected++; assert.ok(r.reason instanceof FlashMlaError && ['disposed', 'device_lost'].includes(r.reason.code), String(r.reason)); }
      });
      await expectCode(() => be.empty('f32', [4]), 'disposed', 'empty');
      await expectCode(() => be.synchronize(), 'disposed', 'synchronize');
      await expectCode(() => be.download(mine), 'disposed', 'download');
      const e = await expectCode(() => other.download(mine), 'invalid_argument', 'another backend, a disposed backend tensor');
      assert.match(e.message, /disposed/);
      summary.push(`${kind}: dispose during 16 calls: ${done} completed (correct), ${rejected} rejected 'disposed'`);
    });

    test('allocation failure: out_of_memory naming the request, then a correct call', async (t) => {
      const be = await open(kind, t);
      if (!be) return;
      const e1 = await expectCode(async () => { const x = be.empty('bf16', [2 ** 40]); await be.synchronize(); return x; }, 'out_of_memory', 'a 2 TiB tensor');
      // Exhaust device memory for real: 1 GiB tensors until the device says no (at most 1 TiB). Not on a CPU
      // adapter (lavapipe): its "device memory" is this machine's RAM.
      const held: Tensor[] = [];
      let e2: FlashMlaError | undefined;
      const cpuAdapter = /llvmpipe|lavapipe|swiftshader/i.test(be.info.device);
      for (let i = 0; i < (cpuAdapter ? 0 : 1024) && !e2; i++) {
        try {
          held.push(be.empty('f32', [2 ** 28]));
          if (kind === 'webgpu') { // Dawn reports it asynchronously: a write makes the buffer real, the next call throws
            be.write(held[held.length - 1], fromArray('f32', [1], new Float32Array(1)), 0);
            await be.synchronize();
          }
        } catch (e) {
          if (!(e instanceof FlashMlaError)) throw e;
          assert.equal(e.code, 'out_of_memory', e.message);
          e2 = e;
        }
      }
      for (const x of held) be.free(x);
      await be.synchronize().catch(() => {});
      const c = makeCase({ name: 'after OOM', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [500, 9], sQ: 1, causal: true }, 7);
      const got = await runCase(c, be, flashMlaWithKvcache);
      assertOutputsClose(got.out, got.lse, caseReference(c), 'bf16', c, tol(kind), 'after OOM');
      summary.push(`${kind}: huge tensor -> ${e1.message.slice(0, 160)}; exhaustion after ${held.length} x 1 GiB -> ${e2 ? e2.message.slice(0, 200) : cpuAdapter ? 'not tried on a CPU adapter' : 'no OOM within 1 TiB'}; then a correct call`);
    });

    test(`leaks: ${leakCalls} decode calls keep host and device memory flat`, async (t) => {
      const be = await open(kind, t);
      if (!be) return;
      // WebGPU: count live GPUBuffers by wrapping the device's createBuffer / destroy.
      let liveBuffers = 0;
      const dev = (be as unknown as { device?: GPUDevice }).device;
      if (dev) {
        const create = dev.createBuffer.bind(dev);
        dev.createBuffer = (d: GPUBufferDescriptor) => {
          const b = create(d);
          liveBuffers++;
          const destroy = b.destroy.bind(b);
          let gone = false;
          b.destroy = () => { if (!gone) { gone = true; liveBuffers--; } destroy(); };
          return b;
        };
      }
      const memInfo = (be as unknown as { drv?: { memInfo(): { free: number } } }).drv?.memInfo.bind((be as unknown as { drv: unknown }).drv);
      const s = leakSetup(be);
      const ref = caseReference(s.c);
      const dec = new MlaDecoder(be, { hQ: 16, hKv: 1, dtype: 'bf16' });
      dec.plan(s.c.cacheSeqlens, s.t.blockTable as Tensor<Int32Array>, { outputs: 2 });
      const batch = kind === 'cuda' ? 2000 : 500;
      const step = async (n: number) => {
        for (let i = 0; i < n; i++) {
          if (i % 2) await dec.run(s.q, s.k);
          else await flashMlaWithKvcache(s.q, s.k, s.t.blockTable, s.t.cacheSeqlens, 512, s.md.tileSchedulerMetadata, s.md.numSplits, { backend: be, out: s.out, lse: s.lse });
          if ((i + 1) % batch === 0) await be.synchronize();
        }
        await be.synchronize();
      };
      const measure = async (calls: number) => ({ ...(await sampleMemory(calls)), dev: memInfo?.()?.free, buffers: liveBuffers });
      await step(Math.min(2000, leakCalls));
      const m0 = await measure(0);
      const t0 = performance.now();
      // 20 samples, each after a full gc. What a per-call leak does: heapUsed (JS objects) or external memory keeps
      // growing, or RSS keeps a positive slope over the second half. What it does not: RSS rising in steps in the
      // first half while the allocator and Dawn's pools settle into their working set (seen on the H200: +8 to +69
      // MiB over a WebGPU run of 10^5 calls with heapUsed and the live GPUBuffers flat), so the whole-run RSS is
      // only a loose bound and the leak criterion is the second half's least-squares slope.
      const samples = [m0];
      const pieces = 20;
      for (let i = 1; i <= pieces; i++) {
        const n = Math.floor((leakCalls * i) / pieces) - Math.floor((leakCalls * (i - 1)) / pieces);
        await step(n);
        samples.push(await measure(samples[i - 1].calls + n));
      }
      const ms = performance.now() - t0;
      const m1 = samples[pieces];
      const out = (await be.download(s.out)).host() as Uint16Array, lse = (await be.download(s.lse)).host() as Float32Array;
      assertOutputsClose(out, lse, ref, 'bf16', s.c, tol(kind), 'after the leak loop');
      const second = samples.slice(pieces / 2);
      const rssSlope = slope(second.map((x) => x.calls), second.map((x) => x.rss)); // bytes per call
      const heapMiB = (m1.heap - m0.heap) / MiB, extMiB = (m1.external - m0.external) / MiB, rssMiB = (m1.rss - m0.rss) / MiB;
      const halfCalls = leakCalls - second[0].calls, secondHalfMiB = (rssSlope * halfCalls) / MiB;
      const devMiB = m0.dev !== undefined && m1.dev !== undefined ? (m0.dev - m1.dev) / MiB : undefined;
      const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
      summary.push(`${kind}: ${leakCalls} calls in ${(ms / 1000).toFixed(1)} s (${((ms * 1000) / leakCalls).toFixed(1)} us/call); after gc: heapUsed ${sign(heapMiB)} MiB, external ${sign(extMiB)} MiB, `
        + `host RSS ${(m0.rss / MiB).toFixed(0)} -> ${(m1.rss / MiB).toFixed(0)} MiB (${sign(rssMiB)}; second-half slope ${rssSlope.toFixed(1)} B/call = ${sign(secondHalfMiB)} MiB)`
        + (devMiB !== undefined ? `; device used ${sign(devMiB)} MiB (cuMemGetInfo)` : '') + (dev ? `; live GPUBuffers ${m0.buffers} -> ${m1.buffers}` : ''));
      assert.ok(heapMiB < 2, `heapUsed grew ${heapMiB.toFixed(2)} MiB over ${leakCalls} calls (JS objects kept per call)`);
      assert.ok(extMiB < 2, `external memory grew ${extMiB.toFixed(2)} MiB over ${leakCalls} calls`);
      assert.ok(secondHalfMiB < 16, `host RSS kept growing over the second half: ${rssSlope.toFixed(1)} B/call (${secondHalfMiB.toFixed(1)} MiB over ${halfCalls} calls)`);
      assert.ok(rssMiB < 128, `host RSS grew ${rssMiB.toFixed(1)} MiB over ${leakCalls} calls`);
      if (devMiB !== undefined) assert.ok(devMiB < 16, `device memory grew ${devMiB.toFixed(1)} MiB`);
      if (dev) assert.ok(m1.buffers <= m0.buffers, `live GPUBuffers ${m0.buffers} -> ${m1.buffers}`);
      dec.dispose();
    });

    test('fault: typed device_lost, later calls fail fast with it, recovery by a new backend', async (t) => {
      const be = await open(kind, t);
      if (!be) return;
      const c = makeCase({ name: 'fault', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [640, 100], sQ: 1, causal: true }, 9);
      const tt = caseTensors(c), md = caseMetadata(c, be.info.numSms);
      const q = be.upload(tt.q);
      let fault: FlashMlaError;
      if (kind === 'cuda') {
        // A cache tensor whose device pointer is unmapped: the decode kernel's first key load faults.
        const bogus: DeviceStorage = { device: 'cuda', byteLength: tt.kCache.byteLength, ptr: 1n << 46n, owner: be };
        const k = new Tensor('bf16', tt.kCache.shape, bogus);
        const t0 = performance.now();
        fault = await expectCode(async () => {
          await flashMlaWithKvcache(q, k, tt.blockTable, tt.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: be });
          await be.synchronize();
        }, 'device_lost', 'decode over an unmapped cache');
        assert.match(fault.message, /CUDA_ERROR_(ILLEGAL_ADDRESS|LAUNCH_FAILED)/);
        summary.push(`cuda fault: ${fault.message.slice(0, 120)} (${(performance.now() - t0).toFixed(1)} ms)`);
      } else {
        const calls = [0, 1, 2, 3].map(() => runCase(c, be, flashMlaWithKvcache));
        (be as unknown as { device: GPUDevice }).device.destroy();
        const settled = await within(Promise.allSettled(calls), 30_000, 'calls in flight at the loss');
        const lost = settled.filter((r) => r.status === 'rejected');
        for (const r of lost) assert.ok((r as PromiseRejectedResult).reason instanceof FlashMlaError, String((r as PromiseRejectedResult).reason));
        fault = await expectCode(() => be.synchronize(), 'device_lost', 'synchronize after device.destroy()');
        summary.push(`webgpu loss: ${lost.length} of 4 in-flight calls rejected; ${fault.message.slice(0, 120)}`);
      }
      // Fail fast with the same error, on every method.
      const t1 = performance.now();
      for (let i = 0; i < 100; i++) {
        const e = await expectCode(() => be.empty('f32', [4]), 'device_lost', 'empty after the fault');
        assert.equal(e.message, fault.message);
      }
      await expectCode(() => runCase(c, be, flashMlaWithKvcache), 'device_lost', 'decode after the fault');
      const failMs = (performance.now() - t1) / 101;
      assert.ok(failMs < 50, `later calls must fail fast, took ${failMs.toFixed(2)} ms each`);
      for (const b of made.filter((b) => b.kind === kind)) b.dispose();
      if (kind === 'cuda') {
        // After a kernel fault the driver refuses CUDA to the whole process (a fresh primary context too): a new
        // backend here must fail fast with the fault named, and a new process must work.
        const t2 = performance.now();
        const again = await expectCode(() => handles.cuda.make(), 'device_lost', 'a new CUDA backend in the faulted process');
        assert.match(again.message, /CUDA_ERROR_(ILLEGAL_ADDRESS|LAUNCH_FAILED)/);
        const refuseMs = performance.now() - t2;
        const child = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', recoveryScript], { encoding: 'utf8', timeout: 120_000 });
        assert.equal(child.status, 0, `${child.stdout}${child.stderr}`);
        assert.match(child.stdout, /^recovered: /m, child.stdout);
        summary.push(`cuda: later calls fail fast (${(failMs * 1000).toFixed(0)} us each, same error); a new backend in this process is refused in ${refuseMs.toFixed(1)} ms (device_lost); a new process: ${child.stdout.trim().split('\n').pop()}`);
      } else {
        // WebGPU: a new backend (a new device) recovers in the same process.
        const fresh = await open(kind, t);
        assert.ok(fresh, 'a new backend after the fault');
        const got = await runCase(c, fresh!, flashMlaWithKvcache);
        assertOutputsClose(got.out, got.lse, caseReference(c), 'bf16', c, tol(kind), 'on a new backend after the fault');
        summary.push(`${kind}: later calls fail fast (${(failMs * 1000).toFixed(0)} us each, same error); a new backend after dispose is correct`);
      }
    });
  });
}



// Host-memory leak check of the CPU backends: 10^5 decode calls (LEAK_CALLS overrides) through flashMlaWithKvcache
// and MlaDecoder.run on the in-thread and the worker backend, RSS and V8 heap measured after a full GC. Part of
// `npm run test:long`; prints the numbers as diagnostics.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { MlaDecoder, flashMlaWithKvcache } from '../../src/index.js';
import type { Backend } from '../../src/core/problem.js';
import type { Tensor } from '../../src/core/tensor.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { caseMetadata, caseReference, caseTensors, makeCase } from '../support/random.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const calls = Number(process.env.LEAK_CALLS ?? 100_000);

async function leakCheck(be: Backend, name: string, t: { diagnostic: (s: string) => void }): Promise<void> {
  // Tiny on purpose: the per-call overhead (staging, messages, promises) is what could leak, not the kernel.
  const c = makeCase({ name: 'leak', dtype: 'bf16', hQ: 1, hKv: 1, pageBlockSize: 16, seqlens: [5], sQ: 1, causal: true }, 3);
  const x = caseTensors(c), md = caseMetadata(c, be.info.numSms);
  const q = be.upload(x.q), k = be.upload(x.kCache);
  const out = be.empty('bf16', c.outShape), lse = be.empty('f32', c.lseShape);
  const dec = new MlaDecoder(be, { hQ: 1, hKv: 1 });
  dec.plan(c.cacheSeqlens, x.blockTable as Tensor<Int32Array>, { outputs: 2 });
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) {
      if (i & 1) await dec.run(q, k);
      else await flashMlaWithKvcache(q, k, x.blockTable, x.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, { backend: be, out, lse });
    }
  };
  const measure = () => { gc(); gc(); const m = process.memoryUsage(); return { rss: m.rss, heap: m.heapUsed, ext: m.external + m.arrayBuffers }; };
  await run(2000);
  const m0 = measure();
  const t0 = performance.now();
  await run(calls);
  const ms = performance.now() - t0;
  const m1 = measure();
  assertOutputsClose(out.host() as Uint16Array, lse.host() as Float32Array, caseReference(c), 'bf16', c, tolerances.cpu, `${name} after ${calls} calls`);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  t.diagnostic(`${name}: ${calls} calls in ${(ms / 1000).toFixed(1)} s (${((ms * 1000) / calls).toFixed(0)} us/call); RSS ${mib(m0.rss)} -> ${mib(m1.rss)} MiB, `
    + `heap ${mib(m0.heap)} -> ${mib(m1.heap)} MiB, external+ArrayBuffers ${mib(m0.ext)} -> ${mib(m1.ext)} MiB`);
  assert.ok(m1.heap - m0.heap < 8 * 2 ** 20, `${name}: V8 heap grew ${mib(m1.heap - m0.heap)} MiB`);
  assert.ok(m1.ext - m0.ext < 8 * 2 ** 20, `${name}: external memory grew ${mib(m1.ext - m0.ext)} MiB`);
  assert.ok(m1.rss - m0.rss < 64 * 2 ** 20, `${name}: RSS grew ${mib(m1.rss - m0.rss)} MiB`);
  dec.dispose();
}

test(`CPU in-thread: ${calls} calls keep host memory flat`, { timeout: 600_000 }, async (t) => {
  await leakCheck(new InlineCpuBackend(), 'inline', t);
});

test(`CPU workers: ${calls} calls keep host memory flat`, { timeout: 600_000 }, async (t) => {
  const be = await createCpuBackend({ workers: 2 });
  try { await leakCheck(be, 'workers', t); } finally { be.dispose(); }
});

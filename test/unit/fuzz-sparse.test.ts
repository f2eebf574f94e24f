// Property/fuzz suite for the FP8 and token-sparse entry points: flashMlaSparseWithKvcache (FP8 V3.2 / MODEL1 and
// 16-bit caches, topkLength, attnSink, an extra cache) and flashMlaWithKvcache over an FP8 cache (dense decode by block
// table), with randomly corrupted arguments, on the CPU (in-thread and workers) and WebGPU (lavapipe). Every call must
// either throw a typed FlashMlaError or give the float64 reference's output on the inputs it was actually given (the
// schedule it was handed included); never hang, crash, throw anything untyped, or return garbage.
//   FUZZ_SEED=n    another seed (default fixed); a failure prints the seed and the case number to replay it
//   FUZZ_CASES=n   scales the number of cases per backend (default 1)
//   FUZZ_CASE=i    runs case i alone (with the FUZZ_SEED and FUZZ_CASES of the failure it replays)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import type { Backend } from '../../src/core/problem.js';
import { slowest } from '../support/fuzz.js';
import { fuzzDenseFp8, fuzzSparse } from '../support/fuzz-sparse.js';

const seed = Number(process.env.FUZZ_SEED ?? 0x5fa25e);
const scale = Number(process.env.FUZZ_CASES ?? 1);
const only = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);

let workers: Backend | undefined;
let webgpu: WebGpuBackend | undefined;
let webgpuWhy = '';
const inline = new InlineCpuBackend();
before(async () => {
  workers = await createCpuBackend({ workers: 2 });
  try { webgpu = await createNodeWebGpuBackend(); } catch (e) { webgpuWhy = `no WebGPU adapter (${(e as Error).message})`; }
});
after(() => { workers?.dispose(); webgpu?.dispose(); });

describe('fuzz: sparse and FP8 decode with corrupted arguments', () => {
  const plans: [string, () => Backend | undefined, number, number][] = [
    ['inline', () => inline, 300, 150], ['workers', () => workers, 100, 60], ['webgpu', () => webgpu, 60, 40],
  ];
  for (const [kind, get, nSparse, nDense] of plans) {
    test(`${kind}: ${Math.round(nSparse * scale)} sparse and ${Math.round(nDense * scale)} dense FP8 cases, seed ${seed}`, async (t) => {
      const be = get();
      if (!be) {
        if (process.env.CI) assert.fail(`WebGPU fuzz cannot run in CI: ${webgpuWhy}`);
        t.skip(webgpuWhy);
        return;
      }
      const sp = await fuzzSparse(be, kind, Math.round(nSparse * scale), seed, only);
      const de = await fuzzDenseFp8(be, kind, Math.round(nDense * scale), seed, only);
      t.diagnostic(`${kind} sparse: ${sp.ran} accepted and equal to the reference, ${sp.typed} typed errors ${JSON.stringify(sp.codes)}`);
      t.diagnostic(`${kind} dense FP8: ${de.ran} accepted and equal to the reference, ${de.typed} typed errors ${JSON.stringify(de.codes)}`);
      t.diagnostic(`slowest call ${slowest.ms.toFixed(0)} ms: ${slowest.what}`);
      if (only === undefined) assert.ok(sp.ran > 0 && sp.typed > 0 && de.ran > 0 && de.typed > 0, 'the corruptions must produce both outcomes');
    });
  }
});

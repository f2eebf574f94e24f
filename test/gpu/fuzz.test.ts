// The fuzz suites on the GPU host: random corruptions of the arguments of dense decode (16-bit caches), sparse decode
// and dense decode over FP8 caches, on CUDA and on WebGPU (Dawn in Node, the hardware adapter). Every call must throw a
// typed FlashMlaError or give the float64 reference's output on what it was given; a GPU fault (device_lost), a hang or
// an untyped exception fails. The same suites run on the CPU and lavapipe in npm test (test/unit/fuzz*.test.ts).
//   node --import tsx --test test/gpu/fuzz.test.ts      (or the tsc build: node --test build/test/gpu/fuzz.test.js)
//   FUZZ_SEED=n             another seed; FUZZ_CASE=i replays case i of each suite (with FUZZ_CASES as it failed)
//   FUZZ_CASES=x            scales the case counts (default 1: 200 dense, 300 sparse, 150 dense FP8 per backend)
//   FLASHMLA_REQUIRE=cuda,webgpu   a backend that cannot be created fails instead of skipping
//   FUZZ_KINDS=cuda         the backends to fuzz (default cuda,webgpu)
// CUDA gets no NaN or infinite inputs (their handling there: test/gpu/cuda.test.ts, sparse.test.ts); its sparse outputs
// are held to tolerances.cudaSparseFast (P rounded to bf16, as FlashMLA does). A length or page mutation may still put
// NaN-poisoned slots inside a sequence: where one is in a causal band, CUDA's dense kernels (and WebGPU's matrix path
// without its fixes) may give NaN in the earlier queries' columns (causalBandNaN, docs/errors.md; session 54).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Backend } from '../../src/core/problem.js';
import { faults, slowest } from '../support/fuzz.js';
import { fuzzDecode } from '../support/fuzz-dense.js';
import { fuzzDenseFp8, fuzzSparse } from '../support/fuzz-sparse.js';

// WebGPU's matrix path with its infinite-input fixes, the mode that gives the reference's NaN and ±Inf (docs/errors.md):
// without them it has documented differences (test/support/nan-dense.ts matrixV5Differs) the fuzz does not model beyond
// the causal band (seen on the H100 in session 54: a key scored -Inf alone in a row gave "no key" where the reference
// has NaN). FLASHMLA_WEBGPU_MATRIX_INFSAFE=0 fuzzes the default path anyway.
process.env.FLASHMLA_WEBGPU_MATRIX_INFSAFE ??= '1';
const seed = Number(process.env.FUZZ_SEED ?? 0x6f0251);
const scale = Number(process.env.FUZZ_CASES ?? 1);
const only = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);
const require = (process.env.FLASHMLA_REQUIRE ?? '').split(',');

type Kind = 'cuda' | 'webgpu';
const makers: Record<Kind, () => Promise<Backend>> = {
  cuda: async () => (await import('../../src/backends/cuda/index.js')).createCudaBackend(),
  webgpu: async () => (await import('../../src/backends/webgpu/node.js')).createNodeWebGpuBackend({ powerPreference: 'high-performance' }),
};
const made: Backend[] = [];
after(() => { for (const b of made) { try { b.dispose(); } catch { /* already gone */ } } });

async function open(kind: Kind, t: { skip: (m?: string) => void }): Promise<Backend | undefined> {
  try {
    const b = await makers[kind]();
    made.push(b);
    return b;
  } catch (e) {
    const why = `${kind} unavailable: ${(e as Error).message}`;
    if (require.includes(kind)) assert.fail(why);
    t.skip(why);
    return undefined;
  }
}

describe('fuzz on the GPU host: dense, sparse and dense FP8 decode with corrupted arguments', () => {
  for (const kind of (process.env.FUZZ_KINDS ?? 'cuda,webgpu').split(',') as Kind[]) {
    test(`${kind}, seed ${seed}`, async (t) => {
      const be = await open(kind, t);
      if (!be) return;
      const n = (x: number) => Math.max(1, Math.round(x * scale));
      const dense = await fuzzDecode(be, kind, n(200), false, seed, only);
      const sparse = await fuzzSparse(be, kind, n(300), seed, only);
      const fp8 = await fuzzDenseFp8(be, kind, n(150), seed, only);
      for (const [what, s] of [['dense', dense], ['sparse', sparse], ['dense FP8', fp8]] as const) {
        if (!s) continue;
        t.diagnostic(`${kind} ${what}: ${s.ran} accepted and equal to the reference${s.devicePlanned ? ` (${s.devicePlanned} planned on the device)` : ''}, ${s.typed} typed errors ${JSON.stringify(s.codes)}`);
        // (validation must stop bad input before any launch: a driver's error here means it did not)
        for (const code of ['device_lost', 'driver_error']) assert.equal(s.codes[code], undefined, `${kind} ${what}: ${s.codes[code]} calls ended in ${code}: ${faults.filter((f) => f.includes(`: ${code}: `)).slice(0, 3).join(' | ')}`);
        if (only === undefined) assert.ok(s.ran > 0 && s.typed > 0, `${kind} ${what}: the corruptions must produce both outcomes`);
      }
      for (const f of faults.filter((x) => x.includes(': out_of_memory: ')).slice(0, 3)) t.diagnostic(`typed out_of_memory: ${f}`);
      t.diagnostic(`slowest call ${slowest.ms.toFixed(0)} ms: ${slowest.what}`);
    });
  }
});

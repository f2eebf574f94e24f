// Long suite. The fuzz suites of npm test (test/unit/fuzz.test.ts) at more seeds and cases: dense
// decode, sparse decode and dense decode over FP8 caches with corrupted arguments on the CPU in-thread (float64), on
// workers (the native f32 kernels) and on WebGPU (lavapipe). Each call a typed FlashMlaError or the float64 reference's
// output on what it was given. Session 16 of 2026-12-05 ran seeds 100-290 of the sparse suites and 300-340 of the dense
// one at 4x the cases (what they found is fixed and listed in CHANGELOG.md); these seeds are others. About a minute.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import type { Backend } from '../../src/core/problem.js';
import { fuzzDecode } from '../support/fuzz-dense.js';
import { fuzzDenseFp8, fuzzSparse } from '../support/fuzz-sparse.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });
let workers: Backend;
before(async () => { workers = await createCpuBackend({ workers: 2 }); });
after(() => workers?.dispose());

const seeds = [0xf022a, 0xf022b, 0xf022c];
describe('fuzz, long: more seeds of the dense, sparse and dense FP8 suites', () => {
  for (const kind of ['inline', 'workers', 'webgpu'] as const) {
    test(kind, async (t) => {
      const be = kind === 'inline' ? new InlineCpuBackend() : kind === 'workers' ? workers : gpu.need(t);
      if (!be) return;
      // (lavapipe is slow: a third of the cases there)
      const k = kind === 'webgpu' ? 1 / 3 : 1;
      for (const seed of seeds) {
        const runs = [
          ['dense', await fuzzDecode(be, kind, Math.round(300 * k), kind === 'webgpu', seed)],
          ['sparse', await fuzzSparse(be, kind, Math.round(600 * k), seed)],
          ['dense FP8', await fuzzDenseFp8(be, kind, Math.round(300 * k), seed)],
        ] as const;
        for (const [what, s] of runs) {
          t.diagnostic(`seed ${seed} ${what}: ${s.ran} accepted and equal to the reference, ${s.typed} typed errors ${JSON.stringify(s.codes)}`);
          assert.ok(s.ran > 0 && s.typed > 0, `${what}: the corruptions must produce both outcomes`);
        }
      }
    });
  }
});

// Dense (page-table) decode over FP8 caches on the CPU backends, read by block table (backends/cpu/dense-fp8.ts):
// seeded random cases (V3.2 and MODEL1 bytes, NaN in every token no sequence reads, shuffled block tables with junk
// past each row's pages, seqlens 0 / 1 / 63 / 64 / 65 / long, page sizes 64 / 16 / 2) against the float64 reference,
// in-thread (scalar and WebAssembly rungs) and through the worker pool.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InlineCpuBackend, createCpuBackend } from '../../src/backends/cpu/index.js';
import { createWasmKernel } from '../../src/backends/cpu/wasm/kernel.js';
import { tolerances } from '../support/compare.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';

describe('cpu: dense decode over FP8 caches, random cases vs the float64 reference', () => {
  test('in-thread: 24 cases', async () => {
    const be = new InlineCpuBackend();
    for (let seed = 7100; seed < 7124; seed++) await runRandomDenseFp8(seed, be, tolerances.cpu, true);
  });
  test('in-thread on the WebAssembly rung (it has no FP8 loader: the scalar kernel runs these): 6 cases', async (t) => {
    const k = createWasmKernel();
    if (typeof k === 'string') { t.skip(k); return; }
    const be = new InlineCpuBackend(k);
    assert.equal((be as unknown as { denseFp8Kernel(): string }).denseFp8Kernel(), 'cpu-scalar (paged FP8)');
    for (let seed = 7130; seed < 7136; seed++) await runRandomDenseFp8(seed, be, tolerances.cpu, true);
  });
  let pool: Awaited<ReturnType<typeof createCpuBackend>> | undefined;
  after(() => pool?.dispose());
  test('worker pool: 12 cases, 4 at once', async () => {
    pool = await createCpuBackend({ workers: 2 });
    // The default rung: the native sparse kernel (f32) where it loads, else the scalar one (float64).
    const tol = String(pool.info.details?.sparseKernel).startsWith('scalar') ? tolerances.cpu : tolerances.cpuF32;
    for (let seed = 7200; seed < 7212; seed += 4) {
      await Promise.all([0, 1, 2, 3].map((i) => runRandomDenseFp8(seed + i, pool!, tol, true)));
    }
  });
});

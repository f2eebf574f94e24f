// The slow WebGPU sweeps (npm run test:long): FlashMLA's golden cases on the reduced device, 300 randomized cases,
// the reduced device and the mulAdd kernel variant on random cases, and every decode tuning that fits the device.
//   WEBGPU_RANDOM_CASES=n   randomized cases on the full-featured device (default 300)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DecodeTuning, chooseDecodeSpec } from '../../src/backends/webgpu/kernels/decode.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { goldenCaseNames } from '../support/golden.js';
import { caseMatrix, caseReference, makeCase, runCase, specName } from '../support/random.js';
import { checkRandomWebGpu, runGoldenWebGpu, useWebGpu } from '../support/webgpu.js';

const randomCases = Number(process.env.WEBGPU_RANDOM_CASES ?? 300);
const tol = tolerances.webgpu;
const gpu = useWebGpu();
const need = (t: { skip: (m?: string) => void }) => gpu.need(t);

describe('webgpu: FlashMLA golden cases (reduced features: f32 math, workgroup-memory reductions)', () => {
  for (const name of goldenCaseNames()) {
    test(name, async (t) => {
      if (need(t)) await runGoldenWebGpu(gpu.reduced, name);
    });
  }
});

describe('webgpu: randomized cases vs the float64 reference', () => {
  test(`${randomCases} cases (full features: shader-f16, subgroups where the adapter has them)`, async (t) => {
    const be = need(t);
    // Alternate FlashMLA's 132-SM plan (many splits, the combine kernel) with the backend's own.
    if (be) await checkRandomWebGpu(be, randomCases, 0x3e6b, 1000, (i) => (i % 2 ? 132 : be.info.numSms));
  });
  test('48 cases on the reduced device (f32 math, workgroup-memory reductions)', async (t) => {
    if (need(t)) await checkRandomWebGpu(gpu.reduced, 48, 0x51f0, 7000, (i) => (i % 2 ? 132 : 8));
  });
  test('16 cases with multiply-adds written a * b + c (the mulAdd kernel variant)', async (t) => {
    if (!need(t)) return;
    const be = await createNodeWebGpuBackend({ mulAdd: true });
    try {
      await checkRandomWebGpu(be, 16, 0x6ad0, 9000, (i) => (i % 2 ? 132 : 8));
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
        const s = chooseDecodeSpec({ sQ: 1, hQ: mT, hKv: 1 }, 'bf16', be.caps, 1, false, { rowsPerTile: mT, qkColumnsPerStage: dc, pvKeysPerStage: kc, prefetchStages: pf });
        key = `${s.rowsPerTile}.${s.qkColumnsPerStage}.${s.pvKeysPerStage}.${s.prefetchStages}`;
      } catch { continue; }
      if (!seen.has(key)) { seen.add(key); tunings.push({ rowsPerTile: mT, qkColumnsPerStage: dc, pvKeysPerStage: kc, prefetchStages: pf }); }
    }
    assert.ok(tunings.length >= 4, `only ${tunings.length} tunings fit`);
    // Loop unrolling: one stage an iteration, and up to 4 and 6.
    const tuning = (rowsPerTile: number, qkColumnsPerStage: number, pvKeysPerStage: number, prefetchStages: number, stagesPerIteration: number): DecodeTuning =>
      ({ rowsPerTile, qkColumnsPerStage, pvKeysPerStage, prefetchStages, stagesPerIteration });
    tunings.push(tuning(16, 32, 4, 2, 1), tuning(32, 16, 4, 1, 1), tuning(32, 16, 4, 2, 4), tuning(16, 32, 4, 1, 6));
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


// The emulated-products suites of the v5 matrix kernel's variants (test/long/webgpu-matrix-*-emu.test.ts, lavapipe):
// one backend a suite, the comparison with the float64 reference, and the cases every variant must pass.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend, type NodeWebGpuBackendOptions } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { assertOutputsClose } from './compare.js';
import { caseReference, runCase } from './random.js';
import { runGoldenWebGpu } from './webgpu.js';
import { checkInfKeyRows, checkNanRows, extremeCases, type growingCase, matrixTol, mixedBlockCase, ropeHeavyCase } from './webgpu-matrix.js';

/** Decodes c on b planned for numSms SM parts and compares it with the float64 reference (matrixTol). */
export async function closeToReference(b: WebGpuBackend, c: ReturnType<typeof growingCase>, numSms: number, label: string): Promise<void> {
  const r = await runCase(c, b, flashMlaWithKvcache, { numSms });
  assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol, label);
}

/**
 * Registers (in the calling suite) the creation and disposal of a backend with opts, and returns `need(t)`: the
 * backend, or undefined after skipping t when there is none (a failure in CI). With `gate`, the suite runs only when
 * that environment variable is '1' (its tests skip otherwise, naming it and `why`).
 */
export function emuBackend(opts: NodeWebGpuBackendOptions, gate?: { env: string; why: string }): (t: { skip: (m?: string) => void }) => WebGpuBackend | undefined {
  let be: WebGpuBackend | undefined, why = '';
  const on = () => !gate || process.env[gate.env] === '1';
  before(async () => {
    if (!on()) return;
    try {
      be = await createNodeWebGpuBackend(opts);
    } catch (e) {
      why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`;
    }
  });
  after(() => be?.dispose());
  return (t) => {
    if (!on()) { t.skip(`${gate?.env}=1 runs it (${gate?.why})`); return undefined; }
    if (be) return be;
    if (process.env.CI) assert.fail(`WebGPU matrix emulation suite cannot run in CI: ${why}`);
    t.skip(why);
    return undefined;
  };
}

/** The golden cases, the magnitudes outside f16's range and the NaN / +inf rows, as tests of the calling suite. */
export function matrixEmuCommonTests(need: ReturnType<typeof emuBackend>): void {
  test('golden cases', async (t) => {
    const b = need(t);
    if (!b) return;
    for (const name of ['decode_bf16_h16_sq1', 'decode_bf16_h128_sq2_causal', 'decode_f16_h64_sq1', 'decode_bf16_h16_sq1_zero_len']) await runGoldenWebGpu(b, name, matrixTol);
  });

  test('magnitudes outside f16\'s range, a key mixing 1e-6 and 6e4, RoPE columns 2^20 times the latent ones', async (t) => {
    const b = need(t);
    if (!b) return;
    for (const [label, make] of extremeCases()) await closeToReference(b, make(), 132, label);
    await closeToReference(b, mixedBlockCase(), 132, 'mixed block');
    await closeToReference(b, ropeHeavyCase(20), 132, 'RoPE heavy');
  });

  test('NaN in q or a key: NaN for exactly the rows that see it; +inf in a key: NaN rows with NaN lse', async (t) => {
    const b = need(t);
    if (!b) return;
    await checkNanRows(b);
    await checkInfKeyRows(b);
  });
}

// The WebGPU backends a suite runs on (Dawn in Node; Mesa's lavapipe on a machine without a GPU), started once per
// file. Without an adapter a suite skips with one reason; under CI=true it fails instead.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { type Tolerance, assertOutputsClose, tolerances } from './compare.js';
import { loadGolden, runGolden } from './golden.js';
import { caseMatrix, caseReference, makeCase, runCase, specName } from './random.js';

export interface WebGpuSuite {
  /** The full-featured device (shader-f16, subgroups where the adapter has them). */
  readonly backend: WebGpuBackend;
  /** No shader-f16, no subgroups: the f32 and workgroup-memory paths. */
  readonly reduced: WebGpuBackend;
  /** The full backend, or undefined after skipping the test (or failing it under CI) when there is no adapter. */
  need(t: { skip: (m?: string) => void }): WebGpuBackend | undefined;
}

/** `withReduced: false` starts only the full-featured device (suites that never use the reduced one). */
export function useWebGpu(opts: { withReduced?: boolean } = {}): WebGpuSuite {
  let backend: WebGpuBackend | undefined, reduced: WebGpuBackend | undefined, unavailable: string | undefined;
  before(async () => {
    try {
      backend = await createNodeWebGpuBackend();
      if (opts.withReduced !== false) reduced = await createNodeWebGpuBackend({ disableFeatures: ['shader-f16', 'subgroups'] });
    } catch (e) {
      unavailable = `no WebGPU adapter (${(e as Error).message.split('\n')[0]}); on Debian 12 install mesa-vulkan-drivers and libvulkan1 from bookworm-backports (Mesa >= 25)`;
    }
  });
  after(() => { backend?.dispose(); reduced?.dispose(); });
  return {
    get backend() { return backend!; },
    get reduced() { return reduced!; },
    need(t) {
      if (backend) return backend;
      if (process.env.CI) assert.fail(`WebGPU suite cannot run in CI: ${unavailable}`);
      t.skip(unavailable);
      return undefined;
    },
  };
}

/** Run one golden case on `be` with FlashMLA's own metadata and check it against the float64 reference. */
export async function runGoldenWebGpu(be: WebGpuBackend, name: string, tol: Tolerance = tolerances.webgpu): Promise<void> {
  const g = loadGolden(name), p = g.params;
  const got = await runGolden(g, be);
  assertOutputsClose(got.out, got.lse, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tol, name);
}

/**
 * `count` cases of the random matrix (`matrixSeed`) on `be`, case i seeded `seedBase + i` and planned for
 * `numSmsOf(i)` SMs, each checked against the float64 reference.
 */
export async function checkRandomWebGpu(be: WebGpuBackend, count: number, matrixSeed: number, seedBase: number, numSmsOf: (i: number) => number, tol: Tolerance = tolerances.webgpu): Promise<void> {
  const specs = caseMatrix(count, matrixSeed);
  for (let i = 0; i < specs.length; i++) {
    const c = makeCase(specs[i], seedBase + i);
    const r = await runCase(c, be, flashMlaWithKvcache, { numSms: numSmsOf(i) });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tol, specName(specs[i], i));
  }
}

// WebGPU token-sparse decode (kernels/sparse.ts) on Mesa's lavapipe: small random hostile cases against the float64
// reference (lavapipe is a CPU rasterizer; FlashMLA's goldens run in test/long/webgpu-sparse.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../src/backends/webgpu/node.js';
import { tolerances } from './support/compare.js';
import { e4m3PatternsThrough, runRandomSparse } from './support/sparse-random.js';

let backend: WebGpuBackend | undefined;
let unavailable: string | undefined;
before(async () => {
  try {
    backend = await createNodeWebGpuBackend();
  } catch (e) {
    unavailable = `no WebGPU adapter (${(e as Error).message}); install Mesa >= 25 (lavapipe) from bookworm-backports`;
  }
});
after(() => backend?.dispose());

function need(t: { skip: (m?: string) => void }): WebGpuBackend | undefined {
  if (backend) return backend;
  if (process.env.CI) assert.fail(`WebGPU suite cannot run in CI: ${unavailable}`);
  t.skip(unavailable);
  return undefined;
}

describe('webgpu sparse: random cases vs the float64 reference', () => {
  test('8 small cases: V3.2, MODEL1, bf16 and f16 caches (NaN-poisoned), topkLength, sink, extra cache, odd hQ', async (t) => {
    const be = need(t);
    if (!be) return;
    const kinds = ['v32', 'model1', 'bf16', 'f16'] as const;
    for (let seed = 501; seed <= 508; seed++) await runRandomSparse(seed, be, tolerances.webgpu, [kinds[seed % 4]], true);
  });
});

describe('webgpu sparse: every e4m3 bit pattern and UE8M0 scale, decoded by the WGSL bit operations', () => {
  for (const format of ['v32', 'model1'] as const) {
    test(format, async (t) => {
      const be = need(t);
      if (!be) return;
      const bad = await e4m3PatternsThrough(be, format);
      assert.deepEqual(bad.slice(0, 5), []);
    });
  }
});

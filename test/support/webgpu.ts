// The WebGPU backends a suite runs on (Dawn in Node; Mesa's lavapipe on a machine without a GPU), started once per
// file. Without an adapter a suite skips with one reason; under CI=true it fails instead.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/core/api.js';
import { fromArray } from '../../src/core/tensor.js';
import { assertOutputsClose, tolerances } from './compare.js';
import { loadGolden } from './golden.js';
import { nanBits } from './random.js';

export interface WebGpuSuite {
  /** The full-featured device (shader-f16, subgroups where the adapter has them). */
  readonly backend: WebGpuBackend;
  /** No shader-f16, no subgroups: the f32 and workgroup-memory paths. */
  readonly reduced: WebGpuBackend;
  /** The full backend, or undefined after skipping the test (or failing it under CI) when there is no adapter. */
  need(t: { skip: (m?: string) => void }): WebGpuBackend | undefined;
}

export function useWebGpu(): WebGpuSuite {
  let backend: WebGpuBackend | undefined, reduced: WebGpuBackend | undefined, unavailable: string | undefined;
  before(async () => {
    try {
      backend = await createNodeWebGpuBackend();
      reduced = await createNodeWebGpuBackend({ disableFeatures: ['shader-f16', 'subgroups'] });
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
export async function runGoldenWebGpu(be: WebGpuBackend, name: string): Promise<void> {
  const g = loadGolden(name), p = g.params;
  const q = be.upload(fromArray(p.dtype, [p.batch, p.s_q, p.h_q, 576], g.q));
  const k = be.upload(fromArray(p.dtype, [p.num_blocks, p.page_block_size, p.h_kv, 576], g.kcache));
  const out = be.empty(p.dtype, [p.batch, p.s_q, p.h_q, 512]), lse = be.empty('f32', [p.batch, p.h_q, p.s_q]);
  be.write(out, fromArray(p.dtype, out.shape, new Uint16Array(out.numel).fill(nanBits[p.dtype])));
  be.write(lse, fromArray('f32', lse.shape, new Float32Array(lse.numel).fill(NaN)));
  await flashMlaWithKvcache(q, k, fromArray('i32', [p.batch, g.maxBlocksPerSeq], g.blockTable), fromArray('i32', [p.batch], g.cacheSeqlens), 512,
    fromArray('i32', [g.tileSchedulerMetadata.length / 8, 8], g.tileSchedulerMetadata), fromArray('i32', [p.batch + 1], g.numSplits),
    { backend: be, causal: p.causal, softmaxScale: p.softmax_scale, out, lse });
  await be.synchronize();
  const o = (await be.download(out)).host() as Uint16Array, l = (await be.download(lse)).host() as Float32Array;
  for (const x of [q, k, out, lse]) be.free(x);
  assertOutputsClose(o, l, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tolerances.webgpu, name);
}

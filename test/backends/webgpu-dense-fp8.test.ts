// WebGPU dense decode over FP8 caches as the backend runs them by default: staged (WebGpuBackend.decodeDenseFp8,
// kernels/sparse-gather.ts denseFp8StageProgram: each request's pages decoded once into bf16 pages, then the dense kernel
// over them) on lavapipe, and on a device with subgroup matrices the fused path for V3.2 up to 16 query rows
// (denseFp8FusedAutoRows; the v5 kernel reading the cache in place; its own suite is webgpu-dense-fp8-fused.test.ts),
// staged above that and for MODEL1. Run with
// FLASHMLA_WEBGPU_DENSE_FP8_PATH=staged to hold a subgroup-matrix device to the staged path alone. Random
// cases against the float64 reference over the tokens rounded to bf16 (what the staged pages hold) with the backend's
// sparse route made to throw, so a call that fell back would fail; calls at once and in one batch; chunks of requests forced by a small binding
// limit; the calls the staged path declines (f16 queries, index tensors on the device, denseFp8Path 'sparse') and what
// they run instead.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type WebGpuBackend, denseFp8FusedAutoRows } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import type { DenseFp8Call } from '../../src/core/dense-fp8.js';
import type { Backend } from '../../src/core/problem.js';
import { type DeviceStorage, Tensor, fromArray } from '../../src/core/tensor.js';
import { tolerances } from '../support/compare.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';
import { useWebGpu } from '../support/webgpu.js';

const gpu = useWebGpu({ withReduced: false });

/** Run `fn` with `be`'s sparse route refused (an own property over the method, removed after): every dense FP8 call must run staged. */
async function stagedOnly<T>(be: WebGpuBackend, fn: (be: Backend) => Promise<T>): Promise<T> {
  const own = be as unknown as { decodeSparse?: unknown };
  own.decodeSparse = () => { throw new Error('the sparse route ran: the staged path declined this call'); };
  try {
    return await fn(be);
  } finally {
    delete own.decodeSparse;
  }
}

describe('webgpu dense FP8, staged: random cases vs the float64 reference', () => {
  let small: WebGpuBackend | undefined, sparse: WebGpuBackend | undefined;
  before(async () => {
    if (!gpu.backend) return;
    // 2 MiB bindings: 28 staged pages of 64 tokens, so a batch of long requests runs in several chunks.
    small = await createNodeWebGpuBackend({ maxBindingBytes: 2 << 20, numSms: 4 });
    sparse = await createNodeWebGpuBackend({ denseFp8Path: 'sparse' });
  });
  after(() => { small?.dispose(); sparse?.dispose(); });

  test('the kernel named, and the calls it declines', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    const call = (o: Partial<DenseFp8Call>) => ({
      dtype: 'bf16', b: 1, sQ: 1, hQ: 16, pageBlockSize: 64, cacheSeqlens: fromArray('i32', [1], Int32Array.of(10)), blockTable: fromArray('i32', [1, 1], Int32Array.of(0)), ...o,
    }) as unknown as DenseFp8Call;
    const staged = process.env.FLASHMLA_WEBGPU_DENSE_FP8_PATH === 'staged';
    const v32 = call({ format: 'v32', dQk: 576, sQ: 1, blockStride: 64 * 656, kCache: { byteOffset: 0, shape: [1, 64, 1, 656] }, q: { byteOffset: 0 } } as unknown as Partial<DenseFp8Call>);
    assert.equal(be.denseFp8Kernel(v32), be.decodePath.path === 'matrix' && !staged ? 'webgpu-fused-matrix' : `webgpu-staged-${be.decodePath.path}`, '16 rows');
    const v32rows = call({ ...v32, hQ: denseFp8FusedAutoRows + 1 });
    // (session 49: with fp8Direct, the default, 'auto' takes fused at any row count; session 48's form only up to 16)
    assert.equal(be.denseFp8Kernel(v32rows), be.decodePath.path === 'matrix' && !staged ? 'webgpu-fused-matrix' : `webgpu-staged-${be.decodePath.path}`, `${denseFp8FusedAutoRows + 1} rows under 'auto'`);
    const devTable = { ...v32rows, blockTable: new Tensor('i32', [1, 1], { device: 'webgpu', byteLength: 4 } as DeviceStorage) };
    assert.equal(be.denseFp8Kernel(devTable), be.decodePath.path === 'matrix' && !staged ? 'webgpu-fused-matrix' : undefined, 'a device block table: fused where it can, at any row count');
    assert.match(String(be.denseFp8Kernel(call({ format: 'model1', dQk: 512 }))), /^webgpu-staged-(f32|f16|matrix)$/);
    assert.equal(be.denseFp8Kernel(call({ dtype: 'f16' })), undefined);
    assert.equal(be.denseFp8Kernel(call({ blockTable: new Tensor('i32', [1, 1], { device: 'webgpu', byteLength: 4 } as DeviceStorage) })), undefined);
    assert.equal(sparse!.denseFp8Kernel(call({})), undefined);
  });

  test('12 small cases (bf16 queries; V3.2 and MODEL1; NaN in unread tokens; junk past each row\'s pages; pages 64 / 16 / 2)', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    await stagedOnly(be, async (v) => { for (let seed = 7400; seed < 7412; seed++) await runRandomDenseFp8(seed, v, tolerances.webgpu, true, false, false, false, { dtype: 'bf16' }); });
  });

  test('V3.2 tiles with scales that are no powers of two (rounded once to bf16, as the reference holds them), big and tiny q', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    await stagedOnly(be, async (v) => {
      for (let seed = 7420; seed < 7426; seed++) await runRandomDenseFp8(seed, v, tolerances.webgpu, false, true);
      for (let seed = 7426; seed < 7429; seed++) await runRandomDenseFp8(seed, v, tolerances.webgpu, false, true, true);
    });
  });

  test('64 and 128 heads, pages 1 / 16 / 64 / 256, causal sQ up to 3', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    await stagedOnly(be, async (v) => { for (let seed = 7430; seed < 7433; seed++) await runRandomDenseFp8(seed, v, tolerances.webgpu, false, 'wide'); });
  });

  test('requests in several chunks (2 MiB bindings: 28 staged pages a chunk), each planned on its own', async (t) => {
    if (!gpu.need(t)) return;
    const lens = [[200, 900, 0, 1300, 64], [1700, 1700, 5, 1], [63, 65, 1, 1000, 1000, 1000]];
    for (const [k, seqlens] of lens.entries()) {
      for (const format of ['v32', 'model1'] as const) {
        await stagedOnly(small!, (v) => runRandomDenseFp8(7440 + k, v, tolerances.webgpu, false, false, false, false,
          { format, dtype: 'bf16', b: seqlens.length, seqlens, hQ: 3 + 2 * k, sQ: 1 + k, pageBlockSize: 64, numSms: 4 }));
      }
    }
  });

  test('calls at once and inside one batch (the staging buffers shared and grown between calls)', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    await stagedOnly(be, async (v) => {
      await Promise.all([7460, 7461, 7462, 7463].map((seed) => runRandomDenseFp8(seed, v, tolerances.webgpu, seed % 2 === 0, false, false, false, { dtype: 'bf16' })));
      await be.batch(() => Promise.all([7464, 7465, 7466].map((seed) => runRandomDenseFp8(seed, v, tolerances.webgpu, false, seed === 7465, false, false, { dtype: 'bf16' }))));
    });
  });

  test('f16 queries and denseFp8Path \'sparse\' run as sparse steps, still right', async (t) => {
    const be = gpu.need(t);
    if (!be) return;
    for (let seed = 7450; seed < 7453; seed++) await runRandomDenseFp8(seed, be, tolerances.webgpu, true, false, false, false, { dtype: 'f16' });
    for (let seed = 7453; seed < 7456; seed++) await runRandomDenseFp8(seed, sparse!, tolerances.webgpu, true, false, false, false, { dtype: 'bf16' });
  });
});

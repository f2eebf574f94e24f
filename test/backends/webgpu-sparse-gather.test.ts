// The WebGPU sparse decode's gathered path (kernels/sparse-gather.ts, session 45): the referenced tokens decoded into
// 16-bit pages and the dense decode kernel run over them. On lavapipe, forced (WebGpuBackendOptions.sparsePath 'gather'):
// over the f32 dense kernel, and over the v5 subgroup-matrix kernel with its products emulated (the kernel 'auto' takes
// it with on the H200); random hostile cases against the float64 reference, index tensors on the host (lengths known
// when the step is planned) and on the device (planned for whole lists, the rows' lengths counted on the GPU), rows
// split over several chunks, caches over several bindings (the direct kernel too), every e4m3 bit pattern, and which
// calls take the path.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { tolerances } from '../support/compare.js';
import { e4m3PatternsThrough, runRandomSparse } from '../support/sparse-random.js';

let f32: WebGpuBackend | undefined, emu: WebGpuBackend | undefined, small: WebGpuBackend | undefined, direct: WebGpuBackend | undefined;
let directSmall: WebGpuBackend | undefined, chunked: WebGpuBackend | undefined, why = '';
before(async () => {
  try {
    f32 = await createNodeWebGpuBackend({ sparsePath: 'gather', decodePath: 'f32' });
    emu = await createNodeWebGpuBackend({ device: f32.device, sparsePath: 'gather', decodePath: 'matrix', matrix: { emulate: true, subgroups: 4 } });
    // bindings of at most 256 KiB and one SM part: a step's rows run in several chunks (a row of 71 keys takes 2 pages, 144
    // KiB); a row of more than 192 keys does not fit one binding and runs the direct kernel
    small = await createNodeWebGpuBackend({ device: f32.device, sparsePath: 'gather', decodePath: 'f32', maxBindingBytes: 1 << 18, numSms: 1 });
    direct = await createNodeWebGpuBackend({ device: f32.device, sparsePath: 'direct' });
    directSmall = await createNodeWebGpuBackend({ device: f32.device, sparsePath: 'direct', maxBindingBytes: 1 << 18 });
    // buffers of at most 512 KiB too: a large cache is several GPUBuffers (split between pages), bound page run by run
    chunked = await createNodeWebGpuBackend({ device: f32.device, sparsePath: 'gather', decodePath: 'f32', maxBindingBytes: 1 << 18, maxBufferBytes: 1 << 19, numSms: 1 });
  } catch (e) {
    why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`;
  }
});
after(() => { small?.dispose(); emu?.dispose(); direct?.dispose(); directSmall?.dispose(); chunked?.dispose(); f32?.dispose(); });
function need(t: { skip: (m?: string) => void }): boolean {
  if (f32 && emu && small && direct && directSmall && chunked) return true;
  if (process.env.CI) assert.fail(`WebGPU gathered sparse suite cannot run in CI: ${why}`);
  t.skip(why);
  return false;
}

/**
 * Count the backend's gathered calls, the submissions they make (one a chunk of rows), and the calls whose caches took
 * more than one binding each (WebGpuBackend.sparseCaches).
 */
function spy(be: WebGpuBackend) {
  const c = { calls: 0, chunks: 0, segmented: 0 };
  type Caches = { segs: { k: number; x: number } };
  const anyBe = be as unknown as { decodeSparseGathered: (l: unknown, chunk: number) => void; record: (w: { label: string }) => void; sparseCaches: (l: unknown, f: number) => Caches };
  const call = anyBe.decodeSparseGathered.bind(be), rec = anyBe.record.bind(be), caches = anyBe.sparseCaches.bind(be);
  anyBe.decodeSparseGathered = (l, chunk) => { c.calls++; call(l, chunk); };
  anyBe.record = (w) => { if (w.label === 'flashmla.sparse.gathered') c.chunks++; rec(w); };
  anyBe.sparseCaches = (l, f) => { const r = caches(l, f); if (r.segs.k > 1) c.segmented++; return r; };
  return c;
}

const kinds = ['v32', 'model1', 'bf16', 'f16'] as const;

describe('webgpu sparse, gathered path: random cases vs the float64 reference', () => {
  test('f32 dense kernel: 12 cases (every cache kind, topkLength, sinks, extra caches, odd hQ), index tensors on the host', async (t) => {
    if (!need(t)) return;
    const c = spy(f32!);
    for (let seed = 541; seed <= 552; seed++) await runRandomSparse(seed, f32!, tolerances.webgpu, [kinds[seed % 4]], true);
    assert.equal(c.calls, 12, 'every case took the gathered path');
  });
  test('f32 dense kernel: 8 cases with the index tensors on the device (whole lists planned, lengths counted on the GPU)', async (t) => {
    if (!need(t)) return;
    const c = spy(f32!);
    for (let seed = 561; seed <= 568; seed++) await runRandomSparse(seed, f32!, tolerances.webgpu, [kinds[seed % 4]], true, undefined, { deviceIndices: true });
    assert.equal(c.calls, 8);
  });
  // An index tensor on the device is never read back, so the kernels bound its ids themselves: an id past the cache's
  // last token or negative counts as -1 (without the bound the direct kernel reads another token or a buffer's end, and
  // the gathered list counts the entry valid).
  test('device index tensors with ids outside the cache count them as -1: gathered and direct kernels, 8 cases each', async (t) => {
    if (!need(t)) return;
    const c = spy(f32!);
    for (let seed = 601; seed <= 608; seed++) {
      await runRandomSparse(seed, f32!, tolerances.webgpu, [kinds[seed % 4]], true, undefined, { deviceIndices: true, strays: true });
      await runRandomSparse(seed + 10, direct!, tolerances.webgpu, [kinds[seed % 4]], true, undefined, { deviceIndices: true, strays: true });
    }
    assert.equal(c.calls, 8);
  });
  test('f32 dense kernel: 4 cases with sinks far above lse', async (t) => {
    if (!need(t)) return;
    for (let seed = 571; seed <= 574; seed++) await runRandomSparse(seed, f32!, tolerances.webgpu, [kinds[seed % 4]], true, undefined, { bigSinks: true });
  });
  test('v5 matrix kernel (products emulated): 8 cases, host and device index tensors, 1-17 heads', async (t) => {
    if (!need(t)) return;
    const c = spy(emu!);
    for (let seed = 581; seed <= 588; seed++) {
      await runRandomSparse(seed, emu!, tolerances.webgpu, [kinds[seed % 4]], true, (r) => r.pick([1, 3, 16, 17]), { deviceIndices: seed % 2 === 0 });
    }
    assert.equal(c.calls, 8);
  });
  test('rows over several chunks (bindings of 256 KiB): 8 cases, most in more chunks than one', async (t) => {
    if (!need(t)) return;
    const c = spy(small!);
    let multi = 0;
    for (let seed = 591; seed <= 598; seed++) {
      const before = c.chunks, calls = c.calls;
      await runRandomSparse(seed, small!, tolerances.webgpu, [kinds[seed % 4]], false, undefined, { deviceIndices: seed % 2 === 1 });
      if (c.chunks - before > c.calls - calls) multi++;
    }
    assert.ok(multi >= 4, `${multi} of 8 cases ran in more than one chunk`);
  });
  test('caches over several bindings (256 KiB each): 16 cases on the direct kernel, the same 16 gathered, and in buffers of 512 KiB', async (t) => {
    if (!need(t)) return;
    for (const be of [directSmall!, small!, chunked!]) {
      const c = spy(be);
      for (let seed = 601; seed <= 616; seed++) await runRandomSparse(seed, be, tolerances.webgpu, [kinds[seed % 4]], false);
      assert.ok(c.segmented >= 4, `${c.segmented} of 16 cases bound their cache in more than one binding`);
      assert.ok(be === directSmall ? c.calls === 0 : c.calls >= 4, `${c.calls} gathered calls`);
    }
  });
});

describe('webgpu sparse, gathered path: FP8 decoding and the choice', () => {
  for (const format of ['v32', 'model1'] as const) {
    test(`every e4m3 bit pattern (${format}): out = e4m3(byte) x scale exactly`, async (t) => {
      if (!need(t)) return;
      const c = spy(f32!);
      assert.deepEqual(await e4m3PatternsThrough(f32!, format), []);
      assert.equal(c.calls, 1);
    });
  }
  test('which calls gather: precision fast, bf16 queries over FP8 or a cache of q\'s dtype, dQk <= 576; auto only on the matrix kernel', async (t) => {
    if (!need(t)) return;
    const p = (o: object) => ({ precision: 'fast' as const, dtype: 'bf16' as const, cache: { kind: 'v32' as const }, hQ: 64, dQk: 576, ...o });
    assert.equal(f32!.sparseGathers(p({})), true);
    assert.equal(f32!.sparseGathers(p({ cache: { kind: 'model1' }, dQk: 512 })), true);
    assert.equal(f32!.sparseGathers(p({ precision: 'exact' })), false);
    assert.equal(f32!.sparseGathers(p({ dtype: 'f16' })), false); // f16 queries over FP8: values past f16's range
    assert.equal(f32!.sparseGathers(p({ dtype: 'f16', cache: { kind: 'f16' } })), true);
    assert.equal(f32!.sparseGathers(p({ cache: { kind: 'f16' } })), false);
    assert.equal(direct!.sparseGathers(p({})), false);
    const auto = await createNodeWebGpuBackend({ device: f32!.device, decodePath: 'f32' });
    const autoEmu = await createNodeWebGpuBackend({ device: f32!.device, decodePath: 'matrix', matrix: { emulate: true, subgroups: 4 } });
    try {
      assert.equal(auto.sparseGathers(p({})), false, 'auto: the f32 dense kernel is no faster than the sparse one');
      assert.equal(autoEmu.sparseGathers(p({})), true, 'auto: gathered where the dense step runs the matrix kernel');
    } finally {
      auto.dispose();
      autoEmu.dispose();
    }
  });
});

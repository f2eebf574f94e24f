// CPU-only checks of the CUDA backend's host side (no GPU needed; proposed for `npm test` as test/backends/cuda-params.test.ts):
// the parameter packing, the generated header in the tree, the variant choice per device, and the fast, typed
// refusal where there is no driver.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FlashMlaError } from '../../src/core/errors.js';
import { chooseDecodeVariant, decodeSmem, decodeVariants, kernelsHeader, preferredVariants, sameVariant, sm90Launch, sm90Smem } from '../../src/backends/cuda/kernels/launch.js';
import { compilePacker, layoutOf, mlaParamsLayout, packParams } from '../../src/backends/cuda/params.js';

test('params: C layout (pointers first, 4-byte scalars, size padded to 8)', () => {
  const l = layoutOf([{ name: 'a', type: 'i32', doc: '' }, { name: 'p', type: 'ptr', c: 'void*', doc: '' }, { name: 'f', type: 'f32', doc: '' }]);
  assert.deepEqual(l.offsets, { a: 0, p: 8, f: 16 });
  assert.equal(l.size, 24);
  assert.equal(mlaParamsLayout.size % 8, 0);
});

test('params: the compiled packer writes the bytes of the reference packer', () => {
  const v: Record<string, bigint | number> = {};
  mlaParamsLayout.fields.forEach((f, i) => { v[f.name] = f.type === 'ptr' ? BigInt(i + 1) * 0x1_0000_0101n : f.type === 'i32' ? -7 * i : i / 3; });
  const a = new DataView(new ArrayBuffer(mlaParamsLayout.size)), b = new DataView(new ArrayBuffer(mlaParamsLayout.size));
  packParams(a, mlaParamsLayout, v);
  compilePacker(mlaParamsLayout)(b, v);
  assert.deepEqual(new Uint8Array(a.buffer), new Uint8Array(b.buffer));
  assert.equal(a.getBigUint64(mlaParamsLayout.offsets.kCache, true), 2n * 0x1_0000_0101n);
  assert.equal(a.getInt32(mlaParamsLayout.offsets.hQ, true), v.hQ);
});

test('params.h in the tree is what params.ts and launch.ts generate', () => {
  const path = fileURLToPath(new URL('../../src/backends/cuda/kernels/params.h', import.meta.url));
  assert.equal(readFileSync(path, 'utf8'), kernelsHeader(), 'stale params.h: run `npm run build` (scripts/build-kernels.mjs regenerates it)');
});

test('variant choice follows shared memory: Hopper, A100, and 99 KiB parts', () => {
  const sm90 = 232448, sm80 = 166912, sm89 = 101376;
  for (const p of preferredVariants) assert.ok(decodeVariants.some((v) => sameVariant(v, p.variant)), JSON.stringify(p));
  assert.deepEqual(chooseDecodeVariant(16, sm90), preferredVariants[0].variant);
  assert.deepEqual(chooseDecodeVariant(1000, sm90), preferredVariants[preferredVariants.length - 1].variant);
  for (const rows of [1, 16, 17, 32, 33, 64, 128, 512]) {
    for (const smem of [sm90, sm80, sm89]) {
      const v = chooseDecodeVariant(rows, smem);
      assert.ok(v && decodeSmem(v) <= smem, `rows ${rows} smem ${smem}`);
    }
  }
  assert.equal(chooseDecodeVariant(16, 40 * 1024), undefined);
});

test('sm90 kernel: shared memory as decode_sm90.cu asserts, row tiles 16 / 32, nothing above 32 rows', () => {
  // The same numbers are static_asserts in decode_sm90.cu (Layout<NR>::SMEM), which the sm_90a build compiles.
  assert.equal(sm90Smem(16, 2), 229488);
  assert.equal(sm90Smem(32, 2), 228096);
  assert.equal(sm90Smem(16, 1), 226992);
  assert.equal(sm90Smem(32, 1), 231312);
  for (const nr of [16, 32] as const) for (const cw of [1, 2] as const) assert.ok(sm90Smem(nr, cw) <= 232448, 'within the 227 KB a block may have on sm_90');
  const src = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/decode_sm90.cu', import.meta.url)), 'utf8');
  assert.match(src, /Layout<16, 2>::SMEM == 229488 && mla::sm90::Layout<32, 2>::SMEM == 228096 && mla::sm90::Layout<16, 1>::SMEM == 226992 && mla::sm90::Layout<32, 1>::SMEM == 231312/);
  const shape = (sQ: number, hQ: number, hKv: number, extra: object = {}) =>
    ({ sQ, hQ, hKv, nGroups: hQ / hKv, numSmParts: 132, dtype: 'bf16', pageBlockSize: 64, varlen: false, ...extra }) as unknown as Parameters<typeof sm90Launch>[0];
  assert.equal(sm90Launch(shape(1, 16, 1))?.name, 'mla_decode_sm90_bf16_n16');
  assert.deepEqual(sm90Launch(shape(1, 16, 1))?.grid, [132, 1, 1]);
  assert.deepEqual(sm90Launch(shape(1, 16, 1))?.block, [384, 1, 1]);
  // The cache as the kernel's tensor map sees it: 576-element rows, one 64 x 64 box a column chunk of a page.
  // (sm90CacheMap itself: test/backends/cuda-sm90-wide.test.ts; both Hopper kernels read the cache through it.)
  assert.equal(sm90Launch(shape(2, 16, 1))?.name, 'mla_decode_sm90_bf16_n32');
  assert.equal(sm90Launch(shape(3, 10, 1))?.nr, 32);
  assert.equal(sm90Launch(shape(1, 64, 1)), undefined);
  // Only what the H200 checks covered: one KV head, page 64, uniform query lengths.
  assert.equal(sm90Launch(shape(1, 128, 4)), undefined);
  assert.equal(sm90Launch(shape(1, 16, 1, { pageBlockSize: 32 })), undefined);
  assert.equal(sm90Launch(shape(1, 16, 1, { varlen: true })), undefined);
});

test('without a driver, createCudaBackend fails fast with backend_unavailable', { skip: process.env.FLASHMLA_HAS_GPU === '1' }, async () => {
  let libcuda = true;
  try { (await import('koffi')).default.load('libcuda.so.1'); } catch { libcuda = false; }
  if (libcuda) return; // a machine with a driver: the GPU suite covers it
  const { createCudaBackend } = await import('../../src/backends/cuda/index.js');
  const t0 = performance.now();
  await assert.rejects(createCudaBackend(), (e: unknown) => e instanceof FlashMlaError && e.code === 'backend_unavailable' && /libcuda/.test(e.message));
  assert.ok(performance.now() - t0 < 2000);
});

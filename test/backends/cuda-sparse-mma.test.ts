// CPU-only checks of the tiled sparse kernel's host side (sparse_mma.cu; the GPU runs are in test/gpu/sparse.test.ts):
// the variant choice per device, the grids, the parameter packing, and the dense FP8 hook (a backend that reads the
// cache by block table gets a complete launch; one that declines falls back to the host-built indices).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  chooseSparseMma, sparseMmaCombineLaunch, sparseMmaRawStages, sparseMmaKernelName, sparseMmaLaunch, sparseMmaSmem, sparseMmaSplitQ, sparseMmaVariants,
} from '../../src/backends/cuda/kernels/sparse-mma-launch.js';
import { compilePacker, packParams, sparseMmaParamsLayout } from '../../src/backends/cuda/params.js';
import { InlineCpuBackend } from '../../src/backends/cpu/index.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import type { DenseFp8Call } from '../../src/core/dense-fp8.js';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { quantizeCache } from '../../src/core/fp8.js';
import { fp8CacheTensor } from '../../src/core/sparse.js';
import { fromArray } from '../../src/core/tensor.js';
import { Rng } from '../support/random.js';

const sm90 = 232448, sm80 = 166912, sm89 = 101376;

test('sparse_mma: every variant fits Hopper; the choice follows rows and shared memory', () => {
  for (const v of sparseMmaVariants) assert.ok(sparseMmaSmem(v) <= sm90, sparseMmaKernelName(v));
  assert.equal(chooseSparseMma('v32', 'bf16', 576, 128, sm90)?.bm, 64);
  assert.equal(chooseSparseMma('v32', 'bf16', 576, 64, sm90)?.bm, 64);
  assert.equal(chooseSparseMma('model1', 'bf16', 512, 17, sm90)?.bm, 32);
  assert.equal(chooseSparseMma('model1', 'bf16', 512, 1, sm90)?.bm, 16);
  // an f16 query over an FP8 cache: Q as bf16 hi + lo tiles, so 32-row tiles at most (more CTAs for more rows)
  assert.equal(chooseSparseMma('v32', 'f16', 576, 64, sm90)?.bm, 32);
  assert.equal(chooseSparseMma('model1', 'f16', 512, 128, sm90)?.bm, 32);
  assert.equal(chooseSparseMma('v32', 'f16', 576, 5, sm90)?.bm, 16);
  assert.ok(sparseMmaSplitQ({ kind: 'v32', dtype: 'f16' }) && sparseMmaSplitQ({ kind: 'model1', dtype: 'f16' }));
  assert.ok(!sparseMmaSplitQ({ kind: 'f16', dtype: 'f16' }) && !sparseMmaSplitQ({ kind: 'v32', dtype: 'bf16' }));
  assert.ok(!sparseMmaVariants.some((v) => sparseMmaSplitQ(v) && v.bm === 64), 'no 64-row tile with a split Q');
  // the second Q tile: 32 rows x (576 + 8) bf16 more than the bf16 twin, which then keeps one staging buffer
  assert.equal(sparseMmaSmem({ kind: 'v32', dtype: 'f16', dQk: 576, bm: 32 }) - sparseMmaSmem({ kind: 'v32', dtype: 'bf16', dQk: 576, bm: 32 }), 32 * 584 * 2 - 64 * 656);
  assert.equal(sparseMmaRawStages({ kind: 'v32', dtype: 'f16', dQk: 576, bm: 32 }), 1);
  assert.equal(chooseSparseMma('v32', 'bf16', 512, 64, sm90), undefined, 'V3.2 is dQk 576 only');
  assert.equal(chooseSparseMma('v32', 'bf16', 576, 64, sm80), undefined, '64-row V3.2 tiles need more than an A100 has');
  assert.equal(chooseSparseMma('model1', 'bf16', 512, 16, sm80)?.bm, 16);
  assert.equal(chooseSparseMma('v32', 'bf16', 576, 16, sm89), undefined);
  assert.equal(chooseSparseMma('bf16', 'bf16', 576, 16, sm89)?.bm, 16);
  // The .cu asserts each SMEM against the generated header, which test/backends/cuda-params.test.ts keeps in sync.
  const header = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/params.h', import.meta.url)), 'utf8');
  for (const v of sparseMmaVariants) assert.ok(header.includes(`X(${sparseMmaKernelName(v)}, `) && header.includes(`, ${v.bm}, ${sparseMmaSmem(v)})`));
  assert.equal(sparseMmaSmem({ kind: 'v32', dtype: 'bf16', dQk: 576, bm: 64 }), 211968); // one staging buffer
  assert.equal(sparseMmaRawStages({ kind: "v32", dtype: "bf16", dQk: 576, bm: 32 }), 2);
  assert.equal(sparseMmaRawStages({ kind: "bf16", dtype: "bf16", dQk: 576, bm: 32 }), 0);
});

test('sparse_mma: grids (sparse per query position and 64-head tile; dense over sQ*hQ rows) and the combine grid', () => {
  const v = chooseSparseMma('v32', 'bf16', 576, 128, sm90)!;
  assert.deepEqual(sparseMmaLaunch(v, 33, 2, 128, false).grid, [33, 2, 2]);
  assert.deepEqual(sparseMmaLaunch(v, 66, 1, 128, true).grid, [66, 1, 2]);
  const w = chooseSparseMma('v32', 'bf16', 576, 32, sm90)!;
  assert.deepEqual(sparseMmaLaunch(w, 132, 2, 16, true).grid, [132, 1, 1]);
  assert.deepEqual(sparseMmaLaunch(w, 132, 1, 17, false).block, [256, 1, 1]);
  assert.deepEqual(sparseMmaCombineLaunch(3, 2, 17).grid, [3, 2, 5]);
});

test('sparse_mma: the compiled packer writes the reference bytes', () => {
  const v: Record<string, bigint | number> = {};
  sparseMmaParamsLayout.fields.forEach((f, i) => { v[f.name] = f.type === 'ptr' ? BigInt(i + 1) * 0x1_0000_0103n : f.type === 'i32' ? 5 * i - 40 : i / 7; });
  const a = new DataView(new ArrayBuffer(sparseMmaParamsLayout.size)), b = new DataView(new ArrayBuffer(sparseMmaParamsLayout.size));
  packParams(a, sparseMmaParamsLayout, v);
  compilePacker(sparseMmaParamsLayout)(b, v);
  assert.deepEqual(new Uint8Array(a.buffer), new Uint8Array(b.buffer));
  assert.equal(a.getInt32(sparseMmaParamsLayout.offsets.dense, true), v.dense);
});

/** A small dense FP8 step on the host. */
function denseCase(seed: number) {
  const rng = new Rng(seed);
  const b = 2, sQ = 2, hQ = 3, B = 16, numBlocks = 8, maxBlocks = 4;
  const seqlens = Int32Array.of(37, 5);
  const table = Int32Array.from(rng.shuffle(Array.from({ length: numBlocks }, (_, i) => i)));
  const vals = Uint16Array.from({ length: numBlocks * B * 576 }, () => f32ToBf16(rng.normal() * 0.3));
  const k = fp8CacheTensor('v32', numBlocks, B, quantizeCache('v32', vals, B, numBlocks));
  const q = fromArray('bf16', [b, sQ, hQ, 576], Uint16Array.from({ length: b * sQ * hQ * 576 }, () => f32ToBf16(rng.normal())));
  const md = getMlaMetadata(seqlens, sQ * hQ, 1, { numSms: 4 });
  return { b, sQ, hQ, B, q, k, table: fromArray('i32', [b, maxBlocks], table), seqlens: fromArray('i32', [b], seqlens), md };
}

test('dense FP8 hook: a backend with decodeDenseFp8 gets the whole step, one that declines runs the sparse path', async () => {
  const c = denseCase(5);
  const plain = await flashMlaWithKvcache(c.q, c.k, c.table, c.seqlens, 512, c.md.tileSchedulerMetadata, c.md.numSplits, {});

  // Declines: the result must be the ordinary one (host-built indices on the sparse kernel).
  const declining = new InlineCpuBackend();
  let asked: DenseFp8Call | undefined;
  (declining as unknown as { decodeDenseFp8: (l: DenseFp8Call) => boolean }).decodeDenseFp8 = (l) => { asked = l; return false; };
  const viaFallback = await flashMlaWithKvcache(c.q, c.k, c.table, c.seqlens, 512, c.md.tileSchedulerMetadata, c.md.numSplits, { backend: declining });
  assert.ok(asked, 'the backend was asked first');
  assert.deepEqual([...(viaFallback.out.host() as Uint16Array)], [...(plain.out.host() as Uint16Array)]);
  assert.deepEqual([...(viaFallback.lse.host() as Float32Array)], [...(plain.lse.host() as Float32Array)]);
  assert.equal(asked.format, 'v32');
  assert.equal(asked.blockStride, c.B * 656);
  assert.equal(asked.numSmParts, c.md.tileSchedulerMetadata.shape[0]);
  assert.equal(asked.causal, true);
  assert.equal(asked.softmaxScale, 576 ** -0.5);
  assert.deepEqual([asked.b, asked.sQ, asked.hQ, asked.dQk, asked.pageBlockSize, asked.maxBlocksPerSeq], [c.b, c.sQ, c.hQ, 576, c.B, 4]);
  assert.deepEqual(asked.out.shape, [c.b, c.sQ, c.hQ, 512]);
  assert.deepEqual(asked.lse.shape, [c.b, c.hQ, c.sQ]);
  assert.equal(asked.out, viaFallback.out, 'the fallback writes into the outputs it was given');

  // Accepts: nothing else runs (the outputs keep what the backend wrote).
  const taking = new InlineCpuBackend();
  (taking as unknown as { decodeDenseFp8: (l: DenseFp8Call) => boolean }).decodeDenseFp8 = (l) => {
    (l.out.host() as Uint16Array).fill(0x3f80);
    (l.lse.host() as Float32Array).fill(7);
    return true;
  };
  const taken = await flashMlaWithKvcache(c.q, c.k, c.table, c.seqlens, 512, c.md.tileSchedulerMetadata, c.md.numSplits, { backend: taking, causal: false });
  assert.ok((taken.out.host() as Uint16Array).every((x) => x === 0x3f80));
  assert.ok((taken.lse.host() as Float32Array).every((x) => x === 7));

  // Bad outputs are refused before the backend sees them.
  await assert.rejects(flashMlaWithKvcache(c.q, c.k, c.table, c.seqlens, 512, c.md.tileSchedulerMetadata, c.md.numSplits,
    { backend: taking, out: fromArray('bf16', [c.b, c.sQ, c.hQ, 500], new Uint16Array(c.b * c.sQ * c.hQ * 500)) }), /out/);
});

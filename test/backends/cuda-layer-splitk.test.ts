// The CUDA layer gemm's split-K (layer.ts cudaLayerGemmSplitK, kernels/layer.cu mla_gemm_f32_part / mla_gemm_bf16_part +
// mla_gemm_reduce), without a GPU: the rule's splits for both kernels at the DeepSeek-V3 decode shapes and its invariants
// over a sweep, the option and
// FLASHMLA_CUDA_LAYER_SPLITK parsing, and what createCudaLayerOps launches through a fake driver that records each
// launch's kernel, grid and packed GemmParams. The kernels' results are checked on the GPU host (test/gpu/mla-device.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlashMlaError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import {
  type CudaLayerGemmKernel, type CudaLayerSplitKRule, type LayerOpsHost, createCudaLayerOps, cudaLayerGemmSplitK, cudaLayerGemms, cudaLayerSplitKBound,
  cudaLayerSplitKDefault, cudaLayerSplitKFromEnv, gemmCtas, resolveCudaLayerSplitK,
} from '../../src/backends/cuda/layer.js';
import { gemmParamsLayout } from '../../src/backends/cuda/layer-params.js';
import { Workspace } from '../../src/backends/cuda/workspace.js';

// The projections of a DeepSeek-V3 decode step at batch m <= 64 (one 64-row tile): [what, n, k, batch]. wkv_b is
// kv_b_proj unabsorbed (the host path's shape); W_UK / W_UV its absorbed per-head halves.
const v3Shapes: [string, number, number, number][] = [
  ['q_a', 1536, 7168, 1], ['q_b', 24576, 1536, 1], ['kv_a', 576, 7168, 1], ['wkv_b', 32768, 512, 1],
  ['W_UK', 512, 128, 128], ['W_UV', 128, 512, 128], ['o_proj', 7168, 16384, 1],
];

test('split rule at the DeepSeek-V3 decode shapes (m = 64, 132 SMs), both kernels', () => {
  // [splits, chunk] of each shape: f32 (4 CTAs an SM, 16-column slices), bf16 (5 CTAs an SM, 32-column slices).
  const want: Record<CudaLayerGemmKernel, [number, number][]> = {
    f32: [[22, 336], [1, 1536], [28, 256], [1, 512], [1, 128], [1, 512], [4, 4096]],
    // q_a: 660 / 24 CTAs -> 27 ranges of 265.5, rounded up to 288 -> 25; o_proj: 660 / 112 -> 5 of 3296.
    bf16: [[25, 288], [1, 1536], [28, 256], [1, 512], [1, 128], [1, 512], [5, 3296]],
  };
  for (const kernel of ['f32', 'bf16'] as const) {
    for (const [i, [what, n, k, batch]] of v3Shapes.entries()) {
      const [splits, chunk] = want[kernel][i];
      assert.deepEqual(cudaLayerGemmSplitK(k, gemmCtas(64, n, batch), 132, cudaLayerSplitKDefault, kernel), { splits, chunk }, `${kernel} ${what} m64 n${n} k${k} x${batch}`);
    }
  }
  assert.deepEqual([gemmCtas(64, 1536, 1), gemmCtas(64, 576, 1), gemmCtas(64, 7168, 1), gemmCtas(64, 512, 128)], [24, 9, 112, 1024]);
  assert.deepEqual(cudaLayerGemmSplitK(16384, 112, 132, undefined, 'bf16'), { splits: 1, chunk: 16384 });
  // The f32 kernel is the default; each kernel's CTAs an SM come from its own field.
  assert.deepEqual(cudaLayerGemmSplitK(7168, 24, 132, cudaLayerSplitKDefault), { splits: 22, chunk: 336 });
  assert.deepEqual(cudaLayerGemmSplitK(7168, 24, 132, { ...cudaLayerSplitKDefault, ctasPerSm: 0 }, 'bf16'), { splits: 25, chunk: 288 });
  assert.deepEqual(cudaLayerGemmSplitK(7168, 24, 132, { ...cudaLayerSplitKDefault, ctasPerSmBf16: 0 }, 'bf16'), { splits: 1, chunk: 7168 });
  assert.deepEqual(cudaLayerGemmSplitK(7168, 24, 132, { ...cudaLayerSplitKDefault, ctasPerSmBf16: 0 }, 'f32'), { splits: 22, chunk: 336 });
});

test('split rule over batches 1..128 on 132 SMs and on 8: bf16 splits the same at every m <= 64, bounded', () => {
  // [splits] of the bf16 kernel at m <= 64 for each v3Shapes entry. 8 SMs (40 CTAs a wave): kv_a's 9 CTAs -> 4 ranges
  // of 1792; q_a's 24 and o_proj's 112 already fill it.
  const want: Record<number, number[]> = { 132: [25, 1, 28, 1, 1, 1, 5], 8: [1, 1, 4, 1, 1, 1, 1] };
  for (const numSms of [132, 8]) {
    for (const [i, [what, n, k, batch]] of v3Shapes.entries()) {
      for (let m = 1; m <= 128; m++) {
        const ctas = gemmCtas(m, n, batch), at = `bf16 ${what} m${m} on ${numSms} SMs`;
        const { splits, chunk } = cudaLayerGemmSplitK(k, ctas, numSms, cudaLayerSplitKDefault, 'bf16');
        if (m <= 64) assert.equal(splits, want[numSms][i], at);
        // Whole 32-column slices (the bf16 kernel's 16-byte copies stay 8-element aligned), k covered once, one wave
        // of 5 CTAs an SM, and the partials within the workspace taken at the bound.
        if (splits > 1) {
          assert.equal(chunk % 32, 0, at);
          assert.ok((splits - 1) * chunk < k && splits * chunk >= k, at);
          assert.ok(splits * ctas <= numSms * 5 && splits <= 64, at);
          assert.ok(splits * batch * m * n * 4 <= cudaLayerSplitKBound(numSms, cudaLayerSplitKDefault), at);
        } else assert.equal(chunk, k, at);
      }
    }
  }
  // Past m = 64 the tiles double: kv_a at m 65 has 18 CTAs -> still 28 ranges (minChunk), q_a's 48 -> 13 of 576 (k / 13 = 551.4).
  assert.deepEqual(cudaLayerGemmSplitK(7168, gemmCtas(65, 576, 1), 132, cudaLayerSplitKDefault, 'bf16'), { splits: 28, chunk: 256 });
  assert.deepEqual(cudaLayerGemmSplitK(7168, gemmCtas(65, 1536, 1), 132, cudaLayerSplitKDefault, 'bf16'), { splits: 13, chunk: 576 });
});

test('split rule invariants, both kernels: whole slices, no empty range, within the CTAs an SM, minChunk and maxSplits', () => {
  const rules: CudaLayerSplitKRule[] = [
    cudaLayerSplitKDefault, { ctasPerSm: 2, ctasPerSmBf16: 3, minK: 512, minChunk: 64, maxSplits: 8 },
    { ctasPerSm: 8, ctasPerSmBf16: 1, minK: 1, minChunk: 16, maxSplits: 64 }, { ctasPerSm: 0, ctasPerSmBf16: 16, minK: 32, minChunk: 16, maxSplits: 64 },
  ];
  const split: Record<CudaLayerGemmKernel, number> = { f32: 0, bf16: 0 };
  for (const kernel of ['f32', 'bf16'] as const) {
    const { slice, perSm } = cudaLayerGemms[kernel];
    for (const rule of rules) {
      for (const numSms of [1, 8, 78, 108, 132]) {
        for (const ctas of [1, 2, 3, 9, 24, 65, 112, 263, 264, 528, 1000]) {
          for (const k of [1, 15, 16, 17, 255, 511, 2047, 2048, 2051, 4097, 7168, 16384, 16385, 100003, 8, 40, 2056, 4104, 7176, 16392]) {
            const { splits, chunk } = cudaLayerGemmSplitK(k, ctas, numSms, rule, kernel);
            const at = `${kernel}: k ${k}, ${ctas} CTAs, ${numSms} SMs, ${JSON.stringify(rule)}`;
            if (splits === 1) { assert.equal(chunk, k, at); continue; }
            split[kernel]++;
            assert.ok(k >= rule.minK, `split below minK: ${at}`);
            assert.equal(chunk % slice, 0, `chunk ${chunk} not whole slices of ${slice}: ${at}`);
            assert.ok((splits - 1) * chunk < k && splits * chunk >= k, `chunk ${chunk} x ${splits} does not cover k exactly once, last range non-empty: ${at}`);
            assert.ok(chunk >= rule.minChunk, `chunk ${chunk} under minChunk: ${at}`);
            assert.ok(splits <= rule.maxSplits, `${splits} splits: ${at}`);
            assert.ok(splits * ctas <= numSms * rule[perSm], `${splits} x ${ctas} CTAs over ${numSms} SMs: ${at}`);
            assert.ok(splits * ctas * 64 * 64 * 4 <= numSms * Math.max(rule.ctasPerSm, rule.ctasPerSmBf16) * 64 * 64 * 4, `over the workspace bound: ${at}`);
          }
        }
      }
    }
  }
  assert.deepEqual(cudaLayerGemms.bf16.slice, 32);
  assert.ok(split.f32 > 100 && split.bf16 > 100, `only ${JSON.stringify(split)} cases split`);
});

test('layerSplitK option and FLASHMLA_CUDA_LAYER_SPLITK', () => {
  assert.equal(resolveCudaLayerSplitK(false), undefined);
  assert.equal(resolveCudaLayerSplitK(undefined), cudaLayerSplitKDefault);
  assert.equal(resolveCudaLayerSplitK(true), cudaLayerSplitKDefault);
  assert.deepEqual(resolveCudaLayerSplitK({ ctasPerSm: 2 }), { ...cudaLayerSplitKDefault, ctasPerSm: 2 });
  // A kernel's CTAs an SM may be 0 (that kernel never splits); the other fields may not.
  assert.deepEqual(resolveCudaLayerSplitK({ ctasPerSmBf16: 0 }), { ...cudaLayerSplitKDefault, ctasPerSmBf16: 0 });
  assert.deepEqual(resolveCudaLayerSplitK({ ctasPerSm: 0 }), { ...cudaLayerSplitKDefault, ctasPerSm: 0 });
  assert.throws(() => resolveCudaLayerSplitK({ ctasPerSmBf16: -1 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'layerSplitK.ctasPerSmBf16');
  assert.throws(() => resolveCudaLayerSplitK({ minK: 0 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'layerSplitK.minK');
  assert.throws(() => resolveCudaLayerSplitK({ minChunk: 0 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'layerSplitK.minChunk');
  assert.throws(() => resolveCudaLayerSplitK({ ctasPerSm: 1.5 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'layerSplitK.ctasPerSm');
  assert.equal(cudaLayerSplitKFromEnv(undefined), undefined);
  assert.equal(cudaLayerSplitKFromEnv(''), undefined);
  assert.equal(cudaLayerSplitKFromEnv('0'), false);
  assert.equal(cudaLayerSplitKFromEnv('1'), true);
  assert.deepEqual(cudaLayerSplitKFromEnv('ctasPerSm=2, minChunk=512'), { ctasPerSm: 2, minChunk: 512 });
  assert.deepEqual(cudaLayerSplitKFromEnv('ctasPerSmBf16=0'), { ctasPerSmBf16: 0 });
  for (const bad of ['yes', 'targetGroups=512', 'ctasPerSm=-1', 'ctasPerSm']) {
    assert.throws(() => cudaLayerSplitKFromEnv(bad), (e: unknown) => e instanceof FlashMlaError && e.argument === 'FLASHMLA_CUDA_LAYER_SPLITK', bad);
  }
});

interface Launch { name: string; grid: readonly number[]; block: readonly number[]; p: Record<string, number | bigint> }

/** createCudaLayerOps over a driver that records launches (GemmParams read back from the packed bytes) and allocations. */
function fakeOps(splitK: CudaLayerSplitKRule | undefined, numSms = 132) {
  const launches: Launch[] = [], allocs: number[] = [];
  const params = new Map<bigint, DataView>();
  let nextFn = 1n, nextArgv = 1000n, nextPtr = 1n << 40n, syncs = 0;
  const fns = new Map<bigint, string>();
  const drv = {
    getFunction: (_m: bigint, name: string) => { const f = nextFn++; fns.set(f, name); return f; },
    pinnedParams: (bytes: number) => { const argv = nextArgv++, view = new DataView(new ArrayBuffer(bytes)); params.set(argv, view); return { ptr: argv, view, argv }; },
    launch: (f: bigint, grid: readonly number[], block: readonly number[], _smem: number, _stream: bigint, argv: bigint, what: string) => {
      assert.equal(fns.get(f), what);
      const view = params.get(argv)!, p: Record<string, number | bigint> = {};
      for (const fl of gemmParamsLayout.fields) {
        const off = gemmParamsLayout.offsets[fl.name];
        p[fl.name] = fl.type === 'ptr' ? view.getBigUint64(off, true) : view.getInt32(off, true);
      }
      launches.push({ name: what, grid: [...grid], block: [...block], p });
    },
    alloc: (bytes: number) => { allocs.push(bytes); const p = nextPtr; nextPtr += BigInt(bytes); return p; },
    free: () => {},
    synchronize: () => { syncs++; },
    koffi: { free: () => {} },
  };
  let capturing = false;
  const ws = new Workspace(drv as unknown as LayerOpsHost['drv'], 7n, 1.25);
  const ptrs = new Map<unknown, bigint>();
  const ops = createCudaLayerOps({
    drv: drv as unknown as LayerOpsHost['drv'], stream: 7n, module: 1n, numSms, splitK, ws, capturing: () => capturing,
    ptrOf: (t) => { if (!ptrs.has(t.data)) ptrs.set(t.data, BigInt(ptrs.size + 1) << 32n); return ptrs.get(t.data)! + BigInt(t.offset * 4); },
  });
  return { ops, launches, allocs, ws, syncs: () => syncs, capture: (on: boolean) => { capturing = on; } };
}

const f32 = (n: number) => new Tensor('f32', [n], new Float32Array(n));
const bf16 = (n: number) => new Tensor('bf16', [n], new Uint16Array(n));

test('gemm dispatch: the split pair on the stream in order, the one-pass kernel otherwise', () => {
  const f = fakeOps(cudaLayerSplitKDefault);
  // kv_a at m = 64: 9 CTAs -> 28 ranges of 256.
  const y = f32(64 * 576);
  f.ops.gemm({ m: 64, n: 576, k: 7168, x: f32(64 * 7168), w: f32(576 * 7168), y });
  assert.deepEqual(f.launches.map((l) => [l.name, l.grid, l.block]), [['mla_gemm_f32_part', [9, 1, 28], [256, 1, 1]], ['mla_gemm_reduce', [144, 1, 1], [256, 1, 1]]]);
  const [part, reduce] = f.launches;
  for (const l of [part, reduce]) {
    assert.equal(l.p.ws, f.ws.ptr);
    assert.deepEqual([l.p.splits, l.p.chunk, l.p.m, l.p.n, l.p.k, l.p.yStride, l.p.yBatch, l.p.yType], [28, 256, 64, 576, 7168, 576, 0, 0]);
  }
  // The workspace is taken once at its bound (numSms * the larger CTAs an SM, bf16's 5, tiles of 64 x 64 floats), never regrown.
  assert.deepEqual(f.allocs, [132 * 5 * 64 * 64 * 4]);
  assert.equal(cudaLayerSplitKBound(132, cudaLayerSplitKDefault), 132 * 5 * 64 * 64 * 4);
  assert.ok(28 * 64 * 576 * 4 <= f.ws.bytes);

  // Strided batches (the absorbed products' form) with k long enough: batch * splits CTAs in z, the reduce a z per entry.
  f.launches.length = 0;
  const [m, n, k, batch] = [17, 65, 4097, 3];
  const xStride = k + 3, wStride = k + 1, yStride = n + 5, xBatch = m * xStride + 2, wBatch = n * wStride, yBatch = m * yStride + 7;
  f.ops.gemm({ m, n, k, batch, x: f32(5 + batch * xBatch), xOff: 5, xStride, xBatch, w: f32(batch * wBatch), wStride, wBatch, y: new Tensor('f16', [3 + batch * yBatch], new Uint16Array(3 + batch * yBatch)), yOff: 3, yStride, yBatch });
  const sk = cudaLayerGemmSplitK(k, 2 * batch, 132, cudaLayerSplitKDefault);
  assert.deepEqual(sk, { splits: 16, chunk: 272 });
  assert.deepEqual(f.launches.map((l) => [l.name, l.grid]), [['mla_gemm_f32_part', [2, 1, batch * 16]], ['mla_gemm_reduce', [Math.ceil(m * n / 256), 1, batch]]]);
  assert.deepEqual([f.launches[0].p.xStride, f.launches[0].p.xBatch, f.launches[0].p.wBatch, f.launches[1].p.yStride, f.launches[1].p.yBatch, f.launches[1].p.yType], [xStride, xBatch, wBatch, yStride, yBatch, 2]);
  assert.equal(f.allocs.length, 1);

  // Calls that do not split: k under minK, enough CTAs, in either kernel.
  f.launches.length = 0;
  f.ops.gemm({ m: 64, n: 24576, k: 1536, x: f32(64 * 1536), w: f32(24576 * 1536), y: f32(64 * 24576) });
  f.ops.gemm({ m: 64, n: 128, k: 512, batch: 128, x: f32(64 * 128 * 512), xStride: 128 * 512, xBatch: 512, w: f32(128 * 128 * 512), wBatch: 128 * 512, y: f32(64 * 128 * 128), yStride: 128 * 128, yBatch: 128 });
  f.ops.gemm({ m: 64, n: 24576, k: 1536, x: bf16(64 * 1536), w: bf16(24576 * 1536), y: f32(64 * 24576) });
  assert.deepEqual(f.launches.map((l) => [l.name, l.grid, l.block]), [['mla_gemm_f32', [384, 1, 1], [256, 1, 1]], ['mla_gemm_f32', [2, 1, 128], [256, 1, 1]], ['mla_gemm_bf16', [384, 1, 1], [128, 1, 1]]]);
  assert.deepEqual([f.launches[0].p.ws, f.launches[0].p.splits, f.launches[0].p.chunk], [0n, 1, 1536]);
  assert.deepEqual([f.launches[2].p.ws, f.launches[2].p.splits, f.launches[2].p.chunk], [0n, 1, 1536]);
  assert.equal(f.allocs.length, 1);
});

test('gemm dispatch, bf16: the tensor-core part kernel and the same reduce, 32-column ranges, one workspace with f32', () => {
  const f = fakeOps(cudaLayerSplitKDefault);
  // kv_a at m = 64: 9 CTAs -> 28 ranges of 256 (a multiple of the 32-column slice), 128 threads a CTA.
  const y = new Tensor('bf16', [64 * 576], new Uint16Array(64 * 576));
  f.ops.gemm({ m: 64, n: 576, k: 7168, x: bf16(64 * 7168), w: bf16(576 * 7168), y });
  assert.deepEqual(f.launches.map((l) => [l.name, l.grid, l.block]), [['mla_gemm_bf16_part', [9, 1, 28], [128, 1, 1]], ['mla_gemm_reduce', [144, 1, 1], [256, 1, 1]]]);
  for (const l of f.launches) {
    assert.equal(l.p.ws, f.ws.ptr);
    assert.deepEqual([l.p.splits, l.p.chunk, l.p.m, l.p.n, l.p.k, l.p.yStride, l.p.yBatch, l.p.yType], [28, 256, 64, 576, 7168, 576, 0, 1]);
  }
  assert.deepEqual(f.allocs, [132 * 5 * 64 * 64 * 4]);

  // q_a and o_proj at m = 64 (25 ranges of 288, 5 of 3296: neither divides k, so a shorter last range), then a strided
  // batch with odd m and n not a multiple of 64, k not a multiple of its chunk: batch * splits CTAs in z.
  f.launches.length = 0;
  f.ops.gemm({ m: 64, n: 1536, k: 7168, x: bf16(64 * 7168), w: bf16(1536 * 7168), y: f32(64 * 1536) });
  f.ops.gemm({ m: 64, n: 7168, k: 16384, x: bf16(64 * 16384), w: bf16(7168 * 16384), y: f32(64 * 7168) });
  const [m, n, k, batch] = [17, 65, 4104, 3];
  const xStride = k + 8, wStride = k + 16, yStride = n + 5, xBatch = m * xStride + 8, wBatch = n * wStride, yBatch = m * yStride + 7;
  f.ops.gemm({ m, n, k, batch, x: bf16(8 + batch * xBatch), xOff: 8, xStride, xBatch, w: bf16(batch * wBatch), wStride, wBatch, y: new Tensor('f16', [3 + batch * yBatch], new Uint16Array(3 + batch * yBatch)), yOff: 3, yStride, yBatch });
  const sk = cudaLayerGemmSplitK(k, 2 * batch, 132, cudaLayerSplitKDefault, 'bf16');
  assert.deepEqual(sk, { splits: 15, chunk: 288 }); // 660 / 6 CTAs -> 110, held to k / 256 = 16 ranges of 256.5 -> 288: 14 full, the last 72
  assert.deepEqual(f.launches.map((l) => [l.name, l.grid, l.p.splits, l.p.chunk]), [
    ['mla_gemm_bf16_part', [24, 1, 25], 25, 288], ['mla_gemm_reduce', [384, 1, 1], 25, 288],
    ['mla_gemm_bf16_part', [112, 1, 5], 5, 3296], ['mla_gemm_reduce', [1024, 1, 1], 5, 3296],
    ['mla_gemm_bf16_part', [2, 1, batch * 15], 15, 288], ['mla_gemm_reduce', [Math.ceil(m * n / 256), 1, batch], 15, 288],
  ]);
  const [, , , , part, reduce] = f.launches;
  assert.deepEqual([part.p.xStride, part.p.xBatch, part.p.wStride, part.p.wBatch, reduce.p.yStride, reduce.p.yBatch, reduce.p.yType], [xStride, xBatch, wStride, wBatch, yStride, yBatch, 2]);

  // The f32 kernel's split shares the workspace: still the one allocation.
  f.launches.length = 0;
  f.ops.gemm({ m: 64, n: 576, k: 7168, x: f32(64 * 7168), w: f32(576 * 7168), y: f32(64 * 576) });
  assert.deepEqual(f.launches.map((l) => l.name), ['mla_gemm_f32_part', 'mla_gemm_reduce']);
  assert.equal(f.allocs.length, 1);

  // Misaligned bf16 operands are refused before anything is queued, split or not (a range's 16-byte copies need them).
  f.launches.length = 0;
  assert.throws(() => f.ops.gemm({ m: 64, n: 576, k: 7168, x: bf16(64 * 7168 + 4), xOff: 4, w: bf16(576 * 7168), y: f32(64 * 576) }),
    (e: unknown) => e instanceof FlashMlaError && e.argument === 'gemm.xOff');
  assert.equal(f.launches.length, 0);
});

test('gemm dispatch: split-K off (both kernels, or bf16 alone), and the workspace while capturing a graph', () => {
  const off = fakeOps(undefined);
  off.ops.gemm({ m: 64, n: 576, k: 7168, x: f32(64 * 7168), w: f32(576 * 7168), y: f32(64 * 576) });
  off.ops.gemm({ m: 64, n: 576, k: 7168, x: bf16(64 * 7168), w: bf16(576 * 7168), y: f32(64 * 576) });
  assert.deepEqual(off.launches.map((l) => [l.name, l.grid]), [['mla_gemm_f32', [9, 1, 1]], ['mla_gemm_bf16', [9, 1, 1]]]);
  assert.deepEqual(off.allocs, []);
  // ctasPerSmBf16 = 0: the f32 gemm splits, the bf16 one does not.
  const f32Only = fakeOps(resolveCudaLayerSplitK(cudaLayerSplitKFromEnv('ctasPerSmBf16=0')));
  f32Only.ops.gemm({ m: 64, n: 576, k: 7168, x: f32(64 * 7168), w: f32(576 * 7168), y: f32(64 * 576) });
  f32Only.ops.gemm({ m: 64, n: 576, k: 7168, x: bf16(64 * 7168), w: bf16(576 * 7168), y: f32(64 * 576) });
  assert.deepEqual(f32Only.launches.map((l) => l.name), ['mla_gemm_f32_part', 'mla_gemm_reduce', 'mla_gemm_bf16']);
  assert.deepEqual(f32Only.allocs, [132 * 4 * 64 * 64 * 4]);

  // A capture may not grow the workspace (growing synchronizes the stream): refused before anything is queued...
  const f = fakeOps(cudaLayerSplitKDefault);
  const call = () => f.ops.gemm({ m: 64, n: 576, k: 7168, x: f32(64 * 7168), w: f32(576 * 7168), y: f32(64 * 576) });
  f.capture(true);
  assert.throws(call, (e: unknown) => e instanceof FlashMlaError && e.argument === 'gemm' && /capturing/.test(e.message));
  assert.deepEqual([f.launches.length, f.allocs.length], [0, 0]);
  // ... and after a warm-up run grew it, the captured run reuses it.
  f.capture(false);
  call();
  f.capture(true);
  call();
  assert.deepEqual(f.launches.map((l) => l.name), ['mla_gemm_f32_part', 'mla_gemm_reduce', 'mla_gemm_f32_part', 'mla_gemm_reduce']);
  assert.equal(f.allocs.length, 1);
  assert.equal(f.syncs(), 0);

  // The same for a bf16 call first: refused while capturing; after the warm-up, every split of either kernel fits
  // the workspace taken at the bound, so a captured q_a, kv_a, o_proj never grows it.
  const g = fakeOps(cudaLayerSplitKDefault);
  const bfCall = (n: number, k: number) => g.ops.gemm({ m: 64, n, k, x: bf16(64 * k), w: bf16(n * k), y: f32(64 * n) });
  g.capture(true);
  assert.throws(() => bfCall(576, 7168), (e: unknown) => e instanceof FlashMlaError && e.argument === 'gemm' && /capturing/.test(e.message));
  assert.deepEqual([g.launches.length, g.allocs.length], [0, 0]);
  g.capture(false);
  bfCall(576, 7168);
  g.capture(true);
  for (const [n, k] of [[1536, 7168], [576, 7168], [7168, 16384]]) bfCall(n, k);
  g.ops.gemm({ m: 64, n: 1536, k: 7168, x: f32(64 * 7168), w: f32(1536 * 7168), y: f32(64 * 1536) });
  assert.equal(g.launches.filter((l) => l.name === 'mla_gemm_bf16_part').length, 4);
  assert.deepEqual([g.allocs.length, g.syncs()], [1, 0]);
});

// The CUDA layer gemm's split-K (layer.ts cudaLayerGemmSplitK, kernels/layer.cu mla_gemm_f32_part + mla_gemm_reduce),
// without a GPU: the rule's splits at the DeepSeek-V3 decode shapes and its invariants over a sweep, the option and
// FLASHMLA_CUDA_LAYER_SPLITK parsing, and what createCudaLayerOps launches through a fake driver that records each
// launch's kernel, grid and packed GemmParams. The kernels' results are checked on the GPU host (test/gpu/mla-device.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlashMlaError } from '../../src/core/errors.js';
import { Tensor } from '../../src/core/tensor.js';
import {
  type CudaLayerSplitKRule, type LayerOpsHost, createCudaLayerOps, cudaLayerGemmSplitK, cudaLayerSplitKDefault, cudaLayerSplitKFromEnv,
  gemmF32Ctas, resolveCudaLayerSplitK,
} from '../../src/backends/cuda/layer.js';
import { gemmParamsLayout } from '../../src/backends/cuda/layer-params.js';
import { Workspace } from '../../src/backends/cuda/workspace.js';

test('split rule at the DeepSeek-V3 decode shapes (m = 64, 132 SMs)', () => {
  // [what, n, k, batch, splits, chunk]: the f32 projections of a V3 step at batch 64.
  const want: [string, number, number, number, number, number][] = [
    ['q_a', 1536, 7168, 1, 22, 336], ['q_b', 24576, 1536, 1, 1, 1536], ['kv_a', 576, 7168, 1, 28, 256],
    ['W_UK', 512, 128, 128, 1, 128], ['W_UV', 128, 512, 128, 1, 512], ['o_proj', 7168, 16384, 1, 4, 4096],
  ];
  for (const [what, n, k, batch, splits, chunk] of want) {
    assert.deepEqual(cudaLayerGemmSplitK(k, gemmF32Ctas(64, n, batch), 132, cudaLayerSplitKDefault), { splits, chunk }, `${what} m64 n${n} k${k} x${batch}`);
  }
  assert.deepEqual([gemmF32Ctas(64, 1536, 1), gemmF32Ctas(64, 576, 1), gemmF32Ctas(64, 7168, 1), gemmF32Ctas(64, 512, 128)], [24, 9, 112, 1024]);
  assert.deepEqual(cudaLayerGemmSplitK(16384, 112, 132, undefined), { splits: 1, chunk: 16384 });
});

test('split rule invariants: whole slices, no empty range, within ctasPerSm an SM, minChunk and maxSplits', () => {
  const rules: CudaLayerSplitKRule[] = [cudaLayerSplitKDefault, { ctasPerSm: 2, minK: 512, minChunk: 64, maxSplits: 8 }, { ctasPerSm: 8, minK: 1, minChunk: 16, maxSplits: 64 }];
  let split = 0;
  for (const rule of rules) {
    for (const numSms of [1, 8, 78, 108, 132]) {
      for (const ctas of [1, 2, 3, 9, 24, 65, 112, 263, 264, 528, 1000]) {
        for (const k of [1, 15, 16, 17, 255, 511, 2047, 2048, 2051, 4097, 7168, 16384, 16385, 100003]) {
          const { splits, chunk } = cudaLayerGemmSplitK(k, ctas, numSms, rule);
          const at = `k ${k}, ${ctas} CTAs, ${numSms} SMs, ${JSON.stringify(rule)}`;
          if (splits === 1) { assert.equal(chunk, k, at); continue; }
          split++;
          assert.ok(k >= rule.minK, `split below minK: ${at}`);
          assert.equal(chunk % 16, 0, `chunk ${chunk} not whole slices: ${at}`);
          assert.ok((splits - 1) * chunk < k && splits * chunk >= k, `chunk ${chunk} x ${splits} does not cover k exactly once, last range non-empty: ${at}`);
          assert.ok(chunk >= rule.minChunk, `chunk ${chunk} under minChunk: ${at}`);
          assert.ok(splits <= rule.maxSplits, `${splits} splits: ${at}`);
          assert.ok(splits * ctas <= numSms * rule.ctasPerSm, `${splits} x ${ctas} CTAs over ${numSms} SMs: ${at}`);
        }
      }
    }
  }
  assert.ok(split > 100, `only ${split} cases split`);
});

test('layerSplitK option and FLASHMLA_CUDA_LAYER_SPLITK', () => {
  assert.equal(resolveCudaLayerSplitK(false), undefined);
  assert.equal(resolveCudaLayerSplitK(undefined), cudaLayerSplitKDefault);
  assert.equal(resolveCudaLayerSplitK(true), cudaLayerSplitKDefault);
  assert.deepEqual(resolveCudaLayerSplitK({ ctasPerSm: 2 }), { ...cudaLayerSplitKDefault, ctasPerSm: 2 });
  assert.throws(() => resolveCudaLayerSplitK({ minChunk: 0 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'layerSplitK.minChunk');
  assert.throws(() => resolveCudaLayerSplitK({ ctasPerSm: 1.5 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'layerSplitK.ctasPerSm');
  assert.equal(cudaLayerSplitKFromEnv(undefined), undefined);
  assert.equal(cudaLayerSplitKFromEnv(''), undefined);
  assert.equal(cudaLayerSplitKFromEnv('0'), false);
  assert.equal(cudaLayerSplitKFromEnv('1'), true);
  assert.deepEqual(cudaLayerSplitKFromEnv('ctasPerSm=2, minChunk=512'), { ctasPerSm: 2, minChunk: 512 });
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
  // The workspace is taken once at its bound (numSms * ctasPerSm tiles of 64 x 64 floats), never regrown.
  assert.deepEqual(f.allocs, [132 * 4 * 64 * 64 * 4]);
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

  // Calls that do not split: k under minK, enough CTAs, and the bf16 tensor-core gemm (never split).
  f.launches.length = 0;
  f.ops.gemm({ m: 64, n: 24576, k: 1536, x: f32(64 * 1536), w: f32(24576 * 1536), y: f32(64 * 24576) });
  f.ops.gemm({ m: 64, n: 128, k: 512, batch: 128, x: f32(64 * 128 * 512), xStride: 128 * 512, xBatch: 512, w: f32(128 * 128 * 512), wBatch: 128 * 512, y: f32(64 * 128 * 128), yStride: 128 * 128, yBatch: 128 });
  f.ops.gemm({ m: 64, n: 576, k: 7168, x: bf16(64 * 7168), w: bf16(576 * 7168), y });
  assert.deepEqual(f.launches.map((l) => [l.name, l.grid]), [['mla_gemm_f32', [384, 1, 1]], ['mla_gemm_f32', [2, 1, 128]], ['mla_gemm_bf16', [9, 1, 1]]]);
  assert.deepEqual([f.launches[0].p.ws, f.launches[0].p.splits, f.launches[0].p.chunk], [0n, 1, 1536]);
});

test('gemm dispatch: split-K off, and the workspace while capturing a graph', () => {
  const off = fakeOps(undefined);
  off.ops.gemm({ m: 64, n: 576, k: 7168, x: f32(64 * 7168), w: f32(576 * 7168), y: f32(64 * 576) });
  assert.deepEqual(off.launches.map((l) => [l.name, l.grid]), [['mla_gemm_f32', [9, 1, 1]]]);
  assert.deepEqual(off.allocs, []);

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
});

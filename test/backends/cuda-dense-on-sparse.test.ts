// CPU-only checks of dense FP8 decode on the Hopper sparse kernel (sparse.ts SparseMmaRunner.denseOnSparse; the GPU
// runs are in test/gpu/sparse.test.ts): which dense steps take it, the launches (the index kernel, sparse_sm90.cu's
// exact entry, the combine where a request is split), and the parameters and plan they get.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseSparseMma, sparseMmaKernelName } from '../../src/backends/cuda/kernels/sparse-mma-launch.js';
import { denseFp8Sm90KernelName } from '../../src/backends/cuda/kernels/dense-fp8-sm90-launch.js';
import {
  denseListsKernelName, denseListsLaunch, denseOnSparseSm90, sparseSm90Entry, sparseSm90Launch,
} from '../../src/backends/cuda/kernels/sparse-sm90-launch.js';
import { sparseMmaParamsLayout } from '../../src/backends/cuda/params.js';
import { SparseMmaRunner } from '../../src/backends/cuda/sparse.js';
import type { DenseFp8Call } from '../../src/core/dense-fp8.js';
import { planSparseSchedule } from '../../src/core/sparse-scheduler.js';
import { fromArray } from '../../src/core/tensor.js';
import { fakeSparseRunner } from '../support/fake-sparse-runner.js';

const sm90 = 232448;
const v32 = { kind: 'v32', dtype: 'bf16', dQk: 576 } as const;

test('dense FP8 on sparse_sm90.cu: the rule', () => {
  for (const hQ of [64, 128, 256]) assert.ok(denseOnSparseSm90({ ...v32, hQ }, true, sm90, true, false), `hQ ${hQ}`);
  assert.ok(denseOnSparseSm90({ kind: 'model1', dtype: 'bf16', dQk: 512, hQ: 64 }, true, sm90, true, false), 'MODEL1');
  assert.ok(!denseOnSparseSm90({ ...v32, hQ: 64 }, true, sm90, false, false), 'turned off (FLASHMLA_CUDA_DENSE_FP8_SPARSE=0)');
  assert.ok(!denseOnSparseSm90({ ...v32, hQ: 64 }, true, sm90, true, true), 'dense_fp8_sm90.cu takes it');
  assert.ok(!denseOnSparseSm90({ ...v32, hQ: 64 }, false, sm90, true, false), 'no Hopper sparse kernel');
  for (const hQ of [16, 32, 96]) assert.ok(!denseOnSparseSm90({ ...v32, hQ }, true, sm90, true, false), `hQ ${hQ}: not whole 64-head tiles`);
  assert.ok(!denseOnSparseSm90({ ...v32, dtype: 'f16', hQ: 64 }, true, sm90, true, false), 'f16 queries');
  assert.deepEqual(denseListsLaunch(3, 2), { grid: [6, 1, 1], block: [256, 1, 1], smem: 0 });
  assert.deepEqual(denseListsLaunch(3, 2, 33), { grid: [39, 1, 1], block: [256, 1, 1], smem: 0 }, 'the plan\'s 33 parts first');
});

test('dense FP8 on sparse_sm90.cu: launches, parameters and plan', () => {
  const { launches, paramsAt, copies, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sp90', 'dense_fp8_sm90.fatbin': 'dense90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const seqlens = Int32Array.of(200, 0, 1000);
  const call = (sQ: number, hQ: number, format: 'v32' | 'model1' = 'v32', lens: 'cpu' | 'cuda' = 'cpu'): DenseFp8Call => ({
    format, dtype: 'bf16', b: 3, sQ, hQ, dQk: format === 'v32' ? 576 : 512, pageBlockSize: 64, maxBlocksPerSeq: 16,
    blockStride: format === 'v32' ? 64 * 656 : 65 * 576, numSmParts: 5, causal: true, softmaxScale: 0.04,
    q: dev, kCache: dev, out: dev, lse: dev,
    blockTable: fromArray('i32', [3, 16], new Int32Array(48)),
    cacheSeqlens: lens === 'cpu' ? fromArray('i32', [3], seqlens) : dev,
    tileSchedulerMetadata: fromArray('i32', [5, 8], new Int32Array(40)), numSplits: fromArray('i32', [4], Int32Array.of(0, 2, 3, 6)),
  });
  const on = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true }));
  const read = (v: DataView, name: string, type: 'i32' | 'ptr' = 'i32') =>
    type === 'ptr' ? v.getBigUint64(sparseMmaParamsLayout.offsets[name], true) : v.getInt32(sparseMmaParamsLayout.offsets[name], true);

  for (const [sQ, hQ, format] of [[1, 128, 'v32'], [2, 64, 'v32'], [1, 64, 'model1']] as const) {
    launches.length = 0; paramsAt.length = 0; copies.length = 0;
    const on = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true })); // (a fresh workspace: every staged tensor copied)
    const l = call(sQ, hQ, format);
    const entry = sparseSm90Entry(format, hQ, 'exact');
    assert.equal(on.kernelForDense(l), entry.name);
    assert.ok(!entry.name.endsWith('_sp'), 'P as hi + lo');
    assert.ok(on.dense(l));
    const plan = planSparseSchedule({ b: 3, topk: 1000, topkLength: seqlens, extraTopk: 0 }, 5);
    const split = plan.numSplits[3] !== 3;
    assert.deepEqual(launches, [
      { name: `mma:${denseListsKernelName}`, ...flat(denseListsLaunch(3, sQ)) },
      { name: `sp90:${entry.name}`, ...flat(sparseSm90Launch(5, sQ, hQ, format)) },
      ...(split ? [{ name: 'mma:mla_sparse_mma_combine_bf16', grid: [3, sQ, hQ / 4], block: 128, smem: 0 }] : []),
    ], `${format} sQ ${sQ} hQ ${hQ}`);
    // one parameter block for all of them: the lists' stride is the longest sequence, topkLength the host's lengths
    for (const v of paramsAt.slice(1)) assert.deepEqual(new Uint8Array(v.buffer), new Uint8Array(paramsAt[0].buffer));
    const v = paramsAt[0];
    assert.equal(read(v, 'topk'), 1000);
    assert.equal(read(v, 'dense'), 0);
    assert.equal(read(v, 'causal'), 1);
    assert.equal(read(v, 'sQ'), sQ);
    assert.equal(read(v, 'maxBlocksPerSeq'), 16);
    assert.equal(read(v, 'extraTopk'), 0);
    assert.equal(read(v, 'extraIndices', 'ptr'), 0n);
    assert.equal(read(v, 'attnSink', 'ptr'), 0n);
    const idx = read(v, 'indices', 'ptr') as bigint, lens = read(v, 'topkLength', 'ptr') as bigint;
    assert.ok(idx !== 0n && lens !== 0n);
    assert.equal(read(v, 'cacheSeqlens', 'ptr'), lens);
    // the staged copies: the lengths (as topkLength) and the sparse plan, not the dense metadata
    const copyAt = (p: bigint) => copies.find((c) => c.dst === p)?.bytes;
    assert.deepEqual(copyAt(lens), new Uint8Array(seqlens.buffer.slice(0)));
    assert.deepEqual(copyAt(read(v, 'tileSchedulerMetadata', 'ptr') as bigint), new Uint8Array(plan.tileSchedulerMetadata.buffer.slice(0)));
    assert.deepEqual(copyAt(read(v, 'numSplits', 'ptr') as bigint), new Uint8Array(plan.numSplits.buffer.slice(0)));
    // the lists lie past the accumulators, 4 bytes an entry: b * sQ * topk of them
    assert.ok(idx > (read(v, 'oAccum', 'ptr') as bigint));
  }

  // lengths only on the device: the plan on the device too (the same launch's first CTAs, into the workspace), nothing copied from
  // the host, the lists' stride the block table's width, the combine always
  for (const [sQ, hQ] of [[1, 128], [3, 64]] as const) {
    launches.length = 0; paramsAt.length = 0; copies.length = 0;
    const ondev = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true }));
    const l = { ...call(sQ, hQ, 'v32', 'cuda'), blockTable: dev };
    assert.equal(ondev.kernelForDense(l), sparseSm90Entry('v32', hQ, 'exact').name);
    assert.ok(ondev.dense(l));
    assert.deepEqual(launches, [
      { name: `mma:${denseListsKernelName}`, ...flat(denseListsLaunch(3, sQ, 5)) },
      { name: `sp90:${sparseSm90Entry('v32', hQ, 'exact').name}`, ...flat(sparseSm90Launch(5, sQ, hQ)) },
      { name: 'mma:mla_sparse_mma_combine_bf16', grid: [3, sQ, hQ / 4], block: 128, smem: 0 },
    ]);
    assert.deepEqual(copies, [], 'nothing copied from the host');
    const v = paramsAt[0];
    assert.equal(read(v, 'topk'), 16 * 64);
    const meta = read(v, 'tileSchedulerMetadata', 'ptr') as bigint, ns = read(v, 'numSplits', 'ptr') as bigint, idx = read(v, 'indices', 'ptr') as bigint;
    assert.ok(meta > (read(v, 'oAccum', 'ptr') as bigint) && ns > meta && idx > ns, 'metadata, splits and lists past the accumulators');
    assert.equal(meta % 256n, 0n); assert.equal(ns % 256n, 0n); assert.equal(idx % 256n, 0n);
    assert.ok(ns - meta >= 5n * 32n && idx - ns >= 4n * 4n, 'regions do not overlap');
    assert.equal(read(v, 'topkLength', 'ptr'), 4096n, 'topkLength: the device lengths');
  }

  // what stays where it was: 16 / 32 rows on dense_fp8_sm90.cu, the switch off, no Hopper build
  launches.length = 0;
  assert.ok(on.dense(call(2, 16)));
  assert.equal(launches[0].name, `dense90:${denseFp8Sm90KernelName(32)}`);
  const m64 = sparseMmaKernelName(chooseSparseMma('v32', 'bf16', 576, 64, sm90)!);
  assert.equal(new SparseMmaRunner(host(true, { denseFp8Sm90: true })).kernelForDense(call(1, 64)), m64, 'switch off');
  assert.equal(new SparseMmaRunner(host(false, { denseOnSparse: true })).kernelForDense(call(1, 64)), m64, 'no Hopper build');
});

function flat(g: { grid: readonly number[]; block: readonly number[]; smem: number }) {
  return { grid: [...g.grid], block: g.block[0], smem: g.smem };
}

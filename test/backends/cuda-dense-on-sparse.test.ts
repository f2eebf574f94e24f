// CPU-only checks of dense FP8 decode on the Hopper sparse kernel (sparse.ts SparseMmaRunner.denseOnSparse; the GPU
// runs are in test/gpu/sparse.test.ts): which dense steps take it, the launches (the index kernel, sparse_sm90.cu's
// exact entry, the combine where a request is split), and the parameters and plan they get.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseSparseMma, sparseMmaKernelName } from '../../src/backends/cuda/kernels/sparse-mma-launch.js';
import { denseFp8Sm90KernelName } from '../../src/backends/cuda/kernels/dense-fp8-sm90-launch.js';
import {
  cudaFp8RoutesText, denseFoldFromEnv, denseFoldOnSparseSm90, denseListsKernelName, denseListsLaunch, denseOnSparseSm90, denseTailKernelName, denseTailLaunch, sparseSm90Entry,
  sparseSm90Launch,
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
  assert.deepEqual(denseListsLaunch(3, 2, 1000), { grid: [6, 1, 1], block: [256, 1, 1], smem: 0 });
  assert.deepEqual(denseListsLaunch(3, 2, 2049), { grid: [12, 1, 1], block: [256, 1, 1], smem: 0 }, '2048 entries a CTA');
  assert.deepEqual(denseListsLaunch(3, 2, 8192, 33), { grid: [1 + 24, 1, 1], block: [256, 1, 1], smem: 0 }, 'one CTA for the plan of 33 parts first');
});

test('dense FP8 on sparse_sm90.cu: launches, parameters and plan', () => {
  const { launches, paramsAt, copies, memsets, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sp90', 'dense_fp8_sm90.fatbin': 'dense90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const seqlens = Int32Array.of(200, 0, 1000);
  const call = (sQ: number, hQ: number, format: 'v32' | 'model1' = 'v32', lens: 'cpu' | 'cuda' = 'cpu'): DenseFp8Call => ({
    format, dtype: 'bf16', b: 3, sQ, hQ, dQk: format === 'v32' ? 576 : 512, pageBlockSize: 64, maxBlocksPerSeq: 16, numBlocks: 48,
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
      { name: `mma:${denseListsKernelName}`, ...flat(denseListsLaunch(3, sQ, 1000)) },
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
    assert.equal(read(v, 'numTokens'), 48 * 64, 'the cache\'s tokens: sparse_sm90.cu counts a list id past them as absent (idLive)');
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

  // lengths only on the device: the plan on the device too (the same launch's CTA 0, into the runner's plan buffer with its
  // record), nothing copied from the host, the lists' stride the block table's width, the combine always
  for (const [sQ, hQ] of [[1, 128], [3, 64]] as const) {
    launches.length = 0; paramsAt.length = 0; copies.length = 0; memsets.length = 0;
    const ondev = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true }));
    const l = { ...call(sQ, hQ, 'v32', 'cuda'), blockTable: dev };
    assert.equal(ondev.kernelForDense(l), sparseSm90Entry('v32', hQ, 'exact').name);
    assert.ok(ondev.dense(l));
    assert.deepEqual(launches, [
      { name: `mma:${denseListsKernelName}_plan`, ...flat(denseListsLaunch(3, sQ, 16 * 64, 5)) },
      { name: `sp90:${sparseSm90Entry('v32', hQ, 'exact').name}`, ...flat(sparseSm90Launch(5, sQ, hQ)) },
      { name: 'mma:mla_sparse_mma_combine_bf16', grid: [3, sQ, hQ / 4], block: 128, smem: 0 },
    ]);
    assert.deepEqual(copies, [], 'nothing copied from the host');
    const v = paramsAt[0];
    assert.equal(read(v, 'topk'), 16 * 64);
    assert.equal(read(v, 'planParts'), 5);
    const state = read(v, 'planState', 'ptr') as bigint, meta = read(v, 'tileSchedulerMetadata', 'ptr') as bigint, ns = read(v, 'numSplits', 'ptr') as bigint;
    const idx = read(v, 'indices', 'ptr') as bigint, acc = read(v, 'oAccum', 'ptr') as bigint;
    assert.ok(idx > acc, 'the lists past the accumulators');
    assert.ok(state !== 0n && meta > state && ns > meta, 'the record, the rows and the split counts in that order');
    assert.ok(state >= idx + BigInt(3 * sQ * 16 * 64 * 4), 'the plan in its own allocation (the fake allocates upwards: after the workspace and its lists)');
    for (const p of [state, meta, ns, idx]) assert.equal(p % 256n, 0n);
    assert.ok(meta - state >= BigInt((4 + 3) * 4) && ns - meta >= 5n * 32n, 'regions do not overlap');
    assert.deepEqual(memsets, [{ dst: state, value: 0, words: 4 }], 'a new plan buffer starts "not planned"');
    assert.equal(read(v, 'topkLength', 'ptr'), 4096n, 'topkLength: the device lengths');
    // the next call (a later layer): the same buffer and record, not cleared again (the kernel compares the lengths)
    paramsAt.length = 0;
    assert.ok(ondev.dense(l));
    assert.equal(read(paramsAt[0], 'planState', 'ptr'), state);
    assert.equal(read(paramsAt[0], 'tileSchedulerMetadata', 'ptr'), meta);
    assert.equal(memsets.length, 1);
    // FLASHMLA_CUDA_SPARSE_REPLAN=1: no record, the walk at every call
    paramsAt.length = 0;
    assert.ok(new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true, replanAlways: true })).dense(l));
    assert.equal(read(paramsAt[0], 'planState', 'ptr'), 0n);
    assert.equal(read(paramsAt[0], 'planParts'), 5);
  }

  // what stays where it was: 16 / 32 rows on dense_fp8_sm90.cu, the switch off, no Hopper build
  launches.length = 0;
  assert.ok(on.dense(call(2, 16)));
  assert.equal(launches[0].name, `dense90:${denseFp8Sm90KernelName(32)}`);
  const m64 = sparseMmaKernelName(chooseSparseMma('v32', 'bf16', 576, 64, sm90)!);
  assert.equal(new SparseMmaRunner(host(true, { denseFp8Sm90: true })).kernelForDense(call(1, 64)), m64, 'switch off');
  assert.equal(new SparseMmaRunner(host(false, { denseOnSparse: true })).kernelForDense(call(1, 64)), m64, 'no Hopper build');
});

test('dense FP8 folded on sparse_sm90.cu: the rule', () => {
  for (const fold of ['rows', 'pair', 'all'] as const) {
    for (const [hQ, sQ] of [[32, 2], [16, 4], [32, 4], [8, 8], [96, 2], [1, 64]]) {
      assert.ok(denseFoldOnSparseSm90({ ...v32, hQ, sQ }, true, sm90, fold), `${fold}: hQ ${hQ} sQ ${sQ}`);
    }
    assert.ok(denseFoldOnSparseSm90({ kind: 'model1', dtype: 'bf16', dQk: 512, hQ: 32, sQ: 2 }, true, sm90, fold), `${fold}: MODEL1`);
    for (const [hQ, sQ] of [[32, 1], [16, 3], [48, 2], [128, 1], [10, 4], [64, 1]]) {
      assert.ok(!denseFoldOnSparseSm90({ ...v32, hQ, sQ }, true, sm90, fold), `${fold}: hQ ${hQ} sQ ${sQ}: one query, or no whole 64-head tiles`);
    }
    assert.ok(!denseFoldOnSparseSm90({ ...v32, hQ: 32, sQ: 2 }, false, sm90, fold), 'no Hopper sparse kernel');
    assert.ok(!denseFoldOnSparseSm90({ ...v32, dtype: 'f16', hQ: 32, sQ: 2 }, true, sm90, fold), 'f16 queries');
    assert.ok(!denseFoldOnSparseSm90({ ...v32, dQk: 512, hQ: 32, sQ: 2 }, true, sm90, fold), 'V3.2 with 512-dim queries');
  }
  assert.ok(!denseFoldOnSparseSm90({ ...v32, hQ: 32, sQ: 2 }, true, sm90, false), 'turned off');
  assert.deepEqual([undefined, '', '0', 'rows', 'all', 'x'].map(denseFoldFromEnv), ['pair', 'pair', false, 'rows', 'all', 'pair'], 'FLASHMLA_CUDA_DENSE_FP8_FOLD');
  // hQ a multiple of 64: 'pair' folds where that moves the step onto the pair entry (hQ no multiple of 128, sQ * hQ one)
  const multiple = [[64, 2, true], [64, 4, true], [192, 2, true], [64, 3, false], [128, 2, false], [128, 3, false], [256, 2, false]] as const;
  for (const [hQ, sQ, pair] of multiple) {
    assert.equal(denseFoldOnSparseSm90({ ...v32, hQ, sQ }, true, sm90, 'pair'), pair, `pair: hQ ${hQ} sQ ${sQ}`);
    assert.ok(!denseFoldOnSparseSm90({ ...v32, hQ, sQ }, true, sm90, 'rows'), `rows: hQ ${hQ} sQ ${sQ}`);
    assert.ok(denseFoldOnSparseSm90({ ...v32, hQ, sQ }, true, sm90, 'all'), `all: hQ ${hQ} sQ ${sQ}`);
  }
  assert.equal(denseTailKernelName('v32'), 'mla_dense_fp8_tail_v32');
  assert.equal(denseTailKernelName('model1'), 'mla_dense_fp8_tail_model1');
  assert.deepEqual(denseTailLaunch(3, 2, 32), { grid: [48, 1, 1], block: [128, 1, 1], smem: 0 });
  assert.deepEqual(denseTailLaunch(1, 3, 5), { grid: [4, 1, 1], block: [128, 1, 1], smem: 0 }, 'a warp a row, the last CTA part full');
});

test('the runner\'s workspace: host index tensors copied again into a grown workspace, also at the old address', () => {
  const { copies, host, reuse } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sp90', 'dense_fp8_sm90.fatbin': 'dense90' }, sm90);
  reuse.on = true;
  const dev = { device: 'cuda' } as never;
  const table = fromArray('i32', [3, 16], new Int32Array(48)), lens = fromArray('i32', [3], Int32Array.of(200, 0, 1000));
  const call = (hQ: number): DenseFp8Call => ({
    format: 'v32', dtype: 'bf16', b: 3, sQ: 1, hQ, dQk: 576, pageBlockSize: 64, maxBlocksPerSeq: 16, numBlocks: 48, blockStride: 64 * 656, numSmParts: 5,
    causal: true, softmaxScale: 0.04, q: dev, kCache: dev, out: dev, lse: dev, blockTable: table, cacheSeqlens: lens,
    tileSchedulerMetadata: fromArray('i32', [5, 8], new Int32Array(40)), numSplits: fromArray('i32', [4], Int32Array.of(0, 2, 3, 6)),
  });
  const r = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true }));
  assert.ok(r.dense(call(64)));
  const first = copies.length;
  assert.ok(first > 0, 'the host tensors are copied');
  assert.ok(r.dense(call(64)));
  assert.equal(copies.length, first, 'a repeat copies nothing');
  assert.ok(r.dense(call(256))); // 4x the accumulators: the workspace grows, here back at the address it had
  assert.equal(copies.length, 2 * first, 'the same host tensors are copied into the new allocation');
});

test('dense FP8 with a part-empty head tile (the default; FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0 off): the rule and the launches', () => {
  const m1f = { kind: 'model1', dtype: 'bf16', dQk: 512 } as const;
  // folded: any sQ * hQ once partial tiles are allowed, but never a step dense_fp8_sm90.cu takes
  assert.ok(denseFoldOnSparseSm90({ ...v32, hQ: 16, sQ: 3 }, true, sm90, 'pair', true), '48 rows');
  assert.ok(!denseFoldOnSparseSm90({ ...v32, hQ: 16, sQ: 3 }, true, sm90, 'pair', false), '48 rows without partial tiles');
  assert.ok(!denseFoldOnSparseSm90({ ...v32, hQ: 16, sQ: 2 }, true, sm90, 'pair', true, true), '32 rows: dense_fp8_sm90.cu keeps them');
  assert.ok(denseFoldOnSparseSm90({ ...m1f, hQ: 16, sQ: 2 }, true, sm90, 'pair', true), 'MODEL1, 32 rows');
  assert.ok(!denseFoldOnSparseSm90({ ...v32, hQ: 64, sQ: 3 }, true, sm90, 'pair', true), '64 x 3: no entry change, left unfolded');
  // unfolded: one query of any hQ
  assert.ok(denseOnSparseSm90({ ...m1f, hQ: 16 }, true, sm90, true, false, true), 'MODEL1 16 heads');
  assert.ok(!denseOnSparseSm90({ ...m1f, hQ: 16 }, true, sm90, true, false, false), 'MODEL1 16 heads without partial tiles');
  assert.ok(!denseOnSparseSm90({ ...v32, hQ: 16 }, true, sm90, true, true, true), 'dense_fp8_sm90.cu keeps V3.2 at 16 rows');
  const { launches, paramsAt, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sp90', 'dense_fp8_sm90.fatbin': 'dense90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const call = (format: 'v32' | 'model1', sQ: number, hQ: number): DenseFp8Call => ({
    format, dtype: 'bf16', b: 3, sQ, hQ, dQk: format === 'v32' ? 576 : 512, pageBlockSize: 64, maxBlocksPerSeq: 16, numBlocks: 48,
    blockStride: format === 'v32' ? 64 * 656 : 65 * 576, numSmParts: 5, causal: true, softmaxScale: 0.04, q: dev, kCache: dev, out: dev, lse: dev,
    blockTable: fromArray('i32', [3, 16], new Int32Array(48)), cacheSeqlens: fromArray('i32', [3], Int32Array.of(200, 0, 1000)),
    tileSchedulerMetadata: fromArray('i32', [5, 8], new Int32Array(40)), numSplits: fromArray('i32', [4], Int32Array.of(0, 2, 3, 6)),
  });
  const r = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true, denseFold: 'pair', densePartial: true }));
  assert.equal(r.kernelForDense(call('v32', 3, 16)), `${sparseSm90Entry('v32', 48, 'exact').name}+${denseTailKernelName('v32')}`);
  assert.ok(r.dense(call('v32', 3, 16)));
  assert.deepEqual(launches[1].grid, [5, 1, 1], 'one part-empty 64-head tile a part');
  assert.equal(paramsAt[1].getInt32(sparseMmaParamsLayout.offsets.hQ, true), 48);
  assert.equal(launches.at(-1)!.name, `mma:${denseTailKernelName('v32')}`);
  launches.length = 0;
  assert.equal(r.kernelForDense(call('model1', 1, 16)), sparseSm90Entry('model1', 16, 'exact').name);
  assert.ok(r.dense(call('model1', 1, 16)));
  assert.deepEqual(launches[1].grid, [5, 1, 1]);
  assert.equal(r.kernelForDense(call('v32', 2, 16)), denseFp8Sm90KernelName(32), 'V3.2 at 32 rows stays on dense_fp8_sm90.cu');
  // off (the default): MODEL1 at 16 heads stays on the mma.sync kernel
  const off = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true, denseFold: 'pair' }));
  assert.equal(off.kernelForDense(call('model1', 1, 16)), sparseMmaKernelName(chooseSparseMma('model1', 'bf16', 512, 16, sm90)!));
});

test('dense FP8 folded on sparse_sm90.cu: launches and parameters (one query of sQ * hQ heads, then the tail)', () => {
  const { launches, paramsAt, copies, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sp90', 'dense_fp8_sm90.fatbin': 'dense90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const seqlens = Int32Array.of(200, 0, 1000);
  const read = (v: DataView, name: string, type: 'i32' | 'ptr' = 'i32') =>
    type === 'ptr' ? v.getBigUint64(sparseMmaParamsLayout.offsets[name], true) : v.getInt32(sparseMmaParamsLayout.offsets[name], true);
  const call = (sQ: number, hQ: number, format: 'v32' | 'model1', causal: boolean, lens: 'cpu' | 'cuda'): DenseFp8Call => ({
    format, dtype: 'bf16', b: 3, sQ, hQ, dQk: format === 'v32' ? 576 : 512, pageBlockSize: 64, maxBlocksPerSeq: 16, numBlocks: 48,
    blockStride: format === 'v32' ? 64 * 656 : 65 * 576, numSmParts: 5, causal, softmaxScale: 0.04,
    q: dev, kCache: dev, out: dev, lse: dev,
    blockTable: fromArray('i32', [3, 16], new Int32Array(48)),
    cacheSeqlens: lens === 'cpu' ? fromArray('i32', [3], seqlens) : dev,
    tileSchedulerMetadata: fromArray('i32', [5, 8], new Int32Array(40)), numSplits: fromArray('i32', [4], Int32Array.of(0, 2, 3, 6)),
  });
  const plan = planSparseSchedule({ b: 3, topk: 1000, topkLength: seqlens, extraTopk: 0 }, 5);
  for (const [sQ, hQ, format, causal, lens] of [[2, 32, 'v32', true, 'cpu'], [4, 16, 'model1', true, 'cpu'], [2, 32, 'v32', false, 'cpu'],
    [4, 32, 'v32', true, 'cuda']] as const) {
    launches.length = 0; paramsAt.length = 0; copies.length = 0;
    const r = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true, denseFold: 'rows' }));
    const l = call(sQ, hQ, format, causal, lens);
    const rows = sQ * hQ, entry = sparseSm90Entry(format, rows, 'exact');
    const what = `${format} sQ ${sQ} hQ ${hQ}${causal ? '' : ' non-causal'}, lengths on the ${lens === 'cpu' ? 'host' : 'device'}`;
    assert.equal(r.kernelForDense(l), `${entry.name}+${denseTailKernelName(format)}`, what);
    assert.ok(r.dense(l));
    const split = lens === 'cuda' || plan.numSplits[3] !== 3;
    assert.deepEqual(launches, [
      ...(lens === 'cuda' ? [{ name: `mma:${denseListsKernelName}_plan`, ...flat(denseListsLaunch(3, 1, 16 * 64, 5)) }] : [{ name: `mma:${denseListsKernelName}`, ...flat(denseListsLaunch(3, 1, 1000)) }]),
      { name: `sp90:${entry.name}`, ...flat(sparseSm90Launch(5, 1, rows, format)) },
      ...(split ? [{ name: 'mma:mla_sparse_mma_combine_bf16', grid: [3, 1, rows / 4], block: 128, smem: 0 }] : []),
      { name: `mma:${denseTailKernelName(format)}`, ...flat(denseTailLaunch(3, sQ, hQ)) },
    ], what);
    const main = paramsAt[0], tail = paramsAt[paramsAt.length - 1];
    for (const v of paramsAt.slice(1, -1)) assert.deepEqual(new Uint8Array(v.buffer), new Uint8Array(main.buffer), `${what}: lists, kernel and merge share a block`);
    // the folded launch: one query of sQ * hQ heads, the lists less the sQ - 1 keys only later queries see, lse to the workspace
    assert.equal(read(main, 'sQ'), 1, what);
    assert.equal(read(main, 'hQ'), rows, what);
    assert.equal(read(main, 'listShift'), causal ? sQ - 1 : 0, what);
    assert.equal(read(main, 'causal'), causal ? 1 : 0, what);
    const lseFold = read(main, 'lse', 'ptr') as bigint;
    assert.ok(lseFold !== 4096n && lseFold > (read(main, 'indices', 'ptr') as bigint), `${what}: the folded lse in the workspace, past the lists`);
    assert.equal(lseFold % 4n, 0n);
    const topk = read(main, 'topk') as number;
    assert.ok(lseFold - (read(main, 'indices', 'ptr') as bigint) >= BigInt(3 * topk * 4), `${what}: the lists (b * topk entries) end before it`);
    // the tail: the step's own shape, its lse from the folded one, the real lse, the same cache, table, lengths and scale
    assert.equal(read(tail, 'sQ'), sQ); assert.equal(read(tail, 'hQ'), hQ);
    assert.equal(read(tail, 'lseAccum', 'ptr'), lseFold);
    assert.equal(read(tail, 'lse', 'ptr'), 4096n, 'the caller\'s lse');
    assert.equal(read(tail, 'listShift'), 0);
    for (const f of ['q', 'kCache', 'out', 'blockTable', 'cacheSeqlens'] as const) assert.equal(read(tail, f, 'ptr'), read(main, f, 'ptr'), `${what}: ${f}`);
    for (const f of ['b', 'topk', 'causal', 'pageBlockSize', 'blockStride', 'maxBlocksPerSeq']) assert.equal(read(tail, f), read(main, f), `${what}: ${f}`);
    assert.equal(tail.getFloat32(sparseMmaParamsLayout.offsets.scaleLog2, true), main.getFloat32(sparseMmaParamsLayout.offsets.scaleLog2, true));
  }
  // 'pair' (the backend's default): hQ 64 with sQ 2 folds onto the pair entry; 'rows' leaves it on the single entry, sQ 2
  for (const [fold, want] of [['pair', `${sparseSm90Entry('v32', 128, 'exact').name}+${denseTailKernelName('v32')}`], ['rows', sparseSm90Entry('v32', 64, 'exact').name]] as const) {
    launches.length = 0; paramsAt.length = 0;
    const r = new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true, denseFold: fold }));
    assert.equal(r.kernelForDense(call(2, 64, 'v32', true, 'cpu')), want, fold);
    assert.ok(r.dense(call(2, 64, 'v32', true, 'cpu')));
    assert.equal(launches[1].name, `sp90:${fold === 'pair' ? sparseSm90Entry('v32', 128, 'exact').name : want}`);
    assert.deepEqual(launches[1].grid, fold === 'pair' ? [5, 1, 2] : [5, 2, 1], `${fold}: grid (parts, sQ, hQ / 64)`);
    assert.equal(launches.at(-1)!.name, fold === 'pair' ? `mma:${denseTailKernelName('v32')}` : launches.at(-1)!.name);
  }
  // FLASHMLA_CUDA_DENSE_FP8_FOLD=0 (denseFold false) or the dense-on-sparse switch off: the mma.sync kernel
  const m64 = sparseMmaKernelName(chooseSparseMma('v32', 'bf16', 576, 64, sm90)!);
  assert.equal(new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseOnSparse: true })).kernelForDense(call(2, 32, 'v32', true, 'cpu')), m64);
  assert.equal(new SparseMmaRunner(host(true, { denseFp8Sm90: true, denseFold: 'pair' })).kernelForDense(call(2, 32, 'v32', true, 'cpu')), m64);
});

test('flashmla info: the CUDA backend\'s FP8 routes in words, as the switches set them', () => {
  const on = { sparseSm90: true, denseFp8Sm90: true, denseOnSparse: true, fold: 'pair', partial: 'all', densePartial: true } as const;
  const t = cudaFp8RoutesText(on);
  assert.match(t.sparse, /^sparse_sm90\.cu \(wgmma\) .* any hQ \(a part-empty last head tile\); sparse_mma\.cu \(mma\.sync\) for the rest/);
  assert.match(t.denseFp8, /^dense_fp8_sm90\.cu .* up to 32 rows; sparse_sm90\.cu on lists .* any hQ \(a part-empty last head tile\); folded .* exceeds 32 rows and hQ is not, or the fold reaches the pair entry .*; sparse_mma\.cu \(mma\.sync\) for the rest$/);
  assert.match(cudaFp8RoutesText({ ...on, partial: 'off' }).sparse, /hQ a multiple of 64 \(FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=0\)/);
  assert.doesNotMatch(cudaFp8RoutesText({ ...on, fold: 'rows' }).denseFp8, /pair entry/);
  assert.doesNotMatch(cudaFp8RoutesText({ ...on, fold: false }).denseFp8, /folded/);
  assert.match(cudaFp8RoutesText({ ...on, densePartial: false }).denseFp8, /hQ a multiple of 64 \(FLASHMLA_CUDA_DENSE_FP8_PARTIAL=0\).* is a multiple of 64 and hQ is not/);
  const none = cudaFp8RoutesText({ ...on, sparseSm90: false, denseFp8Sm90: false });
  assert.equal(none.sparse, 'sparse_mma.cu (mma.sync) (f16 queries over FP8 caches as bf16 hi + lo)', 'not an sm_90 device');
  assert.equal(none.denseFp8, 'sparse_mma.cu (mma.sync) for the rest');
});

function flat(g: { grid: readonly number[]; block: readonly number[]; smem: number }) {
  return { grid: [...g.grid], block: g.block[0], smem: g.smem };
}

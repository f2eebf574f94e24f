// CPU-only checks of the Hopper sparse kernel's host side (sparse_sm90.cu; the GPU runs are in
// test/gpu/sparse.test.ts): which launches it takes, its grid and shared memory, and that the runner picks it only
// where the device and the build allow.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sparseBoundKernelName, sparseMmaKernelName, chooseSparseMma } from '../../src/backends/cuda/kernels/sparse-mma-launch.js';
import {
  sparseSm90Entry, sparseSm90KernelName, sparseSm90Launch, sparseSm90Model1KernelName, sparseSm90Model1Smem, sparseSm90PairSuffix, sparseSm90SinglePSuffix,
  sparsePartialFromEnv, sparseSm90Smem, useSparseSm90,
} from '../../src/backends/cuda/kernels/sparse-sm90-launch.js';
import { sparseMmaParamsLayout } from '../../src/backends/cuda/params.js';
import { SparseMmaRunner, type SparseMmaHost } from '../../src/backends/cuda/sparse.js';
import type { SparseCall } from '../../src/core/sparse.js';
import { type Tensor, fromArray } from '../../src/core/tensor.js';
import { fakeSparseRunner } from '../support/fake-sparse-runner.js';

const sm90 = 232448, sm80 = 166912;
const v32 = { kind: 'v32', dtype: 'bf16', dQk: 576 } as const;
const m1 = { kind: 'model1', dtype: 'bf16', dQk: 512 } as const;

test('sparse_sm90: the rule is V3.2 or MODEL1, bf16 queries, hQ a multiple of 64, on a Hopper build', () => {
  for (const f of [v32, m1]) {
    for (const hQ of [64, 128, 192, 256]) assert.ok(useSparseSm90({ ...f, hQ }, true, sm90), `${f.kind} hQ ${hQ}`);
    for (const hQ of [1, 16, 32, 33, 96, 127]) assert.ok(!useSparseSm90({ ...f, hQ }, true, sm90), `${f.kind} hQ ${hQ} is not whole 64-head tiles`);
    assert.ok(!useSparseSm90({ ...f, hQ: 128 }, false, sm90), 'not an sm_90 device (or the fatbin is not built)');
    assert.ok(!useSparseSm90({ ...f, hQ: 128 }, true, sm80), 'shared memory');
    assert.ok(!useSparseSm90({ ...f, dtype: 'f16', hQ: 128 }, true, sm90), 'an f16 query over an FP8 cache');
  }
  assert.ok(!useSparseSm90({ ...m1, dQk: 576, hQ: 128 }, true, sm90), 'MODEL1 has 512 query dims');
  assert.ok(!useSparseSm90({ ...v32, dQk: 512, hQ: 128 }, true, sm90), 'V3.2 has 576 query dims');
  assert.ok(!useSparseSm90({ kind: 'bf16', dtype: 'bf16', dQk: 576, hQ: 128 }, true, sm90), '16-bit caches stay on sparse_mma.cu');
  assert.ok(!useSparseSm90({ kind: 'bf16', dtype: 'bf16', dQk: 512, hQ: 128 }, true, sm90), '16-bit caches stay on sparse_mma.cu');
});

test('sparse_sm90: other head counts by SparsePartial (the backend: any unless FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=0)', () => {
  for (const f of [v32, m1]) {
    for (const hQ of [1, 3, 16, 17, 32, 63]) {
      assert.ok(useSparseSm90({ ...f, hQ }, true, sm90, 'all'), `all: ${f.kind} hQ ${hQ}`);
      assert.ok(!useSparseSm90({ ...f, hQ }, true, sm90, 'off'), `off: ${f.kind} hQ ${hQ}`);
      assert.ok(!useSparseSm90({ ...f, hQ, dtype: 'f16' }, true, sm90, 'all'), `f16 queries: ${f.kind} hQ ${hQ}`);
      assert.ok(!useSparseSm90({ ...f, hQ }, false, sm90, 'all'), `no Hopper build: ${f.kind} hQ ${hQ}`);
    }
    for (const hQ of [65, 96, 127, 200]) {
      assert.ok(useSparseSm90({ ...f, hQ }, true, sm90, 'all'), `all: ${f.kind} hQ ${hQ}`);
      assert.ok(!useSparseSm90({ ...f, hQ }, true, sm90, 'off'), `off: ${f.kind} hQ ${hQ}`);
    }
    for (const mode of ['off', 'all'] as const) assert.ok(useSparseSm90({ ...f, hQ: 128 }, true, sm90, mode), `${mode}: hQ 128`);
    assert.ok(!useSparseSm90({ ...f, hQ: 0 }, true, sm90, 'all'), 'hQ 0');
  }
  assert.equal(sparsePartialFromEnv(undefined), 'all');
  assert.equal(sparsePartialFromEnv('0'), 'off');
  assert.equal(sparsePartialFromEnv('1'), 'all');
  // the launch: grid z covers the part-empty tile
  assert.deepEqual(sparseSm90Launch(5, 2, 16).grid, [5, 2, 1]);
  assert.deepEqual(sparseSm90Launch(5, 2, 96).grid, [5, 2, 2]);
  assert.equal(sparseSm90Entry('v32', 32, 'fast').name, sparseSm90Entry('v32', 64, 'fast').name, 'the single entry below 64 heads');
});

test('sparse_sm90: grid, block and the shared memory the .cu asserts', () => {
  assert.deepEqual(sparseSm90Launch(33, 2, 128), { grid: [33, 2, 2], block: [384, 1, 1], smem: 230400 });
  assert.deepEqual(sparseSm90Launch(33, 2, 128, 'model1'), { grid: [33, 2, 2], block: [384, 1, 1], smem: 214016 });
  assert.deepEqual(sparseSm90Launch(66, 1, 64).grid, [66, 1, 1]);
  assert.equal(sparseSm90Smem, 230400);
  assert.equal(sparseSm90Model1Smem, 214016);
  const cu = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/sparse_sm90.cu', import.meta.url)), 'utf8');
  assert.ok(cu.includes(`static_assert(mla::ssp::Fmt<false>::SMEM == ${sparseSm90Smem}`), 'sparse_sm90.cu asserts the same V3.2 SMEM');
  assert.ok(cu.includes(`static_assert(mla::ssp::Fmt<true>::SMEM == ${sparseSm90Model1Smem}`), 'sparse_sm90.cu asserts the same MODEL1 SMEM');
  // The eight entries: (V3.2, MODEL1) x (one CTA, pair) x (P as hi + lo, P as one bf16), each with its template arguments.
  assert.match(cu, /MLA_SPARSE_SM90_ENTRY\(NAME, ATTR, M1, C2, SP\)\s*\\\s*extern "C" __global__ void __launch_bounds__\(384, 1\) ATTR NAME\(/, 'the entry macro and its block');
  for (const [name, m1] of [[sparseSm90KernelName, 'false'], [sparseSm90Model1KernelName, 'true']] as const) {
    for (const sp of [false, true]) {
      const tail = sp ? sparseSm90SinglePSuffix : '';
      assert.ok(cu.includes(`MLA_SPARSE_SM90_ENTRY(${name}${tail}, , ${m1}, false, ${sp})`), `the one-CTA entry ${name}${tail}`);
      assert.ok(cu.includes(`MLA_SPARSE_SM90_ENTRY(${name}${sparseSm90PairSuffix}${tail}, MLA_SPARSE_SM90_PAIR, ${m1}, mla::ssp::kPairBit, ${sp})`), `the pair entry ${name}${sparseSm90PairSuffix}${tail}`);
    }
  }
  // The shipped build mode (one line in the .cu): the whole-tile producer (bit 3) with none of the measurement-only
  // bits (2 no wgmma, 4 no token loads, 32 a single bf16 P, 128 MODEL1 scale decoded at its load, 131072 no producer;
  // session 10: 4194304 no producer stores, 8388608 no conversion, 16777216 no DSMEM key stores).
  // The mode is read as a BigInt: since session 16 it has bits above 2^53 (57-59), which a Number would round away.
  const text = /#define MLA_SPARSE_SM90_MODE (\d+)\n/.exec(cu)?.[1];
  assert.ok(text, 'the .cu defines MLA_SPARSE_SM90_MODE');
  const mode = BigInt(text);
  assert.ok(mode < 1n << 63n, `the shipped build mode ${mode} fits the preprocessor's signed 64-bit arithmetic`);
  assert.equal(mode & 8n, 8n, `the shipped build mode ${mode} has the whole-tile producer (bit 3)`);
  assert.equal(mode & (2n | 4n | 32n | 128n | 131072n | 4194304n | 8388608n | 16777216n), 0n, `the shipped build mode ${mode} has no measurement-only bit`);
  // Session 9: the h_q-128 pair entries run as 2-CTA clusters (bit 13, with its required bits 14 and 15).
  assert.equal(mode & (8192n | 16384n | 32768n), 8192n | 16384n | 32768n, `the shipped build mode ${mode} has the pair bits 13-15`);
  // Session 11's bits 33 / 34 (the no-swizzle descriptors' LBO / SBO exchanged: first-call hedges, wrong on the H200)
  // left the code in session 22; since its call F the two bits are the pair producer's L2 prefetch of the next item's
  // first loads (33) in the V3.2 pair entries only (34).
  assert.ok(!/kSwapV|kSwapK/.test(cu), 'the descriptor hedges have left the code');
  assert.equal(mode & (8589934592n | 17179869184n), 8589934592n | 17179869184n, `the shipped build mode ${mode} has bits 33 and 34`);
  // Session 12: the V3.2 pair entry computes its validity flags in each CTA (bit 38, with the token-contiguous pair tile, 31).
  assert.equal(mode & (274877906944n | 2147483648n), 274877906944n | 2147483648n, `the shipped build mode ${mode} has bits 31 and 38`);
  const build = readFileSync(fileURLToPath(new URL('../../scripts/build-kernels.mjs', import.meta.url)), 'utf8');
  assert.match(build, /'sparse_sm90\.cu': \['arch=compute_90a,code=sm_90a'\]/, 'built for sm_90a only');
});

test('sparse_sm90: h_q a multiple of 128 takes the pair entry (2-CTA cluster along z), with the same shared memory', () => {
  for (const kind of ['v32', 'model1'] as const) {
    const base = kind === 'v32' ? sparseSm90KernelName : sparseSm90Model1KernelName;
    for (const precision of ['fast', 'exact'] as const) {
      const tail = precision === 'fast' ? sparseSm90SinglePSuffix : '';
      const one = sparseSm90Entry(kind, 64, precision);
      assert.equal(one.name, base + tail, `${kind} ${precision}`);
      for (const hQ of [128, 256, 384]) assert.deepEqual(sparseSm90Entry(kind, hQ, precision), { name: base + sparseSm90PairSuffix + tail, smem: one.smem }, `${kind} hQ ${hQ} ${precision}`);
      for (const hQ of [64, 192, 320]) assert.deepEqual(sparseSm90Entry(kind, hQ, precision), one, `${kind} hQ ${hQ} ${precision}: an odd number of head tiles`);
    }
    assert.deepEqual(sparseSm90Entry(kind, 128), sparseSm90Entry(kind, 128, 'fast'), 'fast is the default');
  }
});

test('sparse_sm90: the runner dispatches to it only on a Hopper build, else to sparse_mma.cu', () => {
  const host = (hopper: boolean, extra: Partial<SparseMmaHost> = {}): SparseMmaHost => ({
    drv: undefined as never, stream: 0n, maxSmem: sm90, hopper, load: () => 0n, fn: () => 0n, ptrOf: () => 0n, ...extra,
  });
  const call = (hQ: number, kind: 'v32' | 'model1' = 'v32', precision: 'fast' | 'exact' = 'exact') =>
    ({ problem: { cache: { kind }, dtype: 'bf16', dQk: kind === 'v32' ? 576 : 512, hQ, precision } }) as unknown as SparseCall;
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(128)), sparseSm90KernelName + sparseSm90PairSuffix);
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(64)), sparseSm90KernelName);
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(128, 'v32', 'fast')), sparseSm90KernelName + sparseSm90PairSuffix + sparseSm90SinglePSuffix);
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(64, 'model1', 'fast')), sparseSm90Model1KernelName + sparseSm90SinglePSuffix);
  const m64 = sparseMmaKernelName(chooseSparseMma('v32', 'bf16', 576, 64, sm90)!);
  assert.equal(new SparseMmaRunner(host(false)).kernelForSparse(call(128)), m64);
  assert.equal(new SparseMmaRunner(host(false)).kernelForSparse(call(128, 'v32', 'fast')), m64, 'sparse_mma.cu keeps P exact either way');
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(96)), m64, 'a partial 64-head tile');
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(128, 'model1')), sparseSm90Model1KernelName + sparseSm90PairSuffix);
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(64, 'model1')), sparseSm90Model1KernelName);
  const m1_128 = sparseMmaKernelName(chooseSparseMma('model1', 'bf16', 512, 128, sm90)!);
  assert.equal(new SparseMmaRunner(host(false)).kernelForSparse(call(128, 'model1')), m1_128, 'MODEL1 without a Hopper build');
  assert.equal(new SparseMmaRunner(host(true)).kernelForSparse(call(96, 'model1')), sparseMmaKernelName(chooseSparseMma('model1', 'bf16', 512, 96, sm90)!), 'MODEL1, a partial head tile');
  // f16 queries: sparse_mma.cu's split-Q entries (32-row tiles at most), on Hopper too, whatever SparsePartial says
  const f16 = (hQ: number, kind: 'v32' | 'model1') => ({ problem: { cache: { kind }, dtype: 'f16', dQk: kind === 'v32' ? 576 : 512, hQ, precision: 'fast' } }) as unknown as SparseCall;
  assert.equal(new SparseMmaRunner(host(true, { sm90Partial: 'all' })).kernelForSparse(f16(128, 'v32')), 'mla_sparse_mma_v32_f16_d576_m32');
  assert.equal(new SparseMmaRunner(host(true, { sm90Partial: 'all' })).kernelForSparse(f16(5, 'model1')), 'mla_sparse_mma_model1_f16_d512_m16');
});

test('sparse_sm90: the runner launches it from its own fatbin and merges split rows with sparse_mma.cu\'s combine', () => {
  const { launches: runs, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sm90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const call = (hQ: number, split: boolean, kind: 'v32' | 'model1' = 'v32', precision: 'fast' | 'exact' = 'exact'): SparseCall => ({
    problem: {
      b: 2, sQ: 1, hQ, dQk: kind === 'v32' ? 576 : 512, dV: 512, topk: 128, extraTopk: 0, dtype: 'bf16', softmaxScale: 0.04, numSmParts: 33,
      cache: { kind, numBlocks: 16, pageBlockSize: 64, blockStride: kind === 'v32' ? 64 * 656 : 65 * 576 } as never, hasTopkLength: false, hasExtraTopkLength: false, hasAttnSink: false,
      precision, devicePlan: false,
    },
    q: dev, kCache: dev, indices: fromArray('i32', [2, 1, 128], new Int32Array(256)), tileSchedulerMetadata: dev, numSplits: dev, out: dev, lse: dev,
    host: { tileSchedulerMetadata: new Int32Array(33 * 8), numSplits: split ? Int32Array.from([0, 2, 3]) : Int32Array.from([0, 1, 2]) },
  });
  const r = new SparseMmaRunner(host(true));
  assert.ok(r.sparse(call(128, false)));
  assert.deepEqual(runs.map((l) => l.name), [`sm90:${sparseSm90KernelName}${sparseSm90PairSuffix}`], 'one request in one piece: no combine');
  runs.length = 0;
  assert.ok(r.sparse(call(128, true)));
  assert.deepEqual(runs.map((l) => l.name), [`sm90:${sparseSm90KernelName}${sparseSm90PairSuffix}`, 'mma:mla_sparse_mma_combine_bf16'], 'split rows: sparse_mma.cu\'s combine');
  runs.length = 0;
  assert.ok(r.sparse(call(96, true)));
  const m96 = sparseMmaKernelName(chooseSparseMma('v32', 'bf16', 576, 96, sm90)!);
  assert.deepEqual(runs.map((l) => l.name), [`mma:${m96}`, 'mma:mla_sparse_mma_combine_bf16'], 'a partial 64-head tile stays on sparse_mma.cu');
  runs.length = 0;
  assert.ok(new SparseMmaRunner(host(false)).sparse(call(128, true)));
  assert.deepEqual(runs.map((l) => l.name.split(':')[0]), ['mma', 'mma'], 'no Hopper build: sparse_mma.cu and its combine');
  runs.length = 0;
  assert.ok(r.sparse(call(64, true, 'model1')));
  assert.deepEqual(runs.map((l) => l.name), [`sm90:${sparseSm90Model1KernelName}`, 'mma:mla_sparse_mma_combine_bf16'], 'MODEL1: its own entry, split rows through the combine');
  assert.equal(runs[0].smem, sparseSm90Model1Smem, 'with the MODEL1 entry\'s shared memory');
  runs.length = 0;
  assert.ok(r.sparse(call(128, false)));
  assert.equal(runs[0].smem, sparseSm90Smem, 'V3.2 keeps its shared memory');
  runs.length = 0;
  assert.ok(new SparseMmaRunner(host(false)).sparse(call(128, false, 'model1')));
  assert.deepEqual(runs.map((l) => l.name.split(':')[0]), ['mma'], 'MODEL1 without a Hopper build: sparse_mma.cu');
  runs.length = 0;
  assert.ok(r.sparse(call(128, true, 'v32', 'fast')));
  assert.deepEqual(runs.map((l) => l.name), [`sm90:${sparseSm90KernelName}${sparseSm90PairSuffix}${sparseSm90SinglePSuffix}`, 'mma:mla_sparse_mma_combine_bf16'],
    "precision 'fast': the single-P entry, the same combine");
});

test('device index tensors: sparse_sm90.cu reads them as they are and bounds each id itself; sparse_mma.cu reads copies mla_sparse_bound bounded first; host ones are staged', () => {
  const { launches, paramsAt, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sm90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const read = (name: string) => paramsAt[0].getInt32(sparseMmaParamsLayout.offsets[name], true);
  const ptr = (name: string, k = 0) => paramsAt[k].getBigUint64(sparseMmaParamsLayout.offsets[name], true);
  const problem = (hQ: number) => ({
    b: 2, sQ: 1, hQ, dQk: 576, dV: 512, topk: 128, extraTopk: 64, dtype: 'bf16', softmaxScale: 0.04, numSmParts: 33, precision: 'exact',
    cache: { kind: 'v32', numBlocks: 7, pageBlockSize: 64, blockStride: 64 * 656 }, extraCache: { kind: 'v32', numBlocks: 3, pageBlockSize: 2, blockStride: 2 * 656 },
    hasTopkLength: false, hasExtraTopkLength: false, hasAttnSink: false,
  }) as never;
  const call = (indices: Tensor, extraIndices: Tensor, hQ = 128): SparseCall => ({
    problem: problem(hQ), q: dev, kCache: dev, extraKCache: dev, indices, extraIndices, tileSchedulerMetadata: dev, numSplits: dev, out: dev, lse: dev,
    host: { tileSchedulerMetadata: new Int32Array(33 * 8), numSplits: Int32Array.from([0, 1, 2]) },
  } as SparseCall);
  const entry = `sm90:${sparseSm90KernelName}${sparseSm90PairSuffix}`;
  const hostIx = fromArray('i32', [2, 1, 128], new Int32Array(256)), hostX = fromArray('i32', [2, 1, 64], new Int32Array(128));
  // sparse_sm90.cu (the default): no pass; the kernel gets the caller's tensors and the token counts it bounds ids by
  const r = new SparseMmaRunner(host(true));
  assert.ok(r.sparse(call(dev, dev)));
  assert.deepEqual(launches.map((l) => l.name), [entry], 'no bound launch before the Hopper kernel');
  assert.equal(read('numTokens'), 7 * 64);
  assert.equal(read('extraNumTokens'), 3 * 2);
  assert.equal(ptr('rawIndices'), 0n, 'nothing to copy');
  assert.equal(ptr('rawExtraIndices'), 0n);
  launches.length = 0; paramsAt.length = 0;
  assert.ok(r.sparse(call(hostIx, hostX)));
  assert.deepEqual(launches.map((l) => l.name), [entry], 'host indices: checked on the host, staged');
  launches.length = 0; paramsAt.length = 0;
  // FLASHMLA_CUDA_SPARSE_BOUND=pass (sm90BoundPass): the route before session 65, the pass first and the copies read
  const viaPass = new SparseMmaRunner(host(true, { sm90BoundPass: true }));
  assert.ok(viaPass.sparse(call(dev, dev)));
  assert.deepEqual(launches.map((l) => l.name), [`mma:${sparseBoundKernelName}`, entry]);
  assert.deepEqual(launches[0].grid, [2, 1, 1], '384 ids, 256 a CTA');
  assert.equal(read('numTokens'), 7 * 64);
  assert.equal(read('extraNumTokens'), 3 * 2);
  assert.notEqual(ptr('rawIndices'), 0n);
  assert.notEqual(ptr('rawExtraIndices'), 0n);
  assert.notEqual(ptr('indices'), ptr('rawIndices'), 'the kernel reads the bounded copy');
  assert.equal(ptr('extraIndices') - ptr('indices'), 256n * 4n, 'the extra copy after the main one');
  launches.length = 0; paramsAt.length = 0;
  assert.ok(viaPass.sparse(call(hostIx, dev)));
  assert.equal(launches[0].name, `mma:${sparseBoundKernelName}`, 'extraIndices on the device');
  assert.equal(ptr('rawIndices'), 0n, 'host indices staged as they are');
  assert.notEqual(ptr('rawExtraIndices'), 0n);
  launches.length = 0; paramsAt.length = 0;
  // sparse_mma.cu (96 heads here; or no Hopper build): the pass, whose copies the kernel reads
  assert.ok(r.sparse(call(dev, dev, 96)));
  assert.equal(launches[0].name, `mma:${sparseBoundKernelName}`);
  assert.ok(launches[1].name.startsWith('mma:mla_sparse_mma_'), launches[1].name);
  assert.notEqual(ptr('indices', 1), ptr('rawIndices', 1), 'the decode reads the bounded copy');
  launches.length = 0; paramsAt.length = 0;
  assert.ok(new SparseMmaRunner(host(true, { trustDeviceIndices: true })).sparse(call(dev, dev, 96)));
  assert.ok(launches[0].name.startsWith('mma:mla_sparse_mma_'), 'FLASHMLA_CUDA_SPARSE_BOUND=0: used as they are');
  assert.equal(ptr('rawIndices'), 0n);
});

test('sparse_sm90 after a pass (its index pass with FLASHMLA_CUDA_SPARSE_BOUND=pass, a plan pass) is a programmatic dependent (launchDependent); no pass, or a sparse_mma.cu kernel, launches plainly', () => {
  const { launches, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sm90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const problem = (hQ: number) => ({
    b: 2, sQ: 2, hQ, dQk: 576, dV: 512, topk: 128, extraTopk: 0, dtype: 'bf16', softmaxScale: 0.04, numSmParts: 33, precision: 'exact',
    cache: { kind: 'v32', numBlocks: 7, pageBlockSize: 64, blockStride: 64 * 656 }, hasTopkLength: false, hasExtraTopkLength: false, hasAttnSink: false,
  }) as never;
  const call = (hQ: number, indices: Tensor): SparseCall => ({
    problem: problem(hQ), q: dev, kCache: dev, indices, tileSchedulerMetadata: dev, numSplits: dev, out: dev, lse: dev,
    host: { tileSchedulerMetadata: new Int32Array(33 * 8), numSplits: Int32Array.from([0, 1, 2]) },
  } as SparseCall);
  const viaPdl: { name: string; grid: number[]; threads: number; smem: number }[] = [];
  let rc = 0;
  const h = host(true);
  const names = new Map<bigint, string>();
  const r = new SparseMmaRunner({
    ...h, fn: (m, name, smem) => { const f = h.fn(m, name, smem); names.set(f, name); return f; },
    launchDependent: (l) => { viaPdl.push({ name: names.get(l.fn)!, grid: [l.gx, l.gy, l.gz], threads: l.threads, smem: l.smem }); return rc; },
  });
  const entry = `${sparseSm90KernelName}${sparseSm90PairSuffix}`;
  const rPass = new SparseMmaRunner({
    ...h, sm90BoundPass: true, fn: (m, name, smem) => { const f = h.fn(m, name, smem); names.set(f, name); return f; },
    launchDependent: (l) => { viaPdl.push({ name: names.get(l.fn)!, grid: [l.gx, l.gy, l.gz], threads: l.threads, smem: l.smem }); return rc; },
  });
  assert.ok(rPass.sparse(call(128, dev)));
  assert.deepEqual(launches.map((l) => l.name), [`mma:${sparseBoundKernelName}`], 'the pass is a plain launch (it waits for all earlier work)');
  assert.deepEqual(viaPdl, [{ name: entry, ...(({ grid, block, smem }) => ({ grid, threads: block[0], smem }))(sparseSm90Launch(33, 2, 128)) }]);
  launches.length = 0; viaPdl.length = 0;
  assert.ok(r.sparse(call(128, dev)));
  assert.deepEqual(viaPdl, [], 'device indices bounded in the kernel: no pass, a plain launch');
  assert.deepEqual(launches.map((l) => l.name), [`sm90:${entry}`]);
  launches.length = 0;
  assert.ok(r.sparse(call(128, fromArray('i32', [2, 2, 128], new Int32Array(512)))));
  assert.deepEqual(viaPdl, [], 'host indices: no pass before it, so nothing to overlap (the kernel before may still read its workspace)');
  assert.deepEqual(launches.map((l) => l.name), [`sm90:${entry}`]);
  launches.length = 0;
  const mmaPdl: bigint[] = [];
  const mma = new SparseMmaRunner({ ...host(false), launchDependent: (l) => { mmaPdl.push(l.fn); return 0; } });
  assert.ok(mma.sparse(call(16, dev)));
  assert.deepEqual(mmaPdl, [], 'sparse_mma.cu kernels do not wait: plain launches after the pass');
  assert.equal(launches[0].name, `mma:${sparseBoundKernelName}`);
  assert.ok(launches[1].name.startsWith('mma:mla_sparse_mma_'), launches[1].name);
  rc = 999;
  assert.throws(() => rPass.sparse(call(128, dev)), new RegExp(`cuLaunchKernelEx\\(${entry}\\): 999`), 'a failed launch throws, naming the kernel');
  // sparse_sm90.cu waits before any global read; the passes let it be scheduled at once.
  const cu = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/sparse_sm90.cu', import.meta.url)), 'utf8');
  const run = cu.slice(cu.indexOf('static __device__ void run(const SparseMmaParams& p)'));
  assert.ok(run.indexOf('pdlWait();') > 0 && run.indexOf('pdlWait();') < run.indexOf('produceTile(p)'), 'pdlWait before the warpgroups start');
  const mmaCu = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/sparse_mma.cu', import.meta.url)), 'utf8');
  // (each pass a template whose three entries, without the plan CTA and with the small or wide walk, call it)
  for (const [k, body] of [[sparseBoundKernelName, 'sparseBound'], ['mla_dense_fp8_lists', 'denseLists']]) {
    assert.match(mmaCu, new RegExp(`__device__ void ${body}\\(const SparseMmaParams& p\\) \\{\\n(\\s*//.*\\n)*\\s*mla::pdlLaunchDependents\\(\\);`), `${k} triggers its dependent first`);
    for (const [suffix, plan] of [['', 'PlanNone'], ['_plan', 'PlanSmall'], ['_plan_wide', 'PlanWide']]) {
      assert.match(mmaCu, new RegExp(`void __launch_bounds__\\(256\\) ${k}${suffix}\\(const SparseMmaParams p\\) \\{ ${body}<${plan}>\\(p\\); \\}`), `${k}${suffix}`);
    }
  }
});

test('while the stream is captured, host tensors are refused before anything is copied or launched; device ones run', () => {
  const { launches, copies, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sm90' }, sm90);
  const dev = { device: 'cuda' } as never;
  const problem = {
    b: 2, sQ: 1, hQ: 64, dQk: 576, dV: 512, topk: 64, extraTopk: 0, dtype: 'bf16', softmaxScale: 0.04, numSmParts: 8, precision: 'exact',
    cache: { kind: 'v32', numBlocks: 4, pageBlockSize: 64, blockStride: 64 * 656 }, hasTopkLength: false, hasExtraTopkLength: false, hasAttnSink: false,
    devicePlan: false,
  } as never;
  const call = (meta: Tensor): SparseCall => ({
    problem, q: dev, kCache: dev, indices: dev, tileSchedulerMetadata: meta, numSplits: dev, out: dev, lse: dev,
    host: { tileSchedulerMetadata: new Int32Array(64), numSplits: Int32Array.from([0, 1, 2]) },
  } as SparseCall);
  let capturing = true;
  const r = new SparseMmaRunner({ ...host(true), capturing: () => capturing });
  assert.throws(() => r.sparse(call(fromArray('i32', [8, 8], new Int32Array(64)))),
    (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'invalid_argument' && /capturing a graph/.test(e.message));
  assert.equal(launches.length + copies.length, 0, 'nothing queued');
  assert.throws(() => r.sparse(call(dev)), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'invalid_argument'
    && /workspace must grow from 0 to \d+ bytes while capturing a graph/.test(e.message), 'no workspace yet: it cannot grow inside the capture');
  assert.equal(launches.length + copies.length, 0, 'nothing queued');
  capturing = false;
  assert.ok(r.sparse(call(dev)), 'the warm-up outside the capture (captureGraph runs fn once first)');
  launches.length = 0;
  capturing = true;
  assert.ok(r.sparse(call(dev)), 'every tensor on the device: captured as kernels only');
  assert.ok(launches.length > 0);
  assert.equal(copies.length, 0);
  capturing = false;
  assert.ok(r.sparse(call(fromArray('i32', [8, 8], new Int32Array(64)))), 'outside capture host metadata is staged');
  assert.ok(copies.length > 0);
});

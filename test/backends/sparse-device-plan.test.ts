// CPU-only checks of sparse metadata planned on the device (getSparseMlaMetadata's onDevice; the GPU runs are in
// test/gpu/sparse.test.ts): what the metadata records, which calls it accepts, and what the CUDA runner queues for it
// (mla_sparse_bound's plan CTAs before the decode, the lengths' clamped copies, a merge whatever the pieces).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCapacity, sparseBoundKernel, sparseBoundKernelName, sparseBoundLaunch } from '../../src/backends/cuda/kernels/sparse-mma-launch.js';
import { denseListsKernel } from '../../src/backends/cuda/kernels/sparse-sm90-launch.js';
import { sparseSm90KernelName, sparseSm90PairSuffix } from '../../src/backends/cuda/kernels/sparse-sm90-launch.js';
import { sparseMmaParamsLayout } from '../../src/backends/cuda/params.js';
import { SparseMmaRunner } from '../../src/backends/cuda/sparse.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { fp8Layouts } from '../../src/core/fp8.js';
import type { Backend } from '../../src/core/problem.js';
import { freeSparseMlaMetadata, getSparseMlaMetadata, validateSparseDecode } from '../../src/core/sparse.js';
import { sparseLaunchOf } from '../../src/core/sparse-api.js';
import { sparseNumSmParts } from '../../src/core/sparse-scheduler.js';
import { type DeviceStorage, type Tensor, Tensor as TensorClass, fromArray } from '../../src/core/tensor.js';
import { dtypeBytes, type DType } from '../../src/core/dtype.js';
import { fakeSparseRunner } from '../support/fake-sparse-runner.js';

/** A backend that only allocates (device tensors with distinct fake addresses) and records what it frees. */
function fakeCuda(opts: { devicePlan?: boolean; failAt?: number } = {}) {
  const freed: Tensor[] = [];
  const written = new Map<Tensor, Int32Array>();
  let next = 1n << 24n, n = 0;
  const be = {
    kind: 'cuda', sparseDevicePlan: opts.devicePlan ?? true, info: { kind: 'cuda', device: 'fake', numSms: 132 },
    empty: (dtype: DType, shape: readonly number[]) => {
      if (++n === opts.failAt) throw new FlashMlaError('out_of_memory', 'fake: no memory');
      const bytes = shape.reduce((a, x) => a * x, 1) * dtypeBytes[dtype];
      const storage: DeviceStorage = { device: 'cuda', byteLength: bytes, ptr: next };
      next += BigInt(Math.ceil(bytes / 256) * 256);
      return new TensorClass(dtype, shape, storage);
    },
    free: (t: Tensor) => { freed.push(t); },
    write: (t: Tensor, src: Tensor) => { written.set(t, Int32Array.from(src.host() as Int32Array)); },
  } as unknown as Backend;
  return { be, freed, written };
}

const dev = (be: Backend, dtype: DType, shape: number[]) => be.empty(dtype, shape);

test('getSparseMlaMetadata onDevice: the two tensors on the backend, the key without length values, a plan record', () => {
  const { be, written } = fakeCuda();
  const tl = dev(be, 'i32', [3]);
  const m = getSparseMlaMetadata({ b: 3, sQ: 2, hQ: 64, topk: 128, topkLength: tl, extraTopk: 64, backend: be });
  const parts = sparseNumSmParts(132, 2, 64);
  assert.equal(m.tileSchedulerMetadata.device, 'cuda');
  assert.deepEqual(m.tileSchedulerMetadata.shape, [parts, 8]);
  assert.deepEqual(m.numSplits.shape, [4]);
  assert.equal(m.numSplits.device, 'cuda');
  assert.deepEqual(m.plannedFor, { b: 3, sQ: 2, hQ: 64, topk: 128, extraTopk: 64, numSms: 132, onDevice: true, hasTopkLength: true, hasExtraTopkLength: false });
  assert.deepEqual(m.planState!.shape, [7], '[4 + b]');
  assert.deepEqual([...written.get(m.planState!)!], [0, 0, 0, 0, 0, 0, 0], 'marked "not planned yet"');
  assert.equal(written.has(m.tileSchedulerMetadata), false, 'no plan written: each call writes its own');
  assert.equal(m.planned, undefined);
  // explicit, with host lengths (checked, not kept) or none
  const h = getSparseMlaMetadata({ b: 2, sQ: 1, hQ: 5, topk: 7, topkLength: Int32Array.from([0, 7]), backend: be, onDevice: true });
  assert.equal(h.plannedFor.onDevice, true);
  assert.equal(h.plannedFor.topkLength, undefined);
  assert.throws(() => getSparseMlaMetadata({ b: 2, sQ: 1, hQ: 5, topk: 7, topkLength: Int32Array.from([0, 8]), backend: be, onDevice: true }),
    (e: unknown) => e instanceof FlashMlaError && e.argument === 'topkLength[1]');
  // host plans as before
  assert.equal(getSparseMlaMetadata({ b: 2, sQ: 1, hQ: 5, topk: 7, backend: be }).tileSchedulerMetadata.device, 'cpu');
  // without lengths the plan depends on the shapes alone: made on the host, written once, kept for the merge decisions
  const fixed = getSparseMlaMetadata({ b: 5, sQ: 2, hQ: 128, topk: 2048, extraTopk: 64, backend: be, onDevice: true });
  const host = getSparseMlaMetadata({ b: 5, sQ: 2, hQ: 128, topk: 2048, extraTopk: 64, backend: be });
  assert.equal(fixed.planState, undefined);
  assert.deepEqual([...written.get(fixed.tileSchedulerMetadata)!], [...host.tileSchedulerMetadata.host()]);
  assert.deepEqual([...written.get(fixed.numSplits)!], [...host.numSplits.host()]);
  assert.deepEqual(fixed.planned, { tileSchedulerMetadata: host.tileSchedulerMetadata.host(), numSplits: host.numSplits.host() });
  const { be: be2, freed } = fakeCuda();
  freeSparseMlaMetadata(m, be2);
  freeSparseMlaMetadata(host, be2);
  assert.deepEqual(freed, [m.tileSchedulerMetadata, m.numSplits, m.planState], 'the device tensors only');
});

test('getSparseMlaMetadata onDevice: refused without a device planner, with onDevice false, or with a malformed length tensor', () => {
  const { be } = fakeCuda();
  const tl = dev(be, 'i32', [3]);
  const noPlan = fakeCuda({ devicePlan: false }).be;
  const base = { b: 3, sQ: 1, hQ: 64, topk: 128 };
  const refused = (f: () => unknown, argument: string, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument'
    && e.argument === argument && re.test(e.message), `${argument} ${re}`);
  refused(() => getSparseMlaMetadata({ ...base, topkLength: tl }), 'backend', /plans sparse steps on the device/);
  refused(() => getSparseMlaMetadata({ ...base, topkLength: tl, backend: noPlan }), 'backend', /the cuda backend \(it plans on the host/);
  refused(() => getSparseMlaMetadata({ ...base, backend: noPlan, onDevice: true }), 'backend', /plans on the host/);
  refused(() => getSparseMlaMetadata({ ...base, topkLength: tl, backend: be, onDevice: false }), 'topkLength', /the host scheduler reads its values/);
  refused(() => getSparseMlaMetadata({ ...base, topkLength: dev(be, 'i32', [4]), backend: be }), 'topkLength', /shape \[b\]/);
  refused(() => getSparseMlaMetadata({ ...base, topkLength: dev(be, 'f32', [3]), backend: be }), 'topkLength', /i32/);
  refused(() => getSparseMlaMetadata({ ...base, extraTopk: 8, extraTopkLength: { ...tl, device: 'webgpu' } as never, backend: be }), 'extraTopkLength', /./);
});

test('getSparseMlaMetadata onDevice: a failed allocation frees the ones before it', () => {
  for (const failAt of [1, 2, 3]) {
    const { be, freed } = fakeCuda({ failAt });
    assert.throws(() => getSparseMlaMetadata({ b: 2, sQ: 1, hQ: 64, topk: 64, topkLength: Int32Array.from([1, 2]), backend: be, onDevice: true }),
      (e: unknown) => e instanceof FlashMlaError && e.code === 'out_of_memory');
    assert.equal(freed.length, failAt - 1);
    if (failAt > 1) assert.deepEqual(freed[0].shape, [sparseNumSmParts(132, 1, 64), 8]);
  }
});

test('a call with onDevice metadata: the same shapes and the same presence of lengths, metadata on q\'s device', () => {
  const { be } = fakeCuda();
  const b = 2, sQ = 1, hQ = 64, topk = 128;
  const q = dev(be, 'bf16', [b, sQ, hQ, 576]), k = dev(be, 'fp8_e4m3', [4, 64, 1, fp8Layouts.v32.bytesPerToken]);
  const ix = dev(be, 'i32', [b, sQ, topk]), tl = dev(be, 'i32', [b]);
  const meta = getSparseMlaMetadata({ b, sQ, hQ, topk, topkLength: tl, backend: be });
  const p = validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: meta, topkLength: tl });
  assert.equal(p.devicePlan, true);
  assert.equal(p.numSmParts, meta.tileSchedulerMetadata.shape[0]);
  // host lengths in a call are fine (their presence is what the key records)
  assert.equal(validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: meta, topkLength: fromArray('i32', [b], Int32Array.from([5, 128])) }).devicePlan, true);
  const mismatch = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof FlashMlaError && e.code === 'metadata_mismatch' && re.test(e.message));
  mismatch(() => validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: meta }), /topkLength = a tensor, got none/);
  const noLen = getSparseMlaMetadata({ b, sQ, hQ, topk, backend: be, onDevice: true });
  mismatch(() => validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: noLen, topkLength: tl }), /topkLength = none, got a tensor/);
  assert.equal(validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: noLen }).devicePlan, false, 'no lengths: planned once, on the host');
  mismatch(() => validateSparseDecode({ q: dev(be, 'bf16', [b, 2, hQ, 576]), kCache: k, indices: dev(be, 'i32', [b, 2, topk]), headDimV: 512, metadata: noLen }), /sQ = 1, got 2/);
  // the metadata's tensors on another device than q
  const hostQ = fromArray('bf16', [b, sQ, hQ, 576], new Uint16Array(b * sQ * hQ * 576));
  const hostK = fromArray('bf16', [4, 64, 1, 576], new Uint16Array(4 * 64 * 576));
  assert.throws(() => validateSparseDecode({ q: hostQ, kCache: hostK, indices: fromArray('i32', [b, sQ, topk], new Int32Array(b * sQ * topk).fill(-1)), headDimV: 512, metadata: noLen }),
    (e: unknown) => e instanceof FlashMlaError && e.argument === 'metadata.tileSchedulerMetadata' && /a tensor on cpu/.test(e.message));
  // a host-planned key still compares its values
  const hostMeta = getSparseMlaMetadata({ b, sQ, hQ, topk, topkLength: Int32Array.from([5, 9]) });
  assert.equal(validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: hostMeta, topkLength: fromArray('i32', [b], Int32Array.from([5, 9])) }).devicePlan, false);
  mismatch(() => validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: hostMeta, topkLength: fromArray('i32', [b], Int32Array.from([5, 10])) }), /topkLength/);
  // the launch carries no host metadata words for a device plan
  const l = sparseLaunchOf(p, { q, kCache: k, indices: ix, topkLength: tl }, meta, dev(be, 'bf16', [b, sQ, hQ, 512]), dev(be, 'f32', [b, hQ, sQ]));
  assert.equal(l.host?.tileSchedulerMetadata, undefined);
  assert.equal(l.host?.numSplits, undefined);
  assert.equal(l.planState, meta.planState);
  const pn = validateSparseDecode({ q, kCache: k, indices: ix, headDimV: 512, metadata: noLen });
  const ln = sparseLaunchOf(pn, { q, kCache: k, indices: ix }, noLen, dev(be, 'bf16', [b, sQ, hQ, 512]), dev(be, 'f32', [b, hQ, sQ]));
  assert.equal(ln.host?.numSplits, noLen.planned!.numSplits, 'the host copy of what was written: the merge knows the pieces');
  assert.equal(ln.tileSchedulerMetadata.device, 'cuda');
});

test('the runner: a device plan is mla_sparse_bound\'s first CTAs, lengths on the device clamped into the workspace (sparse_mma.cu), the merge always launched', () => {
  const sm90 = 232448;
  const { launches, paramsAt, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sm90' }, sm90);
  const ptrs = new Map<object, bigint>();
  let nextPtr = 1n << 30n;
  const ptrOf = (t: Tensor) => { if (!ptrs.has(t)) { ptrs.set(t, nextPtr); nextPtr += 1n << 20n; } return ptrs.get(t)!; };
  const d = (shape: number[] = [1]) => ({ device: 'cuda', shape, byteLength: 4 } as unknown as Tensor);
  const parts = 33, b = 2;
  const problem = (devicePlan: boolean) => ({
    b, sQ: 1, hQ: 128, dQk: 576, dV: 512, topk: 128, extraTopk: 64, dtype: 'bf16', softmaxScale: 0.04, numSmParts: parts, precision: 'exact',
    cache: { kind: 'v32', numBlocks: 7, pageBlockSize: 64, blockStride: 64 * 656 }, extraCache: { kind: 'v32', numBlocks: 3, pageBlockSize: 2, blockStride: 2 * 656 },
    hasTopkLength: true, hasExtraTopkLength: true, hasAttnSink: false, devicePlan,
  }) as never;
  const meta = d([parts, 8]), ns = d([b + 1]), state = d([4 + b]);
  const call = (devicePlan: boolean, lengths: 'device' | 'host', indices: 'device' | 'host') => ({
    problem: problem(devicePlan), q: d(), kCache: d(), extraKCache: d(), out: d(), lse: d(),
    indices: indices === 'device' ? d() : fromArray('i32', [b, 1, 128], new Int32Array(256)),
    extraIndices: indices === 'device' ? d() : fromArray('i32', [b, 1, 64], new Int32Array(128)),
    topkLength: lengths === 'device' ? d() : fromArray('i32', [b], Int32Array.from([3, 128])),
    extraTopkLength: lengths === 'device' ? d() : fromArray('i32', [b], Int32Array.from([0, 64])),
    tileSchedulerMetadata: devicePlan ? meta : fromArray('i32', [parts, 8], new Int32Array(parts * 8)), planState: devicePlan ? state : undefined,
    numSplits: devicePlan ? ns : fromArray('i32', [b + 1], Int32Array.from([0, 1, 2])),
    host: devicePlan ? {} : { tileSchedulerMetadata: new Int32Array(parts * 8), numSplits: Int32Array.from([0, 1, 2]) },
  }) as never;
  // The pass's copies as sparse_mma.cu's kernels read them (here sparse_sm90.cu's with FLASHMLA_CUDA_SPARSE_BOUND=pass);
  // sparse_sm90.cu by default bounds ids and clamps lengths itself (the end of this test).
  const r = new SparseMmaRunner({ ...host(true), ptrOf, sm90BoundPass: true });
  const at = (k: number) => ({
    ptr: (name: string) => paramsAt[k].getBigUint64(sparseMmaParamsLayout.offsets[name], true),
    i32: (name: string) => paramsAt[k].getInt32(sparseMmaParamsLayout.offsets[name], true),
  });
  const entry = `sm90:${sparseSm90KernelName}${sparseSm90PairSuffix}`;

  // everything on the device, planned there: the plan's CTA + two CTAs for 256 + 128 ids and 2 + 2 lengths
  assert.ok(r.sparse(call(true, 'device', 'device')));
  assert.deepEqual(launches.map((l) => l.name), [`mma:${sparseBoundKernelName}_plan`, entry, 'mma:mla_sparse_mma_combine_bf16']);
  assert.deepEqual(launches[0].grid, [1 + 2, 1, 1]);
  assert.deepEqual(sparseBoundLaunch(388, parts).grid, [3, 1, 1]);
  assert.deepEqual(sparseBoundLaunch(388).grid, [2, 1, 1]);
  const p0 = at(0);
  assert.equal(p0.i32('planParts'), parts);
  assert.equal(p0.ptr('planState'), ptrOf(state), 'the record of the lengths planned for');
  assert.equal(p0.ptr('tileSchedulerMetadata'), ptrOf(meta), 'the plan is written into the metadata\'s own tensors');
  assert.equal(p0.ptr('numSplits'), ptrOf(ns));
  assert.notEqual(p0.ptr('rawTopkLength'), 0n);
  assert.notEqual(p0.ptr('topkLength'), p0.ptr('rawTopkLength'), 'device lengths: the kernels read the clamped copy');
  assert.notEqual(p0.ptr('extraTopkLength'), p0.ptr('rawExtraTopkLength'));
  assert.equal(p0.ptr('extraTopkLength') - p0.ptr('topkLength'), 64n * 4n, 'the two copies in 256-byte regions');
  assert.equal(p0.ptr('topkLength') - p0.ptr('indices'), (256n + 128n) * 4n, 'after the bounded index copies');
  assert.equal(at(1).ptr('tileSchedulerMetadata'), ptrOf(meta), 'the decode reads the same words');
  assert.equal(at(1).i32('planParts'), parts);
  launches.length = 0; paramsAt.length = 0;

  // host lengths and host indices, planned on the device: the plan pass alone, reading the staged lengths in place
  assert.ok(r.sparse(call(true, 'host', 'host')));
  assert.deepEqual(launches.map((l) => l.name), [`mma:${sparseBoundKernelName}_plan`, entry, 'mma:mla_sparse_mma_combine_bf16']);
  assert.deepEqual(launches[0].grid, [1, 1, 1], 'no copies');
  assert.equal(at(0).ptr('rawTopkLength'), at(0).ptr('topkLength'), 'a staged host length is its own raw pointer (not copied)');
  assert.equal(at(0).ptr('rawIndices'), 0n);
  launches.length = 0; paramsAt.length = 0;

  // planned on the host, lengths on the device: clamped copies, no plan CTAs, the host's plan words (no request split:
  // no merge)
  assert.ok(r.sparse(call(false, 'device', 'host')));
  assert.deepEqual(launches.map((l) => l.name), [`mma:${sparseBoundKernelName}`, entry]);
  assert.equal(at(0).i32('planParts'), 0);
  assert.equal(at(0).ptr('planState'), 0n);
  assert.deepEqual(launches[0].grid, [1, 1, 1]);
  assert.notEqual(at(0).ptr('tileSchedulerMetadata'), ptrOf(meta), 'the host plan is staged');
  launches.length = 0; paramsAt.length = 0;

  // planOnly (sparse.cu's path): the plan pass and nothing else
  r.planOnly(call(true, 'device', 'device'));
  assert.deepEqual(launches.map((l) => l.name), [`mma:${sparseBoundKernelName}_plan`]);
  assert.deepEqual(launches[0].grid, [1, 1, 1], 'no copies (sparse.cu reads the raw tensors itself)');
  assert.equal(at(0).ptr('rawTopkLength'), at(0).ptr('topkLength'));
  launches.length = 0;
  r.planOnly(call(false, 'device', 'device'));
  assert.equal(launches.length, 0, 'a host plan: nothing to do');
  // FLASHMLA_CUDA_SPARSE_REPLAN=1: no record passed, the walk at every call
  paramsAt.length = 0;
  new SparseMmaRunner({ ...host(true), ptrOf, replanAlways: true }).sparse(call(true, 'device', 'device'));
  assert.equal(at(0).ptr('planState'), 0n);
  assert.equal(at(0).i32('planParts'), parts);
  launches.length = 0; paramsAt.length = 0;

  // sparse_sm90.cu by default: the pass only to plan, copying nothing; the decode reads the caller's ids and lengths
  const r90 = new SparseMmaRunner({ ...host(true), ptrOf });
  assert.ok(r90.sparse(call(true, 'device', 'device')));
  assert.deepEqual(launches.map((l) => l.name), [`mma:${sparseBoundKernelName}_plan`, entry, 'mma:mla_sparse_mma_combine_bf16']);
  assert.deepEqual(launches[0].grid, [1, 1, 1], 'the plan CTA alone');
  for (const k of [0, 1]) {
    assert.equal(at(k).ptr('rawIndices'), 0n);
    assert.equal(at(k).ptr('topkLength'), at(k).ptr('rawTopkLength'), 'the lengths read in place (the kernel clamps them)');
    assert.equal(at(k).ptr('extraTopkLength'), at(k).ptr('rawExtraTopkLength'));
  }
  assert.equal(at(1).i32('numTokens'), 7 * 64);
  assert.equal(at(1).i32('extraNumTokens'), 3 * 2);
  launches.length = 0; paramsAt.length = 0;
  assert.ok(r90.sparse(call(false, 'device', 'device')));
  assert.deepEqual(launches.map((l) => l.name), [entry], 'planned on the host: no pass at all');
  assert.equal(at(0).ptr('rawTopkLength'), 0n);
});

test('mla_sparse_bound: the plan by CTA 0 (skipped for the lengths on record), copies by the rest; a staged host length is not copied onto itself', async () => {
  const { readFileSync } = await import('node:fs');
  const cu = readFileSync(new URL('../../src/backends/cuda/kernels/sparse_mma.cu', import.meta.url), 'utf8');
  const k = cu.slice(cu.indexOf('__device__ void sparseBound(const SparseMmaParams& p)'));
  const body = k.slice(0, k.indexOf('\n}\n'));
  const planCall = 'planStep<Cap>(p, [&p](int i) { return sparseListBlocks(p, i); });';
  assert.ok(body.indexOf('pdlLaunchDependents') >= 0 && body.indexOf('pdlLaunchDependents') < body.indexOf(planCall), 'the dependent is released first');
  assert.match(body, /constexpr int planCtas = Cap::kReq > 0 \? 1 : 0;\s+if constexpr \(planCtas > 0\) \{\s+if \(blockIdx\.x == 0\) \{\s+planStep<Cap>\(p, \[&p\]\(int i\) \{ return sparseListBlocks\(p, i\); \}\);\s+return;/);
  assert.match(body, /p\.rawTopkLength && p\.rawTopkLength != p\.topkLength/);
  assert.match(body, /gridDim\.x - planCtas/);
  // the three entries: the plan CTA (and the walk's static shared memory) only in mla_sparse_bound_plan / _plan_wide
  assert.match(cu, /mla_sparse_bound\(const SparseMmaParams p\) \{ sparseBound<PlanNone>\(p\); \}/);
  assert.match(cu, /mla_sparse_bound_plan\(const SparseMmaParams p\) \{ sparseBound<PlanSmall>\(p\); \}/);
  assert.match(cu, /mla_sparse_bound_plan_wide\(const SparseMmaParams p\) \{ sparseBound<PlanWide>\(p\); \}/);
  assert.match(cu, /struct PlanNone \{ static constexpr int kReq = 0, kParts = 0; \};/);
  // one plan function for sparse and dense steps: the record [4 + b] (1, b, parts, 0, blocks)
  assert.match(cu, /planStep<Cap>\(p, \[&p\]\(int i\) \{ return denseListBlocks\(p, i\); \}\);/, 'the dense lists pass plans by the same function');
  const plan = cu.slice(cu.indexOf('__device__ void planStep('), cu.indexOf('__device__ void sparseBound(const SparseMmaParams& p)'));
  assert.match(plan, /stale = state == nullptr \|\| state\[0\] != 1 \|\| state\[1\] != b \|\| state\[2\] != p\.planParts;/, 'no record, none yet, or another shape: plan');
  assert.match(plan, /stale = state\[4 \+ i\] != listBlocks\(i\)/, 'each request\'s blocks against the record');
  assert.match(plan, /if \(!__syncthreads_or\(stale\)\) return;/, 'the same blocks as on record: skip');
  assert.ok(plan.indexOf('planRows(') < plan.indexOf('__syncthreads();') && plan.indexOf('__syncthreads();') < plan.indexOf('state[0] = 1'),
    'the rows, then the record, then its mark');
});

test('the runner copies repeated host index bytes again after forgetStaged (a graph replay wrote over them)', () => {
  const { copies, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sm90' }, 232448);
  const d = { device: 'cuda' } as never;
  const call = {
    problem: {
      b: 1, sQ: 1, hQ: 64, dQk: 576, dV: 512, topk: 64, extraTopk: 0, dtype: 'bf16', softmaxScale: 0.04, numSmParts: 66, precision: 'exact',
      cache: { kind: 'v32', numBlocks: 2, pageBlockSize: 64, blockStride: 64 * 656 }, hasTopkLength: false, hasExtraTopkLength: false, hasAttnSink: false, devicePlan: false,
    },
    q: d, kCache: d, out: d, lse: d, indices: fromArray('i32', [1, 1, 64], new Int32Array(64).fill(3)),
    tileSchedulerMetadata: fromArray('i32', [66, 8], new Int32Array(66 * 8)), numSplits: fromArray('i32', [2], Int32Array.from([0, 1])),
    host: { tileSchedulerMetadata: new Int32Array(66 * 8), numSplits: Int32Array.from([0, 1]) },
  } as never;
  const r = new SparseMmaRunner(host(true));
  r.sparse(call);
  const n = copies.length;
  assert.ok(n >= 3, 'indices and the plan copied');
  r.sparse(call);
  assert.equal(copies.length, n, 'the next layer: nothing copied');
  r.forgetStaged();
  r.sparse(call);
  assert.equal(copies.length, 2 * n, 'after a replay: all copied again');
});

test('the plan entries: the capacities of sparse_mma.cu\'s PlanSmall / PlanWide are planCapacity\'s; each step gets the smallest entry that holds it', async () => {
  const { readFileSync } = await import('node:fs');
  const cu = readFileSync(new URL('../../src/backends/cuda/kernels/sparse_mma.cu', import.meta.url), 'utf8');
  for (const [name, cap] of [['PlanSmall', planCapacity.small], ['PlanWide', planCapacity.wide]] as const) {
    assert.match(cu, new RegExp(`struct ${name} \\{ static constexpr int kReq = ${cap.requests}, kParts = ${cap.parts}; \\};`), name);
  }
  assert.equal(sparseBoundKernel(0, 5000), 'mla_sparse_bound', 'planned on the host: no plan CTA');
  assert.equal(sparseBoundKernel(132, 1024), 'mla_sparse_bound_plan');
  assert.equal(sparseBoundKernel(512, 1), 'mla_sparse_bound_plan');
  assert.equal(sparseBoundKernel(132, 1025), 'mla_sparse_bound_plan_wide', 'more requests than the small walk holds');
  assert.equal(sparseBoundKernel(513, 1), 'mla_sparse_bound_plan_wide', 'more parts than the small walk holds');
  assert.equal(sparseBoundKernel(1025, 9000), 'mla_sparse_bound_plan_wide', 'past both: the wide entry (warp 0 walks)');
  assert.equal(denseListsKernel(0, 1), 'mla_dense_fp8_lists');
  assert.equal(denseListsKernel(132, 128), 'mla_dense_fp8_lists_plan');
  assert.equal(denseListsKernel(132, 2000), 'mla_dense_fp8_lists_plan_wide');
});

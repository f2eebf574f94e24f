// Which CUDA decode kernel a problem gets (shape-kernels.ts KernelCache), without a GPU: a fake driver hands out
// function handles and records the names and shared-memory limits asked for. The rules: on sm_90 with the Hopper
// modules loaded, decode_sm90.cu takes <= 32 rows per KV head, decode_sm90_wide.cu takes >= 64 and 17-32 where the
// batch has at least half as many requests as the plan has SM parts or the plan's work items average at most 160 keys
// (launch.ts sm90WideTakes), both only for one KV head, page 64 and uniform query lengths, and only these read the cache through a tensor map; 33-63 rows,
// other shapes, a forced variant, kernel 'splitkv' (modules not loaded) and other GPUs get the mma.sync kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseDecodeVariant, combineQ32Default, combineQ32MinRows, combineQ32Pieces, decodeKernelName, decodeVariants, sm90WideMaxKeysFrom, sm90WideShortKeys } from '../../src/backends/cuda/kernels/launch.js';
import { KernelCache, type KernelCacheHost, mergeFor } from '../../src/backends/cuda/shape-kernels.js';
import { mlaParamsLayout } from '../../src/backends/cuda/params.js';
import { planDecode } from '../../src/core/plan.js';
import { lseStrides, type MlaProblem } from '../../src/core/problem.js';

const maxSmem = 232448;

function cache(hopper: boolean, kernelOrExtra?: KernelCacheHost['kernel'] | Partial<KernelCacheHost>) {
  const kernel = typeof kernelOrExtra === 'string' ? kernelOrExtra : undefined, extra = typeof kernelOrExtra === 'object' ? kernelOrExtra : {};
  const asked: { name: string; smem?: number }[] = [];
  let next = 100n;
  const drv = {
    getFunction: (_m: bigint, name: string) => { asked.push({ name }); return next++; },
    setMaxDynamicSmem: (_f: bigint, bytes: number, name: string) => { asked.push({ name, smem: bytes }); },
  };
  const kc = new KernelCache({
    drv: drv as unknown as KernelCacheHost['drv'], maxSmem, numSms: 132, kernel,
    decodeModule: 1n, combineModule: 2n, naiveModule: 3n, sm90Module: hopper ? 4n : undefined, sm90WideModule: hopper ? 5n : undefined,
    paramsView: new DataView(new ArrayBuffer(mlaParamsLayout.size)), repacked: () => {}, ...extra,
  });
  return { kc, asked };
}

function problem(sQ: number, hQ: number, o: Partial<MlaProblem> = {}): MlaProblem {
  const hKv = o.hKv ?? 1, varlen = o.varlen ?? false;
  const p = {
    b: 4, sQ, totalQ: 4 * sQ, hQ, hKv, nGroups: hQ / hKv, dQk: 576, dV: 512, pageBlockSize: 64, numBlocks: 40, maxBlocksPerSeq: 10,
    dtype: 'bf16', kvDtype: 'bf16', softmaxScale: 1 / 24, causal: sQ > 1, varlen, numSmParts: 33, ...o,
  } as MlaProblem;
  return { ...p, ...lseStrides(p) };
}

const planOf = (p: MlaProblem) => planDecode({ ...p }, undefined);
const mma = (p: MlaProblem) => decodeKernelName(p.dtype, chooseDecodeVariant(p.sQ * p.nGroups, maxSmem)!);

test('sm_90 with the Hopper modules: narrow up to 32 rows, mma.sync for 33-63, wide from 64', () => {
  const { kc } = cache(true);
  for (const [sQ, hQ, want] of [
    [1, 16, 'mla_decode_sm90_bf16_n16'], [1, 8, 'mla_decode_sm90_bf16_n16'], [2, 16, 'mla_decode_sm90_bf16_n32'], [1, 32, 'mla_decode_sm90_bf16_n32'],
    [3, 10, 'mla_decode_sm90_bf16_n32'], [1, 64, 'mla_decode_sm90w_bf16'], [2, 64, 'mla_decode_sm90w_bf16'], [2, 128, 'mla_decode_sm90w_bf16'],
    [3, 24, 'mla_decode_sm90w_bf16'],
  ] as const) {
    assert.equal(kc.decodeKernel(problem(sQ, hQ)), want, `sQ ${sQ} hQ ${hQ}`);
  }
  for (const [sQ, hQ] of [[1, 33], [1, 48], [3, 21]]) assert.equal(kc.decodeKernel(problem(sQ, hQ)), mma(problem(sQ, hQ)), `${sQ * hQ} rows: mma.sync`);
  assert.equal(kc.decodeKernel(problem(1, 16, { dtype: 'f16', kvDtype: 'f16' })), 'mla_decode_sm90_f16_n16');
});

test('17-32 rows go to the wide kernel where 2 b >= numSmParts (b = 128 on 132 SMs); 16 rows never; FLASHMLA_CUDA_SM90W_FROM overrides', () => {
  const { kc } = cache(true);
  const big = (sQ: number, hQ: number, b: number, o: Partial<MlaProblem> = {}) => problem(sQ, hQ, { b, totalQ: b * sQ, numSmParts: 132, ...o });
  for (const [sQ, hQ, b, want] of [
    [1, 32, 128, 'mla_decode_sm90w_bf16'], [2, 16, 128, 'mla_decode_sm90w_bf16'], [1, 17, 66, 'mla_decode_sm90w_bf16'], [3, 10, 70, 'mla_decode_sm90w_bf16'],
    [1, 32, 65, 'mla_decode_sm90_bf16_n32'], [2, 16, 16, 'mla_decode_sm90_bf16_n32'], [1, 16, 128, 'mla_decode_sm90_bf16_n16'],
    [2, 8, 128, 'mla_decode_sm90_bf16_n16'], [1, 64, 128, 'mla_decode_sm90w_bf16'], [1, 33, 128, mma(big(1, 33, 128))],
  ] as const) {
    assert.equal(kc.decodeKernel(big(sQ, hQ, b)), want, `sQ ${sQ} hQ ${hQ} b ${b}`);
  }
  // The rule reads the plan's parts: few parts make a small batch "large".
  assert.equal(kc.decodeKernel(problem(1, 32, { b: 4, numSmParts: 8 })), 'mla_decode_sm90w_bf16');
  assert.equal(kc.decodeKernel(big(1, 32, 128, { dtype: 'f16', kvDtype: 'f16' })), 'mla_decode_sm90w_f16');
  // Shapes neither Hopper kernel takes stay on mma.sync.
  for (const o of [{ hKv: 2 }, { pageBlockSize: 32 }, { varlen: true }] as Partial<MlaProblem>[]) assert.equal(kc.decodeKernel(big(1, 32, 128, o)), mma(big(1, 32, 128, o)), JSON.stringify(o));
  const sk = kc.shapeKernels(big(1, 32, 128), planOf(big(1, 32, 128)));
  assert.deepEqual([sk.decode?.gx, sk.decode?.gy, sk.decode?.gz, sk.decode?.threads, sk.decode?.cacheMap], [1, 1, 132, 384, true]);
  // The measurement override: from n rows whatever the batch.
  const asked: string[] = [];
  let next = 100n;
  const from17 = new KernelCache({
    drv: { getFunction: (_m: bigint, name: string) => { asked.push(name); return next++; }, setMaxDynamicSmem: () => {} } as unknown as KernelCacheHost['drv'],
    maxSmem, numSms: 132, decodeModule: 1n, combineModule: 2n, naiveModule: 3n, sm90Module: 4n, sm90WideModule: 5n, sm90WideFrom: 17,
    paramsView: new DataView(new ArrayBuffer(mlaParamsLayout.size)), repacked: () => {},
  });
  assert.equal(from17.decodeKernel(problem(2, 16)), 'mla_decode_sm90w_bf16');
  assert.equal(from17.decodeKernel(problem(1, 16)), 'mla_decode_sm90_bf16_n16');
});

test('17-32 rows of small batches on the wide kernel where the plan\'s keysPerSplit is short (sm90WideShortKeys; FLASHMLA_CUDA_SM90W_KPS)', () => {
  assert.equal(sm90WideShortKeys, 160);
  for (const [env, want] of [[undefined, 160], ['', 160], ['x', 160], ['-3', 160], ['0', undefined], ['200', 200], [' 96 ', 96]] as const) {
    assert.equal(sm90WideMaxKeysFrom(env), want, `FLASHMLA_CUDA_SM90W_KPS=${String(env)}`);
  }
  let next = 100n;
  const kc = new KernelCache({
    drv: { getFunction: () => next++, setMaxDynamicSmem: () => {} } as unknown as KernelCacheHost['drv'],
    maxSmem, numSms: 132, decodeModule: 1n, combineModule: 2n, naiveModule: 3n, sm90Module: 4n, sm90WideModule: 5n, sm90WideMaxKeys: 160,
    paramsView: new DataView(new ArrayBuffer(mlaParamsLayout.size)), repacked: () => {},
  });
  const p = problem(2, 16, { b: 5, totalQ: 10, numSmParts: 132 });
  // keysPerSplit: the lengths' sum over the pieces (numSplits[b]); b = 5 of 1024 keys in 80 pieces = 64 keys a piece.
  const splits = (pieces: number) => Int32Array.from({ length: 6 }, (_, i) => Math.round((i * pieces) / 5));
  const short = planDecode({ ...p }, splits(80), new Int32Array(5).fill(1024));
  const long = planDecode({ ...p }, splits(20), new Int32Array(5).fill(1024));
  assert.equal(short.keysPerSplit, 64);
  assert.equal(long.keysPerSplit, 256);
  assert.equal(kc.decodeKernel(p, short.keysPerSplit), 'mla_decode_sm90w_bf16');
  assert.equal(kc.decodeKernel(p, 160), 'mla_decode_sm90w_bf16');
  assert.equal(kc.decodeKernel(p, long.keysPerSplit), 'mla_decode_sm90_bf16_n32');
  assert.equal(kc.decodeKernel(p), 'mla_decode_sm90_bf16_n32', 'no plan lengths on the host: the shape rule');
  assert.equal(kc.decodeKernel(problem(1, 16, { b: 5, totalQ: 5, numSmParts: 132 }), 64), 'mla_decode_sm90_bf16_n16', '16 rows never');
  // q must hold a 64-row box (b * rows >= 64): b = 1 with 32 rows (the wide kernel's _ld twin) stays narrow.
  assert.equal(kc.decodeKernel(problem(1, 32, { b: 1, totalQ: 1, numSmParts: 132 }), 64), 'mla_decode_sm90_bf16_n32', 'b = 1, 32 rows');
  assert.equal(kc.decodeKernel(problem(2, 16, { b: 1, totalQ: 2, numSmParts: 132 }), 64), 'mla_decode_sm90_bf16_n32', 'b = 1, 16 x 2');
  assert.equal(kc.decodeKernel(problem(2, 16, { b: 2, totalQ: 4, numSmParts: 132 }), 64), 'mla_decode_sm90w_bf16', 'b = 2, 16 x 2: 64 rows of q');
  assert.equal(kc.decodeKernel(problem(1, 17, { b: 3, totalQ: 3, numSmParts: 132 }), 64), 'mla_decode_sm90_bf16_n32', 'b = 3, 17 rows: 51 rows of q');
  // The same shape re-resolves when the plan's choice changes (the launch cache keys on it).
  const a = kc.shapeKernels(p, short), b = kc.shapeKernels(p, long), c = kc.shapeKernels(p, short);
  assert.deepEqual([a.wide17, b.wide17, c.wide17], [true, false, true]);
  assert.deepEqual([a.decode?.gz, b.decode?.gz, b.decode?.gx], [132, 1, 132]);
  // FLASHMLA_CUDA_SM90W_SHORT_FROM (measurement): the short-item rule from fewer rows; 16-row batches otherwise never.
  let n2 = 100n;
  const from9 = new KernelCache({
    drv: { getFunction: () => n2++, setMaxDynamicSmem: () => {} } as unknown as KernelCacheHost['drv'],
    maxSmem, numSms: 132, decodeModule: 1n, combineModule: 2n, naiveModule: 3n, sm90Module: 4n, sm90WideModule: 5n, sm90WideMaxKeys: 160, sm90WideShortFrom: 9,
    paramsView: new DataView(new ArrayBuffer(mlaParamsLayout.size)), repacked: () => {},
  });
  const p16 = problem(1, 16, { b: 5, totalQ: 5, numSmParts: 132 });
  assert.equal(from9.decodeKernel(p16, 64), 'mla_decode_sm90w_bf16');
  assert.equal(from9.decodeKernel(p16, 200), 'mla_decode_sm90_bf16_n16');
  assert.equal(from9.decodeKernel(problem(1, 16, { b: 128, totalQ: 128, numSmParts: 132 })), 'mla_decode_sm90_bf16_n16', 'no batch rule below 17 rows');
  assert.equal(from9.decodeKernel(problem(1, 8, { b: 5, totalQ: 5, numSmParts: 132 }), 64), 'mla_decode_sm90_bf16_n16', '8 rows: under 9');
  assert.equal(from9.decodeKernel(problem(1, 12, { b: 5, totalQ: 5, numSmParts: 132 }), 64), 'mla_decode_sm90_bf16_n16', 'b * rows = 60 < 64');
  // Without a short-item bound (FLASHMLA_CUDA_SM90W_KPS=0) the plan is ignored: the batch rule alone (session 36's).
  const { kc: plain } = cache(true);
  assert.equal(plain.decodeKernel(p, 64), 'mla_decode_sm90_bf16_n32');
});

test('shapes the Hopper kernels were not checked on keep the mma.sync kernel', () => {
  const { kc } = cache(true);
  for (const o of [{ hKv: 2 }, { pageBlockSize: 32 }, { varlen: true }] as Partial<MlaProblem>[]) {
    for (const [sQ, hQ] of [[1, 16], [2, 128]]) {
      const p = problem(sQ, hQ, o);
      assert.equal(kc.decodeKernel(p), mma(p), `${JSON.stringify(o)} ${sQ * hQ} rows`);
    }
  }
});

test('kernel splitkv (no Hopper modules), a forced variant and the naive kernel never reach a Hopper kernel', () => {
  const none = cache(false, 'splitkv').kc;
  for (const [sQ, hQ] of [[1, 16], [2, 128]]) assert.equal(none.decodeKernel(problem(sQ, hQ)), mma(problem(sQ, hQ)));
  const forced = cache(true).kc;
  forced.setDecodeVariant(decodeVariants[0]);
  assert.equal(forced.decodeKernel(problem(1, 16)), decodeKernelName('bf16', decodeVariants[0]));
  assert.equal(forced.decodeKernel(problem(2, 128)), decodeKernelName('bf16', decodeVariants[0]));
  forced.setDecodeVariant(undefined);
  assert.equal(forced.decodeKernel(problem(1, 16)), 'mla_decode_sm90_bf16_n16');
  assert.equal(cache(true, 'naive').kc.decodeKernel(problem(2, 128)), 'mla_naive_bf16');
});

test('only the Hopper launches read the cache through a tensor map; grids, threads and shared memory as launch.ts says', () => {
  const { kc, asked } = cache(true);
  const narrow = kc.shapeKernels(problem(1, 16), planOf(problem(1, 16)));
  assert.equal(narrow.decode?.cacheMap, true);
  assert.deepEqual([narrow.decode?.gx, narrow.decode?.gy, narrow.decode?.gz, narrow.decode?.threads], [33, 1, 1, 384]);
  const wide = kc.shapeKernels(problem(2, 128), planOf(problem(2, 128)));
  assert.equal(wide.decode?.cacheMap, true);
  assert.deepEqual([wide.decode?.gx, wide.decode?.gy, wide.decode?.gz, wide.decode?.threads], [4, 1, 33, 384]);
  const old = kc.shapeKernels(problem(1, 48), planOf(problem(1, 48)));
  assert.ok(!old.decode?.cacheMap, 'the mma.sync kernel takes no map');
  assert.ok(wide.combine && old.combine, 'split-KV combine launches stay');
  // Each function was looked up once, with its dynamic shared memory raised beyond 48 KiB.
  for (const name of ['mla_decode_sm90_bf16_n16', 'mla_decode_sm90w_bf16']) {
    assert.equal(asked.filter((a) => a.name === name && a.smem === undefined).length, 1, name);
    assert.ok((asked.find((a) => a.name === name && a.smem !== undefined)?.smem ?? 0) > 48 * 1024, name);
  }
});

test('where combine is mla_combine, shapeKernels also resolves its t128 twin (same launch) and one-warp-a-row twin', () => {
  const { kc, asked } = cache(true);
  const one = problem(1, 16, { b: 1, totalQ: 1, numSmParts: 132 });
  const sk = kc.shapeKernels(one, planOf(one));
  assert.ok(sk.combine && sk.combineLong && sk.combineShort);
  assert.deepEqual({ ...sk.combineLong, fn: 0n, what: '' }, { ...sk.combine, fn: 0n, what: '' });
  assert.deepEqual([sk.combine.what, sk.combineLong.what, sk.combineShort.what], ['mla_combine', 'mla_combine_t128', 'mla_combine_warps']);
  assert.notEqual(sk.combineLong.fn, sk.combine.fn);
  assert.deepEqual([sk.combineShort.gx, sk.combineShort.gy, sk.combineShort.gz, sk.combineShort.threads, sk.combineShort.pdl], [1, 2, 1, 256, true]);
  assert.equal(sk.combineWaves, 64 / 396);
  for (const n of ['mla_combine_bf16', 'mla_combine_t128_bf16', 'mla_combine_warps_bf16']) assert.ok(asked.some((a) => a.name === n), n);
  // a large batch merges one warp a row already (mla_combine_warps): no twins
  const big = problem(1, 128, { b: 128, totalQ: 128, numSmParts: 66 });
  const bk = kc.shapeKernels(big, planOf(big));
  assert.equal(bk.combineLong, undefined);
  assert.equal(bk.combineShort, undefined);
  assert.equal(bk.combineQuarter, undefined, 'the quarter merge only where the backend has it on');
});

test('mergeFor: the shape\'s merge or its twins by the step\'s pieces; one warp a quarter row for 5+ pieces where on', () => {
  const { kc } = cache(true, { combineQuarter: true });
  const one = problem(1, 16, { b: 1, totalQ: 1, numSmParts: 132 });
  const sk = kc.shapeKernels(one, planOf(one));
  assert.ok(sk.combineQuarter && sk.combineShort && sk.combine?.what === 'mla_combine');
  assert.equal(sk.combineQuarter.what, 'mla_combine_quarter');
  assert.deepEqual([sk.combineQuarter.gx, sk.combineQuarter.gy, sk.combineQuarter.threads, sk.combineQuarter.pdl], [1, 8, 256, true]);
  assert.equal(mergeFor(sk, 200)?.what, 'mla_combine_t128');
  assert.equal(mergeFor(sk, 30)?.what, 'mla_combine');
  assert.equal(mergeFor(sk, undefined)?.what, 'mla_combine');
  // 4 requests of 128 rows: mla_combine with its twins; 24 pieces over 1.3 waves of CTA merges go to one warp a row, and
  // from 5 pieces on to one warp a quarter row (256 CTAs: one wave of two an SM on 132 SMs)
  const four = problem(1, 128, { b: 4, totalQ: 4, numSmParts: 66 });
  const s4 = kc.shapeKernels(four, planOf(four));
  assert.ok(s4.combineQuarter && s4.combineShort && s4.combine?.what === 'mla_combine');
  assert.deepEqual([s4.combineQuarter.gx, s4.combineQuarter.gy], [4, 64]);
  const w = s4.combineWaves!;
  assert.ok(w > 1);
  const few = Math.min(4, Math.floor(10 * w)), many = Math.min(24, Math.floor(10 * w));
  assert.equal(mergeFor(s4, few)?.what, 'mla_combine_warps', 'up to 4 pieces: one warp a row (one round trip already)');
  assert.equal(mergeFor(s4, many)?.what, many > 4 ? 'mla_combine_quarter' : 'mla_combine_warps');
  const { kc: off } = cache(true);
  assert.equal(mergeFor(off.shapeKernels(four, planOf(four)), many)?.what, 'mla_combine_warps', 'off: one warp a row');
  // a shape whose own merge is one warp a row (6 x 128 rows) would make 384 quarter CTAs, more than one wave: none
  const six = problem(1, 128, { b: 6, totalQ: 6, numSmParts: 66 });
  const s6 = kc.shapeKernels(six, planOf(six));
  assert.equal(s6.combine?.what, 'mla_combine_warps');
  assert.equal(s6.combineQuarter, undefined);
  assert.equal(mergeFor(s6, 12)?.what, 'mla_combine_warps');
});

test('mergeFor with mla_combine_q32 for all (FLASHMLA_CUDA_COMBINE_Q32=1, a measurement knob): q32 for 5-64 pieces, the shape\'s merge otherwise', () => {
  const { kc, asked } = cache(true, { combineQuarter: true, combineQ32: 'all' });
  const four = problem(1, 64, { b: 4, totalQ: 4, numSmParts: 132 });
  const s4 = kc.shapeKernels(four, planOf(four));
  assert.ok(s4.combineQ32);
  assert.deepEqual([s4.combineQ32.what, s4.combineQ32.gx, s4.combineQ32.gy, s4.combineQ32.gz, s4.combineQ32.threads, s4.combineQ32.smem, s4.combineQ32.pdl], ['mla_combine_q32', 4, 64, 1, 128, 0, true]);
  assert.ok(asked.some((a) => a.name === 'mla_combine_q32_bf16'));
  for (const n of [5, 16, 26, 33, 64]) assert.equal(mergeFor(s4, n)?.what, 'mla_combine_q32', `${n} pieces`);
  assert.notEqual(mergeFor(s4, 4)?.what, 'mla_combine_q32', 'up to 4 pieces: one warp a row already takes them in one trip');
  assert.notEqual(mergeFor(s4, 65)?.what, 'mla_combine_q32');
  assert.notEqual(mergeFor(s4, undefined)?.what, 'mla_combine_q32', 'pieces unknown (device metadata)');
  // off: never looked up
  const { kc: off, asked: offAsked } = cache(true, { combineQuarter: true, combineQ32: false });
  const o4 = off.shapeKernels(four, planOf(four));
  assert.equal(o4.combineQ32, undefined);
  assert.ok(!offAsked.some((a) => a.name.startsWith('mla_combine_q32')));
  assert.notEqual(mergeFor(o4, 26)?.what, 'mla_combine_q32');
});

test('mla_combine_q32 by its rule (the default): in place of the CTA merge for steps of 112-396 rows whose requests are in 5-32 pieces', () => {
  assert.equal(combineQ32Default, true);
  assert.equal(combineQ32MinRows, 112);
  assert.equal(combineQ32Pieces, 32);
  const { kc, asked } = cache(true, { combineQuarter: true, combineQ32: 'rule' });
  // b = 5, 16 x 4 rows: 320 CTAs (one wave of three an SM); its CTA merge makes 3.2 waves
  const five = problem(4, 16, { b: 5, totalQ: 20, numSmParts: 132 });
  const s5 = kc.shapeKernels(five, planOf(five));
  assert.ok(s5.combineQ32 && s5.combine?.what === 'mla_combine' && s5.combineLong && s5.combineShort);
  assert.deepEqual([s5.combineQ32.gx, s5.combineQ32.gy, s5.combineQ32.threads, s5.combineQ32.pdl], [5, 64, 128, true]);
  assert.equal(s5.q32All, undefined);
  assert.ok(asked.some((a) => a.name === 'mla_combine_q32_bf16'));
  assert.equal(mergeFor(s5, 26)?.what, 'mla_combine_q32', '26 pieces over 3.2 waves: more than one warp a row takes (24)');
  assert.equal(mergeFor(s5, 32)?.what, 'mla_combine_q32');
  assert.equal(mergeFor(s5, 33)?.what, 'mla_combine', 'two trips: the CTA merge');
  assert.equal(mergeFor(s5, 20)?.what, 'mla_combine_quarter', '20 pieces over 3.2 waves: one warp a row\'s twin, then the quarter merge');
  assert.equal(mergeFor(s5, 4)?.what, 'mla_combine_warps');
  assert.equal(mergeFor(s5, 110)?.what, 'mla_combine_t128');
  assert.equal(mergeFor(s5, undefined)?.what, 'mla_combine', 'pieces unknown (device metadata)');
  // 9 x 16 rows (144 CTAs, 1.45 waves of the CTA merge): 15 pieces stay with the CTA merge by combineEntry, so q32 takes them;
  // 7 x 16 (112 CTAs, the bound) too
  const nine = problem(1, 16, { b: 9, totalQ: 9, numSmParts: 132 });
  assert.equal(mergeFor(kc.shapeKernels(nine, planOf(nine)), 15)?.what, 'mla_combine_q32');
  const seven = problem(1, 16, { b: 7, totalQ: 7, numSmParts: 132 });
  assert.equal(mergeFor(kc.shapeKernels(seven, planOf(seven)), 12)?.what, 'mla_combine_q32');
  // fewer than 112 rows (6 x 16: 96; 5 x 16: 80) or more than a wave (7 x 64 = 448 > 396): never looked up, the merge as before
  for (const [b, sQ] of [[6, 1], [5, 1], [1, 4], [7, 4]]) {
    const p = problem(sQ, 16, { b, totalQ: b * sQ, numSmParts: 132 });
    const sk = kc.shapeKernels(p, planOf(p));
    assert.equal(sk.combineQ32, undefined, `b ${b} sQ ${sQ}`);
    assert.notEqual(mergeFor(sk, 26)?.what, 'mla_combine_q32');
  }
  // a large batch whose merge is one warp a row already: no q32
  const big = problem(1, 128, { b: 128, totalQ: 128, numSmParts: 66 });
  assert.equal(kc.shapeKernels(big, planOf(big)).combineQ32, undefined);
});

test("createCudaBackend: a schedule that is not 'flashmla', 'fill' or 'auto', or a boundDeviceIndices that is not a boolean, is refused before the driver is touched", async () => {
  const { createCudaBackend, cudaScheduleDefault } = await import('../../src/backends/cuda/index.js');
  const { FlashMlaError } = await import('../../src/core/errors.js');
  await assert.rejects(createCudaBackend({ schedule: 'even' as 'fill' }), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && e.argument === 'schedule');
  await assert.rejects(createCudaBackend({ boundDeviceIndices: 'no' as unknown as boolean }), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && e.argument === 'boundDeviceIndices');
  assert.equal(cudaScheduleDefault('9.0'), 'auto');
  assert.equal(cudaScheduleDefault('8.9'), 'flashmla');
  assert.equal(cudaScheduleDefault('10.0'), 'flashmla');
});

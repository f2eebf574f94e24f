// q's tensor map for decode_sm90.cu's library entries (session 19: Q^T by TMA, kNVarQTma in kNLibVar), without a GPU:
// the map launch.ts builds (bf16 / f16, one to many query rows, views), when the shape leaves no map to make, the
// slot that encodes it once per q (QMapSlot) and answers false where tensor-map.ts or the driver refuses it, and the
// kernel cache's choice between an entry with the map and its _ld twin (Q^T by the consumers' copies). An older
// decode_sm90.fatbin has no _ld entries and its entries take no map: the cache then never asks for one. Session 20 (h5):
// the wide kernel the same way (decode_sm90_wide.cu kVarBQTma, 64-row boxes) where its fatbin has _ld entries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import koffi from 'koffi';
import { FlashMlaError } from '../../src/core/errors.js';
import { sm90Launch, sm90QMap, sm90QMapFits, sm90WideLaunch } from '../../src/backends/cuda/kernels/launch.js';
import { KernelCache, type KernelCacheHost, QMapSlot } from '../../src/backends/cuda/shape-kernels.js';
import { type TiledTensorMapArgs, kernelArgs, tiledMapArgs } from '../../src/backends/cuda/tensor-map.js';
import { mlaParamsLayout } from '../../src/backends/cuda/params.js';
import { planDecode } from '../../src/core/plan.js';
import { lseStrides, type MlaProblem } from '../../src/core/problem.js';

const base = 0x7f0000000000n;

function problem(b: number, sQ: number, hQ: number, o: Partial<MlaProblem> = {}): MlaProblem {
  const p = {
    b, sQ, totalQ: b * sQ, hQ, hKv: 1, nGroups: hQ, dQk: 576, dV: 512, pageBlockSize: 64, numBlocks: 40, maxBlocksPerSeq: 10,
    dtype: 'bf16', kvDtype: 'bf16', softmaxScale: 1 / 24, causal: sQ > 1, varlen: false, numSmParts: 33, ...o,
  } as MlaProblem;
  return { ...p, ...lseStrides(p) };
}

test('sm90QMap: b * sQ * hQ rows of 576 elements, boxes of 64 columns x the row tile, SW128, bf16 and f16', () => {
  const one = sm90QMap(problem(1, 1, 16), base, 16)!;
  assert.deepEqual(one, { dtype: 'bf16', base, dims: [576, 16], strides: [1152], box: [64, 16], swizzle: '128B', l2Promotion: '256B' });
  const a = tiledMapArgs(one);
  assert.equal(a.dataType, 9);
  assert.deepEqual(Array.from(a.globalDim), [576n, 16n]);
  assert.deepEqual(Array.from(a.globalStrides), [1152n]);
  assert.deepEqual(Array.from(a.boxDim), [64, 16]);
  assert.equal(a.swizzle, 3);
  assert.equal(a.oobFill, 0); // box rows past the last request read as zero
  assert.equal(tiledMapArgs(sm90QMap(problem(1, 1, 16, { dtype: 'f16', kvDtype: 'f16' }), base, 16)!).dataType, 6);
  // sQ > 1 and hQ not a multiple of 16: the row tile sm90Launch picks, all rows of q in the map.
  for (const [b, sQ, hQ] of [[1, 2, 16], [4, 3, 10], [128, 1, 32], [3, 1, 20], [2, 4, 8]] as const) {
    const p = problem(b, sQ, hQ), nr = sm90Launch(p)!.nr;
    const m = sm90QMap(p, base, nr)!;
    assert.deepEqual([m.dims, m.box], [[576, b * sQ * hQ], [64, nr]], `b ${b} sQ ${sQ} hQ ${hQ}`);
    assert.doesNotThrow(() => tiledMapArgs(m));
  }
});

test('sm90QMap for the wide kernel: 64-row boxes (its Q region: nine 64 x 64 SW128 boxes), every shape it takes has a map', () => {
  for (const [b, sQ, hQ] of [[1, 1, 64], [4, 4, 16], [128, 2, 32], [128, 1, 64], [128, 1, 128], [128, 2, 128], [2, 3, 30]] as const) {
    const p = problem(b, sQ, hQ), w = sm90WideLaunch(p)!;
    assert.equal(sm90Launch(p), undefined);
    assert.deepEqual([w.nr, w.ldName], [64, 'mla_decode_sm90w_ld_bf16']);
    assert.equal(sm90QMapFits(p, 64), true);
    const m = sm90QMap(p, base, 64)!;
    assert.deepEqual([m.dims, m.box, m.strides, m.swizzle], [[576, b * sQ * hQ], [64, 64], [1152], '128B'], `b ${b} sQ ${sQ} hQ ${hQ}`);
    assert.deepEqual(Array.from(tiledMapArgs(m).boxDim), [64, 64]);
  }
  assert.equal(sm90WideLaunch(problem(1, 1, 64, { dtype: 'f16', kvDtype: 'f16' }))!.ldName, 'mla_decode_sm90w_ld_f16');
  assert.equal(sm90QMapFits(problem(1, 1, 32), 64), false);
});

test('sm90QMap: no map where q has fewer rows than the box (the _ld entry runs)', () => {
  for (const [b, sQ, hQ, nr] of [[1, 1, 8, 16], [1, 1, 1, 16], [1, 1, 20, 32], [1, 3, 10, 32]] as const) {
    const p = problem(b, sQ, hQ);
    assert.equal(sm90Launch(p)!.nr, nr);
    assert.equal(sm90QMapFits(p, nr), false);
    assert.equal(sm90QMap(p, base, nr), undefined, `b ${b} sQ ${sQ} hQ ${hQ}`);
  }
  assert.equal(sm90QMapFits(problem(2, 1, 8), 16), true);
});

test('sm90QMap: a view starts the map at its element offset; one off the 16-byte grid is a typed error, not a map', () => {
  const p = problem(2, 1, 16);
  assert.equal(tiledMapArgs(sm90QMap(p, base + 576n * 2n * 5n, 16)!).base, base + 5760n); // 5 rows in: 16-byte aligned
  assert.throws(() => tiledMapArgs(sm90QMap(p, base + 8n, 16)!), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && /tensorMap\.base/.test(e.message));
});

function slotWith(encode: ((map: bigint, args: TiledTensorMapArgs) => void) | undefined) {
  const args = kernelArgs({ koffi, encodeTiled: encode }, mlaParamsLayout.size, 2);
  return { args, slot: new QMapSlot(args.maps[1]) };
}

test('QMapSlot: encodes into maps[1] once per q and shape, again when q moves', () => {
  const calls: { map: bigint; args: TiledTensorMapArgs }[] = [];
  const { args, slot } = slotWith((map, a) => { calls.push({ map, args: a }); });
  try {
    const p = problem(1, 1, 16);
    assert.equal(slot.ready(p, base, 16), true);
    assert.equal(slot.ready(p, base, 16), true);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].map, args.maps[1].ptr);
    assert.equal(calls[0].args.base, base);
    assert.equal(slot.ready(p, base + 1152n * 16n, 16), true);
    assert.equal(slot.ready(problem(2, 1, 16), base + 1152n * 16n, 16), true);
    assert.equal(slot.ready(problem(2, 1, 16, { dtype: 'f16', kvDtype: 'f16' }), base + 1152n * 16n, 16), true);
    assert.deepEqual(calls.map((c) => [c.args.base, Number(c.args.globalDim[1]), c.args.dataType]), [[base, 16, 9], [base + 18432n, 16, 9], [base + 18432n, 32, 9], [base + 18432n, 32, 6]]);
  } finally { koffi.free(args.ptr); koffi.free(args.argv); }
});

test('QMapSlot: a refused map is false (the caller launches _ld), never a throw; a fault still throws', () => {
  let refuse = true;
  const calls: bigint[] = [];
  const { args, slot } = slotWith((_map, a) => {
    calls.push(a.base);
    if (refuse) throw new FlashMlaError('driver_error', 'cuda: cuTensorMapEncodeTiled: CUDA_ERROR_INVALID_VALUE');
  });
  try {
    const p = problem(1, 1, 16);
    assert.equal(slot.ready(p, base, 16), false); // the driver's refusal
    assert.equal(slot.ready(p, base, 16), false); // remembered: not asked again for the same q
    assert.equal(calls.length, 1);
    refuse = false;
    assert.equal(slot.ready(p, base + 2304n * 16n, 16), true);
    assert.equal(slot.ready(p, base + 8n, 16), false); // tensor-map.ts's check: the driver is not asked
    assert.equal(slot.ready(problem(1, 1, 8), base, 16), false); // no map for 8 rows in a 16-row box
    assert.equal(calls.length, 2);
    const faulty = slotWith(() => { throw new FlashMlaError('device_lost', 'cuda: a fault'); });
    try {
      assert.throws(() => faulty.slot.ready(p, base, 16), (e: unknown) => e instanceof FlashMlaError && e.code === 'device_lost');
    } finally { koffi.free(faulty.args.ptr); koffi.free(faulty.args.argv); }
  } finally { koffi.free(args.ptr); koffi.free(args.argv); }
});

function cache(withLd: boolean, sm90WideQMap = withLd) {
  const asked: string[] = [];
  let next = 100n;
  const drv = {
    getFunction: (_m: bigint, name: string) => {
      asked.push(name);
      if (!withLd && name.includes('_ld_')) throw new FlashMlaError('driver_error', `cuda: cuModuleGetFunction(${name}): CUDA_ERROR_NOT_FOUND`);
      return next++;
    },
    setMaxDynamicSmem: () => {},
  };
  const kc = new KernelCache({
    drv: drv as unknown as KernelCacheHost['drv'], maxSmem: 232448, numSms: 132, decodeModule: 1n, combineModule: 2n, naiveModule: 3n,
    sm90Module: 4n, sm90WideModule: 5n, sm90WideQMap, paramsView: new DataView(new ArrayBuffer(mlaParamsLayout.size)), repacked: () => {},
  });
  return { kc, asked };
}
const planOf = (p: MlaProblem) => planDecode({ ...p }, undefined);

test('KernelCache: the narrow entries take q\'s map (box = the row tile), with their _ld twin for a refused map', () => {
  const { kc } = cache(true);
  for (const [b, sQ, hQ, nr, dtype] of [[1, 1, 16, 16, 'bf16'], [4, 2, 16, 32, 'bf16'], [16, 1, 32, 32, 'f16'], [128, 1, 16, 16, 'f16'], [2, 1, 8, 16, 'f16']] as const) {
    const p = problem(b, sQ, hQ, { dtype, kvDtype: dtype });
    const sk = kc.shapeKernels(p, planOf(p));
    assert.equal(sk.decode?.what, `mla_decode_sm90_${dtype}_n${nr}`);
    assert.equal(sk.decode?.qMap, nr);
    assert.equal(sk.decodeLd?.what, `mla_decode_sm90_ld_${dtype}_n${nr}`);
    assert.equal(sk.decodeLd?.qMap, undefined);
    assert.equal(sk.decodeLd?.cacheMap, true);
    assert.deepEqual([sk.decodeLd?.gx, sk.decodeLd?.threads, sk.decodeLd?.smem, sk.decodeLd?.pdl], [sk.decode?.gx, sk.decode?.threads, sk.decode?.smem, sk.decode?.pdl]);
    assert.notEqual(sk.decodeLd?.fn, sk.decode?.fn);
    assert.equal(kc.decodeKernel(p), `mla_decode_sm90_${dtype}_n${nr}`);
  }
  // Fewer query rows than the box: the _ld entry is the decode, with no map to make.
  for (const [sQ, hQ, nr] of [[1, 8, 16], [1, 20, 32], [3, 10, 32]] as const) {
    const p = problem(1, sQ, hQ);
    const sk = kc.shapeKernels(p, planOf(p));
    assert.equal(sk.decode?.what, `mla_decode_sm90_ld_bf16_n${nr}`);
    assert.equal(sk.decode?.qMap, undefined);
    assert.equal(kc.decodeKernel(p), `mla_decode_sm90_ld_bf16_n${nr}`);
  }
  // The wide kernel of a build with _ld entries (kVarBQTma): 64-row boxes, its _ld twin beside it, no PDL either way.
  for (const [b, sQ, hQ, dtype] of [[2, 1, 64, 'bf16'], [4, 4, 16, 'bf16'], [128, 2, 128, 'f16'], [128, 1, 32, 'bf16'], [17, 2, 16, 'f16']] as const) { // (the last two: 32 rows, 2 b >= 33 parts)
    const p = problem(b, sQ, hQ, { dtype, kvDtype: dtype });
    const wide = kc.shapeKernels(p, planOf(p));
    assert.equal(wide.decode?.what, `mla_decode_sm90w_${dtype}`);
    assert.equal(wide.decode?.qMap, 64);
    assert.equal(wide.decodeLd?.what, `mla_decode_sm90w_ld_${dtype}`);
    assert.equal(wide.decodeLd?.qMap, undefined);
    assert.deepEqual([wide.decodeLd?.gx, wide.decodeLd?.gz, wide.decodeLd?.threads, wide.decodeLd?.smem, wide.decodeLd?.pdl, wide.decodeLd?.cacheMap],
      [wide.decode?.gx, wide.decode?.gz, 384, wide.decode?.smem, false, true]);
    assert.equal(kc.decodeKernel(p), `mla_decode_sm90w_${dtype}`);
  }
});

test('KernelCache: a decode_sm90.fatbin without _ld entries (before q\'s map) launches its entries without one', () => {
  const { kc, asked } = cache(false);
  for (const [b, hQ] of [[1, 16], [1, 8]] as const) {
    const p = problem(b, 1, hQ);
    const sk = kc.shapeKernels(p, planOf(p));
    assert.equal(sk.decode?.what, 'mla_decode_sm90_bf16_n16');
    assert.equal(sk.decode?.qMap, undefined);
    assert.equal(sk.decodeLd, undefined);
    assert.equal(kc.decodeKernel(p), 'mla_decode_sm90_bf16_n16');
  }
  assert.equal(asked.filter((n) => n === 'mla_decode_sm90_ld_bf16_n16').length, 1, 'a missing _ld entry is looked up once');
});

test('KernelCache: a decode_sm90_wide.fatbin without _ld entries (before session 21) launches its entries without a map', () => {
  for (const qMapBuild of [false, true]) { // told it is a q-map build or not: a missing _ld entry never breaks the launch
  const { kc, asked } = cache(false, qMapBuild);
  for (const [b, sQ, hQ] of [[2, 1, 64], [4, 4, 16]] as const) {
    const p = problem(b, sQ, hQ);
    const sk = kc.shapeKernels(p, planOf(p));
    assert.equal(sk.decode?.what, 'mla_decode_sm90w_bf16');
    assert.equal(sk.decode?.qMap, undefined);
    assert.equal(sk.decodeLd, undefined);
    assert.equal(kc.decodeKernel(p), 'mla_decode_sm90w_bf16');
  }
  // not told (the default): the _ld entry is not even looked up (no failed cuModuleGetFunction for compute-sanitizer)
  assert.equal(asked.filter((n) => n === 'mla_decode_sm90w_ld_bf16').length, qMapBuild ? 1 : 0, 'a missing _ld entry is looked up once, and only in a q-map build');
  }
});

// MlaAttention's device-resident step on CUDA (kernels/layer.cu through src/backends/cuda/layer.ts), on the GPU
// host (not part of `npm test`): the tensor-core bf16 GEMM and the f32 GEMM against float64 products over odd
// shapes, offsets, strides and batches with NaN around every operand; both GEMMs split over k (layerSplitK: the
// partial and reduce passes) the same way, bit-identical run to run, on against off; the layer in both precisions
// against the float64 formula and against the host path, the f32 and the bf16 layer with every long-enough GEMM
// split, and a 2048-wide bf16 layer under the default rule against the unsplit one.
//   npm run build && node --import tsx --test test/gpu/mla-device.test.ts
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CudaBackend, createCudaBackend, cudaLayerGemmSplitK, cudaLayerSplitKDefault, gemmCtas } from '../../src/backends/cuda/index.js';
import { bf16ToF32, encodeHalf, decodeHalf } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { MlaAttention } from '../../src/core/mla/index.js';
import { fromArray } from '../../src/core/tensor.js';
import { assertClose, checkHfCaseOnDevice, cosDiff, hfCaseNames, layerTol, normals, poisonedCache, randomWeights, referenceSequences, runSequences, smallConfig } from '../support/mla-case.js';

let be: CudaBackend;
/** Backends with the gemms' split-K forced on / off (CudaBackendOptions.layerSplitK), made on first use. */
let splitOn: CudaBackend | undefined, splitOff: CudaBackend | undefined;
before(async () => { be = await createCudaBackend(); });
after(() => { splitOn?.dispose(); splitOff?.dispose(); be?.dispose(); });

type YType = 'f32' | 'bf16' | 'f16';

/** The elements of a [batch][rows][cols] operand (at `off`, rows `stride` apart, entries `batchStride` apart) a product reads. */
function usedMask(len: number, off: number, batch: number, batchStride: number, rows: number, stride: number, cols: number): Uint8Array {
  const used = new Uint8Array(len);
  for (let z = 0; z < batch; z++) for (let i = 0; i < rows; i++) used.fill(1, off + z * batchStride + i * stride, off + z * batchStride + i * stride + cols);
  return used;
}

/** NaN in every element of `a` that `used` leaves out. */
function poisonUnused(a: Float32Array, used: Uint8Array): void {
  for (let i = 0; i < a.length; i++) if (!used[i]) a[i] = NaN;
}

interface GemmLayout { m: number; n: number; k: number; batch: number; xOff: number; xStride: number; xBatch: number; wOff: number; wStride: number; wBatch: number; yOff: number; yStride: number; yBatch: number }

/** The float64 products of x and w laid out as `g` says, [batch][m][n]. */
function products(x: Float32Array, w: Float32Array, g: GemmLayout): Float64Array {
  const s = new Float64Array(g.batch * g.m * g.n);
  for (let z = 0; z < g.batch; z++) for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) {
    let acc = 0;
    const xr = g.xOff + z * g.xBatch + i * g.xStride, wr = g.wOff + z * g.wBatch + j * g.wStride;
    for (let q = 0; q < g.k; q++) acc += x[xr + q] * w[wr + q];
    s[(z * g.m + i) * g.n + j] = acc;
  }
  return s;
}

/**
 * y against the float64 products of x and w (laid out as `g` says; `ref`: products(x, w, g) where the caller has it):
 * the worst error over the allowed, `round` |s| (the output's rounding) + `acc` (√k + |s|) (the accumulation's); fails
 * on an error over it.
 */
function worstProductError(what: string, y: ArrayLike<number>, x: Float32Array, w: Float32Array, g: GemmLayout, round: number, acc: number, ref = products(x, w, g)): number {
  let worst = 0;
  for (let z = 0; z < g.batch; z++) for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) {
    const s = ref[(z * g.m + i) * g.n + j];
    const got = y[g.yOff + z * g.yBatch + i * g.yStride + j];
    const e = Math.abs(got - s) / (round * Math.abs(s) + acc * (Math.sqrt(g.k) + Math.abs(s)));
    if (!(e <= 1)) assert.fail(`${what}: y[${z}, ${i}, ${j}] = ${got}, want ${s}`);
    worst = Math.max(worst, e);
  }
  return worst;
}

/** Float64 references of gemmCase's inputs (a function of dtype, shape and seed), computed once for the calls that repeat them. */
const gemmRefs = new Map<string, Float64Array>();

/**
 * One gemm of `dtype` operands on `b` against float64: offsets, row strides and batch gaps on every operand (bf16:
 * multiples of 8, as the tensor-core kernel's 16-byte copies need, and the values rounded to bf16 first), NaN in every
 * element no product may read and in all of y beforehand. Returns y's raw bits (the whole buffer) and the worst error
 * over the allowed (acc 1e-5 of √k + |s| for f32, 5e-5 for bf16's tensor-core accumulation, plus the 16-bit output's
 * rounding); fails on an error over it or a write outside y.
 */
async function gemmCase(b: CudaBackend, dtype: 'f32' | 'bf16', yType: YType, [m, n, k, batch]: readonly number[], seed: number): Promise<{ bits: Uint8Array; worst: number }> {
  const bf = dtype === 'bf16';
  const xOff = bf ? 8 : 5, xStride = k + (bf ? 8 : 3), wOff = bf ? 16 : 2, wStride = k + (bf ? 24 : 1), yOff = 3, yStride = n + 5;
  const xBatch = m * xStride + (bf ? 8 : 7), wBatch = n * wStride + (bf ? 8 : 4), yBatch = m * yStride + 2;
  const xLen = xOff + batch * xBatch, wLen = wOff + batch * wBatch, yLen = yOff + batch * yBatch;
  let x = normals(seed, xLen), w = normals(seed + 1, wLen);
  poisonUnused(x, usedMask(xLen, xOff, batch, xBatch, m, xStride, k));
  poisonUnused(w, usedMask(wLen, wOff, batch, wBatch, n, wStride, k));
  if (bf) { x = Float32Array.from(encodeHalf('bf16', x), bf16ToF32); w = Float32Array.from(encodeHalf('bf16', w), bf16ToF32); }
  const up = (a: Float32Array) => (bf ? b.upload(fromArray('bf16', [a.length], encodeHalf('bf16', a))) : b.upload(fromArray('f32', [a.length], a)));
  const xT = up(x), wT = up(w);
  const yT = yType === 'f32' ? b.upload(fromArray('f32', [yLen], new Float32Array(yLen).fill(NaN)))
    : b.upload(fromArray(yType, [yLen], new Uint16Array(yLen).fill(yType === 'bf16' ? 0x7fc0 : 0x7e00)));
  b.layerOps().gemm({ m, n, k, batch, x: xT, xOff, xStride, xBatch, w: wT, wOff, wStride, wBatch, y: yT, yOff, yStride, yBatch });
  const raw = (await b.download(yT)).host();
  for (const t of [xT, wT, yT]) b.free(t);
  const y = yType === 'f32' ? (raw as Float32Array) : decodeHalf(yType, raw as Uint16Array);
  const round = yType === 'bf16' ? 2 ** -8 : yType === 'f16' ? 2 ** -11 : 0;
  const what = `${dtype} gemm -> ${yType} ${m}x${n}x${k} x${batch}`;
  const g = { m, n, k, batch, xOff, xStride, xBatch, wOff, wStride, wBatch, yOff, yStride, yBatch };
  const key = `${dtype} ${m} ${n} ${k} ${batch} ${seed}`;
  if (!gemmRefs.has(key)) gemmRefs.set(key, products(x, w, g));
  const worst = worstProductError(what, y, x, w, g, round, bf ? 5e-5 : 1e-5, gemmRefs.get(key));
  const yUsed = usedMask(yLen, yOff, batch, yBatch, m, yStride, n);
  for (let i = 0; i < yLen; i++) if (!yUsed[i] && !Number.isNaN(y[i])) assert.fail(`${what}: wrote y[${i}] outside the product`);
  return { bits: new Uint8Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), worst };
}

/**
 * A split gemm's checks on `shapes` of `dtype` in every y dtype: split-K on against float64 twice (the same bits), off
 * (the one-pass kernel; the same bits where the rule does not split), and the default backend (the same bits as on,
 * unless FLASHMLA_CUDA_LAYER_SPLITK says otherwise). `splits`: the rule's split of each shape.
 */
async function checkSplitGemm(dtype: 'f32' | 'bf16', shapes: readonly (readonly number[])[], splits: { splits: number }[], seed0: number): Promise<void> {
  splitOn ??= await createCudaBackend({ layerSplitK: true });
  splitOff ??= await createCudaBackend({ layerSplitK: false });
  assert.equal(splitOff.info.details?.layerSplitK, false);
  assert.deepEqual(splitOn.info.details?.layerSplitK, cudaLayerSplitKDefault);
  const dflt = process.env.FLASHMLA_CUDA_LAYER_SPLITK === undefined || process.env.FLASHMLA_CUDA_LAYER_SPLITK === '';
  for (const yType of ['f32', 'bf16', 'f16'] as const) {
    let worstOn = 0, worstOff = 0, differ = 0;
    for (const [s, shape] of shapes.entries()) {
      const seed = seed0 + 13 * s;
      const on = await gemmCase(splitOn, dtype, yType, shape, seed), again = await gemmCase(splitOn, dtype, yType, shape, seed);
      assert.deepEqual(again.bits, on.bits, `${dtype} gemm -> ${yType} ${shape.join('x')}: split-K run to run`);
      const off = await gemmCase(splitOff, dtype, yType, shape, seed);
      // Unsplit, the calls that do not split are the one-pass kernel on either backend: the same bits.
      if (splits[s].splits === 1) assert.deepEqual(off.bits, on.bits, `${dtype} ${shape.join('x')} below minK: split-K on and off the same kernel`);
      else if (!off.bits.every((v, i) => v === on.bits[i])) differ++;
      // The default backend (no option, no FLASHMLA_CUDA_LAYER_SPLITK) runs what the rule says: split-K on.
      if (dflt) assert.deepEqual((await gemmCase(be, dtype, yType, shape, seed)).bits, on.bits, `${dtype} ${shape.join('x')}: the default backend splits`);
      worstOn = Math.max(worstOn, on.worst);
      worstOff = Math.max(worstOff, off.worst);
    }
    console.log(`# ${dtype} gemm -> ${yType}: worst error split-K on ${worstOn.toFixed(3)}, off ${worstOff.toFixed(3)} of the allowed; ${differ} split shapes' bits differ on vs off`);
  }
}

describe('GPU: device-resident MLA layer', () => {
  test('gemm (bf16 tensor cores, f32 SIMT) vs float64: odd shapes, offsets, strides, batches, NaN padding', async () => {
    // [m, n, k, batch]
    const shapes: [number, number, number, number][] = [[1, 3, 8, 1], [3, 200, 40, 2], [17, 70, 136, 3], [64, 576, 7168, 1], [65, 129, 512, 4], [130, 64, 16, 1]];
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const yType of ['f32', 'bf16'] as const) {
        for (const [m, n, k, batch] of shapes) {
          const xOff = 8, xStride = k + 8, wOff = 16, wStride = k + 16, yOff = 3, yStride = n + 5;
          const xBatch = m * xStride + 8, wBatch = n * wStride, yBatch = m * yStride + 2;
          const xLen = xOff + batch * xBatch, wLen = wOff + batch * wBatch, yLen = yOff + batch * yBatch;
          let x = normals(m + n + k, xLen), w = normals(n * 3 + k, wLen);
          // NaN in every element no product may read (padding of rows, gaps between batch entries, offsets).
          poisonUnused(x, usedMask(xLen, xOff, batch, xBatch, m, xStride, k));
          poisonUnused(w, usedMask(wLen, wOff, batch, wBatch, n, wStride, k));
          if (dtype === 'bf16') { x = Float32Array.from(encodeHalf('bf16', x), bf16ToF32); w = Float32Array.from(encodeHalf('bf16', w), bf16ToF32); }
          const up = (a: Float32Array) => (dtype === 'bf16' ? be.upload(fromArray('bf16', [a.length], encodeHalf('bf16', a))) : be.upload(fromArray('f32', [a.length], a)));
          const xT = up(x), wT = up(w);
          const yT = yType === 'f32' ? be.upload(fromArray('f32', [yLen], new Float32Array(yLen).fill(NaN)))
            : be.upload(fromArray('bf16', [yLen], new Uint16Array(yLen).fill(0x7fc0)));
          be.layerOps().gemm({ m, n, k, batch, x: xT, xOff, xStride, xBatch, w: wT, wOff, wStride, wBatch, y: yT, yOff, yStride, yBatch });
          const raw = (await be.download(yT)).host();
          const y = yType === 'f32' ? (raw as Float32Array) : decodeHalf('bf16', raw as Uint16Array);
          // Allowed error: the f32 accumulation's, acc * (√k + |s|), plus the 16-bit output's rounding, 2^-8 |s|.
          // The tensor cores' f32 accumulation aligns products before adding them and truncates: over k = 7168 it
          // drifts ~1.5e-5 of that scale (measured on the H200), where the SIMT FMA chain stays near 1e-6.
          const acc = dtype === 'bf16' ? 5e-5 : 1e-5;
          const worst = worstProductError(`${dtype} gemm -> ${yType} ${m}x${n}x${k} batch ${batch}`, y, x, w,
            { m, n, k, batch, xOff, xStride, xBatch, wOff, wStride, wBatch, yOff, yStride, yBatch }, yType === 'bf16' ? 2 ** -8 : 0, acc);
          // Everything outside the products keeps its poison: nothing wrote out of bounds.
          const yUsed = usedMask(yLen, yOff, batch, yBatch, m, yStride, n);
          for (let i = 0; i < yLen; i++) if (!yUsed[i] && !Number.isNaN(y[i])) assert.fail(`${dtype} gemm ${m}x${n}x${k}: wrote y[${i}] outside the product`);
          console.log(`# ${dtype} gemm -> ${yType} ${m}x${n}x${k} x${batch}: worst error ${worst.toFixed(3)} of the allowed`);
          for (const t of [xT, wT, yT]) be.free(t);
        }
      }
    }
    const t = be.upload(fromArray('bf16', [64], new Uint16Array(64)));
    assert.throws(() => be.layerOps().gemm({ m: 2, n: 2, k: 12, x: t, w: t, y: be.empty('f32', [4]) }),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'gemm.k');
    assert.throws(() => be.layerOps().gemm({ m: 2, n: 2, k: 64, x: t, w: t, y: be.empty('f32', [4]) }),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'gemm.x');
  });

  // [m, n, k, batch]: skinny with a long k (odd m and n; k not a multiple of the chunk, so a shorter last range),
  // strided batches as the absorbed products have, kv_a's V3 shape; the last below minK (never split).
  const splitShapes = [[1, 5, 4097, 1], [3, 70, 2051, 2], [17, 65, 4097, 3], [40, 130, 2600, 2], [64, 576, 7168, 1], [5, 7, 2047, 4]] as const;

  test('f32 gemm split over k (layerSplitK): every y dtype vs float64, NaN padding, the same bits twice, on vs off, on by default', async () => {
    const numSms = be.info.numSms;
    const splits = splitShapes.map(([m, n, k, batch]) => cudaLayerGemmSplitK(k, gemmCtas(m, n, batch), numSms, cudaLayerSplitKDefault, 'f32'));
    console.log(`# ${numSms} SMs: f32 splits ${splits.map((s, i) => `${splitShapes[i].join('x')}: ${s.splits} of ${s.chunk}`).join(', ')}`);
    assert.deepEqual(splits.map((s) => s.splits > 1), [true, true, true, true, true, false], 'the rule splits every shape but the last');
    await checkSplitGemm('f32', splitShapes, splits, 400);
  });

  // [m, n, k, batch] for the tensor-core kernel (k a multiple of 8): odd m, n not a multiple of 64, k not a multiple of
  // the chunk (on 132 SMs: 4104 in 15 ranges of 288, the last 72; 2600 in 10, the last 8), strided batches, an
  // o_proj-like k of 16392 in 57 ranges, kv_a's V3 shape (28 of 256); the last below minK.
  const bf16SplitShapes = [[1, 5, 4104, 1], [3, 70, 2056, 2], [17, 65, 4104, 3], [40, 130, 2600, 2], [9, 200, 16392, 1], [64, 576, 7168, 1], [5, 7, 2040, 4]] as const;

  test('bf16 gemm split over k (layerSplitK): every y dtype vs float64, NaN padding, the same bits twice, on vs off, on by default', async () => {
    const numSms = be.info.numSms;
    const splits = bf16SplitShapes.map(([m, n, k, batch]) => cudaLayerGemmSplitK(k, gemmCtas(m, n, batch), numSms, cudaLayerSplitKDefault, 'bf16'));
    console.log(`# ${numSms} SMs: bf16 splits ${splits.map((s, i) => `${bf16SplitShapes[i].join('x')}: ${s.splits} of ${s.chunk}`).join(', ')}`);
    assert.deepEqual(splits.map((s) => s.splits > 1), [true, true, true, true, true, true, false], 'the rule splits every shape but the last');
    await checkSplitGemm('bf16', bf16SplitShapes, splits, 500);
  });

  test('layer, f32 and bf16 precision, vs float64 and vs the host path', async () => {
    const checks: (() => void)[] = [];
    for (const [i, over] of [{}, { qLoraRank: null }, { numHeads: 16, hiddenSize: 256 }, { ropeInterleave: false, numHeads: 5 }].entries()) {
      for (const dtype of ['bf16', 'f16'] as const) {
        const c = smallConfig(over);
        const w = randomWeights(c, 170 + i);
        const hidden = normals(180 + i, 3 * 20 * c.hiddenSize);
        const want = referenceSequences(c, w, hidden, 3, 20);
        const got: Record<string, Float32Array> = {};
        for (const precision of ['host', 'f32', 'bf16'] as const) {
          const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 64, 16, dtype), precision });
          got[precision] = await runSequences(layer, hidden, 3, 20, 13);
          layer.dispose();
          layer.cache.dispose();
        }
        const d = { host: cosDiff(got.host, want), f32: cosDiff(got.f32, want), bf16: cosDiff(got.bf16, want) };
        console.log(`# case ${i} ${dtype} cache: cosine difference vs float64: host ${d.host.toExponential(2)}, device f32 ${d.f32.toExponential(2)}, device bf16 ${d.bf16.toExponential(2)}`);
        checks.push(() => {
          assertClose(got.f32, want, layerTol[dtype], `case ${i} device f32, ${dtype} cache`);
          assertClose(got.bf16, want, 2e-4, `case ${i} device bf16, ${dtype} cache`);
          assert.ok(cosDiff(got.f32, got.host) <= 1e-6, `case ${i} ${dtype}: device f32 vs host path ${cosDiff(got.f32, got.host)}`);
        });
      }
    }
    for (const check of checks) check();
  });

  test('layer, f32 precision with every gemm of k >= 32 split (layerSplitK minK 32, minChunk 16), vs float64 and vs the host path', async () => {
    // smallConfig's projections have k 48-512: a forced rule splits all but the absorbed W_UK (k 16), the ranges of
    // o_proj (k 72) uneven; the host path's matmul goes through the same gemm.
    const forced = await createCudaBackend({ layerSplitK: { minK: 32, minChunk: 16 } });
    try {
      const checks: (() => void)[] = [];
      for (const [i, over] of [{}, { qLoraRank: null }, { ropeInterleave: false, numHeads: 5 }].entries()) {
        const c = smallConfig(over);
        const w = randomWeights(c, 270 + i);
        const hidden = normals(280 + i, 3 * 20 * c.hiddenSize);
        const want = referenceSequences(c, w, hidden, 3, 20);
        const got: Record<string, Float32Array> = {};
        for (const [name, b] of [['split', forced], ['default', be]] as const) {
          for (const precision of ['host', 'f32'] as const) {
            const layer = new MlaAttention(c, w, { cache: poisonedCache(b, 64, 16, 'f16'), precision });
            got[`${name} ${precision}`] = await runSequences(layer, hidden, 3, 20, 13);
            layer.dispose();
            layer.cache.dispose();
          }
        }
        const d = (key: string) => cosDiff(got[key], want).toExponential(2);
        console.log(`# forced split, case ${i}: cosine difference vs float64: device f32 ${d('split f32')} (default backend ${d('default f32')}), host path ${d('split host')}`);
        checks.push(() => {
          assertClose(got['split f32'], want, layerTol.f16, `case ${i} device f32, forced split`);
          assertClose(got['split host'], want, layerTol.f16, `case ${i} host path, forced split`);
          assert.ok(cosDiff(got['split f32'], got['split host']) <= 1e-6, `case ${i}: forced split, device f32 vs host path ${cosDiff(got['split f32'], got['split host'])}`);
        });
      }
      for (const check of checks) check();
    } finally { forced.dispose(); }
  });

  test('layer, bf16 precision with every gemm of k >= 32 split (layerSplitK minK 32, minChunk 16) and a 2048-wide layer under the default rule, vs float64 and vs unsplit', async () => {
    // smallConfig's bf16 projections split under the forced rule in 32-column ranges: q_a and kv_a (k 64) in 2, q_b
    // (k 48) 32 + 16, W_UV (k 512) in 16, o_proj (k 72, or 120 with 5 heads) with a last range of 8 (or 24); W_UK (k 16)
    // does not. The 2048-wide layer (16 heads, q_lora 1536, V3's head dims) splits q_a, kv_a and o_proj (k 2048) by the
    // default rule, as a V3 step does at k 7168 / 16384.
    splitOn ??= await createCudaBackend({ layerSplitK: true });
    splitOff ??= await createCudaBackend({ layerSplitK: false });
    const forced = await createCudaBackend({ layerSplitK: { minK: 32, minChunk: 16 } });
    const wide = { hiddenSize: 2048, numHeads: 16, qLoraRank: 1536, qkNopeHeadDim: 128, vHeadDim: 128 };
    try {
      const checks: (() => void)[] = [];
      for (const [i, over] of [{}, { qLoraRank: null }, { ropeInterleave: false, numHeads: 5 }, wide].entries()) {
        const c = smallConfig(over), isWide = over === wide;
        const [b, T, prefill] = isWide ? [3, 8, 5] : [3, 20, 13];
        // Weights of std 0.03 on the wide layer keep its activations and scores near the small ones' scale (at 0.08
        // its k 2048 projections would make the softmax nearly one-hot, where a bf16 rounding of a score moves the output most).
        const w = randomWeights(c, 370 + i, isWide ? 0.03 : 0.08);
        const hidden = normals(380 + i, b * T * c.hiddenSize);
        const want = referenceSequences(c, w, hidden, b, T);
        const got: Record<string, Float32Array> = {};
        for (const [name, be2] of [['split', isWide ? splitOn : forced], ['unsplit', splitOff]] as const) {
          const layer = new MlaAttention(c, w, { cache: poisonedCache(be2, 64, 16, 'bf16'), precision: 'bf16' });
          got[name] = await runSequences(layer, hidden, b, T, prefill);
          layer.dispose();
          layer.cache.dispose();
        }
        const d = { split: cosDiff(got.split, want), unsplit: cosDiff(got.unsplit, want), between: cosDiff(got.split, got.unsplit) };
        console.log(`# bf16 split, case ${i}${isWide ? ' (2048 wide, default rule)' : ''}: cosine difference vs float64: split ${d.split.toExponential(2)}, unsplit ${d.unsplit.toExponential(2)}; split vs unsplit ${d.between.toExponential(2)}`);
        checks.push(() => {
          assertClose(got.split, want, 2e-4, `case ${i} device bf16, split`);
          assertClose(got.unsplit, want, 2e-4, `case ${i} device bf16, unsplit`);
          // The ranges' f32 sums round apart from one chain at the 16-bit activations between gemms: a few elements a
          // bf16 ulp apart, far inside the layer's bound against float64.
          assert.ok(d.between <= 1e-4, `case ${i}: bf16 split vs unsplit ${d.between}`);
        });
      }
      for (const check of checks) check();
    } finally { forced.dispose(); }
  });

  const names = hfCaseNames();
  for (const name of names) {
    test(`transformers case ${name}: device f32 at the layer bound, device bf16`, async () => {
      await checkHfCaseOnDevice(be, name, (line) => console.log(`# ${name} ${line}`));
    });
  }

  test('forwardDevice equals forward, with no host copy between the steps', async () => {
    const c = smallConfig();
    const w = randomWeights(c, 44);
    const hidden = normals(45, 2 * 6 * c.hiddenSize);
    const outs: Float32Array[] = [];
    for (const device of [false, true]) {
      const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 16, 16, 'bf16'), precision: 'bf16' });
      const ids = [layer.cache.addSequence(), layer.cache.addSequence()];
      if (device) {
        const x = be.upload(fromArray('f32', [hidden.length], hidden));
        outs.push((await be.download(await layer.forwardDevice(ids, x, 6))).host() as Float32Array);
        be.free(x);
      } else outs.push(await layer.forward(ids, hidden, 6));
      layer.dispose();
      layer.cache.dispose();
    }
    assert.ok(outs[0].every(Number.isFinite));
    assert.deepEqual(outs[1], outs[0]);
  });

  test('a full pool throws before anything is queued; bad precision is refused', async () => {
    const c = smallConfig();
    const w = randomWeights(c, 5);
    const cache = poisonedCache(be, 2, 16, 'bf16');
    const layer = new MlaAttention(c, w, { cache, precision: 'bf16' });
    const id = cache.addSequence();
    await assert.rejects(async () => layer.forward([id], normals(1, 40 * c.hiddenSize), 40), (e: unknown) => e instanceof FlashMlaError && e.code === 'out_of_memory');
    assert.equal(cache.seqlen(id), 0);
    layer.dispose();
    cache.dispose();
    assert.throws(() => new MlaAttention(c, w, { cache: poisonedCache(be, 2, 16, 'bf16'), precision: 'fp8' as 'bf16' }),
      (e: unknown) => e instanceof FlashMlaError && e.argument === 'precision');
  });
});

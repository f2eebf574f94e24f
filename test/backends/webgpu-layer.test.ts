// MlaAttention's device-resident step on WebGPU (src/backends/webgpu/layer.ts, kernels/layer.ts) on lavapipe: each
// op against float64 on inputs already rounded to its dtypes (odd shapes, offsets, strides, batches, NaN around every
// operand read and poison around every element written), the 16-bit conversions bit-exact against core/dtype.ts,
// calls cut into pieces under a small binding limit bit-identical to whole ones, the argument checks, and the whole
// layer in both device precisions against transformers' cases (test/fixtures/mla), float64 and the host path.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type WebGpuBackend, layerSplitKOn } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend, layerGemmFromEnv, layerSplitKFromEnv } from '../../src/backends/webgpu/node.js';
import {
  chooseLayerGemmSpec, chooseLayerGemmTile, layerConvertProgram, layerGemmPartProgram, layerGemmProgram, layerGemmReduceProgram,
  layerGemmSplitK, layerGemmTiledPartProgram, layerGemmTiledProgram, layerGemmTiledTiles, layerGemmTiles, layerKvAppendProgram,
  layerQRopeProgram, layerRmsNormProgram, layerSplitKDefault, layerSplitKTiled,
} from '../../src/backends/webgpu/kernels/layer.js';
import { type HalfDType, bf16ToF32, decodeHalf, encodeHalf, f16ToF32, f32Bits, f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { MlaAttention } from '../../src/core/mla/index.js';
import type { MlaDeviceOps } from '../../src/core/mla/device.js';
import { type HostTensor, Tensor, fromArray } from '../../src/core/tensor.js';
import {
  assertClose, chainTwoLayers, checkHfCaseOnDevice, cosDiff, hfCaseNames, layerTol, normals, poisonedCache, randomWeights, referenceSequences, runSequences, smallConfig,
} from '../support/mla-case.js';
import { Rng } from '../support/random.js';
import { useWebGpu } from '../support/webgpu.js';

type El = 'f32' | 'bf16' | 'f16';
const gpu = useWebGpu({ withReduced: false });
const need = (t: { skip: (m?: string) => void }) => gpu.need(t);

/** A backend on the same device whose storage bindings hold 16 KiB: every op is cut into many pieces there. */
let small: WebGpuBackend | undefined;
/** Backends on the same device with the gemm's split-K on / off (WebGpuBackendOptions.layerSplitK true / false). */
let withSplit: WebGpuBackend | undefined, noSplit: WebGpuBackend | undefined;
const splitOn = async (be: WebGpuBackend) => (withSplit ??= await createNodeWebGpuBackend({ device: be.device, layerSplitK: true }));
const splitOff = async (be: WebGpuBackend) => (noSplit ??= await createNodeWebGpuBackend({ device: be.device, layerSplitK: false }));
/** A backend on the same device running the gemm's classic main loop (WebGpuBackendOptions.layerGemm 'classic'). */
let classic: WebGpuBackend | undefined, smallClassic: WebGpuBackend | undefined;
const classicOf = async (be: WebGpuBackend) => (classic ??= await createNodeWebGpuBackend({ device: be.device, layerGemm: 'classic' }));
after(() => { small?.dispose(); withSplit?.dispose(); noSplit?.dispose(); classic?.dispose(); smallClassic?.dispose(); });

// ---------------------------------------------------------------- host helpers

/** Poison patterns no op writes for finite inputs: a NaN with a payload in each dtype. */
const poison = { f32: 0x7fc0_0123, bf16: 0x7fc1, f16: 0x7e01 } as const;
const half = (d: El): d is HalfDType => d !== 'f32';
const toBits = (d: HalfDType, v: number) => (d === 'bf16' ? f32ToBf16(v) : f32ToF16(v));
const fromBits = (d: HalfDType, b: number) => (d === 'bf16' ? bf16ToF32(b) : f16ToF32(b));
/** v rounded to dtype d (what a kernel reading d sees). */
const rounded = (d: El, v: number) => (half(d) ? fromBits(d, toBits(d, v)) : Math.fround(v));

function upload(be: WebGpuBackend, d: El, v: Float32Array): Tensor {
  return be.upload(half(d) ? fromArray(d, [v.length], encodeHalf(d, v)) : fromArray('f32', [v.length], v));
}
function poisoned(be: WebGpuBackend, d: El, n: number): Tensor {
  return half(d) ? be.upload(fromArray(d, [n], new Uint16Array(n).fill(poison[d])))
    : be.upload(fromArray('f32', [n], new Float32Array(new Uint32Array(n).fill(poison.f32).buffer)));
}
/** Element bits (u32 for f32, u16 patterns for bf16 / f16) and values of a downloaded tensor. */
async function read(be: WebGpuBackend, t: Tensor): Promise<{ bits: Uint32Array | Uint16Array; v: Float32Array }> {
  const h = (await be.download(t)).host();
  if (t.dtype === 'f32') return { bits: new Uint32Array((h as Float32Array).slice().buffer), v: h as Float32Array };
  return { bits: h as Uint16Array, v: decodeHalf(t.dtype as HalfDType, h as Uint16Array) };
}
/** One unit in the last place of dtype d at v (f16: its subnormal spacing at the bottom). */
function ulp(d: El, v: number): number {
  const e = Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -126)));
  return d === 'bf16' ? 2 ** (e - 7) : d === 'f16' ? Math.max(2 ** (e - 10), 2 ** -24) : 2 ** (e - 23);
}
/** Every element not marked in `used` still holds the poison: nothing wrote outside the op's output. */
function untouched(bits: Uint32Array | Uint16Array, used: Uint8Array, d: El, what: string): void {
  for (let i = 0; i < bits.length; i++) if (!used[i] && bits[i] !== poison[d]) assert.fail(`${what}: element ${i} outside the output was written (${bits[i].toString(16)})`);
}
/** The view of `t` starting `off` elements in (a tensor whose first element is not word-aligned when off is odd). */
const view = (t: Tensor, off: number, n: number) => new Tensor(t.dtype, [n], t.data, t.offset + off);

/** RoPE of the pair (a, b) in float64 from the f32 angle and f32 inputs, as transformers computes it. */
function ropeRef(a: number, b: number, pos: number, freq: number, af: number): [number, number] {
  const ang = Math.fround(pos * freq), c = Math.cos(ang) * af, s = Math.sin(ang) * af;
  return [a * c - b * s, b * c + a * s];
}
/**
 * A RoPE output within one ulp of its 16-bit dtype (the rounding, plus f32 arithmetic that may cross a rounding
 * boundary) and 2^-20 of its inputs' scale (the f32 sin / cos and cancellation in a c - b s).
 */
function checkRope(got: number, want: number, scale: number, d: El, what: string): void {
  if (!(Math.abs(got - want) <= ulp(d, want) + 2 ** -20 * scale)) assert.fail(`${what}: ${got}, want ${want}`);
}

// Positions up to 10^5: the RoPE angle runs to ~10^5 radians, where WGSL's own sin / cos promise nothing.
function positionsOf(rng: Rng, n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i === 0 ? 0 : i === 1 ? 99_991 : Math.floor(rng.float() * (i % 2 ? 5000 : 100_000))));
}
function invFreqOf(rope: number): Float32Array {
  return Float32Array.from({ length: rope / 2 }, (_, i) => 10000 ** (-(2 * i) / rope) / (i > 20 ? 40 : 1));
}

const ops = (be: WebGpuBackend): MlaDeviceOps => be.layerOps();
/** fn's result and the queue submissions it made (a piece is one submission). */
async function submits<T>(be: WebGpuBackend, fn: () => Promise<T>): Promise<[T, number]> {
  const q = be.device.queue, orig = q.submit;
  let n = 0;
  q.submit = (bufs: Iterable<GPUCommandBuffer>) => { n++; orig.call(q, bufs); };
  try {
    return [await fn(), n];
  } finally {
    q.submit = orig;
  }
}
async function smallBackend(be: WebGpuBackend): Promise<WebGpuBackend> {
  return (small ??= await createNodeWebGpuBackend({ device: be.device, maxBindingBytes: 16384, layerSplitK: true }));
}
/** fn's result and the names of the programs it dispatched (in order, one a dispatch; with `keys`, name:key). */
async function programsRun<T>(be: WebGpuBackend, fn: () => Promise<T>, keys = false): Promise<[T, string[]]> {
  const pm = be.programs, orig = pm.get, names: string[] = [];
  pm.get = ((program, spec) => { names.push(keys ? `${program.name}:${program.key(spec)}` : program.name); return orig.call(pm, program, spec); }) as typeof pm.get;
  try {
    return [await fn(), names];
  } finally {
    pm.get = orig;
  }
}

// ---------------------------------------------------------------- ops

describe('webgpu layer ops vs float64', () => {
  test('every kernel specialisation compiles', async (t) => {
    const be = need(t);
    if (!be) return;
    const el = ['f32', 'bf16', 'f16'] as const;
    for (const dtype of ['f32', 'bf16'] as const) for (const y of el) for (const rm of [1, 4] as const) await be.programs.check(layerGemmProgram, { dtype, y, rm });
    for (const dtype of ['f32', 'bf16'] as const) for (const rm of [1, 4] as const) await be.programs.check(layerGemmPartProgram, { dtype, rm });
    for (const dtype of ['f32', 'bf16'] as const) for (const tile of ['m64', 'm16'] as const) for (const xv of [false, true]) for (const wv of [false, true]) {
      for (const y of el) await be.programs.check(layerGemmTiledProgram, { dtype, y, tile, xv, wv });
      await be.programs.check(layerGemmTiledPartProgram, { dtype, tile, xv, wv });
    }
    for (const y of el) await be.programs.check(layerGemmReduceProgram, { y });
    for (const out of [...el, 'none'] as const) await be.programs.check(layerRmsNormProgram, { out });
    for (const attn of ['bf16', 'f16'] as const) for (const nope of [...el, 'none'] as const) await be.programs.check(layerQRopeProgram, { attn, nope });
    for (const cache of ['bf16', 'f16'] as const) await be.programs.check(layerKvAppendProgram, { cache });
    for (const src of el) for (const dst of el) await be.programs.check(layerConvertProgram, { src, dst });
  });

  // [m, n, k, batch]: nothing a multiple of 4 or 16 but the last, which takes the 4-row tiles (m > 16).
  const gemmShapes: [number, number, number, number][] = [[1, 3, 5, 1], [3, 70, 37, 2], [17, 65, 33, 3], [5, 7, 1, 4], [40, 129, 100, 2]];

  /**
   * One gemm call on `be` with odd offsets, strides and batch gaps; x and w NaN wherever no product reads, y poisoned.
   * Returns the raw y bits and checks every element against float64 (and the poison outside).
   */
  async function gemmCase(be: WebGpuBackend, dtype: 'f32' | 'bf16', yType: El, [m, n, k, batch]: [number, number, number, number], seed: number, aligned = 0): Promise<{ bits: Uint32Array | Uint16Array; worst: number }> {
    // aligned > 0: x's and w's offsets, strides and batch gaps multiples of it (the tiled loop's 16-byte loads).
    const a = aligned;
    const xOff = a ? 2 * a : 3, xStride = a ? k + a : k + 3, wOff = a ? a : 5, wStride = a ? k + 2 * a : k + 1, yOff = 7, yStride = n + 5;
    const xBatch = m * xStride + (a || 1), wBatch = n * wStride + (a || 3), yBatch = m * yStride + 2;
    const xLen = xOff + batch * xBatch, wLen = wOff + batch * wBatch, yLen = yOff + batch * yBatch + 1;
    const x = normals(seed, xLen).map((v) => rounded(dtype, v)), w = normals(seed + 1, wLen).map((v) => rounded(dtype, v));
    const xUsed = new Uint8Array(xLen), wUsed = new Uint8Array(wLen), yUsed = new Uint8Array(yLen);
    for (let z = 0; z < batch; z++) {
      for (let i = 0; i < m; i++) xUsed.fill(1, xOff + z * xBatch + i * xStride, xOff + z * xBatch + i * xStride + k);
      for (let j = 0; j < n; j++) wUsed.fill(1, wOff + z * wBatch + j * wStride, wOff + z * wBatch + j * wStride + k);
      for (let i = 0; i < m; i++) yUsed.fill(1, 1 + yOff + z * yBatch + i * yStride, 1 + yOff + z * yBatch + i * yStride + n);
    }
    for (let i = 0; i < xLen; i++) if (!xUsed[i]) x[i] = NaN;
    for (let i = 0; i < wLen; i++) if (!wUsed[i]) w[i] = NaN;
    const xT = upload(be, dtype, x), wT = upload(be, dtype, w), yT = poisoned(be, yType, yLen);
    // y is a view one element into its buffer: with a 16-bit y, its rows start in the middle of a word.
    ops(be).gemm({ m, n, k, batch, x: xT, xOff, xStride, xBatch, w: wT, wOff, wStride, wBatch, y: view(yT, 1, yLen - 1), yOff, yStride, yBatch });
    const y = await read(be, yT);
    for (const t of [xT, wT, yT]) be.free(t);
    untouched(y.bits, yUsed, yType, `${dtype} gemm -> ${yType} ${m}x${n}x${k}x${batch}`);
    let worst = 0;
    for (let z = 0; z < batch; z++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      const xr = xOff + z * xBatch + i * xStride, wr = wOff + z * wBatch + j * wStride;
      for (let q = 0; q < k; q++) s += x[xr + q] * w[wr + q];
      const got = y.v[1 + yOff + z * yBatch + i * yStride + j];
      // f32 accumulation: 1e-5 (sqrt(k) + |s|); a 16-bit y adds its rounding, one ulp.
      const e = Math.abs(got - s) / ((half(yType) ? ulp(yType, s) : 0) + 1e-5 * (Math.sqrt(k) + Math.abs(s)));
      if (!(e <= 1)) assert.fail(`${dtype} gemm -> ${yType} ${m}x${n}x${k}x${batch}: y[${z}, ${i}, ${j}] = ${got}, want ${s}`);
      worst = Math.max(worst, e);
    }
    return { bits: y.bits, worst };
  }

  test('gemm (f32 and bf16 operands, f32 / bf16 / f16 y): odd shapes, offsets, strides, batches, NaN padding', async (t) => {
    const be = need(t);
    if (!be) return;
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const yType of ['f32', 'bf16', 'f16'] as const) {
        let worst = 0;
        for (const [s, shape] of gemmShapes.entries()) worst = Math.max(worst, (await gemmCase(be, dtype, yType, shape, 100 + 7 * s)).worst);
        t.diagnostic(`${dtype} gemm -> ${yType}: worst error ${worst.toFixed(3)} of the allowed`);
      }
    }
  });

  // [m, n, k, batch, splits, classic splits]: skinny, k long enough to split (odd k: a shorter last split), batches; the
  // last at the classic rule's minK.
  const splitShapes: [number, number, number, number, number, number][] = [
    [1, 5, 4097, 1, 29, 16], [3, 70, 2051, 2, 15, 8], [40, 70, 2600, 2, 15, 8], [17, 65, 2048, 3, 16, 8],
  ];

  test('gemm split over k (skinny, long k; layerSplitK true): every y dtype against float64, the same bits twice, the partial and reduce passes run', async (t) => {
    const be0 = need(t);
    if (!be0) return;
    const be = await splitOn(be0);
    for (const [m, n, k, batch, splits, classicSplits] of splitShapes) {
      const spec = chooseLayerGemmSpec('f32', 'f32', m);
      assert.equal(layerGemmSplitK(k, layerGemmTiledTiles(m, n, batch, chooseLayerGemmTile(m)).groups, layerSplitKTiled).splits, splits, `splits of ${m}x${n}x${k}x${batch}`);
      assert.equal(layerGemmSplitK(k, layerGemmTiles(m, n, batch, spec).groups, layerSplitKDefault).splits, classicSplits, `classic splits of ${m}x${n}x${k}x${batch}`);
    }
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const yType of ['f32', 'bf16', 'f16'] as const) {
        let worst = 0;
        for (const [s, [m, n, k, batch]] of splitShapes.entries()) {
          type Gemm = Awaited<ReturnType<typeof gemmCase>>;
          const [first, names]: [Gemm, string[]] = await programsRun<Gemm>(be, async () => gemmCase(be, dtype, yType, [m, n, k, batch], 300 + 7 * s));
          assert.deepEqual(names, ['mla_layer_gemm_part', 'mla_layer_gemm_reduce'], `${m}x${n}x${k}x${batch}: one partial and one reduce pass`);
          const again = await gemmCase(be, dtype, yType, [m, n, k, batch], 300 + 7 * s);
          assert.deepEqual(again.bits, first.bits, `${dtype} gemm -> ${yType} ${m}x${n}x${k}x${batch}: run to run`);
          worst = Math.max(worst, first.worst);
        }
        t.diagnostic(`${dtype} gemm -> ${yType} split over k: worst error ${worst.toFixed(3)} of the allowed`);
      }
    }
  });

  test('gemm split-K off (layerSplitK false, FLASHMLA_WEBGPU_LAYER_SPLITK=0): the one-pass gemm, within the same bound; on by default', async (t) => {
    const be = need(t);
    if (!be) return;
    const off = await splitOff(be);
    const [, names] = await programsRun(off, async () => gemmCase(off, 'bf16', 'bf16', [3, 70, 2051, 2], 321));
    assert.deepEqual(names, ['mla_layer_gemm']);
    // A backend made with no layerSplitK (and no FLASHMLA_WEBGPU_LAYER_SPLITK) splits where the rule says.
    const dflt = await createNodeWebGpuBackend({ device: be.device });
    try {
      const [, dfltNames] = await programsRun(dflt, async () => gemmCase(dflt, 'bf16', 'bf16', [3, 70, 2051, 2], 321));
      assert.deepEqual(dfltNames, ['mla_layer_gemm_part', 'mla_layer_gemm_reduce']);
    } finally { dflt.dispose(); }
    const on = await splitOn(be);
    // Below minK, or with enough tiles, the default backend runs the one-pass gemm too (each main loop by its own rule).
    for (const shape of [[5, 7, 511, 4], [64, 128 * 520, 2048, 1]] as [number, number, number, number][]) {
      assert.equal(layerGemmSplitK(shape[2], layerGemmTiledTiles(shape[0], shape[1], shape[3], chooseLayerGemmTile(shape[0])).groups, layerSplitKTiled).splits, 1, `${shape}`);
    }
    for (const shape of [[5, 7, 2047, 4], [64, 64 * 520, 2048, 1]] as [number, number, number, number][]) {
      const spec = chooseLayerGemmSpec('f32', 'f32', shape[0]);
      assert.equal(layerGemmSplitK(shape[2], layerGemmTiles(shape[0], shape[1], shape[3], spec).groups, layerSplitKDefault).splits, 1, `classic ${shape}`);
    }
    const [, small1] = await programsRun(on, async () => gemmCase(on, 'f32', 'f16', [5, 7, 511, 4], 322));
    assert.deepEqual(small1, ['mla_layer_gemm']);
    const cl = await classicOf(be);
    const [, small2] = await programsRun(cl, async () => gemmCase(cl, 'f32', 'f16', [5, 7, 2047, 4], 322), true);
    assert.deepEqual(small2, ['mla_layer_gemm:f32-yf16-rm1']);
    assert.equal(layerSplitKOn, true);
    assert.equal(layerSplitKFromEnv('0'), false);
    assert.equal(layerSplitKFromEnv('1'), true);
    assert.equal(layerSplitKFromEnv(undefined), undefined);
    assert.deepEqual(layerSplitKFromEnv('targetGroups=1024,minChunk=128'), { targetGroups: 1024, minChunk: 128 });
    assert.throws(() => layerSplitKFromEnv('yes'), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument');
    assert.equal(layerGemmFromEnv('classic'), 'classic');
    assert.equal(layerGemmFromEnv('tiled'), 'tiled');
    assert.equal(layerGemmFromEnv(''), undefined);
    assert.throws(() => layerGemmFromEnv('v2'), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument');
    await assert.rejects(createNodeWebGpuBackend({ device: be.device, layerGemm: 'fast' as 'tiled' }), /layerGemm/);
    await assert.rejects(createNodeWebGpuBackend({ device: be.device, layerSplitK: { minChunk: 0 } }), /layerSplitK\.minChunk/);
  });

  test('gemm split rule at the DeepSeek-V3 decode shapes (m = 64)', () => {
    // [n, k, batch]: o_proj, q_a, kv_a, q_b, the absorbed W_UK / W_UV per head; the splits and the workgroups they make,
    // for the tiled loop (64 x 128 tiles) and the classic one (64 x 64).
    const want: [number, number, number, number, number, number, number][] = [
      [7168, 16384, 1, 16, 896, 8, 896], [1536, 7168, 1, 32, 384, 16, 384], [576, 7168, 1, 32, 160, 16, 144], [24576, 1536, 1, 4, 768, 1, 384],
      [512, 128, 128, 1, 512, 1, 1024], [128, 512, 128, 4, 512, 1, 256],
    ];
    for (const [n, k, batch, splits, groups, classicSplits, classicGroups] of want) {
      for (const [tiles, rule, s, gr, what] of [
        [layerGemmTiledTiles(64, n, batch, chooseLayerGemmTile(64)).groups, layerSplitKTiled, splits, groups, 'tiled'],
        [layerGemmTiles(64, n, batch, chooseLayerGemmSpec('f32', 'f32', 64)).groups, layerSplitKDefault, classicSplits, classicGroups, 'classic'],
      ] as const) {
        const sk = layerGemmSplitK(k, tiles, rule);
        assert.deepEqual([sk.splits, tiles * sk.splits], [s, gr], `${what} m64 n${n} k${k} x${batch}`);
        if (sk.splits > 1) assert.ok(sk.chunk % 16 === 0 && (sk.splits - 1) * sk.chunk < k && sk.splits * sk.chunk >= k, `chunk ${sk.chunk}`);
      }
    }
    assert.deepEqual(layerGemmSplitK(16384, 112, undefined), { splits: 1, chunk: 16384 });
  });

  test('gemm, tiled loop: 16-byte loads where offsets, strides and k allow, element loads elsewhere; both against float64 and the classic loop', async (t) => {
    const be = need(t);
    if (!be) return;
    const cl = await classicOf(be), off = await splitOff(be);
    let worst = 0;
    // [m, n, k, batch]: m around the tiles' 16 and 64 rows, k a multiple of 8 (both dtypes' vector loads), of 4 only
    // (f32's), and odd; n across a 128-column tile edge.
    const shapes: [number, number, number, number][] = [[1, 130, 64, 2], [17, 129, 40, 1], [64, 128, 36, 2], [65, 200, 3, 1], [16, 7, 1, 3], [64, 257, 1000, 1]];
    for (const dtype of ['f32', 'bf16'] as const) {
      for (const [s, shape] of shapes.entries()) {
        const [m, , k] = shape;
        const vecK = k % (dtype === 'f32' ? 4 : 8) === 0;
        for (const aligned of [8, 0]) {
          const yType = (['f32', 'bf16', 'f16'] as const)[(s + aligned) % 3];
          for (const b of [be, off]) {
            type Gemm = Awaited<ReturnType<typeof gemmCase>>;
            const [got, keys]: [Gemm, string[]] = await programsRun<Gemm>(b, async () => gemmCase(b, dtype, yType, shape, 600 + s, aligned), true);
            if (b === off) assert.equal(keys.length, 1, 'split-K off: one pass');
            const v = aligned && vecK ? 'v' : 's', tile = m <= 16 ? 'm16' : 'm64';
            assert.ok(keys[0].endsWith(`tiled-${dtype}${keys.length === 1 ? `-y${yType}` : ''}-${tile}-x${v}-w${v}`), `${dtype} ${shape} aligned ${aligned}: ${keys[0]}`);
            worst = Math.max(worst, got.worst);
          }
        }
      }
      // The classic loop (WebGpuBackendOptions.layerGemm 'classic') on the same aligned cases, within the same bound.
      for (const [s, shape] of shapes.entries()) await gemmCase(cl, dtype, 'f32', shape, 600 + s, 8);
    }
    t.diagnostic(`tiled gemm, aligned and not: worst error ${worst.toFixed(3)} of the allowed`);
  });

  test('rmsNorm: in place, with and without a copy in each dtype; rows wider than the workgroup', async (t) => {
    const be = need(t);
    if (!be) return;
    for (const [rows, d] of [[7, 100], [3, 1000], [1, 1]] as const) {
      for (const out of ['none', 'f32', 'bf16', 'f16'] as const) {
        const x = normals(rows * d, rows * d, 3), weight = normals(d + 1, d).map((v) => 1 + 0.1 * v), eps = 1e-6;
        const xT = upload(be, 'f32', x), wT = upload(be, 'f32', weight);
        const oT: Tensor | undefined = out === 'none' ? undefined : poisoned(be, out, rows * d + 2);
        ops(be).rmsNorm({ x: xT, rows, d, weight: wT, eps, out: oT && view(oT, 1, rows * d) });
        const got: Float32Array = (await read(be, xT)).v;
        const o: Awaited<ReturnType<typeof read>> | undefined = oT && (await read(be, oT));
        for (const z of [xT, wT, oT]) if (z) be.free(z);
        for (let r = 0; r < rows; r++) {
          let ss = 0;
          for (let i = 0; i < d; i++) ss += x[r * d + i] ** 2;
          const inv = 1 / Math.sqrt(ss / d + eps);
          for (let i = 0; i < d; i++) {
            const want = weight[i] * x[r * d + i] * inv, g = got[r * d + i];
            if (!(Math.abs(g - want) <= 4e-6 * Math.abs(want) + 1e-30)) assert.fail(`rmsNorm ${rows}x${d}: x[${r}, ${i}] = ${g}, want ${want}`);
            // The copy is x's f32 value rounded to its dtype, bit for bit.
            if (o && out !== 'none') {
              const wantBits = out === 'f32' ? f32Bits(g) : toBits(out, g);
              assert.equal(o.bits[1 + r * d + i], wantBits, `rmsNorm ${rows}x${d} out ${out}[${r}, ${i}]`);
            }
          }
        }
        if (o && out !== 'none') {
          const used = new Uint8Array(rows * d + 2).fill(1, 1, 1 + rows * d);
          untouched(o.bits, used, out, `rmsNorm out ${out}`);
        }
      }
    }
  });

  test('qRope: both pair layouts, positions to 1e5, q_nope copied in each dtype, nothing else of the row written', async (t) => {
    const be = need(t);
    if (!be) return;
    const rng = new Rng(0x9e0);
    for (const [rows, heads, nope, rope] of [[5, 3, 16, 64], [4, 2, 7, 32], [1, 1, 1, 64]] as const) {
      for (const interleave of [true, false]) {
        for (const [attn, nopeType] of [['bf16', 'none'], ['f16', 'f32'], ['bf16', 'bf16'], ['f16', 'f16'], ['bf16', 'f16']] as const) {
          const qk = nope + rope, af = 1.25;
          const q = normals(rng.u32() % 1000, rows * heads * qk), pos = positionsOf(rng, rows), freq = invFreqOf(rope);
          const qT = upload(be, 'f32', q), pT = be.upload(fromArray('i32', [rows], pos)), fT = upload(be, 'f32', freq);
          const aT = poisoned(be, attn, rows * heads * 576 + 1);
          const nT: Tensor | undefined = nopeType === 'none' ? undefined : poisoned(be, nopeType, rows * heads * nope + 1);
          ops(be).qRope({
            q: qT, rows, heads, nope, rope, positions: pT, invFreq: fT, attentionFactor: af, interleave,
            qAttn: view(aT, 1, rows * heads * 576), nopeOut: nT && view(nT, 1, rows * heads * nope),
          });
          const a = await read(be, aT);
          const n: Awaited<ReturnType<typeof read>> | undefined = nT && (await read(be, nT));
          for (const z of [qT, pT, fT, aT, nT]) if (z) be.free(z);
          const what = `qRope ${rows}x${heads} nope ${nope} rope ${rope} ${interleave ? 'interleaved' : 'halves'} ${attn}/${nopeType}`;
          const used = new Uint8Array(rows * heads * 576 + 1);
          for (let r = 0; r < rows; r++) for (let h = 0; h < heads; h++) {
            const head = r * heads + h, pe = head * qk + nope, hr = rope / 2;
            used.fill(1, 1 + head * 576 + 512, 1 + head * 576 + 512 + rope);
            for (let i = 0; i < hr; i++) {
              const x0 = interleave ? q[pe + 2 * i] : q[pe + i], x1 = interleave ? q[pe + 2 * i + 1] : q[pe + i + hr];
              const [o0, o1] = ropeRef(x0, x1, pos[r], freq[i], af);
              checkRope(a.v[1 + head * 576 + 512 + i], o0, (Math.abs(x0) + Math.abs(x1)) * af, attn, `${what} [${r}, ${h}, ${512 + i}] pos ${pos[r]}`);
              checkRope(a.v[1 + head * 576 + 512 + hr + i], o1, (Math.abs(x0) + Math.abs(x1)) * af, attn, `${what} [${r}, ${h}, ${512 + hr + i}]`);
            }
            if (n && nopeType !== 'none') {
              for (let i = 0; i < nope; i++) {
                const v = q[head * qk + i];
                assert.equal(n.bits[1 + head * nope + i], nopeType === 'f32' ? f32Bits(v) : toBits(nopeType, v), `${what}: nopeOut[${head}, ${i}]`);
              }
            }
          }
          untouched(a.bits, used, attn, what);
          if (n && nopeType !== 'none') untouched(n.bits, new Uint8Array(rows * heads * nope + 1).fill(1, 1, 1 + rows * heads * nope), nopeType, `${what} nopeOut`);
        }
      }
    }
  });

  /** kvAppend of `rows` tokens into shuffled slots of a poisoned cache; every other cache row must keep its poison. */
  async function kvAppendCase(be: WebGpuBackend, dtype: HalfDType, interleave: boolean, rows: number, cacheRows: number, seed: number) {
    const rng = new Rng(seed);
    const perm = Array.from({ length: cacheRows }, (_, i) => i);
    for (let i = cacheRows - 1; i > 0; i--) { const j = rng.u32() % (i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
    const slots = Int32Array.from(perm.slice(0, rows)), pos = positionsOf(rng, rows), freq = invFreqOf(64);
    const kv = normals(seed, rows * 576, 2), weight = normals(seed + 1, 512).map((v) => 1 + 0.1 * v), eps = 1e-6, af = 0.8;
    // positions and slots share one buffer (as MlaAttention's step passes them).
    const idx = be.upload(fromArray('i32', [2 * rows], Int32Array.from([...pos, ...slots])));
    const kvT = upload(be, 'f32', kv), wT = upload(be, 'f32', weight), fT = upload(be, 'f32', freq), cT = poisoned(be, dtype, cacheRows * 576);
    ops(be).kvAppend({
      kv: kvT, rows, weight: wT, eps, positions: view(idx, 0, rows), invFreq: fT, attentionFactor: af, interleave, slots: view(idx, rows, rows), cache: cT,
    });
    const c = await read(be, cT);
    for (const z of [idx, kvT, wT, fT, cT]) be.free(z);
    const what = `kvAppend ${dtype} ${interleave ? 'interleaved' : 'halves'} ${rows} rows into ${cacheRows}`;
    const used = new Uint8Array(cacheRows * 576);
    for (let r = 0; r < rows; r++) {
      const dst = slots[r] * 576;
      used.fill(1, dst, dst + 576);
      let ss = 0;
      for (let i = 0; i < 512; i++) ss += kv[r * 576 + i] ** 2;
      const inv = 1 / Math.sqrt(ss / 512 + eps);
      for (let i = 0; i < 512; i++) {
        const want = weight[i] * kv[r * 576 + i] * inv, got = c.v[dst + i];
        if (!(Math.abs(got - want) <= ulp(dtype, want) + 4e-6 * Math.abs(want))) assert.fail(`${what}: row ${r} latent ${i} = ${got}, want ${want}`);
      }
      for (let i = 0; i < 32; i++) {
        const pe = r * 576 + 512, x0 = interleave ? kv[pe + 2 * i] : kv[pe + i], x1 = interleave ? kv[pe + 2 * i + 1] : kv[pe + i + 32];
        const [o0, o1] = ropeRef(x0, x1, pos[r], freq[i], af), scale = (Math.abs(x0) + Math.abs(x1)) * af;
        checkRope(c.v[dst + 512 + i], o0, scale, dtype, `${what}: row ${r} rope ${i} pos ${pos[r]}`);
        checkRope(c.v[dst + 544 + i], o1, scale, dtype, `${what}: row ${r} rope ${32 + i}`);
      }
    }
    untouched(c.bits, used, dtype, what);
    return c.bits;
  }

  test('kvAppend: bf16 and f16 caches, shuffled slots, NaN-poisoned rows not appended stay untouched', async (t) => {
    const be = need(t);
    if (!be) return;
    for (const dtype of ['bf16', 'f16'] as const) for (const interleave of [true, false]) await kvAppendCase(be, dtype, interleave, 9, 40, dtype === 'bf16' ? 11 : 12);
    // Slots outside the cache (the device cannot check them before the kernel reads them): those tokens are skipped.
    const cache = poisoned(be, 'bf16', 8 * 576), idx = be.upload(fromArray('i32', [4], Int32Array.from([3, 4, 8, -1])));
    const kv = upload(be, 'f32', normals(5, 2 * 576)), w = upload(be, 'f32', new Float32Array(512).fill(1)), f = upload(be, 'f32', invFreqOf(64));
    ops(be).kvAppend({ kv, rows: 2, weight: w, eps: 1e-6, positions: view(idx, 0, 2), invFreq: f, attentionFactor: 1, interleave: true, slots: view(idx, 2, 2), cache });
    assert.ok((await read(be, cache)).bits.every((b) => b === poison.bf16), 'a slot outside the cache wrote nothing');
    for (const z of [cache, idx, kv, w, f]) be.free(z);
  });

  test('convert: every pair of f32 / bf16 / f16, bit-exact against core/dtype.ts, specials included', async (t) => {
    const be = need(t);
    if (!be) return;
    // Every 16-bit pattern, then f32 values around each rounding decision: halfway points, f16's subnormal and
    // overflow edges, infinities, NaNs with payloads, signed zeros.
    const all16 = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const specials = [0, -0, Infinity, -Infinity, NaN, 65504, 65519.99, 65520, -65520, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0000001, 3 * 2 ** -26,
      2 ** -14, 2 ** -14 * (1 - 2 ** -11), 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4e38, -3.4e38, 1e-40, -1e-45];
    const rng = new Rng(77);
    const f32Bits32 = new Uint32Array(20000);
    for (let i = 0; i < f32Bits32.length; i++) f32Bits32[i] = rng.u32();
    const f32In = new Float32Array(specials.length + f32Bits32.length);
    f32In.set(specials);
    f32In.set(new Float32Array(f32Bits32.buffer), specials.length);
    new Uint32Array(f32In.buffer)[4] = 0xffc0_1234; // a negative NaN with a payload
    for (const src of ['f32', 'bf16', 'f16'] as const) {
      const bits: Uint16Array | Uint32Array = src === 'f32' ? new Uint32Array(f32In.buffer) : all16;
      const n = bits.length;
      const sT = src === 'f32' ? be.upload(fromArray('f32', [n], f32In)) : be.upload(fromArray(src, [n], all16));
      const value = (i: number) => (src === 'f32' ? f32In[i] : fromBits(src, all16[i]));
      for (const dst of ['f32', 'bf16', 'f16'] as const) {
        const dT = poisoned(be, dst, n + 2);
        ops(be).convert(sT, view(dT, 1, n), n);
        const got = await read(be, dT);
        be.free(dT);
        for (let i = 0; i < n; i++) {
          const v = value(i);
          const want = dst === 'f32' ? f32Bits(v) : toBits(dst, v);
          const g = got.bits[1 + i];
          // NaN: the kernel keeps NaN a NaN of the same sign (16-bit: the same quiet pattern as core/dtype.ts).
          if (dst === 'f32' && Number.isNaN(v)) {
            if (!(Number.isNaN(got.v[1 + i]) && (g >>> 31) === (want >>> 31))) assert.fail(`convert ${src}->${dst} [${i}] (${bits[i].toString(16)}): ${g.toString(16)}`);
            continue;
          }
          if (g !== want) assert.fail(`convert ${src}->${dst} [${i}] (${bits[i].toString(16)} = ${v}): got ${g.toString(16)}, want ${want.toString(16)}`);
        }
        assert.equal(got.bits[0], poison[dst], `convert ${src}->${dst}: element before the output written`);
        assert.equal(got.bits[n + 1], poison[dst], `convert ${src}->${dst}: element after the output written`);
      }
      be.free(sT);
    }
  });

  test('a 16 KiB binding limit: every op cut into pieces gives the same bits as one dispatch', async (t) => {
    const be = need(t);
    if (!be) return;
    const small = await smallBackend(be);
    // gemm: w is 200 x 101 f32 (80 KiB), x 30 x 103; per batch entry, blocks of rows and columns.
    type Gemm = Awaited<ReturnType<typeof gemmCase>>;
    for (const [dtype, yType] of [['f32', 'f32'], ['bf16', 'f16']] as const) {
      const [whole, n1]: [Gemm, number] = await submits<Gemm>(be, async () => gemmCase(be, dtype, yType, [30, 200, 100, 2], 500));
      const [cut, n2]: [Gemm, number] = await submits<Gemm>(be, async () => gemmCase(small, dtype, yType, [30, 200, 100, 2], 500));
      assert.ok(n2 > n1 + 4, `${dtype} gemm: ${n2} submissions in pieces against ${n1} whole`);
      assert.deepEqual(cut.bits, whole.bits, `${dtype} gemm -> ${yType} in pieces`);
    }
    // gemm split over k (2 x 12 x 2100 x 2: w rows of 8.4 KiB, one a piece): every piece split as the whole call is.
    const on = await splitOn(be);
    for (const [dtype, yType] of [['f32', 'bf16'], ['bf16', 'f32']] as const) {
      const [[whole, n1], wholeNames]: [[Gemm, number], string[]] = await programsRun<[Gemm, number]>(on, async () => submits<Gemm>(on, async () => gemmCase(on, dtype, yType, [2, 12, 2100, 2], 510)));
      const [[cut, n2], cutNames]: [[Gemm, number], string[]] = await programsRun<[Gemm, number]>(small, async () => submits<Gemm>(small, async () => gemmCase(small, dtype, yType, [2, 12, 2100, 2], 510)));
      assert.ok(n2 > n1 + 4, `${dtype} split gemm: ${n2} submissions in pieces against ${n1} whole`);
      // One submission a piece, a partial and a reduce pass in each.
      assert.ok(wholeNames.length === 2 && cutNames.length === 2 * (n2 - n1 + 1) && cutNames.every((x, i) => x === wholeNames[i % 2]), `${dtype}: ${cutNames.length} passes`);
      assert.deepEqual(cut.bits, whole.bits, `${dtype} split gemm -> ${yType} in pieces`);
    }
    // The tiled loop's 16-byte loads (offsets, strides and k multiples of 8): every piece takes them, as the whole call does.
    for (const [dtype, yType, shape] of [['f32', 'f16', [30, 200, 96, 2]], ['bf16', 'f32', [30, 200, 96, 2]], ['bf16', 'bf16', [2, 12, 2096, 2]]] as const) {
      const [[whole, n1], wholeKeys]: [[Gemm, number], string[]] = await programsRun<[Gemm, number]>(on, async () => submits<Gemm>(on, async () => gemmCase(on, dtype, yType, [...shape], 520, 8)), true);
      const [[cut, n2], cutKeys]: [[Gemm, number], string[]] = await programsRun<[Gemm, number]>(small, async () => submits<Gemm>(small, async () => gemmCase(small, dtype, yType, [...shape], 520, 8)), true);
      assert.ok(n2 > n1 + 4, `${dtype} ${shape}: ${n2} submissions in pieces against ${n1} whole`);
      assert.ok([...wholeKeys, ...cutKeys].every((key) => /^mla_layer_gemm_reduce:|-xv-wv$/.test(key)), `${dtype} ${shape}: ${[...new Set(cutKeys)]}`);
      assert.deepEqual(cut.bits, whole.bits, `${dtype} gemm -> ${yType} ${shape} (16-byte loads) in pieces`);
    }
    // kvAppend into a cache of 64 rows (72 KiB): one dispatch per 13-row binding.
    for (const dtype of ['bf16', 'f16'] as const) {
      assert.deepEqual(await kvAppendCase(small, dtype, true, 20, 64, 31), await kvAppendCase(be, dtype, true, 20, 64, 31), `kvAppend ${dtype} in pieces`);
    }
    // rmsNorm, qRope, convert over more rows / elements than one binding holds.
    const run = async (b: WebGpuBackend) => {
      const rows = 50, d = 300, x = normals(9, rows * d), w = normals(10, d);
      const xT = upload(b, 'f32', x), wT = upload(b, 'f32', w), oT = poisoned(b, 'bf16', rows * d);
      ops(b).rmsNorm({ x: xT, rows, d, weight: wT, eps: 1e-6, out: oT });
      const qRows = 20, heads = 3, q = normals(11, qRows * heads * 80);
      const qT = upload(b, 'f32', q), pT = b.upload(fromArray('i32', [qRows], positionsOf(new Rng(3), qRows))), fT = upload(b, 'f32', invFreqOf(64));
      const aT = poisoned(b, 'f16', qRows * heads * 576), nT = poisoned(b, 'bf16', qRows * heads * 16);
      ops(b).qRope({ q: qT, rows: qRows, heads, nope: 16, rope: 64, positions: pT, invFreq: fT, attentionFactor: 1, interleave: false, qAttn: aT, nopeOut: nT });
      const cT = poisoned(b, 'f16', 9001);
      ops(b).convert(xT, cT, 9001);
      const res = [];
      for (const z of [xT, oT, aT, nT, cT]) res.push((await read(b, z)).bits);
      for (const z of [xT, wT, oT, qT, pT, fT, aT, nT, cT]) b.free(z);
      return res;
    };
    const [a, b] = [await run(be), await run(small)];
    for (const [i, name] of ['rmsNorm x', 'rmsNorm out', 'qRope qAttn', 'qRope nopeOut', 'convert'].entries()) assert.deepEqual(b[i], a[i], `${name} in pieces`);
  });

  test('bad arguments: a typed error naming the argument, before anything is queued', async (t) => {
    const be = need(t);
    if (!be) return;
    const o = ops(be);
    const f = (n: number) => be.upload(fromArray('f32', [n], new Float32Array(n)));
    const b16 = (n: number) => be.upload(fromArray('bf16', [n], new Uint16Array(n)));
    const i32 = (n: number) => be.upload(fromArray('i32', [n], new Int32Array(n)));
    const x = f(64), w = f(64), y = poisoned(be, 'f32', 4), xb = b16(64), ids = i32(8), cache = poisoned(be, 'bf16', 4 * 576), kv = f(2 * 576), freq = f(32), wt = f(512);
    const host: HostTensor = fromArray('f32', [64], new Float32Array(64));
    const compiles = be.programs.compiles;
    const cases: [string, () => void][] = [
      ['gemm.m', () => o.gemm({ m: 0, n: 2, k: 4, x, w, y })],
      ['gemm.k', () => o.gemm({ m: 2, n: 2, k: 1.5, x, w, y })],
      ['gemm.xStride', () => o.gemm({ m: 2, n: 2, k: 4, x, w, y, xStride: -1 })],
      ['gemm.x', () => o.gemm({ m: 2, n: 2, k: 4, x: ids, w, y })],
      ['gemm.w', () => o.gemm({ m: 2, n: 2, k: 4, x, w: xb, y })],
      ['gemm.y', () => o.gemm({ m: 2, n: 2, k: 4, x, w, y: ids })],
      ['gemm.x', () => o.gemm({ m: 2, n: 2, k: 64, x: xb, w: xb, y })], // reach: 2 rows of 64 in 64 elements
      ['gemm.w', () => o.gemm({ m: 2, n: 2, k: 4, x, w, y, wOff: 60, batch: 1 })],
      ['gemm.y', () => o.gemm({ m: 2, n: 3, k: 4, x, w, y })],
      ['gemm.y', () => o.gemm({ m: 2, n: 2, k: 4, x, w, y: view(x, 60, 4) })], // written buffer also read
      ['gemm.x', () => o.gemm({ m: 2, n: 2, k: 4, x: host as unknown as Tensor, w, y })],
      ['rmsNorm.x', () => o.rmsNorm({ x: xb, rows: 2, d: 4, weight: w, eps: 1e-6 })],
      ['rmsNorm.weight', () => o.rmsNorm({ x, rows: 2, d: 4, weight: ids, eps: 1e-6 })],
      ['rmsNorm.out', () => o.rmsNorm({ x, rows: 2, d: 4, weight: w, eps: 1e-6, out: ids })],
      ['rmsNorm.x', () => o.rmsNorm({ x, rows: 17, d: 4, weight: w, eps: 1e-6 })],
      ['rmsNorm.eps', () => o.rmsNorm({ x, rows: 2, d: 4, weight: w, eps: NaN })],
      ['qRope.qAttn', () => o.qRope({ q: f(2 * 80), rows: 1, heads: 2, nope: 16, rope: 64, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, qAttn: f(2 * 576) })],
      ['qRope.rope', () => o.qRope({ q: f(2 * 80), rows: 1, heads: 2, nope: 17, rope: 63, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, qAttn: b16(2 * 576) })],
      ['qRope.q', () => o.qRope({ q: f(2 * 79), rows: 1, heads: 2, nope: 16, rope: 64, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, qAttn: b16(2 * 576) })],
      ['qRope.positions', () => o.qRope({ q: f(2 * 80), rows: 1, heads: 2, nope: 16, rope: 64, positions: freq, invFreq: freq, attentionFactor: 1, interleave: true, qAttn: b16(2 * 576) })],
      ['qRope.positions', () => o.qRope({ q: f(9 * 80), rows: 9, heads: 1, nope: 16, rope: 64, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, qAttn: b16(9 * 576) })],
      ['qRope.nopeOut', () => o.qRope({ q: f(2 * 80), rows: 1, heads: 2, nope: 16, rope: 64, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, qAttn: b16(2 * 576), nopeOut: ids })],
      ['kvAppend.cache', () => o.kvAppend({ kv, rows: 2, weight: wt, eps: 1e-6, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, slots: ids, cache: f(4 * 576) })],
      ['kvAppend.cache', () => o.kvAppend({ kv, rows: 2, weight: wt, eps: 1e-6, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, slots: ids, cache: b16(577) })],
      ['kvAppend.kv', () => o.kvAppend({ kv, rows: 3, weight: wt, eps: 1e-6, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, slots: ids, cache })],
      ['kvAppend.slots', () => o.kvAppend({ kv, rows: 2, weight: wt, eps: 1e-6, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, slots: view(ids, 7, 1), cache })],
      ['kvAppend.weight', () => o.kvAppend({ kv, rows: 2, weight: w, eps: 1e-6, positions: ids, invFreq: freq, attentionFactor: 1, interleave: true, slots: ids, cache })],
      ['kvAppend.invFreq', () => o.kvAppend({ kv, rows: 2, weight: wt, eps: 1e-6, positions: ids, invFreq: view(freq, 1, 31), attentionFactor: 1, interleave: true, slots: ids, cache })],
      ['convert.src', () => o.convert(ids, x, 8)],
      ['convert.dst', () => o.convert(x, y, 8)],
      ['convert.n', () => o.convert(x, y, -1)],
      ['convert.dst', () => o.convert(x, view(x, 32, 32), 8)],
    ];
    for (const [arg, call] of cases) {
      assert.throws(call, (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && e.argument === arg && !!e.expected && e.got !== undefined,
        `expected an invalid_argument naming ${arg}`);
    }
    assert.equal(be.programs.compiles, compiles, 'no kernel was compiled for a refused call');
    assert.equal((await read(be, y)).bits.every((b) => b === poison.f32), true, 'a refused call wrote nothing');
    assert.equal((await read(be, cache)).bits.every((b) => b === poison.bf16), true, 'a refused append wrote nothing');
    for (const z of [x, w, y, xb, ids, cache, kv, freq, wt]) be.free(z);
  });
});

// ---------------------------------------------------------------- the layer

const names = hfCaseNames();

describe('MlaAttention on WebGPU: the decode step on the device', () => {
  for (const name of names) {
    test(`transformers case ${name}: device f32 at the layer bound, device bf16 at 2e-4`, async (t) => {
      const be = need(t);
      if (!be) return;
      await checkHfCaseOnDevice(be, name, (line) => t.diagnostic(line),
        (layer) => assert.ok(Number.isNaN(layer.lastTimings.kernelMs), 'the step ran on the device (kernelMs is NaN only there)'));
    });
  }

  test('random layers: device f32 / bf16 vs float64 and f32 vs the host path; the default takes the device step', async (t) => {
    const be = need(t);
    if (!be) return;
    const checks: (() => void)[] = [];
    for (const [i, over] of [{}, { qLoraRank: null }, { ropeInterleave: false, numHeads: 5 }].entries()) {
      const dtype = i === 1 ? 'f16' : 'bf16';
      const c = smallConfig(over);
      const w = randomWeights(c, 370 + i);
      const hidden = normals(380 + i, 2 * 7 * c.hiddenSize);
      const want = referenceSequences(c, w, hidden, 2, 7);
      const got: Record<string, Float32Array> = {};
      for (const precision of ['host', 'f32', 'bf16', undefined] as const) {
        const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 16, 4, dtype), precision });
        got[precision ?? 'default'] = await runSequences(layer, hidden, 2, 7, 4);
        if (precision !== 'host') assert.ok(Number.isNaN(layer.lastTimings.kernelMs), `precision ${precision ?? 'default'} on the device`);
        else assert.ok(!Number.isNaN(layer.lastTimings.kernelMs), 'host path');
        layer.dispose();
        layer.cache.dispose();
      }
      t.diagnostic(`case ${i} ${dtype} cache: vs float64 host ${cosDiff(got.host, want).toExponential(2)}, device f32 ${cosDiff(got.f32, want).toExponential(2)}, device bf16 ${cosDiff(got.bf16, want).toExponential(2)}`);
      checks.push(() => {
        assertClose(got.f32, want, layerTol[dtype], `case ${i} device f32, ${dtype} cache`);
        assertClose(got.bf16, want, 2e-4, `case ${i} device bf16, ${dtype} cache`);
        assert.ok(cosDiff(got.f32, got.host) <= 1e-6, `case ${i}: device f32 vs host path ${cosDiff(got.f32, got.host)}`);
        assert.deepEqual(got.default, got.f32, `case ${i}: the default precision is the device f32 step`);
      });
    }
    for (const check of checks) check();
  });

  test('forwardDevice equals forward, with no host copy between two chained layers', async (t) => {
    const be = need(t);
    if (!be) return;
    const { viaHost, onDevice } = await chainTwoLayers(be, 44);
    assert.ok(viaHost.every(Number.isFinite));
    assert.deepEqual(onDevice, viaHost);
  });

});

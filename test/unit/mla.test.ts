// MlaAttention: the absorbed layer (projections, latent cache through KvCacheManager, the decode kernel,
// re-expansion) against the float64 non-absorbed transformers formula on random layers, and against cases
// produced by transformers' DeepseekV3Attention (test/fixtures/mla, from scripts/make-mla-cases.py), on the
// CPU (in-thread and workers) and WebGPU (lavapipe here).
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { type HalfDType, encodeHalf } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import type { Backend } from '../../src/core/problem.js';
import { fromArray } from '../../src/core/tensor.js';
import {
  type MlaConfig, type MlaWeights, MlaAttention, SafetensorsFile, deepseekV3Attention, gemm, mlaSoftmaxScale, mlaWeightsFromSafetensors,
  ropeFrequencies, weightShapes, writeSafetensors,
} from '../../src/core/mla/index.js';
import {
  assertClose, cosDiff, hfCaseNames, layerTol, loadHfCase, normals, poisonedCache, randomWeights, referenceSequences, runSequences, smallConfig,
} from '../support/mla-case.js';


const randomCases: { name: string; over: Partial<MlaConfig>; dtype: HalfDType; page: number; b: number; T: number; prefill: number }[] = [
  { name: 'q_lora, YaRN (V2 mscale), f16, page 4', over: {}, dtype: 'f16', page: 4, b: 2, T: 9, prefill: 6 },
  { name: 'no q_lora (V2-Lite), bf16, page 1', over: { qLoraRank: null }, dtype: 'bf16', page: 1, b: 2, T: 7, prefill: 4 },
  { name: 'plain RoPE, half-split layout, f16, page 64', over: { ropeScaling: null, ropeInterleave: false }, dtype: 'f16', page: 64, b: 3, T: 6, prefill: 1 },
  { name: 'YaRN with attention factor != 1, 5 heads, f16, page 3', over: { numHeads: 5, ropeScaling: { factor: 4, originalMaxPositionEmbeddings: 8, mscale: 1, mscaleAllDim: 0.8 } }, dtype: 'f16', page: 3, b: 1, T: 12, prefill: 9 },
];

describe('MlaAttention on the in-thread CPU backend vs the float64 non-absorbed formula', () => {
  for (const [i, rc] of randomCases.entries()) {
    it(rc.name, async () => {
      const c = smallConfig(rc.over);
      const w = randomWeights(c, 10 + i);
      const kv = poisonedCache(new InlineCpuBackend(), 40, rc.page, rc.dtype);
      const layer = new MlaAttention(c, w, { cache: kv });
      const hidden = normals(100 + i, rc.b * rc.T * c.hiddenSize);
      const got = await runSequences(layer, hidden, rc.b, rc.T, rc.prefill);
      assertClose(got, referenceSequences(c, w, hidden, rc.b, rc.T), layerTol[rc.dtype], rc.name);
    });
  }

  it('a wrong weight breaks the match (the test can fail)', async () => {
    const c = smallConfig();
    const w = randomWeights(c, 3);
    const bad = { ...w, kvBProj: w.kvBProj.slice() };
    bad.kvBProj[c.qkNopeHeadDim * 512 + 7] += 0.5; // one W_UV element of head 0
    const layer = new MlaAttention(c, bad, { cache: poisonedCache(new InlineCpuBackend(), 8, 4, 'f16') });
    const hidden = normals(5, 5 * c.hiddenSize);
    const got = await runSequences(layer, hidden, 1, 5, 3);
    assert.ok(cosDiff(got, referenceSequences(c, w, hidden, 1, 5)) > 1e-5);
  });
});

describe('MlaAttention pieces', () => {
  it('softmax scale and YaRN frequencies', () => {
    const m = 0.1 * Math.log(40) + 1;
    assert.ok(Math.abs(mlaSoftmaxScale(deepseekV3Attention) - (m * m) / Math.sqrt(192)) < 1e-15);
    assert.equal(mlaSoftmaxScale({ ...deepseekV3Attention, ropeScaling: null }), 1 / Math.sqrt(192));
    const { invFreq, attentionFactor } = ropeFrequencies(deepseekV3Attention);
    assert.equal(attentionFactor, 1); // mscale = mscale_all_dim
    // Highest frequencies extrapolate (unchanged), lowest interpolate (divided by the factor).
    assert.ok(Math.abs(invFreq[0] - 1) < 1e-7);
    assert.ok(Math.abs(invFreq[31] - 10000 ** (-62 / 64) / 40) < 1e-7 * invFreq[31]);
    const plain = ropeFrequencies({ ...deepseekV3Attention, ropeScaling: null }).invFreq;
    assert.ok(invFreq.every((f, i) => f <= plain[i] * (1 + 1e-7)));
  });

  it('gemm matches a naive product for odd shapes, strides and accumulation', () => {
    for (const [m, n, k] of [[1, 1, 1], [5, 7, 3], [4, 8, 16], [9, 6, 33]]) {
      const x = normals(m * 31 + n, m * (k + 2)), w = normals(k * 17, n * (k + 1)), y = normals(99, m * (n + 3));
      const want = Float64Array.from(y);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += x[1 + i * (k + 2) + t] * w[j * (k + 1) + t];
        want[2 + i * (n + 3) + j] += s;
      }
      gemm({ m, n, k, x, xOff: 1, xStride: k + 2, w, wStride: k + 1, y, yOff: 2, yStride: n + 3, accumulate: true });
      for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i] - want[i]) < 1e-5 * (1 + Math.abs(want[i])), `${m}x${n}x${k} [${i}]`);
    }
  });

  it('loads weights from safetensors (BF16, F16, F32) with the Hugging Face names', () => {
    const c = smallConfig();
    const w = randomWeights(c, 4);
    const names: Record<string, keyof MlaWeights> = {
      'q_a_proj.weight': 'qAProj', 'q_a_layernorm.weight': 'qALayernorm', 'q_b_proj.weight': 'qBProj', 'kv_a_proj_with_mqa.weight': 'kvAProjWithMqa',
      'kv_a_layernorm.weight': 'kvALayernorm', 'kv_b_proj.weight': 'kvBProj', 'o_proj.weight': 'oProj',
    };
    const shapes = weightShapes(c);
    for (const dtype of ['BF16', 'F16', 'F32'] as const) {
      const tensors: Parameters<typeof writeSafetensors>[0] = {};
      for (const [hf, key] of Object.entries(names)) {
        const a = w[key]!;
        tensors[`model.layers.2.self_attn.${hf}`] = { dtype, shape: shapes[key]!, data: dtype === 'F32' ? a : encodeHalf(dtype === 'BF16' ? 'bf16' : 'f16', a) };
      }
      const file = new SafetensorsFile(writeSafetensors(tensors));
      const got = mlaWeightsFromSafetensors(file, c, 'model.layers.2.self_attn.');
      const tol = dtype === 'F32' ? 0 : dtype === 'F16' ? 1e-3 : 8e-3;
      for (const key of Object.values(names)) {
        const a = w[key]!, b = got[key]!;
        for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.abs(a[i]) + 1e-6, `${dtype} ${key}[${i}]`);
      }
      assert.throws(() => mlaWeightsFromSafetensors(file, smallConfig({ qLoraRank: null }), 'model.layers.2.self_attn.'), /q_proj\.weight/);
      assert.throws(() => mlaWeightsFromSafetensors(file, smallConfig({ qLoraRank: 32 }), 'model.layers.2.self_attn.'), /shape \[32, 64\]/);
    }
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    assert.throws(() => new SafetensorsFile(bytes.subarray(0, 12)), FlashMlaError);
    const lying = bytes.slice();
    new DataView(lying.buffer).setBigUint64(0, 1n << 40n, true);
    assert.throws(() => new SafetensorsFile(lying), /header of at most/);
  });

  it('rejects bad configs, weights and inputs with the argument named', async () => {
    const c = smallConfig();
    const w = randomWeights(c, 1);
    const kv = new KvCacheManager({ backend: new InlineCpuBackend(), numBlocks: 4, pageBlockSize: 4 });
    const bad = (f: () => unknown, arg: string) => assert.throws(f, (e: unknown) => e instanceof FlashMlaError && e.argument === arg);
    bad(() => new MlaAttention({ ...c, kvLoraRank: 256 }, w, { cache: kv }), 'config.kvLoraRank');
    bad(() => new MlaAttention({ ...c, qkRopeHeadDim: 32 }, w, { cache: kv }), 'config.qkRopeHeadDim');
    // Non-finite and non-boolean values (accepted before session 16 of 2026-12-05, when only > 0 was asked)
    bad(() => new MlaAttention({ ...c, ropeTheta: Infinity }, w, { cache: kv }), 'config.ropeTheta');
    bad(() => new MlaAttention({ ...c, rmsNormEps: Infinity }, w, { cache: kv }), 'config.rmsNormEps');
    bad(() => new MlaAttention({ ...c, ropeInterleave: 'yes' as never }, w, { cache: kv }), 'config.ropeInterleave');
    const yarn = { factor: 40, originalMaxPositionEmbeddings: 4096 };
    bad(() => new MlaAttention({ ...c, ropeScaling: { ...yarn, factor: Infinity } }, w, { cache: kv }), 'config.ropeScaling.factor');
    bad(() => new MlaAttention({ ...c, ropeScaling: { ...yarn, betaFast: NaN } }, w, { cache: kv }), 'config.ropeScaling.betaFast');
    bad(() => new MlaAttention({ ...c, ropeScaling: { ...yarn, mscaleAllDim: '1' as never } }, w, { cache: kv }), 'config.ropeScaling.mscaleAllDim');
    bad(() => new MlaAttention({ ...c, ropeScaling: { ...yarn, truncate: 0 as never } }, w, { cache: kv }), 'config.ropeScaling.truncate');
    bad(() => new MlaAttention(c, { ...w, oProj: new Float32Array(3) }, { cache: kv }), 'weights.oProj');
    bad(() => new MlaAttention(c, { ...w, qProj: new Float32Array(1) }, { cache: kv }), 'weights.qProj');
    const layer = new MlaAttention(c, w, { cache: kv });
    const id = kv.addSequence();
    await assert.rejects(layer.forward([id], new Float32Array(10), 1), (e: unknown) => e instanceof FlashMlaError && e.argument === 'hidden');
    await assert.rejects(layer.forward([id, id], new Float32Array(128), 1), (e: unknown) => e instanceof FlashMlaError && e.argument === 'ids');
    await assert.rejects(layer.forward([id], new Float32Array(64), 0), (e: unknown) => e instanceof FlashMlaError && e.argument === 'n');
    // A full pool: out_of_memory, and the sequence is unchanged.
    await assert.rejects(layer.forward([id], new Float32Array(64 * 17), 17), (e: unknown) => e instanceof FlashMlaError && e.code === 'out_of_memory');
    assert.equal(kv.seqlen(id), 0);
  });
});

describe('MlaAttention on other backends', () => {
  let workers: Backend | undefined;
  let webgpu: Backend | undefined;
  let webgpuWhy = '';
  before(async () => {
    workers = await createCpuBackend({ workers: 2 });
    try { webgpu = await createNodeWebGpuBackend(); } catch (e) { webgpuWhy = `no WebGPU adapter (${(e as Error).message})`; }
  });
  after(() => { workers?.dispose(); webgpu?.dispose(); });
  test('backend.matmul: odd shapes, offsets and strides, NaN outside the rows read, NaN-poisoned y', async (t) => {
    const shapes: [number, number, number][] = [[1, 3, 5], [3, 200, 500], [17, 70, 33], [40, 130, 64], [1, 576, 256]];
    for (const [label, be] of [['inline', new InlineCpuBackend()], ['workers', workers], ['webgpu', webgpu]] as const) {
      if (!be) { t.diagnostic(`${label}: skipped (${webgpuWhy})`); continue; }
      for (const [m, n, k] of shapes) {
        const t0 = performance.now();
        const xOff = 3, xStride = k + 2, wOff = 5, wStride = k + 1;
        const x = normals(m + n, xOff + m * xStride), w = normals(n + k, wOff + n * wStride);
        // Padding between rows is NaN: reading it would poison the result.
        for (let i = 0; i < m; i++) x.fill(NaN, xOff + i * xStride + k, xOff + (i + 1) * xStride);
        for (let j = 0; j < n; j++) w.fill(NaN, wOff + j * wStride + k, wOff + (j + 1) * wStride);
        x.fill(NaN, 0, xOff);
        w.fill(NaN, 0, wOff);
        const xT = be.upload(fromArray('f32', [x.length], x)), wT = be.upload(fromArray('f32', [w.length], w));
        const yT = be.upload(fromArray('f32', [m, n], new Float32Array(m * n).fill(NaN)));
        await be.matmul!({ m, n, k, x: xT, xOff, xStride, w: wT, wOff, wStride, y: yT });
        const y = (await be.download(yT)).host() as Float32Array;
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) s += x[xOff + i * xStride + q] * w[wOff + j * wStride + q];
          assert.ok(Math.abs(y[i * n + j] - s) <= 1e-5 * (Math.sqrt(k) + Math.abs(s)), `${label} ${m}x${n}x${k} y[${i}, ${j}] = ${y[i * n + j]}, want ${s}`);
        }
        if (label === 'webgpu') for (const z of [xT, wT, yT]) be.free(z);
        t.diagnostic(`${label} ${m}x${n}x${k}: ${(performance.now() - t0).toFixed(0)} ms`);
      }
      const xT = be.upload(fromArray('f32', [8], new Float32Array(8)));
      await assert.rejects(async () => be.matmul!({ m: 2, n: 1, k: 5, x: xT, xOff: 0, xStride: 5, w: xT, wOff: 0, wStride: 5, y: be.empty('f32', [2]) }),
        (e: unknown) => e instanceof FlashMlaError && e.argument === 'x');
    }
  });

  for (const which of ['cpu workers', 'webgpu'] as const) {
    test(`${which}: q_lora + YaRN and no q_lora, vs float64`, async (t) => {
      const be = which === 'webgpu' ? webgpu : workers;
      if (!be) {
        if (process.env.CI) assert.fail(webgpuWhy);
        t.skip(webgpuWhy);
        return;
      }
      for (const [i, over] of [{}, { qLoraRank: null }].entries()) {
        const c = smallConfig(over);
        const w = randomWeights(c, 50 + i);
        const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 24, 4, 'f16') });
        const hidden = normals(60 + i, 2 * 6 * c.hiddenSize);
        const got = await runSequences(layer, hidden, 2, 6, 4);
        layer.cache.dispose();
        assertClose(got, referenceSequences(c, w, hidden, 2, 6), layerTol.f16, `${which} case ${i}`);
      }
    });
  }
});

const caseNames = hfCaseNames();

describe('MlaAttention vs transformers DeepseekV3Attention (test/fixtures/mla)', () => {
  if (caseNames.length === 0) {
    it('cases', (t) => t.skip('no cases in test/fixtures/mla yet: run python3 scripts/make-mla-cases.py test/fixtures/mla where torch + transformers are installed'));
    return;
  }
  let webgpu: Backend | undefined;
  before(async () => { try { webgpu = await createNodeWebGpuBackend(); } catch { webgpu = undefined; } });
  after(() => webgpu?.dispose());
  for (const name of caseNames) {
    test(name, async (t) => {
      const { meta, c, w, b, T, hidden, want } = loadHfCase(name);
      // What transformers computed for the scale and RoPE, against ours.
      assert.ok(Math.abs(mlaSoftmaxScale(c) - meta.hf_scaling) < 1e-12 * meta.hf_scaling, `softmax scale ${mlaSoftmaxScale(c)} vs ${meta.hf_scaling}`);
      const { invFreq, attentionFactor } = ropeFrequencies(c);
      meta.hf_inv_freq.forEach((f, i) => assert.ok(Math.abs(invFreq[i] - f) <= 2e-7 * f, `inv_freq[${i}] ${invFreq[i]} vs ${f}`));
      assert.ok(Math.abs(attentionFactor - meta.hf_attention_scaling) < 1e-6);
      // Our own float64 formula agrees with transformers to f32 rounding.
      assertClose(Float32Array.from(referenceSequences(c, w, hidden, b, T)), want, 1e-9, `${name}: float64 reference`);
      for (const [label, be] of [['cpu', new InlineCpuBackend()], ['webgpu', webgpu]] as const) {
        if (!be) {
          if (process.env.CI) assert.fail(`${label}: no WebGPU adapter in CI`);
          t.diagnostic(`${label}: skipped (no WebGPU adapter)`);
          continue;
        }
        for (const dtype of ['f16', 'bf16'] as const) {
          const layer = new MlaAttention(c, w, { cache: poisonedCache(be, 32, 4, dtype) });
          const got = await runSequences(layer, hidden, b, T, meta.prefill);
          if (label === 'webgpu') layer.cache.dispose();
          assertClose(got, want, layerTol[dtype], `${name} on ${label}, ${dtype} cache`);
        }
      }
    });
  }
});

// The native CPU sparse kernel (decode_common.h sparse_item: gathered bf16 / f16 / V3.2 / MODEL1 keys) on every
// instruction set this CPU has, in-thread and on worker threads, against the float64 reference: the random hostile
// sparse cases (NaN in every unreferenced token, -1 indices, topkLength 0 / short, sinks with +-inf, extra caches,
// split schedules, odd hQ and 64 / 128), long lists (topk 2048), dense decode over FP8 caches (which runs as sparse),
// every e4m3 bit pattern through the f16 dequantization, FlashMLA's goldens, concurrent calls, and the rung choice
// (kernel 'scalar' keeps the JavaScript kernel).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { scalarKernel } from '../../src/backends/cpu/item.js';
import { sparseItemFields } from '../../src/backends/cpu/sparse.js';
import { bf16ToF32, f32ToBf16 } from '../../src/core/dtype.js';
import { type Fp8Format, fp8TokenAddress, quantizeCache } from '../../src/core/fp8.js';
import type { Backend } from '../../src/core/problem.js';
import { referenceSparseDecode } from '../../src/core/reference-sparse.js';
import { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } from '../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../src/core/sparse-api.js';
import { fromArray } from '../../src/core/tensor.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { cpuRungs } from '../support/cpu-rungs.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';
import { goldenSparseSkip, loadSparseGolden, sparseGoldenNames } from '../support/golden-sparse.js';
import { Rng } from '../support/random.js';
import { e4m3PatternsThrough, runRandomSparse } from '../support/sparse-random.js';

const { vector, nativeSkip } = await cpuRungs();
const natives = vector.filter(([name]) => name.startsWith('native'));

const inline = new Map<string, Backend>(), pools = new Map<string, Backend>();
before(async () => {
  for (const [name, k] of natives) {
    inline.set(name, new InlineCpuBackend(k));
    pools.set(name, await createCpuBackend({ workers: 2, kernel: 'native', isa: k.isa }));
  }
});
after(() => { for (const be of pools.values()) be.dispose(); });

/**
 * One long case: topk 2048 (32 blocks, split over parts), a fifth of the indices -1, topkLength below topk for one
 * request, NaN in every token no index reaches, a sink per head (one +inf, one -inf), an extra cache on odd seeds.
 */
async function runLong(seed: number, backend: Backend, format: Fp8Format | 'bf16', hQ: number, { sQ = 1, oddTokens = 0 } = {}): Promise<void> {
  const rng = new Rng(seed);
  const b = 2, topk = 2048, B = 64, dQk = format === 'model1' ? 512 : 576;
  const scope = (tokens: number, width: number) => {
    const numBlocks = Math.ceil(tokens / B);
    const perm = rng.shuffle(Array.from({ length: numBlocks * B }, (_, i) => i));
    const indices = Int32Array.from({ length: b * sQ * width }, (_, i) => (rng.float() < 0.2 ? -1 : perm[i % perm.length]));
    const used = new Set(indices);
    const vals = new Uint16Array(numBlocks * B * dQk);
    for (let t = 0; t < numBlocks * B; t++) for (let d = 0; d < dQk; d++) vals[t * dQk + d] = used.has(t) ? f32ToBf16(rng.normal() * (d % 97 ? 0.3 : 2)) : 0x7fc0;
    const data = format === 'bf16' ? vals : quantizeCache(format, vals, B, numBlocks);
    // oddTokens (V3.2): that fraction of the tokens get f32 scales that are not powers of two, so that some 64-token
    // tiles hold values bf16 cannot (the avx512bf16 unit's f32 fallback) and others not, in one list.
    if (format === 'v32' && oddTokens) {
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (const t of used) {
        if (t < 0 || rng.float() >= oddTokens) continue;
        const a = fp8TokenAddress('v32', B, Math.floor(t / B), t % B);
        for (let j = 0; j < 4; j++) view.setFloat32(a.scales + 4 * j, view.getFloat32(a.scales + 4 * j, true) * 1.37, true);
      }
    }
    const tensor = format === 'bf16' ? fromArray('bf16', [numBlocks, B, 1, dQk], vals) : fp8CacheTensor(format, numBlocks, B, data as Uint8Array);
    return { indices, data, tensor, numBlocks };
  };
  const main = scope(3 * topk, topk);
  const extraTopk = 100, extra = seed % 2 ? scope(500, extraTopk) : undefined;
  const topkLength = Int32Array.of(topk, 1500);
  const q = Uint16Array.from({ length: b * sQ * hQ * dQk }, () => f32ToBf16(Math.max(-1, Math.min(1, rng.normal()))));
  const sink = Float32Array.from({ length: hQ }, (_, h) => (h === 0 ? Infinity : h === 1 ? -Infinity : rng.normal()));
  const meta = getSparseMlaMetadata({ b, sQ, hQ, topk, topkLength, extraTopk: extra ? extraTopk : 0, numSms: 8 });
  const dev = (t: ReturnType<typeof scope>['tensor']) => (t.dtype === 'fp8_e4m3' ? uploadFp8Cache(backend, t) : backend.upload(t as never));
  const out = backend.upload(fromArray('bf16', [b, sQ, hQ, 512], new Uint16Array(b * sQ * hQ * 512).fill(0x7fc0)));
  const lse = backend.upload(fromArray('f32', [b, hQ, sQ], new Float32Array(b * hQ * sQ).fill(NaN)));
  await flashMlaSparseWithKvcache(backend.upload(fromArray('bf16', [b, sQ, hQ, dQk], q)), dev(main.tensor), fromArray('i32', [b, sQ, topk], main.indices), 512, meta, {
    topkLength: fromArray('i32', [b], topkLength), attnSink: fromArray('f32', [hQ], sink), backend, out, lse,
    extraKCache: extra && dev(extra.tensor), extraIndices: extra && fromArray('i32', [b, sQ, extraTopk], extra.indices),
  });
  await backend.synchronize();
  const ref = referenceSparseDecode({
    q, dtype: 'bf16', b, sQ, hQ, dQk, cache: { kind: format, data: main.data, pageBlockSize: B }, indices: main.indices, topk, topkLength, attnSink: sink,
    extraCache: extra && { kind: format, data: extra.data, pageBlockSize: B }, extraIndices: extra?.indices, extraTopk: extra ? extraTopk : undefined,
  });
  const rep = compareOutputs(out.host() as Uint16Array, lse.host() as Float32Array, ref, 'bf16', { b, sQ, hQ }, tolerances.cpuF32);
  assert.ok(rep.ok, `seed ${seed} ${format} hQ ${hQ}: ${rep.message}`);
}

/**
 * A cache of one block of 2 tokens whose token 1 holds `bytes` (e4m3, NaN patterns included) with the given tile
 * scales (V3.2: f32 values; MODEL1: UE8M0 bytes), read alone by `hQ` zero queries (out = V, lse = 0 + ln 1): the
 * kernel's out and lse against the float64 reference, NaN positions included.
 */
async function loneToken(backend: Backend, format: Fp8Format, bytes: (d: number) => number, scales: number[], hQ: number): Promise<string> {
  const L = format === 'v32' ? { nope: 512, tile: 128, dQk: 576 } : { nope: 448, tile: 64, dQk: 512 }, B = 2;
  const data = new Uint8Array(fp8CacheTensor(format, 1, B).numel + 2048);
  const a = fp8TokenAddress(format, B, 0, 1);
  for (let d = 0; d < L.nope; d++) data[a.nope + d] = bytes(d);
  for (let j = 0; j < L.nope / L.tile; j++) {
    if (format === 'v32') new DataView(data.buffer).setFloat32(a.scales + 4 * j, scales[j], true);
    else data[a.scales + j] = scales[j];
  }
  for (let d = 0; d < 64; d++) { const h = f32ToBf16(d / 64 - 0.5); data[a.rope + 2 * d] = h & 0xff; data[a.rope + 2 * d + 1] = h >>> 8; }
  const q = new Uint16Array(hQ * L.dQk), indices = Int32Array.of(-1, 1);
  const out = fromArray('bf16', [1, 1, hQ, 512], new Uint16Array(hQ * 512).fill(0x7fc0));
  const lse = fromArray('f32', [1, hQ, 1], new Float32Array(hQ).fill(7777));
  await flashMlaSparseWithKvcache(fromArray('bf16', [1, 1, hQ, L.dQk], q), fp8CacheTensor(format, 1, B, data), fromArray('i32', [1, 1, 2], indices), 512, undefined, { backend, out, lse });
  const ref = referenceSparseDecode({ q, dtype: 'bf16', b: 1, sQ: 1, hQ, dQk: L.dQk, cache: { kind: format, data, pageBlockSize: B }, indices, topk: 2 });
  const o = out.host() as Uint16Array;
  for (let i = 0; i < o.length; i++) {
    const got = bf16ToF32(o[i]), want = bf16ToF32(f32ToBf16(ref.out[i]));
    if (!Object.is(got, want) && !(Number.isNaN(got) && Number.isNaN(want))) return `out[${i}] = ${got}, reference ${ref.out[i]}`;
  }
  const l = lse.host() as Float32Array;
  for (let h = 0; h < hQ; h++) if (!Object.is(l[h], Math.fround(ref.lse[h])) && !(Number.isNaN(l[h]) && Number.isNaN(ref.lse[h]))) return `lse[${h}] = ${l[h]}, reference ${ref.lse[h]}`;
  return '';
}

describe('native CPU sparse kernel vs the float64 reference, every ISA', { skip: nativeSkip }, () => {
  test('the rungs name their sparse kernel; kernel "scalar" keeps the JavaScript one', async () => {
    for (const [name, be] of inline) assert.match(String(be.info.details?.sparseKernel), new RegExp(`^${name}`), name);
    assert.match(String(new InlineCpuBackend(scalarKernel).info.details?.sparseKernel), /^scalar/);
    const s = await createCpuBackend({ workers: 1, kernel: 'scalar' });
    try { assert.match(String(s.info.details?.sparseKernel), /^scalar/); } finally { s.dispose(); }
  });

  for (const [name] of natives) {
    describe(name, () => {
      test('40 random cases in-thread (FP8 V3.2 / MODEL1, bf16 / f16 caches, hQ 1..17, topk 1..129, lengths, sinks, extra caches)', async () => {
        for (let seed = 1; seed <= 40; seed++) await runRandomSparse(seed, inline.get(name)!, tolerances.cpuF32);
      });
      test('6 random cases with 64 or 128 heads (three row chunks, a partial last one)', async () => {
        for (let seed = 301; seed <= 306; seed++) await runRandomSparse(seed, inline.get(name)!, tolerances.cpuF32, undefined, true, (r) => r.pick([64, 128, 100]));
      });
      test('8 cases with sinks far above lse (factor e^-60 .. 0)', async () => {
        for (let seed = 1101; seed <= 1108; seed++) await runRandomSparse(seed, inline.get(name)!, tolerances.cpuF32, undefined, true, undefined, { bigSinks: true });
      });
      test('12 random cases on 2 worker threads, 4 calls at once', async () => {
        const pool = pools.get(name)!;
        for (let seed = 1001; seed <= 1012; seed += 4) await Promise.all([0, 1, 2, 3].map((i) => runRandomSparse(seed + i, pool, tolerances.cpuF32)));
      });
      test('topk 2048: V3.2, MODEL1 and bf16, hQ 16 and 5, extra cache on odd seeds', async () => {
        const be = inline.get(name)!;
        await runLong(51, be, 'v32', 16);
        await runLong(52, be, 'model1', 5);
        await runLong(53, be, 'bf16', 16);
        await runLong(54, pools.get(name)!, 'v32', 5);
      });
      test('topk 2048, sQ 3, V3.2 with 1 % of the tokens on scales that are not powers of two (tiles bf16 holds exactly and tiles it does not, mixed)', async () => {
        await runLong(61, inline.get(name)!, 'v32', 16, { sQ: 3, oddTokens: 0.01 });
        await runLong(62, inline.get(name)!, 'v32', 3, { sQ: 2, oddTokens: 0.01 });
      });
      test('dense decode over FP8 caches: 10 random cases in-thread, 8 on workers (seqlens 0 / 1 / 63 / 64 / 65 / long)', async () => {
        for (let seed = 7100; seed < 7110; seed++) await runRandomDenseFp8(seed, inline.get(name)!, tolerances.cpuF32, true);
        const pool = pools.get(name)!;
        for (let seed = 7200; seed < 7208; seed += 4) await Promise.all([0, 1, 2, 3].map((i) => runRandomDenseFp8(seed + i, pool, tolerances.cpuF32, true)));
      });
      test('dense FP8 by block table (the paged FP8 source): the kernel is named; V3.2 tiles mixing power-of-two scales with others, big and tiny q, 64 / 128 heads, pages 1 / 16 / 256', async () => {
        const be = inline.get(name)!, pool = pools.get(name)!;
        for (const b of [be, pool]) assert.match((b as unknown as { denseFp8Kernel(): string }).denseFp8Kernel(), new RegExp(`^cpu-native ${natives.find(([n]) => n === name)![1].isa} \\(paged FP8\\)$`));
        for (let seed = 7300; seed < 7310; seed++) await runRandomDenseFp8(seed, be, tolerances.cpuF32, false, true);
        for (let seed = 7310; seed < 7314; seed++) await runRandomDenseFp8(seed, be, tolerances.cpuF32, false, true, true);
        for (let seed = 7320; seed < 7323; seed++) await runRandomDenseFp8(seed, be, tolerances.cpuF32, false, 'wide');
        await Promise.all([7330, 7331, 7332, 7333].map((seed) => runRandomDenseFp8(seed, pool, tolerances.cpuF32, false, seed % 2 ? 'wide' : true)));
      });
      test('a NaN byte (0x7f / 0xff) in a token that is read makes its rows NaN; scales near the top of f32 (scale * 2^8 overflows) dequantize exactly', async () => {
        const be = inline.get(name)!;
        for (const [format, nan] of [['v32', 0x7f], ['v32', 0xff], ['model1', 0xff], ['model1', 0x7f]] as const) {
          const scales = format === 'v32' ? [1, 1, 1, 1] : [127, 127, 127, 127, 127, 127, 127];
          assert.equal(await loneToken(be, format, (d) => (d === 300 ? nan : d & 0x3f), scales, 3), '', `${format} byte 0x${nan.toString(16)}`);
        }
        // Bytes below 2^-4 (exponent field <= 2) so that e4m3 * 2^123 stays finite.
        const small = (d: number) => (d & 0x80) | (d & 0x17);
        assert.equal(await loneToken(be, 'v32', small, [2 ** 123, 2 ** 121, 2 ** 120, 3 * 2 ** 119], 2), '', 'v32 large f32 scales');
        assert.equal(await loneToken(be, 'model1', small, [250, 248, 247, 246, 127, 0, 1], 17), '', 'model1 large and tiny UE8M0 scales');
        assert.equal(await loneToken(be, 'model1', small, [255, 127, 127, 127, 127, 127, 127], 2), '', 'model1 NaN scale (0xff)');
      });
      test('a bf16 cache with dQk 600 (beyond FlashMLA; not the native loops) runs the scalar kernel, to its tolerance', async () => {
        const rng = new Rng(91), b = 2, sQ = 2, hQ = 3, dQk = 600, B = 16, nb = 4, topk = 40;
        const vals = Uint16Array.from({ length: nb * B * dQk }, () => f32ToBf16(rng.normal() * 0.3));
        const q = Uint16Array.from({ length: b * sQ * hQ * dQk }, () => f32ToBf16(rng.normal()));
        const indices = Int32Array.from({ length: b * sQ * topk }, () => (rng.float() < 0.2 ? -1 : rng.int(0, nb * B - 1)));
        const out = fromArray('bf16', [b, sQ, hQ, 512], new Uint16Array(b * sQ * hQ * 512).fill(0x7fc0));
        const lse = fromArray('f32', [b, hQ, sQ], new Float32Array(b * hQ * sQ).fill(NaN));
        await flashMlaSparseWithKvcache(fromArray('bf16', [b, sQ, hQ, dQk], q), fromArray('bf16', [nb, B, 1, dQk], vals), fromArray('i32', [b, sQ, topk], indices), 512,
          getSparseMlaMetadata({ b, sQ, hQ, topk, numSms: 3 }), { backend: inline.get(name)!, out, lse });
        const ref = referenceSparseDecode({ q, dtype: 'bf16', b, sQ, hQ, dQk, cache: { kind: 'bf16', data: vals, pageBlockSize: B }, indices, topk });
        const rep = compareOutputs(out.host() as Uint16Array, lse.host() as Float32Array, ref, 'bf16', { b, sQ, hQ }, tolerances.cpu);
        assert.ok(rep.ok, rep.message);
      });
      for (const format of ['v32', 'model1'] as const) {
        test(`${format}: every e4m3 bit pattern dequantizes exactly (out = V of a lone token), 1 and 17 heads`, async () => {
          assert.deepEqual((await e4m3PatternsThrough(inline.get(name)!, format)).slice(0, 5), []);
          assert.deepEqual((await e4m3PatternsThrough(inline.get(name)!, format, 17)).slice(0, 5), []);
        });
      }
    });
  }
});

const goldenSkip = nativeSkip ?? goldenSparseSkip();
describe("FlashMLA's sparse goldens on the native kernel (cos diff <= 5e-6, tolerances.cpuF32)", { skip: goldenSkip }, () => {
  for (const gname of goldenSkip ? [] : sparseGoldenNames()) {
    test(gname, async () => {
      const g = loadSparseGolden(gname), p = g.params, A = g.arrays;
      for (const [name] of natives) {
        const backend = inline.get(name)!;
        const topkLength = A.topk_length ? fromArray('i32', [p.b], A.topk_length as Int32Array) : undefined;
        const extraTopkLength = A.extra_topk_length ? fromArray('i32', [p.b], A.extra_topk_length as Int32Array) : undefined;
        const m = getSparseMlaMetadata({
          b: p.b, sQ: p.s_q, hQ: p.h_q, topk: p.topk, topkLength, extraTopk: p.extra_topk ?? 0, extraTopkLength, numSms: p.num_sms,
        });
        const out = fromArray('bf16', [p.b, p.s_q, p.h_q, 512], new Uint16Array(p.b * p.s_q * p.h_q * 512).fill(0x7fc0));
        const lse = fromArray('f32', [p.b, p.h_q, p.s_q], new Float32Array(p.b * p.h_q * p.s_q).fill(NaN));
        const extra = A.extra_kcache !== undefined;
        await flashMlaSparseWithKvcache(fromArray('bf16', [p.b, p.s_q, p.h_q, p.d_qk], A.q as Uint16Array),
          fp8CacheTensor(p.format, p.num_blocks, p.page_block_size, A.kcache as Uint8Array), fromArray('i32', [p.b, p.s_q, p.topk], A.indices as Int32Array), 512, m, {
            softmaxScale: p.softmax_scale_passed ?? undefined, topkLength, attnSink: A.attn_sink ? fromArray('f32', [p.h_q], A.attn_sink as Float32Array) : undefined,
            extraKCache: extra ? fp8CacheTensor(p.format, p.extra_num_blocks!, p.extra_page_block_size!, A.extra_kcache as Uint8Array) : undefined,
            extraIndices: extra ? fromArray('i32', [p.b, p.s_q, p.extra_topk!], A.extra_indices as Int32Array) : undefined, extraTopkLength, backend, out, lse,
          });
        const refOut = A.ref_out_f64 as Float64Array, o = out.host() as Uint16Array;
        let dot = 0, xx = 0, yy = 0;
        for (let i = 0; i < o.length; i++) { const x = bf16ToF32(o[i]); dot += x * refOut[i]; xx += x * x; yy += refOut[i] * refOut[i]; }
        const cd = xx + yy === 0 ? 0 : 1 - (2 * dot) / (xx + yy);
        assert.ok(cd <= 5e-6, `${name}: cos diff ${cd}`);
        const rep = compareOutputs(o, lse.host() as Float32Array, { out: refOut, lse: A.ref_lse_f64 as Float64Array }, 'bf16', { b: p.b, sQ: p.s_q, hQ: p.h_q }, tolerances.cpuF32);
        assert.ok(rep.ok, `${name}: ${rep.message}`);
      }
    });
  }
});

// decode_common.h's portable FP8 dequantization (what a unit without dequant_fp8_row, e.g. an arm64 one, runs) and the
// unit without a sparse entry, built here from decode_avx2.c with the test macros: the portable library must give the
// same bits as the F16C one on every e4m3 pattern, NaN bytes, and scales from 2^-127 to 2^123 (odd V3.2 ones too).
const nativeDir = fileURLToPath(new URL('../../src/backends/cpu/native/', import.meta.url));
const ccFound = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);
const avx2Here = natives.some(([name]) => name === 'native avx2');
describe('decode_common.h without the ISA hooks (portable FP8 dequantization; no sparse entry)', { skip: !ccFound ? 'no C compiler' : !avx2Here ? 'no AVX2 here' : undefined }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-portable-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const build = (name: string, flags: string[]) => {
    const out = join(dir, name);
    const r = spawnSync(ccFound!, ['-std=c11', '-O2', '-fPIC', '-Wall', '-Wextra', '-Werror', '-fno-math-errno', '-mavx2', '-mfma', '-mf16c', '-shared', ...flags,
      '-o', out, join(nativeDir, 'decode_avx2.c'), join(nativeDir, 'features.c'), '-lm'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return out;
  };

  test('a unit without SPARSE_ENTRY compiles warning-free and exports no sparse entry', async () => {
    const koffi = (await import('koffi')).default;
    const lib = koffi.load(build('dense-only.so', ['-DFLASHMLA_DENSE_ONLY']));
    assert.throws(() => lib.func('int flashmla_cpu_sparse_item(void)'));
    lib.unload();
  });

  test('a library whose unit has no sparse entry still loads: its dense kernel runs, sparse and dense FP8 run the scalar kernel', async () => {
    const { createHash } = await import('node:crypto');
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { nativeLibName } = await import('../../src/backends/cpu/native/loader.js');
    const lib = build(nativeLibName, ['-DFLASHMLA_DENSE_ONLY']); // only the AVX2 dense entry, as a unit without SPARSE_ENTRY
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ files: { [nativeLibName]: createHash('sha256').update(readFileSync(lib)).digest('hex') } }));
    const root = fileURLToPath(new URL('../../', import.meta.url));
    // A fresh process: the loader caches its answer per thread.
    const code = `import('${join(root, 'src/backends/cpu/inline.ts')}').then(async (i) => { const p = await import('${join(root, 'src/backends/cpu/paths.ts')}');`
      + ` const r = await p.chooseCpuKernel('native', 'avx2'); console.log(JSON.stringify({ name: r.kernel.name, sparse: new i.InlineCpuBackend(r.kernel).info.details.sparseKernel, detail: r.kernel.detail, denseFp8: !!r.kernel.denseFp8 })); })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { env: { ...process.env, FLASHMLA_CPU_LIB_DIR: dir, FLASHMLA_CPU_KERNEL: '', FLASHMLA_CPU_ISA: '' }, encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(got.name, 'native');
    assert.match(got.sparse, /^scalar/);
    assert.match(got.detail, /no flashmla_cpu_sparse_item: sparse decode runs the scalar kernel/);
    assert.equal(got.denseFp8, false, 'its dense entry has no FP8 loader: dense FP8 runs the scalar kernel (item.ts denseUnitOf)');
  });

  for (const format of ['v32', 'model1'] as const) {
    test(`${format}: the portable dequantization gives the F16C one's bits (every byte pattern, NaN bytes, extreme scales)`, async () => {
      const koffi = (await import('koffi')).default;
      const decl = 'int flashmla_cpu_sparse_item(const int32_t *prm, float scale, const uint16_t *q, const void *kCache, const void *extraKCache, '
        + 'const int32_t *indices, const int32_t *extraIndices, const float *attnSink, uint16_t *out, float *lse, float *oAccum, float *lseAccum)';
      const libs = [build('f16c.so', []), build('portable.so', ['-DFLASHMLA_PORTABLE_DEQUANT'])].map((f) => koffi.load(f));
      const fns = libs.map((l) => l.func(decl) as (...a: unknown[]) => number);
      const B = 64, tokens = 2 * B, hQ = 3, dQk = format === 'v32' ? 576 : 512, rng = new Rng(format === 'v32' ? 81 : 82);
      const data = new Uint8Array(fp8CacheTensor(format, tokens / B, B).numel + 4096);
      const view = new DataView(data.buffer);
      for (let t = 0; t < tokens; t++) {
        const a = fp8TokenAddress(format, B, Math.floor(t / B), t % B), nope = format === 'v32' ? 512 : 448, tiles = format === 'v32' ? 4 : 7;
        // Token t % 4 == 1 holds a NaN byte; the others every pattern but NaN, in turn. Tiles with scales of 2^120 and
        // up (scale x 2^8 overflows: the portable path in both libraries) hold bytes below 2^-4, so V stays finite.
        const scales: number[] = [];
        for (let j = 0; j < tiles; j++) {
          if (format === 'v32') {
            scales.push(rng.pick([2 ** -20, 2 ** -8, 1, 2 ** 119, 2 ** 121, 2 ** 123, 2 ** -120, 1.37 * 2 ** -7, 2 ** 100]));
            view.setFloat32(a.scales + 4 * j, scales[j], true);
          } else {
            data[a.scales + j] = rng.pick([0, 1, 60, 119, 127, 200, 246, 247, 250]);
            scales.push(2 ** (data[a.scales + j] - 127));
          }
        }
        const tile = format === 'v32' ? 128 : 64;
        for (let d = 0; d < nope; d++) {
          let v = (t * 7 + d) & 0xff;
          if (scales[Math.floor(d / tile)] >= 2 ** 120) v = (v & 0x80) | (v & 0x17);
          data[a.nope + d] = t % 4 === 1 && d === 5 ? 0x7f : (v & 0x7f) === 0x7f ? 0 : v;
        }
        for (let d = 0; d < 64; d++) { const h = f32ToBf16(rng.normal()); data[a.rope + 2 * d] = h & 0xff; data[a.rope + 2 * d + 1] = h >>> 8; }
      }
      // Queries that touch only the RoPE dims keep the scores finite whatever the NoPE scales; out is the
      // softmax-weighted mean of V, which every dequantized value reaches.
      const q = Uint16Array.from({ length: hQ * dQk }, (_, i) => (i % dQk >= dQk - 64 ? f32ToBf16(rng.normal() * 0.01) : 0));
      const idx = (n: number) => Int32Array.from({ length: n }, (_, i) => i).filter((t) => t % 4 !== 1); // no NaN token
      const prm = new Int32Array(sparseItemFields.length);
      const set = (k: (typeof sparseItemFields)[number], v: number) => { prm[sparseItemFields.indexOf(k)] = v; };
      set('kind', format === 'v32' ? 2 : 3); set('extraKind', format === 'v32' ? 2 : 3); set('pageBlockSize', B); set('extraPageBlockSize', B);
      set('dQk', dQk); set('hQ', hQ); set('sQ', 1); set('noSplit', 1);
      const outs: Uint16Array[] = [], lses: Float32Array[] = [];
      for (const [n, which] of [[1, [0]], [1, [1]], [64, []], [tokens, []]] as [number, number[]][]) {
        const ind = which.length ? Int32Array.from(which) : idx(n);
        set('topk', ind.length); set('mainLen', ind.length); set('region', ind.length); set('posEnd', ind.length);
        for (const fn of fns) {
          const out = new Uint16Array(hQ * 512).fill(0x7fc0), lse = new Float32Array(hQ).fill(7777);
          assert.equal(fn(prm, dQk ** -0.5, q, data, null, ind, null, null, out, lse, null, null), 0);
          outs.push(out); lses.push(lse);
        }
        const [a, b] = outs.slice(-2), [la, lb] = lses.slice(-2);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.fail(`${n} tokens: out[${i}] 0x${a[i].toString(16)} (F16C) vs 0x${b[i].toString(16)} (portable)`);
        for (let h = 0; h < hQ; h++) assert.ok(Object.is(la[h], lb[h]) || (Number.isNaN(la[h]) && Number.isNaN(lb[h])), `${n} tokens: lse[${h}] ${la[h]} vs ${lb[h]}`);
      }
      // The cases are not vacuous: finite outputs, and the NaN-byte token's rows NaN.
      assert.ok(outs[0].every((x) => (x & 0x7f80) !== 0x7f80) && outs[0].some((x) => x !== 0), 'token 0 gives a finite, nonzero out');
      assert.ok(outs[2].every((x) => (x & 0x7fff) > 0x7f80), 'token 1 (a NaN byte) gives NaN rows');
      // (many tokens: sums of values near 2^127 may overflow to inf in the f32 accumulator, in both libraries alike)
      for (const o of [outs[4], outs[6]]) assert.ok(o.filter((x) => (x & 0x7f80) !== 0x7f80 && x !== 0).length > 100, 'many tokens: finite, nonzero outs');
      for (const l of libs) l.unload();
    });
  }
});

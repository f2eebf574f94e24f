// Property/fuzz suite: randomly corrupted arguments to the public API (flashMlaWithKvcache over 16-bit and FP8 caches,
// flashMlaSparseWithKvcache, getMlaMetadata, MlaDecoder, fromArray, KvCacheManager, SafetensorsFile) on the CPU
// (in-thread and workers) and WebGPU (lavapipe). Every call must either throw a typed FlashMlaError or give the output
// of the float64 reference on the inputs it was actually given (the schedule it was handed included); never hang,
// crash, throw anything untyped, or return garbage. The decode suites live in test/support/fuzz-dense.ts and
// fuzz-sparse.ts (test/gpu/fuzz.test.ts runs them on the GPU host, test/long/fuzz.test.ts at more seeds).
//   FUZZ_SEED=n    another seed (default fixed); a failure prints the seed and the case number to replay it
//   FUZZ_CASES=n   scales the number of cases per backend (default 1)
//   FUZZ_CASE=i    runs case i of the sparse and dense FP8 suites alone (with the FUZZ_SEED and FUZZ_CASES it failed at)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { MlaDecoder, flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { type DType, bf16ToF32 } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import { SafetensorsFile, writeSafetensors } from '../../src/core/mla/safetensors.js';
import type { Backend } from '../../src/core/problem.js';
import { referenceDecode } from '../../src/core/reference.js';
import { fromArray } from '../../src/core/tensor.js';
import { ulpOf } from '../support/compare.js';
import { causalBandNaN, hostile, hostileInts, otherArrays, outcome, slowest } from '../support/fuzz.js';
import { bandOf, denseFuzzCase, fuzzDecode } from '../support/fuzz-dense.js';
import { fuzzDenseFp8, fuzzSparse } from '../support/fuzz-sparse.js';
import { Rng, makeCase } from '../support/random.js';

const seed = Number(process.env.FUZZ_SEED ?? 0x10f022);
const scale = Number(process.env.FUZZ_CASES ?? 1);
const only = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);

let workers: Backend | undefined;
let webgpu: WebGpuBackend | undefined;
let webgpuWhy = '';
const inline = new InlineCpuBackend();
before(async () => {
  workers = await createCpuBackend({ workers: 2 });
  try { webgpu = await createNodeWebGpuBackend(); } catch (e) { webgpuWhy = `no WebGPU adapter (${(e as Error).message})`; }
});
after(() => { workers?.dispose(); webgpu?.dispose(); });

describe('fuzz: flashMlaWithKvcache with corrupted arguments', () => {
  const plans: [string, () => Backend | undefined, number, boolean][] = [
    ['inline', () => inline, 120, false], ['workers', () => workers, 50, false], ['webgpu', () => webgpu, 25, true],
  ];
  for (const [kind, get, n, tiny] of plans) {
    test(`${kind}: ${Math.round(n * scale)} cases, seed ${seed}`, async (t) => {
      const be = get();
      if (!be) {
        if (process.env.CI) assert.fail(`WebGPU fuzz cannot run in CI: ${webgpuWhy}`);
        t.skip(webgpuWhy);
        return;
      }
      const s = await fuzzDecode(be, kind, Math.round(n * scale), tiny, seed);
      t.diagnostic(`${kind}: ${s.ran} accepted and equal to the reference, ${s.typed} typed errors ${JSON.stringify(s.codes)}`);
      assert.ok(s.ran > 0 && s.typed > 0, 'the corruptions must produce both outcomes');
    });
  }
});

describe('fuzz: sparse decode and dense decode over FP8 caches with corrupted arguments', () => {
  // (its own default seed; FUZZ_SEED sets both)
  const sparseSeed = Number(process.env.FUZZ_SEED ?? 0x5fa25e);
  const plans: [string, () => Backend | undefined, number, number][] = [
    ['inline', () => inline, 300, 150], ['workers', () => workers, 100, 60], ['webgpu', () => webgpu, 60, 40],
  ];
  for (const [kind, get, nSparse, nDense] of plans) {
    test(`${kind}: ${Math.round(nSparse * scale)} sparse and ${Math.round(nDense * scale)} dense FP8 cases, seed ${sparseSeed}`, async (t) => {
      const be = get();
      if (!be) {
        if (process.env.CI) assert.fail(`WebGPU fuzz cannot run in CI: ${webgpuWhy}`);
        t.skip(webgpuWhy);
        return;
      }
      const sp = await fuzzSparse(be, kind, Math.round(nSparse * scale), sparseSeed, only);
      const de = await fuzzDenseFp8(be, kind, Math.round(nDense * scale), sparseSeed, only);
      t.diagnostic(`${kind} sparse: ${sp.ran} accepted and equal to the reference, ${sp.typed} typed errors ${JSON.stringify(sp.codes)}`);
      t.diagnostic(`${kind} dense FP8: ${de.ran} accepted and equal to the reference, ${de.typed} typed errors ${JSON.stringify(de.codes)}`);
      if (only === undefined) assert.ok(sp.ran > 0 && sp.typed > 0 && de.ran > 0 && de.typed > 0, 'the corruptions must produce both outcomes');
    });
  }
});

// ---------------------------------------------------------------- the other entry points

describe('fuzz: getMlaMetadata, fromArray, MlaDecoder, KvCacheManager with hostile values', () => {
  test(`seed ${seed}`, async (t) => {
    const rng = new Rng(seed ^ 0xabcdef);
    const pick = () => rng.pick(hostile);
    let typed = 0, ok = 0;
    const count = (r: { ok: boolean }) => { if (r.ok) ok++; else typed++; };
    for (let i = 0; i < Math.round(150 * scale); i++) {
      const where = `FUZZ_SEED=${seed} api case ${i}`;
      const b = rng.int(1, 3), seqlens = Int32Array.from({ length: b }, () => rng.pick([...hostileInts.filter((x) => x < 2 ** 20), 10, 100]));
      // getMlaMetadata
      const gm = await outcome(`${where} getMlaMetadata`, () => getMlaMetadata(rng.float() < 0.8 ? seqlens : (pick() as Int32Array),
        rng.float() < 0.5 ? 16 : (pick() as number), rng.float() < 0.5 ? 1 : (pick() as number), { numSms: rng.float() < 0.7 ? undefined : (pick() as number) }));
      count(gm);
      if (gm.ok) {
        assert.equal(gm.value.numSplits.numel, b + 1, where);
        assert.ok(seqlens.every((x) => x >= 0), `${where}: negative seqlens accepted`);
      }
      // fromArray
      const n = rng.int(0, 8);
      count(await outcome(`${where} fromArray`, () => fromArray(rng.pick(['bf16', 'f16', 'f32', 'i32', 'fp8_e4m3', 'f64', 'x']) as DType,
        rng.float() < 0.5 ? [n] : [pick() as number, n], otherArrays[rng.pick(Object.keys(otherArrays))](n) as Uint16Array)));
      // MlaDecoder
      count(await outcome(`${where} MlaDecoder`, async () => {
        const dec = new MlaDecoder(inline, { hQ: rng.float() < 0.5 ? 2 : (pick() as number), hKv: rng.float() < 0.7 ? 1 : (pick() as number) });
        const c = makeCase({ name: 'dec', dtype: 'bf16', hQ: dec.hQ <= 4 ? dec.hQ : 2, hKv: 1, pageBlockSize: 16, seqlens: [rng.int(0, 30)], sQ: 1, causal: true }, i);
        const bt = rng.float() < 0.8 ? fromArray('i32', [1, c.maxBlocksPerSeq], c.blockTable) : fromArray('i32', [1, 1], Int32Array.of(rng.pick(hostileInts)));
        const lens = rng.float() < 0.8 ? c.cacheSeqlens : seqlens.subarray(0, 1);
        dec.plan(lens, bt, { sQ: rng.float() < 0.8 ? 1 : (pick() as number), outputs: rng.float() < 0.8 ? 1 : (pick() as number) });
        const qData = rng.float() < 0.8 ? c.q : new Uint16Array(3 * 576);
        const r = await dec.run(fromArray('bf16', rng.float() < 0.8 ? c.qShape : [1, 1, 3, 576], qData), fromArray('bf16', [c.numBlocks, 16, 1, 576], c.kCache));
        if (dec.hQ === c.hQ) {
          // What was planned and run (the decoder accepted it): the reference of exactly that.
          const ref = referenceDecode({ q: qData, kCache: c.kCache, blockTable: bt.host(), cacheSeqlens: lens, dtype: 'bf16', b: 1, sQ: 1, hQ: c.hQ, hKv: 1, pageBlockSize: 16, maxBlocksPerSeq: bt.shape[1] });
          const out = r.out.host() as Uint16Array;
          for (let e = 0; e < out.length; e++) {
            const x = bf16ToF32(out[e]), y = ref.out[e];
            assert.ok(Number.isNaN(x) === Number.isNaN(y) && (Number.isNaN(y) || Math.abs(x - y) <= ulpOf('bf16', y) + 1e-6), `${where}: decoder output ${e}: ${x} vs ${y}`);
          }
        }
      }));
      // KvCacheManager
      count(await outcome(`${where} KvCacheManager`, () => {
        // (a third of the pools in an FP8 format or a bad format name, drawn apart so that the other draws stay as they were)
        const f = new Rng(seed ^ Math.imul(i + 1, 0x2545f491));
        const format = f.float() < 1 / 3 ? f.pick(['v32', 'model1', 'v32', 'model1', 'toString', 'v4', 7]) as 'v32' : undefined;
        const m = new KvCacheManager({
          backend: inline, numBlocks: rng.float() < 0.6 ? rng.int(1, 4) : (pick() as number), pageBlockSize: rng.float() < 0.6 ? 16 : (pick() as number),
          hKv: rng.float() < 0.8 ? 1 : (pick() as number), dtype: rng.float() < 0.9 ? 'bf16' : (pick() as 'bf16'), format,
        });
        const id = m.addSequence();
        const tokens = rng.int(0, 40);
        m.append(rng.float() < 0.9 ? id : (pick() as number), rng.float() < 0.8 ? new Float32Array(tokens * m.tokenElements).fill(0.5) : (otherArrays[rng.pick(Object.keys(otherArrays))](576) as Uint16Array));
        const batch = m.batch(rng.float() < 0.9 ? [id] : [pick() as number], { maxBlocksPerSeq: rng.float() < 0.8 ? undefined : (pick() as number) });
        assert.equal(batch.cacheSeqlens[0], m.seqlen(id), where);
        m.freeSequence(rng.float() < 0.8 ? id : (pick() as number));
        m.dispose();
      }));
    }
    t.diagnostic(`${ok} accepted, ${typed} typed errors; slowest call ${slowest.ms.toFixed(0)} ms: ${slowest.what}`);
    assert.ok(ok > 0 && typed > 0);
  });
});

describe('fuzz: SafetensorsFile with damaged files', () => {
  test(`seed ${seed}`, async (t) => {
    const rng = new Rng(seed ^ 0x5afe);
    let typed = 0, ok = 0;
    const enc = new TextEncoder(), dec = new TextDecoder();
    const values: unknown[] = [...hostile, -5, 1e300, 'F32', 'BF16', [0, 4], [4, 0], [0, 2 ** 53], [[1]], { a: 1 }, true];
    for (let i = 0; i < Math.round(300 * scale); i++) {
      const where = `FUZZ_SEED=${seed} safetensors case ${i}`;
      const file = writeSafetensors({
        'a.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, k) => k) },
        'b.weight': { dtype: rng.pick(['BF16', 'F16'] as const), shape: [4], data: Uint16Array.of(0x3f80, 0x4000, 0, 0x7fc0) },
      });
      const n = Number(new DataView(file.buffer).getBigUint64(0, true));
      let bytes: Uint8Array = file, what = 'valid';
      const r = rng.int(0, 5);
      if (r === 0) { // a value of the header replaced
        const h = JSON.parse(dec.decode(file.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
        const name = rng.pick([...Object.keys(h), '__metadata__']), field = rng.pick(['dtype', 'shape', 'data_offsets', 'whole']);
        const v = rng.pick(values);
        if (field === 'whole') h[name] = v as Record<string, unknown>; else (h[name] ??= {})[field] = v;
        const json = enc.encode(JSON.stringify(h));
        bytes = new Uint8Array(8 + json.length + (file.length - 8 - n));
        new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
        bytes.set(json, 8); bytes.set(file.subarray(8 + n), 8 + json.length);
        what = `${name}.${field} = ${JSON.stringify(v)}`;
      } else if (r === 1) { // the whole header another JSON value
        const json = enc.encode(JSON.stringify(rng.pick(values)) ?? 'undefined');
        bytes = new Uint8Array(8 + json.length);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
        bytes.set(json, 8);
        what = `header ${dec.decode(json)}`;
      } else if (r === 2) { // the header length
        const v = rng.pick([0n, 1n, BigInt(n - 1), BigInt(n + 1), BigInt(file.length), 2n ** 63n, 2n ** 64n - 1n]);
        bytes = file.slice();
        new DataView(bytes.buffer).setBigUint64(0, v, true);
        what = `header length ${v}`;
      } else if (r === 3) { // cut short
        bytes = file.subarray(0, rng.int(0, file.length - 1));
        what = `${bytes.length} of ${file.length} bytes`;
      } else if (r === 4) { // a random header byte
        bytes = file.slice();
        const at = rng.int(8, 8 + n - 1);
        bytes[at] = rng.int(0, 255);
        what = `header byte ${at} = ${bytes[at]}`;
      }
      const res = await outcome(`${where}: ${what}`, () => {
        const f = new SafetensorsFile(bytes);
        // Every tensor the file lists: typed error, or exactly as many values as its shape.
        for (const [name, e] of f.entries) {
          const got = outcomeSync(() => f.f32(name));
          if (got instanceof Float32Array) assert.equal(got.length, e.shape.reduce((x, y) => x * y, 1), `${where}: ${what}: ${name}`);
        }
        return f;
      });
      if (res.ok) ok++; else typed++;
      if (res.ok && r === 5) assert.deepEqual(Array.from(res.value.f32('a.weight')), [0, 1, 2, 3, 4, 5], where);
    }
    t.diagnostic(`${ok} accepted, ${typed} typed errors`);
    assert.ok(ok > 0 && typed > 0);
  });
});

/** f() or its typed error (anything else is rethrown: the caller's outcome() fails on it). */
function outcomeSync<T>(f: () => T): T | FlashMlaError {
  try { return f(); } catch (e) { if (e instanceof FlashMlaError) return e; throw e; }
}

describe('NaN through the WebGPU kernel (more cases: test/webgpu-nan.test.ts)', () => {
  test('webgpu: NaN in q makes the row NaN, not an empty row (out 0, lse +Infinity)', async (t) => {
    if (!webgpu) { t.skip(webgpuWhy); return; }
    const c = makeCase({ name: 'nan q', dtype: 'bf16', hQ: 1, hKv: 1, pageBlockSize: 16, seqlens: [20], sQ: 1, causal: true }, 5);
    c.q[3] = 0x7fc0;
    const { runCase } = await import('../support/random.js');
    const got = await runCase(c, webgpu, flashMlaWithKvcache);
    assert.ok(Number.isNaN(got.lse[0]), `lse ${got.lse[0]} (the reference is NaN)`);
    assert.ok(Array.from(got.out.subarray(0, 512)).every((x) => (x & 0x7fff) > 0x7f80), 'every out element NaN');
  });
  test('webgpu: NaN in a key the row reads makes the row NaN (was FUZZ_SEED=99 webgpu case 1)', async (t) => {
    if (!webgpu) { t.skip(webgpuWhy); return; }
    const c = makeCase({ name: 'nan k', dtype: 'f16', hQ: 1, hKv: 1, pageBlockSize: 16, seqlens: [20], sQ: 1, causal: true }, 6);
    c.kCache[c.blockTable[0] * 16 * 576 + 7 * 576 + 3] = 0x7e00; // key 7 of sequence 0
    const { runCase } = await import('../support/random.js');
    const got = await runCase(c, webgpu, flashMlaWithKvcache);
    assert.ok(Number.isNaN(got.lse[0]), `lse ${got.lse[0]} (the reference is NaN)`);
    assert.ok(Array.from(got.out.subarray(0, 512)).every((x) => (x & 0x7fff) > 0x7c00), 'every out element NaN');
  });
});

// The fuzz's rule for tensor-core kernels (test/support/fuzz.ts causalBandNaN): which out elements may be NaN where the
// reference is finite. A non-finite V value in a key the query may not see but a later query of the request sees.
describe('causalBandNaN', () => {
  const V = (bad: Record<number, number[]>) => (_i: number, t: number) => {
    const v = new Float64Array(512).fill(0.5);
    for (const c of bad[t] ?? []) v[c] = c % 2 ? Infinity : NaN;
    return v;
  };
  const base = { b: 1, hQ: 2, causal: true, seqlen: () => 5, qStart: () => 0, qLen: () => 3 };
  test('the columns of hidden keys in the band, for the queries that may not see them', () => {
    // queries 0, 1, 2 see keys 0..2, 0..3, 0..4; key 3 (seen by query 1 and 2) bad at columns 7, 8; key 4 at 9
    const m = causalBandNaN({ ...base, vOf: V({ 3: [7, 8], 4: [9], 1: [100] }) }, 6)!;
    const flagged = [...m.keys()].filter((k) => m[k]).map((k) => `${Math.floor(k / 512)}:${k % 512}`);
    assert.deepEqual(flagged, ['0:7', '0:8', '0:9', '1:7', '1:8', '1:9', '2:9', '3:9']);
  });
  test('nothing where no hidden key is non-finite, or the call is not causal, or a single query', () => {
    assert.equal(causalBandNaN({ ...base, vOf: V({ 1: [3], 0: [4] }) }, 6), undefined);
    assert.equal(causalBandNaN({ ...base, causal: false, vOf: V({ 4: [9] }) }, 6), undefined);
    assert.equal(causalBandNaN({ ...base, qLen: () => 1, vOf: V({ 4: [9] }) }, 2), undefined);
  });
  test("the GPU host's CUDA failure (seed 7275089, case 122): the query 0 rows, every column", () => {
    const { a } = denseFuzzCase(7275089, 'cuda', 122, 132, false, 'gpu');
    const m = bandOf(a, 4)!;
    assert.deepEqual([0, 1, 2, 3].map((r) => m.subarray(r * 512, (r + 1) * 512).reduce((x, y) => x + y, 0)), [512, 512, 0, 0]);
  });
});

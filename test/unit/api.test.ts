// MlaDecoder: plan once per decode step, run once per layer. It must give what flashMlaWithKvcache gives on the
// same inputs (16-bit and FP8 caches), refuse to run unplanned or with inputs of another shape, and hand its output
// buffers out in turn.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { KvCacheManager, MlaDecoder, denseStepIndices, flashMlaWithKvcache, getMlaMetadata, referenceSparseDecode } from '../../src/index.js';
import { fp8CacheBytes } from '../../src/backends/cpu/sparse.js';
import { f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import type { Backend } from '../../src/core/problem.js';
import { type Tensor, fromArray } from '../../src/core/tensor.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { type CaseSpec, type DecodeCase, Rng, caseReference, caseTensors, makeCase, nanBits, runCase } from '../support/random.js';

const inline = new InlineCpuBackend();
let workers: Backend;
// The scalar rung: its float64 tolerance (test/backends/cpu-paths.test.ts runs the vector rungs).
before(async () => { workers = await createCpuBackend({ workers: 2, kernel: 'scalar' }); });
after(() => workers?.dispose());

/** Another layer of the same step: same block table and seqlens, fresh q and cache values (NaN slots kept). */
function layer(c: DecodeCase, seed: number): DecodeCase {
  const rng = new Rng(seed);
  const round = c.dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  const nan = nanBits[c.dtype];
  const kCache = c.kCache.map((x) => (x === nan ? nan : round(rng.normal())));
  const q = c.q.map(() => round(rng.normal()));
  return { ...c, q, kCache };
}

async function hostOf(b: Backend, t: Tensor): Promise<Uint16Array | Float32Array> {
  return (await b.download(t)).host().slice() as Uint16Array | Float32Array;
}

function expectError(f: () => unknown, argument: string): Promise<void> {
  return Promise.resolve().then(f).then(
    () => assert.fail(`expected a FlashMlaError naming ${argument}`),
    (e: unknown) => {
      assert.ok(e instanceof FlashMlaError, String(e));
      assert.equal(e.code, 'invalid_argument', e.message);
      assert.equal(e.argument, argument, e.message);
    },
  );
}

const spec: CaseSpec = { name: 'decoder', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [130, 0, 65, 300], sQ: 2, causal: true };

for (const [bname, get] of [['inline', () => inline], ['workers', () => workers]] as const) {
  describe(`MlaDecoder on ${bname}`, () => {
    test('4 layers: each run equals flashMlaWithKvcache bit for bit, and the reference', async () => {
      const backend = get();
      const base = makeCase(spec, 1);
      const dec = new MlaDecoder(backend, { hQ: 16, hKv: 1, dtype: 'bf16' });
      const plan = dec.plan(base.cacheSeqlens, caseTensors(base).blockTable as Tensor<Int32Array>, { sQ: 2, outputs: 4 });
      assert.equal(plan.b, 4);
      assert.equal(plan.sQ, 2);
      for (let l = 0; l < 4; l++) {
        const c = layer(base, 100 + l);
        const t = caseTensors(c);
        const { out, lse } = await dec.run(backend.upload(t.q), backend.upload(t.kCache));
        const o = await hostOf(backend, out) as Uint16Array, s = await hostOf(backend, lse) as Float32Array;
        const direct = await runCase(c, backend, flashMlaWithKvcache);
        assert.deepEqual(o, direct.out, `layer ${l}: out differs from flashMlaWithKvcache`);
        assert.deepEqual(s, direct.lse, `layer ${l}: lse differs from flashMlaWithKvcache`);
        assertOutputsClose(o, s, caseReference(c), c.dtype, c, tolerances.cpu, `layer ${l}`);
      }
      dec.dispose();
    });

    test('a new step (every sequence one key longer) is planned again and matches', async () => {
      const backend = get();
      const dec = new MlaDecoder(backend, { hQ: 16 });
      for (const step of [0, 1]) {
        const c = makeCase({ ...spec, sQ: 1, seqlens: spec.seqlens.map((s) => s + step) }, 7 + step);
        dec.plan(c.cacheSeqlens, caseTensors(c).blockTable as Tensor<Int32Array>);
        const t = caseTensors(c);
        const { out, lse } = await dec.run(backend.upload(t.q), backend.upload(t.kCache));
        assertOutputsClose(await hostOf(backend, out), await hostOf(backend, lse) as Float32Array, caseReference(c), c.dtype, c, tolerances.cpu, `step ${step}`);
      }
      dec.dispose();
    });

    test('varlen plan (qIndptr) with explicit NaN-poisoned outputs', async () => {
      const backend = get();
      const c = makeCase({ ...spec, name: 'varlen', qLens: [1, 0, 3, 2], hQ: 8, hKv: 2 }, 3);
      const dec = new MlaDecoder(backend, { hQ: 8, hKv: 2 });
      dec.plan(c.cacheSeqlens, caseTensors(c).blockTable as Tensor<Int32Array>, { qIndptr: c.qIndptr });
      const out = backend.empty('bf16', c.outShape), lse = backend.empty('f32', c.lseShape);
      backend.write(out, fromArray('bf16', c.outShape, new Uint16Array(out.numel).fill(nanBits.bf16)));
      backend.write(lse, fromArray('f32', c.lseShape, new Float32Array(lse.numel).fill(NaN)));
      const t = caseTensors(c);
      const r = await dec.run(backend.upload(t.q), backend.upload(t.kCache), { out, lse });
      assert.equal(r.out, out);
      assertOutputsClose(await hostOf(backend, out), await hostOf(backend, lse) as Float32Array, caseReference(c), c.dtype, c, tolerances.cpu, 'varlen');
      dec.dispose();
    });
  });
}

describe('MlaDecoder over FP8 caches (KvCacheManager with a format)', () => {
  for (const format of ['v32', 'model1'] as const) {
    test(`${format}: 3 layers on both CPU backends, each run equal to flashMlaWithKvcache bit for bit and to the reference`, async () => {
      const dQk = format === 'v32' ? 576 : 512, hQ = 5, sQ = 2, lens = [70, 0, 1, 130];
      const rng = new Rng(format === 'v32' ? 61 : 62);
      for (const backend of [inline, workers]) {
        // One pool a layer, the same pages for every layer (as a model's layers share a block table).
        const pools = [0, 1, 2].map(() => new KvCacheManager({ backend, numBlocks: 20, pageBlockSize: 16, format }));
        const ids = lens.map(() => pools.map((m) => m.addSequence())[0]);
        const tokens = pools.map(() => lens.map((n) => Uint16Array.from({ length: n * dQk }, () => f32ToBf16(rng.normal() * 0.5))));
        pools.forEach((m, l) => lens.forEach((n, i) => { if (n) m.append(ids[i], tokens[l][i]); }));
        const step = pools[0].batch(ids);
        for (const m of pools) assert.deepEqual(m.batch(ids).blockTable.host(), step.blockTable.host(), 'every layer\'s pool holds the sequences in the same pages');
        const dec = new MlaDecoder(backend, { hQ, dtype: 'bf16' });
        dec.plan(step.cacheSeqlens, step.blockTable, { sQ, outputs: 3 });
        const md = getMlaMetadata(step.cacheSeqlens, sQ * hQ, 1, { backend });
        for (let l = 0; l < 3; l++) {
          const qv = Uint16Array.from({ length: lens.length * sQ * hQ * dQk }, () => f32ToBf16(rng.normal()));
          const q = backend.upload(fromArray('bf16', [lens.length, sQ, hQ, dQk], qv));
          const { out, lse } = await dec.run(q, pools[l].kCache);
          const direct = await flashMlaWithKvcache(q, pools[l].kCache, step.blockTable, fromArray('i32', [lens.length], step.cacheSeqlens), 512,
            md.tileSchedulerMetadata, md.numSplits, { backend });
          assert.deepEqual(await hostOf(backend, out), await hostOf(backend, direct.out), `${format} layer ${l}: out`);
          assert.deepEqual(await hostOf(backend, lse), await hostOf(backend, direct.lse), `${format} layer ${l}: lse`);
          const { indices, topk } = denseStepIndices(step.blockTable.host(), step.blockTable.shape[1], step.cacheSeqlens, sQ, 16, true);
          const ref = referenceSparseDecode({ q: qv, dtype: 'bf16', b: lens.length, sQ, hQ, dQk, cache: { kind: format, data: fp8CacheBytes(pools[l].kCache), pageBlockSize: 16 }, indices, topk });
          assertOutputsClose(await hostOf(backend, out) as Uint16Array, await hostOf(backend, lse) as Float32Array, ref, 'bf16', { b: lens.length, sQ, hQ }, tolerances.cpu, `${format} layer ${l}`);
        }
        dec.dispose();
        for (const m of pools) m.dispose();
      }
    });
  }
  test('an FP8 cache with a varlen plan or hKv > 1 is refused, naming the argument', async () => {
    const m = new KvCacheManager({ backend: inline, numBlocks: 4, pageBlockSize: 16, format: 'v32' });
    const id = m.addSequence();
    m.append(id, new Uint16Array(3 * 576).fill(0x3f80));
    const step = m.batch([id]);
    const dec = new MlaDecoder(inline, { hQ: 4 });
    dec.plan(step.cacheSeqlens, step.blockTable, { qIndptr: Int32Array.of(0, 1) });
    await expectError(() => dec.run(fromArray('bf16', [1, 4, 576], new Uint16Array(4 * 576)), m.kCache), 'qIndptr');
    const two = new MlaDecoder(inline, { hQ: 4, hKv: 2 });
    two.plan(step.cacheSeqlens, step.blockTable);
    await expectError(() => two.run(fromArray('bf16', [1, 1, 4, 576], new Uint16Array(4 * 576)), m.kCache), 'hKv');
    m.dispose();
  });
});

describe('MlaDecoder contract', () => {
  const base = makeCase(spec, 1);
  const t = caseTensors(base);
  const planned = () => {
    const dec = new MlaDecoder(inline, { hQ: 16 });
    dec.plan(base.cacheSeqlens, t.blockTable as Tensor<Int32Array>, { sQ: 2, outputs: 2 });
    return dec;
  };

  test('run() before plan() is an error naming plan', () => expectError(() => new MlaDecoder(inline, { hQ: 16 }).run(t.q, t.kCache), 'plan'));

  test('run() after dispose() is an error naming plan', async () => {
    const dec = planned();
    await dec.run(t.q, t.kCache);
    dec.dispose();
    await expectError(() => dec.run(t.q, t.kCache), 'plan');
  });

  test('a q of another shape on the first layer is rejected', () => {
    const q = fromArray('bf16', [4, 1, 16, 576], new Uint16Array(4 * 16 * 576));
    return expectError(() => planned().run(q, t.kCache), 'q');
  });

  test('a q of another shape on a later layer is rejected', async () => {
    const dec = planned();
    await dec.run(t.q, t.kCache);
    await expectError(() => dec.run(fromArray('bf16', [4, 2, 8, 576], new Uint16Array(4 * 2 * 8 * 576)), t.kCache), 'q');
    await expectError(() => dec.run(fromArray('bf16', [4, 1, 16, 576], new Uint16Array(4 * 16 * 576)), t.kCache), 'q');
  });

  test('a kCache of another dtype on a later layer is rejected', async () => {
    const dec = planned();
    await dec.run(t.q, t.kCache);
    await expectError(() => dec.run(t.q, fromArray('f16', t.kCache.shape, t.kCache.host() as Uint16Array)), 'kCache');
  });

  test('a block table too short for the planned seqlens is caught on the first run', async () => {
    const dec = new MlaDecoder(inline, { hQ: 16 });
    const seqlens = Int32Array.from(base.cacheSeqlens);
    seqlens[3] = base.maxBlocksPerSeq * 64 + 1;
    dec.plan(seqlens, t.blockTable as Tensor<Int32Array>, { sQ: 2 });
    await expectError(() => dec.run(t.q, t.kCache), 'cacheSeqlens[3]');
  });

  test('outputs rotate: plan({outputs: 2}) hands out A, B, A, ...; explicit outputs bypass the rotation', async () => {
    const dec = planned();
    const r1 = await dec.run(t.q, t.kCache), r2 = await dec.run(t.q, t.kCache), r3 = await dec.run(t.q, t.kCache);
    assert.notEqual(r1.out, r2.out);
    assert.notEqual(r1.lse, r2.lse);
    assert.equal(r3.out, r1.out);
    assert.equal(r3.lse, r1.lse);
    assert.deepEqual(r1.out.shape, [4, 2, 16, 512]);
    assert.deepEqual(r1.lse.shape, [4, 16, 2]);
    const mine = { out: inline.empty('bf16', [4, 2, 16, 512]), lse: inline.empty('f32', [4, 16, 2]) };
    const r4 = await dec.run(t.q, t.kCache, mine);
    assert.equal(r4.out, mine.out);
    const r5 = await dec.run(t.q, t.kCache);
    assert.equal(r5.out, r2.out, 'the rotation continues where it was');
    await expectError(() => dec.run(t.q, t.kCache, { out: inline.empty('bf16', [4, 2, 16, 500]), lse: mine.lse }), 'out');
  });

  test('one output pair by default: every run returns the same tensors', async () => {
    const dec = new MlaDecoder(inline, { hQ: 16 });
    dec.plan(base.cacheSeqlens, t.blockTable as Tensor<Int32Array>, { sQ: 2 });
    const a = await dec.run(t.q, t.kCache), b = await dec.run(t.q, t.kCache);
    assert.equal(a.out, b.out);
  });

  test('f16 inputs: the outputs have the inputs\' dtype', async () => {
    const c = makeCase({ ...spec, dtype: 'f16', sQ: 1 }, 11);
    const ct = caseTensors(c);
    const dec = new MlaDecoder(inline, { hQ: 16, dtype: 'f16' });
    dec.plan(c.cacheSeqlens, ct.blockTable as Tensor<Int32Array>);
    const r = await dec.run(ct.q, ct.kCache);
    assert.equal(r.out.dtype, 'f16');
    assertOutputsClose(r.out.host() as Uint16Array, r.lse.host() as Float32Array, caseReference(c), 'f16', c, tolerances.cpu);
  });

  test('f16 inputs to a decoder configured for bf16 outputs are rejected, never written as the wrong type', async () => {
    const c = makeCase({ ...spec, dtype: 'f16', sQ: 1 }, 12);
    const ct = caseTensors(c);
    const dec = new MlaDecoder(inline, { hQ: 16 }); // dtype defaults to bf16
    dec.plan(c.cacheSeqlens, ct.blockTable as Tensor<Int32Array>);
    let r: { out: Tensor } | undefined, err: unknown;
    try { r = await dec.run(ct.q, ct.kCache); } catch (e) { err = e; }
    if (r) assert.equal(r.out.dtype, 'f16', 'out was handed back as bf16 but holds f16 bits');
    else assert.ok(err instanceof FlashMlaError && err.code === 'invalid_argument', String(err));
  });

  test('config errors', () => {
    assert.throws(() => new MlaDecoder(inline, { hQ: 6, hKv: 4 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'hQ');
    assert.throws(() => new MlaDecoder(inline, { hQ: 0 }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'hQ');
    assert.throws(() => planned().plan(Int32Array.of(5, -2, 1, 1), t.blockTable as Tensor<Int32Array>), (e: unknown) => e instanceof FlashMlaError && e.argument === 'cacheSeqlens[1]');
  });
});

// The CUDA backend's GPU suite (needs an NVIDIA GPU and built kernels; not part of `npm test`):
//   FLASHMLA_GOLDEN=.golden node --test build/test/gpu/cuda.test.js     (compiled with tsc; tsx works too)
// FlashMLA's golden cases, then >= 1000 seeded random cases (test/support/random.ts: NaN in unused cache slots,
// shuffled pages, out-of-range table slots, NaN-poisoned outputs) against the float64 reference, across every
// decode variant, several SM-part counts, the naive kernel, graph capture, and a few large cases.
// FLASHMLA_GPU_CASES sets the number of random cases (default 1200).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MlaDecoder, flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { type DeviceStorage, Tensor, fromArray } from '../../src/core/tensor.js';
import { type CudaBackend, type DecodeVariant, createCudaBackend, decodeVariants, variantTag } from '../../src/backends/cuda/index.js';
import { compilePacker, mlaParamsLayout, packParams } from '../../src/backends/cuda/params.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { goldenCaseNames, loadGolden } from '../support/golden.js';
import { type CaseSpec, caseMatrix, caseReference, makeCase, nanBits, runCase, specName } from '../support/random.js';
import { RefPool } from './refpool.js';
import { keyAt, runDense } from '../support/nan-dense.js';
import { nanRows } from '../support/specials.js';

const nRandom = Number(process.env.FLASHMLA_GPU_CASES ?? 1200);
let cuda: CudaBackend;
const forced = new Map<string, CudaBackend>();
let naive: CudaBackend;
let pool: RefPool;

before(async () => {
  cuda = await createCudaBackend();
  naive = await createCudaBackend({ kernel: 'naive' });
  const maxSmem = cuda.info.details!.maxSharedMemoryPerBlock as number;
  // FLASHMLA_GPU_VARIANTS=tag,tag (kernel-name tags such as m32_n64_s2_w8_q16): force only those in the rotation.
  const only = process.env.FLASHMLA_GPU_VARIANTS?.split(',');
  for (const v of decodeVariants) {
    if (only && !only.includes(key(v))) continue;
    if ((await import('../../src/backends/cuda/kernels/launch.js')).decodeSmem(v) <= maxSmem) forced.set(key(v), await createCudaBackend({ variant: v }));
  }
  pool = new RefPool();
  console.log(`# device: ${cuda.info.device}; ${JSON.stringify(cuda.info.details)}; variants: ${[...forced.keys()].join(' ')}`);
});
after(async () => {
  await pool?.close();
  for (const b of forced.values()) b.dispose();
  naive?.dispose();
  cuda?.dispose();
});

function key(v: DecodeVariant): string { return variantTag(v); }

test('parameter packing: the compiled packer writes the bytes of the reference packer', () => {
  const v: Record<string, bigint | number> = {};
  mlaParamsLayout.fields.forEach((f, i) => { v[f.name] = f.type === 'ptr' ? BigInt(i) * 0x1000_0000_0011n : f.type === 'i32' ? -i * 77 : i / 3; });
  const a = new DataView(new ArrayBuffer(mlaParamsLayout.size)), b = new DataView(new ArrayBuffer(mlaParamsLayout.size));
  packParams(a, mlaParamsLayout, v);
  compilePacker(mlaParamsLayout)(b, v);
  assert.deepEqual(new Uint8Array(a.buffer), new Uint8Array(b.buffer));
});

// The driver hands a freed address out again: a stale handle must neither free the tensor that now lives there nor read
// or write its memory (session 51; until then `free` and every call checked the address alone).
test('a freed tensor: refused by every call, and freeing it again leaves the tensor at its old address alone', async (t) => {
  const live = (cuda as unknown as { live: { has(p: bigint): boolean } }).live;
  const ptrOf = (x: Tensor) => (x.data as DeviceStorage).ptr!;
  const a = cuda.upload(fromArray('f32', [4096], new Float32Array(4096).fill(1)));
  const view = new Tensor('f32', [16], a.data, 64);
  const pa = ptrOf(a);
  cuda.free(a);
  const held: Tensor[] = [];
  let b: Tensor | undefined;
  for (let i = 0; i < 64 && !b; i++) {
    const x = cuda.upload(fromArray('f32', [4096], new Float32Array(4096).fill(7)));
    if (ptrOf(x) === pa) b = x; else held.push(x);
  }
  for (const x of held) cuda.free(x);
  if (!b) return t.skip('the driver did not hand the freed address out again within 64 allocations');
  cuda.free(a); // stale handles: no-ops
  cuda.free(view);
  assert.ok(live.has(pa), 'the new tensor at the old address is still allocated');
  assert.deepEqual(Array.from(((await cuda.download(b)).host() as Float32Array).subarray(0, 4)), [7, 7, 7, 7]);
  await assert.rejects(cuda.download(a), (e: unknown) => e instanceof FlashMlaError && /freed tensor/.test(e.message));
  assert.throws(() => cuda.write(view, fromArray('f32', [16], new Float32Array(16))), /freed tensor/);
  const q = fromArray('bf16', [1, 1, 16, 576], new Uint16Array(16 * 576));
  const k = cuda.upload(fromArray('bf16', [1, 64, 1, 576], new Uint16Array(64 * 576)));
  const md = getMlaMetadata(Int32Array.of(10), 16, 1, { backend: cuda });
  const qd = cuda.upload(q);
  cuda.free(qd);
  await assert.rejects(flashMlaWithKvcache(qd, k, fromArray('i32', [1, 1], Int32Array.of(0)), fromArray('i32', [1], Int32Array.of(10)), 512,
    md.tileSchedulerMetadata, md.numSplits, { backend: cuda }), /freed tensor/);
  cuda.free(k);
  cuda.free(b);
  assert.ok(!live.has(pa));
});

test('info: SM count and details from the device', () => {
  assert.ok(cuda.info.numSms > 0);
  for (const k of ['name', 'cc', 'memoryBytes', 'driverVersion']) assert.ok(cuda.info.details![k], k);
});

describe('golden cases (FlashMLA inputs and metadata)', () => {
  for (const name of goldenCaseNames()) {
    test(name, async () => {
      const g = loadGolden(name);
      const p = g.params;
      const q = cuda.upload(fromArray(p.dtype, [p.batch, p.s_q, p.h_q, p.d], g.q));
      const k = cuda.upload(fromArray(p.dtype, [p.num_blocks, p.page_block_size, p.h_kv, p.d], g.kcache));
      const out = cuda.empty(p.dtype, [p.batch, p.s_q, p.h_q, p.dv]), lse = cuda.empty('f32', [p.batch, p.h_q, p.s_q]);
      cuda.write(out, fromArray(p.dtype, out.shape, new Uint16Array(out.numel).fill(nanBits[p.dtype])));
      cuda.write(lse, fromArray('f32', lse.shape, new Float32Array(lse.numel).fill(NaN)));
      const nParts = g.tileSchedulerMetadata.length / 8;
      await flashMlaWithKvcache(q, k, fromArray('i32', [p.batch, g.maxBlocksPerSeq], g.blockTable), fromArray('i32', [p.batch], g.cacheSeqlens), p.dv,
        fromArray('i32', [nParts, 8], g.tileSchedulerMetadata), fromArray('i32', [p.batch + 1], g.numSplits),
        { softmaxScale: p.softmax_scale, causal: p.causal, backend: cuda, out, lse });
      const o = (await cuda.download(out)).host() as Uint16Array, l = (await cuda.download(lse)).host() as Float32Array;
      const rep = compareOutputs(o, l, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tolerances.cuda);
      console.log(`# ${name}: cosDiff ${rep.cosDiff.toExponential(2)} maxLseErr ${rep.maxLseErr.toExponential(2)} worst ${rep.worstRatio.toFixed(3)}`);
      for (const t of [q, k, out, lse]) cuda.free(t);
      assert.ok(rep.ok, rep.message);
    });
  }
});

/** Large shapes the matrix keeps away from (its work budget keeps the CPU reference fast). */
const bigSpecs: CaseSpec[] = [
  { name: 'b=1 s_k=32768 hQ=16 (many splits)', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [32768], sQ: 1, causal: true },
  { name: 'b=4 FlashMLA varlen seqlens hQ=16 sQ=4', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [4641, 4511, 1730, 1696], sQ: 4, causal: true },
  { name: 'b=3 hQ=128 sQ=2 (four 64-row tiles)', dtype: 'f16', hQ: 128, hKv: 1, pageBlockSize: 64, seqlens: [1500, 4097, 0], sQ: 2, causal: true },
  { name: 'b=2 hQ=64 hKv=4 page 256', dtype: 'bf16', hQ: 64, hKv: 4, pageBlockSize: 256, seqlens: [3000, 777], sQ: 3, causal: true },
  { name: 'b=8 hQ=32 page 1 varlen', dtype: 'f16', hQ: 32, hKv: 2, pageBlockSize: 1, seqlens: [900, 0, 64, 65, 1, 1200, 63, 300], sQ: 1, qLens: [1, 0, 4, 2, 1, 3, 4, 2], causal: true },
];

async function checkCase(spec: CaseSpec, seed: number, backend: CudaBackend, numSms: number, refP?: ReturnType<RefPool['reference']>) {
  const c = makeCase(spec, seed);
  const ref = refP ? await refP : caseReference(c);
  const got = await runCase(c, backend, flashMlaWithKvcache, { numSms });
  const rep = compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tolerances.cuda);
  return rep;
}

describe('large cases', () => {
  bigSpecs.forEach((spec, i) => {
    test(spec.name, async () => {
      const rep = await checkCase(spec, 1000 + i, cuda, cuda.info.numSms);
      console.log(`# ${spec.name}: cosDiff ${rep.cosDiff.toExponential(2)} maxLseErr ${rep.maxLseErr.toExponential(2)}`);
      assert.ok(rep.ok, `${specName(spec)}: ${rep.message}`);
    });
  });
});

describe(`${nRandom} random cases vs the float64 reference`, () => {
  test('every case, every variant, several SM-part counts, the naive kernel on every 10th', async () => {
    const specs = caseMatrix(nRandom, 20261127);
    const smsChoices = () => [cuda.info.numSms, 7, 33, 1];
    const variants = [...forced.values()];
    const ahead = 64;
    const refs: Promise<import('../../src/core/reference.js').ReferenceOutput>[] = [];
    const want = (i: number) => { if (i < specs.length && !refs[i]) refs[i] = pool.reference(specs[i], i); };
    for (let i = 0; i < ahead; i++) want(i);
    const failures: string[] = [];
    let worstCos = 0, worstLse = 0, runs = 0;
    const t0 = performance.now();
    for (let i = 0; i < specs.length; i++) {
      want(i + ahead);
      const ref = await refs[i];
      delete refs[i];
      const c = makeCase(specs[i], i);
      const numSms = smsChoices()[i % 4];
      const runs_: [string, CudaBackend][] = [['auto', cuda], ['forced', variants[i % variants.length]]];
      if (i % 10 === 0) runs_.push(['naive', naive]);
      for (const [label, b] of runs_) {
        const got = await runCase(c, b, flashMlaWithKvcache, { numSms });
        const rep = compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tolerances.cuda);
        runs++;
        if (Number.isFinite(rep.cosDiff)) worstCos = Math.max(worstCos, rep.cosDiff);
        worstLse = Math.max(worstLse, rep.maxLseErr);
        if (!rep.ok) failures.push(`${specName(specs[i], i)} [${label}, numSms ${numSms}]: ${rep.message}`);
      }
    }
    console.log(`# ${specs.length} cases, ${runs} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s; worst cosDiff ${worstCos.toExponential(2)}, worst lse err ${worstLse.toExponential(2)}; ${failures.length} failures`);
    for (const f of failures.slice(0, 20)) console.log(`# FAIL ${f}`);
    assert.equal(failures.length, 0, failures.slice(0, 5).join('\n'));
  });
});

// Session 54: validation accepts FlashMLA's plan and the 'fill' plan for the same seqlens; the staging of host index
// tensors once took equal seqlens (and lengths) for equal metadata and skipped the copy, so a call that switched plans
// ran the previous call's schedule. Each call alternately with either plan must match the reference.
test('host metadata: switching between the two accepted plans for the same seqlens', async () => {
  // [300, 77, 64]: FlashMLA's plan splits nothing (no merge launched) where 'fill' splits every request, so a stale
  // 'fill' schedule under FlashMLA's would leave the outputs unwritten (poisoned by runCase).
  for (const seqlens of [[300, 77, 64], [4000, 300, 77]]) {
    const spec: CaseSpec = { name: 'plans', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens, sQ: 1, causal: true };
    const c = makeCase(spec, 54), ref = caseReference(c);
    const words = (['flashmla', 'fill'] as const).map((schedule) => getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv, { numSms: cuda.info.numSms, schedule }).numSplits.host());
    assert.notDeepEqual(Array.from(words[0] as Int32Array), Array.from(words[1] as Int32Array), 'the plans split differently');
    for (const schedule of ['fill', 'flashmla', 'fill', 'flashmla'] as const) {
      const got = await runCase(c, cuda, flashMlaWithKvcache, { schedule });
      const rep = compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda);
      assert.ok(rep.ok, `[${seqlens}] ${schedule}: ${rep.message}`);
    }
  }
});

// Session 55: a key with a NaN score in a request split so that a causal query's other splits see no key (FlashMLA's
// plan for one sequence of 321 keys over 132 parts: [0, 320) and [320, 321); query 0 of 2 sees keys 0..319). The
// merge took its lse maximum with fmaxf, which drops the NaN piece: query 0's rows came out as "no key" (out 0, lse +inf)
// instead of NaN (docs/errors.md). Fixed by max.NaN in every split merge (common.cuh fmaxNaN).
describe('cuda: a NaN key in a split whose other splits see no key', () => {
  test('every row NaN (out and lse), bf16 and f16, key 5 or key 300, on each decode variant', async () => {
    for (const dtype of ['bf16', 'f16'] as const) {
      for (const key of [5, 300]) {
        const c = makeCase({ name: 'nan-split', dtype, hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [321], sQ: 2, causal: true }, 5500 + key);
        c.kCache[keyAt(c, 0, key, 520)] = nanBits[dtype]; // a RoPE column: the score is NaN, V stays finite
        for (const [tag, be] of [['default', cuda], ...forced] as [string, CudaBackend][]) {
          const { out, lse } = await runDense(c, be, 132);
          const rows = nanRows(out, dtype);
          assert.ok(rows.every(Boolean), `${dtype} key ${key} ${tag}: rows not all NaN: ${rows.map((x, i) => (x ? '' : i)).filter((x) => x !== '').join(',')}`);
          assert.ok(Array.from(lse).every(Number.isNaN), `${dtype} key ${key} ${tag}: lse ${Array.from(lse).slice(0, 4)}..`);
        }
      }
    }
  });
});

describe('graph capture and the decoder path (device index tensors)', () => {
  test('a captured 4-layer step replays to the same bits as direct runs', async () => {
    const spec: CaseSpec = { name: 'graph', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [700, 64, 1300, 5], sQ: 2, causal: true };
    const c = makeCase(spec, 77);
    const dec = new MlaDecoder(cuda, { hQ: c.hQ, hKv: c.hKv, dtype: c.dtype, numSms: cuda.info.numSms });
    dec.plan(c.cacheSeqlens, fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), { sQ: c.sQ, outputs: 4 });
    const q = cuda.upload(fromArray(c.dtype, c.qShape, c.q));
    const k = cuda.upload(fromArray(c.dtype, [c.numBlocks, c.pageBlockSize, c.hKv, 576], c.kCache));
    const direct: Uint16Array[] = [];
    const outs: { out: import('../../src/core/tensor.js').Tensor; lse: import('../../src/core/tensor.js').Tensor }[] = [];
    for (let layer = 0; layer < 4; layer++) outs.push(await dec.run(q, k));
    for (const o of outs) direct.push(Uint16Array.from((await cuda.download(o.out)).host() as Uint16Array));
    const ref = caseReference(c);
    const rep = compareOutputs(direct[0], (await cuda.download(outs[0].lse)).host() as Float32Array, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda);
    assert.ok(rep.ok, rep.message);
    for (const o of outs) cuda.write(o.out, fromArray(c.dtype, c.outShape, new Uint16Array(c.totalQ * c.hQ * 512).fill(nanBits[c.dtype])));
    const graph = await cuda.captureGraph(async () => { for (let layer = 0; layer < 4; layer++) await dec.run(q, k); }, { warmup: false });
    graph.launch();
    await cuda.synchronize();
    for (let i = 0; i < 4; i++) assert.deepEqual((await cuda.download(outs[i].out)).host(), direct[i], `layer ${i}`);
    graph.dispose();
    dec.dispose();
    cuda.free(q); cuda.free(k);
  });

  // A replay writes its accumulators at the workspace's front, where a host-index call stages its words; a later host call
  // with the same words must copy them again (before session 56 it skipped the copy and read the replay's floats).
  test('host index calls around graph replays: the same bits each time', async () => {
    const g = makeCase({ name: 'graph', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [700, 64, 1300, 5], sQ: 2, causal: true }, 78);
    const dec = new MlaDecoder(cuda, { hQ: g.hQ, hKv: g.hKv, dtype: g.dtype, numSms: cuda.info.numSms });
    dec.plan(g.cacheSeqlens, fromArray('i32', [g.b, g.maxBlocksPerSeq], g.blockTable), { sQ: g.sQ, outputs: 2 });
    const gq = cuda.upload(fromArray(g.dtype, g.qShape, g.q));
    const gk = cuda.upload(fromArray(g.dtype, [g.numBlocks, g.pageBlockSize, g.hKv, 576], g.kCache));
    const graph = await cuda.captureGraph(async () => { for (let layer = 0; layer < 2; layer++) await dec.run(gq, gk); });
    const c = makeCase({ name: 'host', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [900, 33, 2100], sQ: 1, causal: true }, 79);
    const q = cuda.upload(fromArray(c.dtype, c.qShape, c.q));
    const k = cuda.upload(fromArray(c.dtype, [c.numBlocks, c.pageBlockSize, c.hKv, 576], c.kCache));
    const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv, { backend: cuda });
    const bt = fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), sl = fromArray('i32', [c.b], c.cacheSeqlens);
    const out = cuda.upload(fromArray(c.dtype, c.outShape, new Uint16Array(c.totalQ * c.hQ * 512)));
    const lse = cuda.upload(fromArray('f32', [c.b, c.hQ, c.sQ], new Float32Array(c.b * c.hQ * c.sQ)));
    const call = async () => {
      cuda.write(out, fromArray(c.dtype, c.outShape, new Uint16Array(c.totalQ * c.hQ * 512).fill(nanBits[c.dtype])));
      await flashMlaWithKvcache(q, k, bt, sl, 512, md.tileSchedulerMetadata, md.numSplits, { backend: cuda, out, lse });
      await cuda.synchronize();
      return [(await cuda.download(out)).host() as Uint16Array, (await cuda.download(lse)).host() as Float32Array] as const;
    };
    const first = await call();
    const rep = compareOutputs(first[0], first[1], caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda);
    assert.ok(rep.ok, rep.message);
    for (let r = 0; r < 3; r++) {
      graph.launch();
      const again = await call();
      assert.deepEqual(again[0], first[0], `out after replay ${r}`);
      assert.deepEqual(again[1], first[1], `lse after replay ${r}`);
    }
    graph.dispose();
    dec.dispose();
    for (const t of [gq, gk, q, k, out, lse]) cuda.free(t);
  });

  test('host index tensors are refused while capturing, and the stream stays usable', async () => {
    const c = makeCase({ name: 'x', dtype: 'bf16', hQ: 4, hKv: 1, pageBlockSize: 64, seqlens: [10], sQ: 1, causal: true }, 1);
    const q = cuda.upload(fromArray(c.dtype, c.qShape, c.q));
    const k = cuda.upload(fromArray(c.dtype, [c.numBlocks, c.pageBlockSize, c.hKv, 576], c.kCache));
    const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv, { backend: cuda });
    const bt = fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), sl = fromArray('i32', [c.b], c.cacheSeqlens);
    await assert.rejects(cuda.captureGraph(async () => {
      await flashMlaWithKvcache(q, k, bt, sl, 512, md.tileSchedulerMetadata, md.numSplits, { backend: cuda });
    }, { warmup: false }), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument');
    cuda.free(q); cuda.free(k);
    const rep = await checkCase(c.spec, 1, cuda, cuda.info.numSms);
    assert.ok(rep.ok, rep.message);
  });

  test('metadata for this device', () => {
    const md = getMlaMetadata(new Int32Array([100, 200]), 16, 1, { backend: cuda });
    assert.equal(md.tileSchedulerMetadata.shape[0], cuda.info.numSms);
  });
});

// The CPU backends (in-thread and worker threads) against FlashMLA's golden cases and the float64 reference on
// the random case matrix. Outputs are NaN-poisoned before every run, so an element the kernel forgets fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { halfToF32 } from '../../src/core/dtype.js';
import type { Backend } from '../../src/core/problem.js';
import { fromArray } from '../../src/core/tensor.js';
import { type CompareReport, assertOutputsClose, compareOutputs, tolerances } from '../support/compare.js';
import { goldenCaseNames, loadGolden, runGolden } from '../support/golden.js';
import { type DecodeCase, caseMatrix, caseReference, makeCase, runCase, specName } from '../support/random.js';

const tol = tolerances.cpu;
/** Cases of the random matrix; every one runs on both backends. */
const randomCases = 200;
const matrixSeed = 20250422;

const inline = new InlineCpuBackend();
let workers: Backend;
// The scalar rung: its float64 tolerance (test/backends/cpu-paths.test.ts runs the vector rungs).
before(async () => { workers = await createCpuBackend({ workers: 2, kernel: 'scalar' }); });
after(() => workers?.dispose());

const backends: [string, () => Backend][] = [['inline', () => inline], ['workers', () => workers]];

describe('golden cases (FlashMLA inputs, FlashMLA metadata)', () => {
  for (const name of goldenCaseNames()) {
    const g = loadGolden(name), p = g.params;
    const layout = { b: p.batch, sQ: p.s_q, hQ: p.h_q };
    const ref = { out: g.refOut, lse: g.refLse };

    test(`${name}: FlashMLA's own out passes the cuda/webgpu tolerance (the table is not looser than needed)`, () => {
      const r = assertOutputsClose(g.out, g.lse, ref, p.dtype, layout, tolerances.cuda, name);
      assert.ok(r.cosDiff < 1e-5);
    });

    for (const [bname, get] of backends) {
      test(`${name} on ${bname}`, async () => {
        const got = await runGolden(g, get());
        const r = assertOutputsClose(got.out, got.lse, ref, p.dtype, layout, tol, `${name} on ${bname}`);
        // Against FlashMLA's kernel output itself: same bar, its out taken as the reference.
        const vsFlash = compareOutputs(got.out, got.lse, { out: Float64Array.from(g.out, halfToF32(p.dtype)), lse: Float64Array.from(g.lse) },
          p.dtype, layout, { ...tolerances.cuda, ulps: 4 });
        assert.ok(vsFlash.cosDiff < 1e-5, `vs FlashMLA's out: ${vsFlash.message}`);
        assert.ok(vsFlash.maxLseErr < 1e-3, `vs FlashMLA's lse: ${vsFlash.message}`);
        for (let k = 0; k < g.lse.length; k++) assert.equal(got.lse[k] === Infinity, g.lse[k] === Infinity, `+inf positions match FlashMLA at lse[${k}]`);
        // Our kernel should be far closer to float64 than FlashMLA's bf16 P·V is.
        assert.ok(r.cosDiff <= compareOutputs(g.out, g.lse, ref, p.dtype, layout, tolerances.cuda).cosDiff + 1e-7, `cos diff ${r.cosDiff}`);
      });
    }
  }
});

describe(`random matrix: ${randomCases} cases x 2 backends against the float64 reference`, () => {
  const specs = caseMatrix(randomCases, matrixSeed);
  const reports: CompareReport[] = [];

  test('the matrix covers the axes it promises', () => {
    const has = (f: (s: (typeof specs)[number]) => boolean, what: string) => assert.ok(specs.some(f), `no case with ${what}`);
    for (const hQ of [1, 3, 5, 7, 16, 17, 33, 64, 127, 128]) has((s) => s.hQ === hQ, `hQ ${hQ}`);
    for (const hKv of [1, 2, 4]) has((s) => s.hKv === hKv, `hKv ${hKv}`);
    for (const len of [0, 1, 63, 64, 65, 127, 128, 129]) has((s) => s.seqlens.includes(len), `seqlen ${len}`);
    has((s) => s.seqlens.some((l) => l >= 2000), 'a long sequence');
    for (const page of [1, 16, 64, 100, 256]) has((s) => s.pageBlockSize === page, `page ${page}`);
    for (const sQ of [1, 2, 3, 4]) has((s) => !s.qLens && s.sQ === sQ, `sQ ${sQ}`);
    has((s) => !s.qLens && s.causal && s.sQ > 1 && s.seqlens.some((l) => l < s.sQ), 'causal seqlen < sQ');
    has((s) => s.qLens !== undefined && s.qLens.includes(0), 'varlen with an empty request');
    has((s) => s.dtype === 'f16', 'f16');
    has((s) => s.dtype === 'bf16', 'bf16');
    has((s) => s.softmaxScale !== undefined, 'a custom scale');
    has((s) => !s.causal, 'non-causal');
    assert.ok(specs.filter((s) => s.pageBlockSize === 64).length > specs.length / 3, 'page 64 most of the time');
  });

  specs.forEach((spec, i) => {
    test(specName(spec, i), async () => {
      const c = makeCase(spec, matrixSeed + i);
      const ref = caseReference(c);
      // Plan for the backend's own SM count, for FlashMLA's 132 (many splits), or for 3 (few long parts).
      const numSms = [undefined, 132, 3][i % 3];
      const results: Uint16Array[] = [];
      for (const [bname, get] of backends) {
        const got = await runCase(c, get(), flashMlaWithKvcache, { numSms: numSms ?? get().info.numSms });
        reports.push(assertOutputsClose(got.out, got.lse, ref, c.dtype, c, tol, `${spec.name} on ${bname} (numSms ${numSms ?? 'default'})`));
        results.push(got.out);
      }
      // Same metadata, same kernel: threads only change who runs a unit, so the bits agree.
      if (numSms !== undefined) assert.deepEqual(results[1], results[0], 'inline and worker backends give identical bits');
    });
  });

  test('summary: worst cosine difference and element error over the matrix', () => {
    assert.equal(reports.length, 2 * randomCases, 'every case ran on both backends');
    const worstCos = Math.max(...reports.map((r) => r.cosDiff)), worstEl = Math.max(...reports.map((r) => r.worstRatio));
    assert.ok(worstCos < tol.cosDiff && worstEl <= 1);
    console.log(`# cpu random matrix: worst cos diff ${worstCos.toExponential(2)}, worst element ${worstEl.toFixed(3)}x bound`);
  });
});

describe('more CPU backend behaviour', () => {
  test('outputs allocated by the API when none are passed', async () => {
    const c = makeCase({ name: 'alloc', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [70, 0], sQ: 2, causal: true }, 1);
    for (const [, get] of backends) {
      const b = get();
      const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv, { backend: b });
      const { out, lse } = await flashMlaWithKvcache(
        b.upload(fromArray(c.dtype, c.qShape, c.q)), b.upload(fromArray(c.dtype, [c.numBlocks, c.pageBlockSize, c.hKv, 576], c.kCache)),
        fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), fromArray('i32', [c.b], c.cacheSeqlens), 512,
        md.tileSchedulerMetadata, md.numSplits, { backend: b });
      assertOutputsClose((await b.download(out)).host() as Uint16Array, (await b.download(lse)).host() as Float32Array, caseReference(c), c.dtype, c, tol);
    }
  });

  test('host tensors with no backend named run on the in-thread CPU backend', async () => {
    const c = makeCase({ name: 'default', dtype: 'f16', hQ: 5, hKv: 1, pageBlockSize: 16, seqlens: [33], sQ: 1, causal: true }, 2);
    const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv);
    const { out, lse } = await flashMlaWithKvcache(fromArray(c.dtype, c.qShape, c.q), fromArray(c.dtype, [c.numBlocks, c.pageBlockSize, c.hKv, 576], c.kCache),
      fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable), fromArray('i32', [c.b], c.cacheSeqlens), 512, md.tileSchedulerMetadata, md.numSplits);
    assertOutputsClose(out.host() as Uint16Array, lse.host() as Float32Array, caseReference(c), c.dtype, c, tol);
  });

  const corners: [string, Parameters<typeof makeCase>[0]][] = [
    ['varlen with every request empty (totalQ 0)', { name: 'totalQ0', dtype: 'bf16', hQ: 4, hKv: 1, pageBlockSize: 64, seqlens: [5, 7], sQ: 1, qLens: [0, 0], causal: true }],
    ['300 sequences, page 16', { name: 'b300', dtype: 'bf16', hQ: 2, hKv: 1, pageBlockSize: 16, seqlens: Array.from({ length: 300 }, (_, i) => (i * 37) % 140), sQ: 1, causal: true }],
    ['one 20000-key sequence split over 132 parts, page 256', { name: 'long', dtype: 'f16', hQ: 1, hKv: 1, pageBlockSize: 256, seqlens: [20000], sQ: 1, causal: true }],
    ['hQ 128, hKv 4, sQ 4 (256 query rows per KV head: several 64-row tiles)', { name: 'rows', dtype: 'bf16', hQ: 128, hKv: 4, pageBlockSize: 64, seqlens: [3, 70], sQ: 4, causal: true }],
  ];
  for (const [what, spec] of corners) {
    test(`corner: ${what}`, async () => {
      const c = makeCase(spec, 5);
      for (const [bname, get] of backends) {
        const got = await runCase(c, get(), flashMlaWithKvcache, { numSms: 132 });
        assertOutputsClose(got.out, got.lse, caseReference(c), c.dtype, c, tol, `${spec.name} on ${bname}`);
      }
    });
  }

  test('a larger case runs on the worker backend and agrees with the reference (b=4, seqlens up to 4096, hQ 16)', async () => {
    const c: DecodeCase = makeCase({ name: 'large', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [4096, 1000, 3000, 17], sQ: 1, causal: true }, 3);
    const got = await runCase(c, workers, flashMlaWithKvcache);
    assertOutputsClose(got.out, got.lse, caseReference(c), c.dtype, c, tol, 'large');
  });
});

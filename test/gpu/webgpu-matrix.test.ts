// The subgroup-matrix WebGPU decode kernels on a GPU that offers a float subgroup-matrix configuration (the H200
// through Dawn with the unlock toggles); skipped elsewhere. Not part of `npm test`:
//   FLASHMLA_GOLDEN=test/fixtures/golden node --test build/test/gpu/webgpu-matrix.test.js
// The matrix path forced: v5 (kernels/decode-matrix5.ts, the default) with its default layout (8 subgroups where the
// device allows 48 KiB of workgroup memory) and with 4 subgroups, v4 (kernels/decode-matrix4.ts) with 8 subgroups;
// v4 with 4 subgroups and v3 (kernels/decode-matrix.ts) are compiled only. The WGSL compiles (v4 and v5 under
// diagnostic(off, chromium.subgroup_matrix_uniformity), v3 under the uniformity rules of the matrix builtins); every
// golden case, magnitudes outside f16's range and NaN rows on the three; >= 300 seeded random cases of the hostile
// matrix (NaN-poisoned unused slots, shuffled pages, out-of-range table slots, varlen, several SM-part counts)
// against the float64 reference on v5's default layout, or on 4 subgroups with FLASHMLA_MATRIX_TEST_SUBGROUPS=4.
// FLASHMLA_GPU_CASES sets the random count (default 300). FLASHMLA_MATRIX_TEST_EMULATE=1 runs the same suite with
// the products emulated, on an adapter with shader-f16 only (v5 then takes 4 subgroups where 48 KiB do not fit; v4
// 8 subgroups fits 32 KiB): a check of this file itself, e.g. on lavapipe with FLASHMLA_GPU_CASES=8.
// FLASHMLA_MATRIX_TEST_VERSION=6 puts v6 (kernels/decode-matrix6.ts, 32 rows a workgroup, opt-in) in v5's default
// layout's place: its WGSL compiled, the goldens, extremes, NaN rows, issue #13's cases and the random cases on it.
// FLASHMLA_MATRIX_TEST_LAZY=1 (or 0, side, scratch) runs v5 (both layouts) with its lazy rescale of O on (off, or in
// that form) whatever the default
// (kernels/decode-matrix5.ts `lazy`); keys growing along the sequence check the rescale on every backend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { probeSubgroupAddressing, probeSubgroupMatrix } from '../../src/bench/webgpu-ceilings-matrix.js';
import { decodeMatrixProgram } from '../../src/backends/webgpu/kernels/decode-matrix.js';
import { decodeMatrix4Program } from '../../src/backends/webgpu/kernels/decode-matrix4.js';
import { combineProgram } from '../../src/backends/webgpu/kernels/combine.js';
import { decodeMatrix5Program, decodeMatrix5Spec } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { decodeMatrix6Program, decodeMatrix6Spec } from '../../src/backends/webgpu/kernels/decode-matrix6.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { matrixAuto, matrixByDefault } from '../../src/backends/webgpu/kernels/path.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import type { ReferenceOutput } from '../../src/core/reference.js';
import { assertOutputsClose, compareOutputs } from '../support/compare.js';
import { goldenCaseNames } from '../support/golden.js';
import { caseMatrix, caseReference, makeCase, runCase, specName } from '../support/random.js';
import { runGoldenWebGpu } from '../support/webgpu.js';
import { checkInfKeyRows, checkNanRows, extremeCases, growingCase, matrixTol, mixedBlockCase, ropeHeavyCase, scaledCase } from '../support/webgpu-matrix.js';
import { RefPool } from './refpool.js';

const nRandom = Number(process.env.FLASHMLA_GPU_CASES ?? 300);
const emulate = process.env.FLASHMLA_MATRIX_TEST_EMULATE === '1';
const onlySubgroups = process.env.FLASHMLA_MATRIX_TEST_SUBGROUPS === '8' ? 8 : process.env.FLASHMLA_MATRIX_TEST_SUBGROUPS === '4' ? 4 : undefined;
const v6 = process.env.FLASHMLA_MATRIX_TEST_VERSION === '6';
const lazy = ({ 1: true, 0: false, side: 'side', scratch: 'scratch' } as const)[process.env.FLASHMLA_MATRIX_TEST_LAZY as '1' | '0' | 'side' | 'scratch'];
// FLASHMLA_MATRIX_TEST_TILE16=1: v5's tile16 candidate (kernels/decode-matrix5.ts) in v5's default layout's place.
const tile16 = process.env.FLASHMLA_MATRIX_TEST_TILE16 === '1' ? true : undefined;
// FLASHMLA_MATRIX_TEST_PAIR=1: v5's pair candidate (two tiles an iteration) there, with or without tile16.
const pair = process.env.FLASHMLA_MATRIX_TEST_PAIR === '1' ? true : undefined;
// FLASHMLA_MATRIX_TEST_LOOKAHEAD=1: v5's lookahead probe there.
const lookahead = process.env.FLASHMLA_MATRIX_TEST_LOOKAHEAD === '1' ? true : undefined;
// FLASHMLA_MATRIX_TEST_TRIM=1: v5's trim candidate (two barriers fewer a tile) in every lazy v5 pipeline of this
// process; =late: trim + late; =nopf / lean / nl: trim + noPrefetch / lean / both (session 13's register slot).
const trimProbe = ({ 1: { trim: true }, late: { trim: true, late: true }, nopf: { trim: true, noPrefetch: true }, lean: { trim: true, lean: true }, nl: { trim: true, noPrefetch: true, lean: true } } as const)[process.env.FLASHMLA_MATRIX_TEST_TRIM as '1' | 'late' | 'nopf' | 'lean' | 'nl'];
if (trimProbe) {
  const { source, key } = decodeMatrix5Program;
  decodeMatrix5Program.source = (spec) => source.call(decodeMatrix5Program, spec.lazy && !spec.pair ? { ...spec, ...trimProbe } : spec);
  decodeMatrix5Program.key = (spec) => key.call(decodeMatrix5Program, spec.lazy && !spec.pair ? { ...spec, ...trimProbe } : spec);
}
// FLASHMLA_MATRIX_TEST_PMAX=1|0|q1: v5's packedMax (session 24; the default) in every v5 pipeline of this process, in
// none, or qOnce (session 24) on top of the default. (Session 24's call E ran =pk, a packConvert candidate since removed: the driver's code was the same.)
// fe / fo: firstEarly / freshO (session 26) on top of the default, where they run.
// f16d: f16Direct (session 27) where it runs (f16 caches). b16d: bf16Direct (session 40) where it runs (bf16 caches).
const packedTest = ({ 1: { packedMax: true }, 0: { packedMax: false }, q1: { qOnce: true }, q2: { qOnce: true, qRowLanes: true }, fe: { firstEarly: true }, fo: { freshO: true }, f16d: { f16Direct: true }, b16d: { bf16Direct: true } } as const)[process.env.FLASHMLA_MATRIX_TEST_PMAX as '1' | '0' | 'q1' | 'q2' | 'fe' | 'fo' | 'f16d' | 'b16d'];
if (packedTest !== undefined) {
  const { source, key } = decodeMatrix5Program;
  decodeMatrix5Program.source = (spec) => source.call(decodeMatrix5Program, { ...spec, ...packedTest });
  decodeMatrix5Program.key = (spec) => key.call(decodeMatrix5Program, { ...spec, ...packedTest });
}
// FLASHMLA_MATRIX_TEST_BOUNDED=1|0: v5's bounded indices (session 18; the default where trim runs) in every v5
// pipeline of this process that can take them (not tile16, not pair), or in none (0: session 17's kernel).
const boundedTest = ({ 1: true, 0: false } as const)[process.env.FLASHMLA_MATRIX_TEST_BOUNDED as '1' | '0'];
if (boundedTest !== undefined) {
  const { source, key } = decodeMatrix5Program;
  decodeMatrix5Program.source = (spec) => source.call(decodeMatrix5Program, { ...spec, bounded: boundedTest });
  decodeMatrix5Program.key = (spec) => key.call(decodeMatrix5Program, { ...spec, bounded: boundedTest });
}
// FLASHMLA_MATRIX_TEST_FINITE=1: the finite-loop probe (session 18, round 2; kernels/finite-loops.ts) in every v5 and
// default-combine pipeline of this process (the wide combine, chosen where a request has many splits, has no finite form).
if (process.env.FLASHMLA_MATRIX_TEST_FINITE === '1') {
  const { source, key } = decodeMatrix5Program;
  decodeMatrix5Program.source = (spec) => source.call(decodeMatrix5Program, { ...spec, finite: true });
  decodeMatrix5Program.key = (spec) => key.call(decodeMatrix5Program, { ...spec, finite: true });
  const c = { source: combineProgram.source, key: combineProgram.key };
  combineProgram.source = (spec) => c.source.call(combineProgram, { ...spec, finite: !spec.groups });
  combineProgram.key = (spec) => c.key.call(combineProgram, { ...spec, finite: !spec.groups });
}
// FLASHMLA_MATRIX_TEST_COMBINE=4|8: the wide combine with that many lane groups (session 19; kernels/combine.ts
// `groups`; by default chosen by the plan: chooseCombine) in every combine pipeline of this process.
const combineTest = ({ 4: 4, 8: 8 } as const)[process.env.FLASHMLA_MATRIX_TEST_COMBINE as '4' | '8'];
if (combineTest) {
  const c = { source: combineProgram.source, key: combineProgram.key };
  combineProgram.source = (spec) => c.source.call(combineProgram, { ...spec, finite: undefined, groups: combineTest });
  combineProgram.key = (spec) => c.key.call(combineProgram, { ...spec, finite: undefined, groups: combineTest });
}
const bes: { v1?: WebGpuBackend; v2?: WebGpuBackend; s8?: WebGpuBackend; auto?: WebGpuBackend } = {};
const all = () => [bes.v1, bes.v2, bes.s8, bes.auto];
let why = '';
let pool: RefPool | undefined;

before(async () => {
  try {
    // v1: v5 in its default layout (or FLASHMLA_MATRIX_TEST_SUBGROUPS), v2: v5 with 4 subgroups, s8: v4 with 8.
    bes.v1 = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: v6 ? { emulate, version: 6 } : { emulate, subgroups: tile16 ? 8 : onlySubgroups, lazy, tile16, pair, lookahead } });
    bes.v2 = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate, subgroups: 4, lazy } });
    bes.s8 = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate, version: 4, subgroups: 8 } });
    bes.auto = await createNodeWebGpuBackend();
    const d = bes.v1.info.details!;
    console.log(`# device: ${bes.v1.info.device}; kernel path: ${String(d.decodePath)} (${String(d.decodePathWhy)}); config ${JSON.stringify(bes.v1.caps.subgroupMatrixF16)}; workgroup memory ${bes.v1.caps.maxComputeWorkgroupStorageSize} B`);
    console.log(`# unforced backend runs: ${String(bes.auto.info.details?.decodePath)} (${String(bes.auto.info.details?.decodePathWhy)})`);
    pool = new RefPool();
  } catch (e) {
    why = `no WebGPU adapter with a float subgroup-matrix configuration (${(e as Error).message.split('\n')[0]})`;
    for (const b of all()) b?.dispose();
    bes.v1 = bes.v2 = bes.s8 = bes.auto = undefined;
  }
});
after(async () => {
  await pool?.close();
  for (const b of all()) b?.dispose();
});

/** [v5 (default layout), v5 with 4 subgroups, v4 with 8 subgroups]. */
function need(t: { skip: (m?: string) => void }): [WebGpuBackend, WebGpuBackend, WebGpuBackend] | undefined {
  if (bes.v1 && bes.v2 && bes.s8) return [bes.v1, bes.v2, bes.s8];
  t.skip(why);
  return undefined;
}

describe('webgpu matrix kernel: compiles', () => {
  test('the 16x16x16 probe, then v5\'s and v4\'s WGSL (4 / 8 subgroups) and v3\'s (vSplit 1 / 2) for bf16 / f16, one and three cache bindings', async (t) => {
    const b = need(t);
    if (!b) return;
    if (emulate) { t.skip('FLASHMLA_MATRIX_TEST_EMULATE=1'); return; }
    const probe = await probeSubgroupMatrix(b[0]);
    console.log(`# probe ${probe.config}: max abs err ${probe.maxAbsErr}`);
    assert.ok(probe.ok, 'the subgroup-matrix probe');
    // For v2 (several subgroups a workgroup): which per-subgroup addressing Dawn accepts. Informational.
    if (probe.config.includes('16x16x16')) console.log(`# addressing: ${JSON.stringify(await probeSubgroupAddressing(b[0]))}`);
    const config = b[0].caps.subgroupMatrixF16!;
    for (const dtype of ['bf16', 'f16'] as const) {
      for (const subgroups of [4, 8] as const) {
        for (const segs of [1, 3]) await b[0].programs.check(decodeMatrix4Program, { dtype, segs, config, emulate: false, subgroups });
        for (const segs of [1, 3]) await b[0].programs.check(decodeMatrix5Program, { dtype, segs, config, emulate: false, subgroups });
        for (const lazy of [true, 'side', 'scratch'] as const) for (const segs of [1, 3]) await b[0].programs.check(decodeMatrix5Program, { dtype, segs, config, emulate: false, subgroups, lazy });
        if ((tile16 || pair || lookahead) && subgroups === 8) for (const lazy of [false, true] as const) for (const segs of [1, 3]) await b[0].programs.check(decodeMatrix5Program, { dtype, segs, config, emulate: false, subgroups, lazy, tile16, pair, lookahead });
      }
      for (const vSplit of [1, 2] as const) {
        for (const segs of [1, 3]) await b[0].programs.check(decodeMatrixProgram, { dtype, segs, config, emulate: false, vSplit });
      }
      if (v6) for (const pvPair of [1, 2] as const) for (const segs of [1, 3]) await b[0].programs.check(decodeMatrix6Program, { dtype, segs, config, emulate: false, pvPair });
    }
  });
  test('unforced, the backend picks the matrix kernel where v5 with 8 subgroups fits and the matrix default is on (kernels/path.ts)', (t) => {
    if (!need(t)) return;
    assert.equal(bes.auto!.info.details?.decodePath, matrixByDefault && matrixAuto(bes.auto!.caps) ? 'matrix' : 'f32');
  });
});

describe('webgpu matrix kernel: golden cases', () => {
  for (const name of goldenCaseNames()) {
    test(name, async (t) => {
      const b = need(t);
      if (!b) return;
      await runGoldenWebGpu(b[0], name, matrixTol);
      await runGoldenWebGpu(b[1], name, matrixTol);
      await runGoldenWebGpu(b[2], name, matrixTol);
    });
  }
});

/** The layout v5 runs on `be` (as resolveDecodeKernel picks it). */
function be0Kernel(be: WebGpuBackend): string {
  if (v6) return `v6 (32 rows a workgroup, pvPair ${decodeMatrix6Spec({ dtype: 'bf16' }, be.caps, 1, emulate).pvPair})${emulate ? ' (emulated)' : ''}`;
  const spec = decodeMatrix5Spec({ dtype: 'bf16' }, be.caps, 1, emulate, { subgroups: tile16 ? 8 : onlySubgroups, lazy, tile16, pair, lookahead });
  return `v5 with ${spec.subgroups} subgroups${spec.lazy ? `, lazy rescale${spec.lazy === true ? '' : ` (${spec.lazy})`}` : ''}${spec.tile16 ? ', tile16' : ''}${spec.pair ? ', pair' : ''}${spec.lookahead ? ', lookahead' : ''}${(boundedTest ?? spec.bounded) && !spec.tile16 && !spec.pair ? ', bounded' : ''}${process.env.FLASHMLA_MATRIX_TEST_FINITE === '1' ? ', finite loops' : ''}${emulate ? ' (emulated)' : ''}`;
}

describe(`webgpu matrix kernel: ${nRandom} random cases vs the float64 reference`, () => {
  test('every case once on v5 (its default layout), 132, 7, 33, 1 SM parts', async (t) => {
    const b = need(t);
    if (!b || !pool) return;
    const specs = caseMatrix(nRandom, 0x5eed13);
    const ahead = 64;
    const refs: Promise<ReferenceOutput>[] = [];
    const want = (i: number) => { if (i < specs.length && !refs[i]) refs[i] = pool!.reference(specs[i], 13000 + i); };
    for (let i = 0; i < ahead; i++) want(i);
    const failures: string[] = [];
    let worstCos = 0, worstLse = 0;
    const t0 = performance.now();
    for (let i = 0; i < specs.length; i++) {
      want(i + ahead);
      const ref = await refs[i];
      delete refs[i];
      const c = makeCase(specs[i], 13000 + i);
      const numSms = [132, 7, 33, 1][i % 4];
      const be = b[0];
      const got = await runCase(c, be, flashMlaWithKvcache, { numSms });
      const rep = compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, matrixTol);
      if (Number.isFinite(rep.cosDiff)) worstCos = Math.max(worstCos, rep.cosDiff);
      worstLse = Math.max(worstLse, rep.maxLseErr);
      if (!rep.ok) failures.push(`${specName(specs[i], i)} [numSms ${numSms}]: ${rep.message}`);
    }
    console.log(`# random cases on ${be0Kernel(b[0])}`);
    console.log(`# ${specs.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s; worst cosDiff ${worstCos.toExponential(2)}, worst lse err ${worstLse.toExponential(2)}; ${failures.length} failures`);
    for (const f of failures.slice(0, 20)) console.log(`# FAIL ${f}`);
    assert.equal(failures.length, 0, failures.slice(0, 5).join('\n'));
  });
});

describe('webgpu matrix kernel: magnitudes outside f16\'s range (bf16)', () => {
  for (const [label, make] of [...extremeCases(), ['one key row mixing 1e-6 and 6e4', mixedBlockCase] as const]) {
    test(label, async (t) => {
      const b = need(t);
      if (!b) return;
      for (const be of b) {
        const c = make();
        const r = await runCase(c, be, flashMlaWithKvcache, { numSms: 132 });
        assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol, label);
      }
    });
  }
});

describe('webgpu matrix kernel: NaN in the inputs', () => {
  test('a NaN in q or in a key a row sees gives NaN out and lse for exactly the rows that see it', async (t) => {
    const b = need(t);
    if (!b) return;
    for (const be of b) await checkNanRows(be);
  });
});

// Cases the JavaScript model of v5 (test/support/matrix-model5.ts) found v5 got wrong, fixed in issue #13 (docs/notes/
// webgpu-matrix-v5-model.md) and checked so far on the emulated WGSL only; v4 (per-32-column scales) always passed the first.
describe('webgpu matrix kernel: the cases issue #13 fixed', () => {
  const run = async (be: WebGpuBackend, c: ReturnType<typeof ropeHeavyCase>, label: string) => {
    const r = await runCase(c, be, flashMlaWithKvcache, { numSms: 132 });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol, label);
  };
  test('keys whose RoPE columns are 2^20 times their latent columns (v5: the RoPE columns scaled apart)', async (t) => {
    const b = need(t);
    if (b) { await run(b[0], ropeHeavyCase(20), 'RoPE x 2^20, v5 default layout'); await run(b[1], ropeHeavyCase(20), 'RoPE x 2^20, v5 4 subgroups'); }
  });
  test('keys whose RoPE columns are 2^20 times their latent columns (v4, 8 subgroups: correct)', async (t) => {
    const b = need(t);
    if (b) await run(b[2], ropeHeavyCase(20), 'RoPE x 2^20, v4');
  });
  test('q of 1e37 against keys of 1e-30 (v5: the score as acc * 2^(eq + ek - 254))', async (t) => {
    const b = need(t);
    if (b) await run(b[0], scaledCase({ name: 'q huge', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [77], sQ: 1, causal: false }, 4242, 1e37, 1e-30), 'q x 1e37, v5');
  });
  test('+inf in a key: the rows it turns NaN have NaN lse, split and unsplit (v5 8 and 4 subgroups, v4)', async (t) => {
    const b = need(t);
    if (b) for (const be of b) await checkInfKeyRows(be);
  });
});

describe('webgpu matrix kernel: keys growing along the sequence (the row maxima rise on many tiles)', () => {
  test('v5 (both layouts, lazy where FLASHMLA_MATRIX_TEST_LAZY or the default says) and v4, split and unsplit', async (t) => {
    const b = need(t);
    if (!b) return;
    for (const be of b) {
      for (const numSms of [132, 1]) {
        const c = growingCase();
        const r = await runCase(c, be, flashMlaWithKvcache, { numSms });
        assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol, `growing keys, ${numSms} SMs`);
      }
    }
  });
});

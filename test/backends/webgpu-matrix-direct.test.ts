// v5's direct partials (kernels/decode-matrix5.ts `direct`, session 27; docs/notes/webgpu-matrix-kernel.md, "Session
// 27"): a split work item writes its partial O raw and a factor a row beside its lse, which the combine multiplies into
// the split's weight (kernels/combine.ts `factors`); with the lazy rescale's result matrices the item's O goes straight
// to the accumulators (subgroupMatrixStore to storage). Fast: the WGSL (its key, the rounds it skips, the rule over plan
// shapes), the GPU WGSL (stubbed builtins) through Tint. On lavapipe (products emulated): on against the float64
// reference, split and unsplit, with NaN rows, an +inf key, rows with no key; a combine that drops the factors fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Spec, matrix5DirectAuto, matrix5DirectFits, matrix5DirectFor } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { combineProgram } from '../../src/backends/webgpu/kernels/combine.js';
import { resolveDecodeKernel } from '../../src/backends/webgpu/decode-kernel.js';
import { planDecode } from '../../src/core/plan.js';
import { planSchedule } from '../../src/core/scheduler.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { compareOutputs } from '../support/compare.js';
import { functionalMatrixWgsl, stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { type DecodeCase, caseMetadata, caseReference, makeCase, runCase } from '../support/random.js';
import { checkInfKeyRows, checkNanRows, growingCase, matrixTol, onOffMatrixBackends } from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true } as const; // v5's default on the H200
const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;

describe('webgpu matrix v5 direct partials (WGSL)', () => {
  test('its own key; off, the default WGSL; refused with lazy \'side\'; \'auto\' by the plan\'s row blocks', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.match(key({ ...dflt, direct: true }), /\.dp$/);
    assert.equal(src({ ...dflt, direct: false }), src(dflt));
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).direct, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { direct: 'auto' }).direct, undefined, 'no plan: \'auto\' is not a yes');
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { direct: true }).direct, true);
    assert.throws(() => decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { direct: true, lazy: 'side' }), /matrix\.direct/);
    // A row block is 16 consecutive partial rows of a slot: rows a KV head a multiple of 16, and hKv 1 or sQ 1.
    const fits: [number, number, number, boolean][] = [[1, 16, 1, true], [2, 16, 1, true], [4, 16, 1, true], [1, 128, 1, true], [2, 8, 1, true],
      [1, 5, 1, false], [3, 5, 1, false], [1, 24, 1, false], [1, 32, 2, true], [2, 32, 2, false], [1, 16, 2, false], [1, 64, 4, true]];
    for (const [sQ, hQ, hKv, want] of fits) assert.equal(matrix5DirectFits({ sQ, hQ, hKv }), want, `sQ ${sQ} hQ ${hQ} hKv ${hKv}`);
    for (const k of [undefined, 'auto'] as const) assert.equal(matrix5DirectFor(k, { sQ: 1, hQ: 16, hKv: 1 }), matrix5DirectAuto);
    assert.equal(matrix5DirectFor(true, { sQ: 1, hQ: 16, hKv: 1 }), true);
    assert.equal(matrix5DirectFor(true, { sQ: 1, hQ: 5, hKv: 1 }), false, 'does not fit: off whatever the knob');
    assert.equal(matrix5DirectFor(false, { sQ: 1, hQ: 16, hKv: 1 }), false);
  });

  test('result matrices: a split item stores them into the accumulators (no scratch rounds); the others keep the rounds', () => {
    for (const subgroups of [4, 8] as const) {
      const on = src({ ...dflt, subgroups, direct: true }), off = src({ ...dflt, subgroups });
      const nbs = 512 / subgroups / 16;
      assert.equal(count(on, /subgroupMatrixStore\(&acc, dA \+ \d+u, om\d, false, 512u\);/g), nbs);
      assert.equal(count(off, /subgroupMatrixStore\(&acc,/g), 0);
      const split = on.slice(on.lastIndexOf('if (isSplit) {'), on.lastIndexOf('} else {', on.indexOf('// Lazy: O times its row')));
      assert.doesNotMatch(split, /workgroupBarrier|Sc\[/, 'the split branch: no barrier, no scratch');
      // The lazy rounds (store to the scratch, barrier) now run on unsplit items only: as many as before.
      assert.equal(count(on, /subgroupMatrixStore\(&Sc, sg \* 256u, om\d, false, 16u\);/g), count(off, /subgroupMatrixStore\(&Sc, sg \* 256u, om\d, false, 16u\);/g));
      assert.match(on, /acc\[u\.fAccOff \+ slotAcc \* u\.rowStride \+ j \* u\.hQ \+ h\] = select\(redM\[t \* 8u\] \* select\(0\.0, 1\.0 \/ lsT, lsT > 0\.0\), qNan\(\), nr\);/);
    }
    // The emulation keeps O in registers (its lazy factors already in them): raw stores, the factor 1 / row sum.
    const emu = src({ ...dflt, emulate: true, subgroups: 4, direct: true });
    assert.match(emu, /acc\[a \+ 0u\] = o0_0;/);
    assert.match(emu, /acc\[u\.fAccOff \+ slotAcc \* u\.rowStride \+ j \* u\.hQ \+ h\] = select\(select\(0\.0, 1\.0 \/ lsT, lsT > 0\.0\), qNan\(\), nr\);/);
  });

  test('the combine multiplies each split\'s weight by its row factor (both combines, sliced or not); off, as before', () => {
    for (const s of [{}, { groups: 8 as const }, { groups: 8 as const, cols: 8 as const }, { groups: 4 as const, cols: 2 as const }]) {
      const on = combineProgram.source({ dtype: 'bf16', ...s, factors: true }), off = combineProgram.source({ dtype: 'bf16', ...s });
      assert.ok(count(on, /u\.fAccOff \+ slot\d? \* u\.rowStride \+ rr/g) >= 1, JSON.stringify(s));
      assert.equal(count(off, /u\.fAccOff \+/g), 0);
      assert.notEqual(combineProgram.key({ dtype: 'bf16', ...s, factors: true }), combineProgram.key({ dtype: 'bf16', ...s }));
    }
  });

  test('the backend\'s kernel for a plan: direct where the row blocks fit, raw partials flagged for the combine', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16, subgroups: true } as unknown as DeviceCaps;
    const at = (hQ: number, sQ = 1, hKv = 1) => {
      const seq = new Int32Array(1).fill(32768);
      return planDecode({ b: 1, sQ, hQ, hKv, numSmParts: 132, maxBlocksPerSeq: 512, varlen: false }, planSchedule(seq, 132).numSplits, seq);
    };
    const settings = (matrix = {}) => ({ caps, path: { path: 'matrix' as const, why: '' }, mulAdd: false, tuning: {}, matrix });
    const k = (plan: ReturnType<typeof at>, m = {}) => resolveDecodeKernel(plan, 'bf16', 1, settings(m));
    assert.equal(k(at(16), { direct: true }).rawPartials, true);
    assert.equal((k(at(16), { direct: true }).spec as { direct?: boolean }).direct, true);
    assert.equal(k(at(5), { direct: true }).rawPartials, undefined);
    assert.equal(k(at(16), { direct: false }).rawPartials, undefined);
    assert.equal(k(at(16)).rawPartials, matrix5DirectAuto ? true : undefined);
    assert.equal(k(at(32, 2, 2), { direct: true }).rawPartials, undefined, 'hKv 2, sQ 2: rows of two heads interleave');
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint; so does the 4-subgroup kernel with working matrix functions', async (t) => {
    let be: WebGpuBackend | undefined;
    try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch (e) {
      if (process.env.CI) assert.fail(String(e)); t.skip(`no WebGPU adapter (${(e as Error).message.split('\n')[0]})`); return;
    }
    try {
      for (const o of [{ ...dflt, direct: true }, { ...dflt, direct: true, subgroups: 4 as const }, { ...dflt, direct: true, infSafe: 'seen' as const, firstEarly: true, qRowLanes: true }, { ...dflt, direct: true, lazy: 'scratch' as const }]) {
        const code = stubbedMatrixWgsl(src(o));
        await be.programs.check({ name: `v5 ${key(o)}`, key: () => key(o), source: () => code }, undefined);
      }
      const code = functionalMatrixWgsl(src({ ...dflt, direct: true, subgroups: 4 }));
      await be.programs.check({ name: 'v5 functional direct', key: () => 'functional.direct', source: () => code }, undefined);
      for (const s of [{ factors: true }, { groups: 8 as const, cols: 8 as const, factors: true }, { groups: 8 as const, factors: true }]) {
        await be.programs.check(combineProgram, { dtype: 'bf16', ...s });
      }
    } finally { be.dispose(); }
  });
});

describe('webgpu matrix v5 direct on lavapipe (products emulated, 4 subgroups): against the float64 reference', () => {
  const bes = onOffMatrixBackends({ direct: true }, { direct: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  const splits = (c: DecodeCase, numSms: number, schedule?: 'fill') => { const ns = caseMetadata(c, numSms, schedule).numSplits.host() as Int32Array; return ns[c.b] - c.b; };
  test('shapes whose row blocks fit (split and unsplit, causal, empty and short requests); one that does not fit runs without it', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const cases: [string, DecodeCase, boolean][] = [
      ['h16 s1', makeCase({ name: 'h16', sQ: 1, hQ: 16, hKv: 1, seqlens: [300, 0, 1, 63, 64, 65], pageBlockSize: 16, dtype: 'bf16', causal: false }, 2701), true],
      ['h8 s2 causal', makeCase({ name: 'h8s2', sQ: 2, hQ: 8, hKv: 1, seqlens: [257, 1, 70], pageBlockSize: 16, dtype: 'bf16', causal: true }, 2702), true],
      ['h32 hKv2 f16', makeCase({ name: 'h32kv2', sQ: 1, hQ: 32, hKv: 2, seqlens: [190, 33], pageBlockSize: 16, dtype: 'f16', causal: false }, 2703), true],
      ['growing keys', growingCase([300, 129]), true],
      ['h5 (does not fit)', makeCase({ name: 'h5', sQ: 2, hQ: 5, hKv: 1, seqlens: [200, 7], pageBlockSize: 16, dtype: 'bf16', causal: true }, 2704), false],
    ];
    for (const [n, c, fits] of cases) {
      const ref = caseReference(c);
      for (const [numSms, schedule] of [[132, 'fill'], [132, undefined], [1, undefined]] as const) {
        bes.keys.clear();
        const got = await runCase(c, bes.on!, flashMlaWithKvcache, { numSms, ...(schedule ? { schedule } : {}) });
        const rep = compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol);
        assert.ok(rep.ok, `${n}, ${numSms} SMs ${schedule ?? ''}: ${rep.failures[0] ?? rep.message}`);
        assert.equal([...bes.keys].some((k) => /\.dp(\.|$)/.test(k)), fits, `${n}: ${[...bes.keys].join(' ')}`);
      }
      assert.ok(splits(c, 132, 'fill') > 0, `${n}: the fill plan splits`);
    }
  });
  test('NaN rows and an +inf key (split through the combine and unsplit), as without it', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    await checkNanRows(bes.on);
    await checkInfKeyRows(bes.on);
  });
  test('mutant: a combine that drops the row factors fails the reference', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const { source } = combineProgram;
    combineProgram.source = (s) => source.call(combineProgram, { ...s, factors: false });
    let be: WebGpuBackend | undefined;
    try {
      be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, direct: true } });
      const c = growingCase([300, 129]);
      const got = await runCase(c, be, flashMlaWithKvcache, { numSms: 132, schedule: 'fill' });
      const rep = compareOutputs(got.out, got.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol);
      assert.equal(rep.ok, false, 'the mutant must fail');
    } finally { combineProgram.source = source; be?.dispose(); }
  });
});

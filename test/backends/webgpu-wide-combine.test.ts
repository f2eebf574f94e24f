// The wide combine (kernels/combine.ts CombineSpec.groups; session 19: the default where a request has >= 8 splits,
// chooseCombine; docs/notes/webgpu-tensor-core.md, "Session 19"), on lavapipe: its WGSL compiles for both dtypes and
// both group counts, the default combine is unchanged when it is off, the choice follows the plan's splits (and the
// opt-out, `combine: 0`, keeps the default combine and its launch everywhere), and a backend running it (the f32 decode
// kernel on lavapipe; the combine is every path's) gives the float64 reference's results on split sequences (up to 282
// splits a row: more than the 256 lanes of its lse pass), on varlen and causal batches with empty rows, on a batch with
// no split (no combine pass by default), and on the NaN / -inf split cases that the default combine handles. Session 25:
// the same for its column slices (`cols`: a workgroup a row and slice; chooseCombineCols, the default), forced and
// chosen.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type CombineCols, type CombineGroups, chooseCombine, chooseCombineCols, combineDispatch, combineSlicedDefault, combineProgram, wideCombineMinSplits } from '../../src/backends/webgpu/kernels/combine.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { buildDenseNanCase, matrixV5Known, negInfTileCases, runDense } from '../support/nan-dense.js';
import { caseMetadata, caseReference, makeCase, runCase } from '../support/random.js';
import { specialsMismatch } from '../support/specials.js';

const groups: CombineGroups[] = [4, 8];
const slices: CombineCols[] = [2, 4, 8];

describe('wide combine (WGSL)', () => {
  test('off: the default combine byte for byte; on: its own key; not with finite', () => {
    const base = combineProgram.source({ dtype: 'bf16' });
    assert.equal(combineProgram.source({ dtype: 'bf16', groups: undefined }), base);
    assert.match(base, /@workgroup_size\(64\)/);
    for (const g of groups) {
      assert.equal(combineProgram.key({ dtype: 'f16', groups: g }), `f16.g${g}`);
      assert.match(combineProgram.source({ dtype: 'bf16', groups: g }), /@workgroup_size\(256\)/);
      assert.throws(() => combineProgram.source({ dtype: 'bf16', groups: g, finite: true }), /without finite/);
      assert.equal(combineProgram.source({ dtype: 'bf16', groups: g, cols: 1 }), combineProgram.source({ dtype: 'bf16', groups: g }), 'cols 1: the row whole, as before');
      assert.equal(combineProgram.key({ dtype: 'bf16', groups: g, cols: 1 }), `bf16.g${g}`);
      for (const c of slices) {
        assert.equal(combineProgram.key({ dtype: 'bf16', groups: g, cols: c }), `bf16.g${g}.c${c}`);
        const src = combineProgram.source({ dtype: 'bf16', groups: g, cols: c });
        assert.match(src, new RegExp(`let cs = linearWorkgroup\\(wid, nwg\\) % ${c}u;`));
        // the slice's lanes: a lane group never holds more column lanes than the slice has vec4 columns
        const lanes = Number(/let cl = t % (\d+)u;/.exec(src)![1]);
        assert.ok(lanes <= 128 / c, `${lanes} column lanes for ${128 / c} vec4 columns`);
        // every lane issues at least 4 vec4 loads an iteration of the O pass
        assert.ok((src.match(/= acc\[a\d+ \+/g) ?? []).length >= 4, 'loads an iteration');
      }
    }
    assert.throws(() => combineProgram.source({ dtype: 'bf16', cols: 4 }), /wide combine/);
  });
});

describe('wide combine: the column slices (chooseCombineCols) and the dispatch', () => {
  test('the fewest slices that give the combine a workgroup an SM part; 1 without the wide combine; forced by the knob', () => {
    assert.equal(chooseCombineCols(16, 132, 8, 'auto'), 8, 'b = 1 h_q = 16 on the H200: 128 workgroups');
    assert.equal(chooseCombineCols(64, 132, 8, 'auto'), 4);
    assert.equal(chooseCombineCols(128, 132, 8, 'auto'), 2, 'b = 8 h_q = 16');
    assert.equal(chooseCombineCols(132, 132, 8, 'auto'), 1);
    assert.equal(chooseCombineCols(256, 132, 8, 'auto'), 1, 'the uneven batch: 256 rows');
    assert.equal(chooseCombineCols(1, 132, 4, 'auto'), 8, 'at most 8 slices');
    assert.equal(chooseCombineCols(16, 132, 8), combineSlicedDefault ? 8 : 1, 'unset: combineSlicedDefault');
    assert.equal(chooseCombineCols(16, 132, undefined, 'auto'), 1, 'the default combine: no slices');
    assert.equal(chooseCombineCols(16, 132, undefined, 4), 1, 'the knob applies to the wide combine only');
    assert.equal(chooseCombineCols(256, 132, 8, 4), 4);
    assert.equal(chooseCombineCols(16, 132, 8, 1), 1);
  });
  test('the dispatch: a workgroup a row and slice', () => {
    const caps = { maxComputeWorkgroupsPerDimension: 65535 } as Parameters<typeof combineDispatch>[1];
    const p = { b: 3, sQ: 2, hQ: 5 } as Parameters<typeof combineDispatch>[0];
    assert.deepEqual(combineDispatch(p, caps), [30, 1, 1]);
    assert.deepEqual(combineDispatch(p, caps, 8), [240, 1, 1]);
  });
  test('a bad knob is refused before any launch, naming it', async () => {
    for (const [k, v] of [['combineCols', 3], ['combineCols', 0], ['combineCols', 'all']] as const) {
      await assert.rejects(createNodeWebGpuBackend({ matrix: { [k]: v } as never }), (e: Error & { argument?: string }) => e.argument === `matrix.${k}`);
    }
  });
});

describe('wide combine: the choice (chooseCombine)', () => {
  test('by the plan\'s most splits a request: >= 8 wide (8 groups), else the default; 0 / 4 / 8 forced', () => {
    assert.equal(wideCombineMinSplits, 8);
    const at = (maxSplits: number | undefined, b = 1, numSmParts = 132) => ({ b, numSmParts, ...(maxSplits === undefined ? {} : { maxSplits }) });
    assert.equal(chooseCombine(at(103)), 8, 'b = 1 s_k 32768 on the H200: 103 splits');
    assert.equal(chooseCombine(at(101, 4)), 8, 'the uneven batch: 101');
    assert.equal(chooseCombine(at(8, 4)), 8);
    assert.equal(chooseCombine(at(7, 4)), undefined);
    assert.equal(chooseCombine(at(2, 128, 66)), undefined, 'b = 128 h128 s_k 8192: 2 splits');
    assert.equal(chooseCombine(at(1, 128)), undefined, 'b = 128 h16: 1 split');
    // numSplits not on the host: the scheduler's mean, (b + numSmParts) / b, stands in
    assert.equal(chooseCombine(at(undefined, 1, 132)), 8);
    assert.equal(chooseCombine(at(undefined, 16, 132)), 8);
    assert.equal(chooseCombine(at(undefined, 32, 132)), undefined);
    assert.equal(chooseCombine(at(undefined, 128, 66)), undefined);
    for (const ms of [undefined, 1, 2, 103]) {
      assert.equal(chooseCombine(at(ms), 0), undefined, 'opt-out');
      assert.equal(chooseCombine(at(ms), 4), 4);
      assert.equal(chooseCombine(at(ms), 8), 8);
    }
  });
});

describe('wide combine on lavapipe (f32 decode kernel, split sequences)', () => {
  // off: the opt-out (the default combine on every launch); auto: the default choice; 4 / 8: forced
  const bes: Partial<Record<'off' | 'auto' | 'one' | CombineGroups | `c${CombineCols}`, WebGpuBackend>> = {};
  let why = '';
  const keys = new Set<string>();
  const { key: ckey0 } = combineProgram;
  before(async () => {
    combineProgram.key = (s) => { const k = ckey0.call(combineProgram, s); keys.add(k); return k; };
    try {
      bes.off = await createNodeWebGpuBackend({ matrix: { combine: 0 } });
      bes.auto = await createNodeWebGpuBackend({ matrix: {} });
      for (const g of groups) bes[g] = await createNodeWebGpuBackend({ matrix: { combine: g, combineCols: 1 } });
      for (const c of slices) bes[`c${c}`] = await createNodeWebGpuBackend({ matrix: { combine: 8, combineCols: c } });
      bes.one = await createNodeWebGpuBackend({ matrix: { combineCols: 1 } });
    } catch (e) { why = `no WebGPU adapter (${(e as Error).message.split('\n')[0]})`; }
  });
  after(() => { combineProgram.key = ckey0; for (const b of Object.values(bes)) b?.dispose(); });
  const need = (t: { skip: (m?: string) => void }) => {
    if (bes.off) return true;
    if (process.env.CI) assert.fail(why);
    t.skip(why);
    return false;
  };

  test('the WGSL of both group counts and dtypes compiles through Tint', async (t) => {
    if (!need(t)) return;
    for (const g of groups) for (const dtype of ['bf16', 'f16'] as const) {
      await bes.off!.programs.check(combineProgram, { dtype, groups: g });
      for (const c of slices) await bes.off!.programs.check(combineProgram, { dtype, groups: g, cols: c });
    }
  });

  const cases = [
    { name: 'b=1, one long sequence, 16 heads (103 splits a row at 132 SMs: the H200 b=1 shape, shorter)', spec: { dtype: 'bf16' as const, hQ: 16, hKv: 1, seqlens: [3000], sQ: 1, pageBlockSize: 64, causal: false }, sms: [132, 7] },
    { name: 'uneven batch, causal sQ = 4, f16', spec: { dtype: 'f16' as const, hQ: 4, hKv: 1, seqlens: [460, 4500, 170, 0], sQ: 4, pageBlockSize: 16, causal: true }, sms: [132, 33] },
    { name: 'varlen with an empty request, two KV heads', spec: { dtype: 'bf16' as const, hQ: 6, hKv: 2, seqlens: [2100, 0, 900], sQ: 1, qLens: [3, 2, 1], pageBlockSize: 64, causal: true }, sms: [132] },
    { name: '282 splits a row (more than 256: the lse pass strides)', spec: { dtype: 'bf16' as const, hQ: 2, hKv: 1, seqlens: [90000], sQ: 1, pageBlockSize: 64, causal: false }, sms: [300] },
  ];
  for (const [n, cs] of cases.entries()) {
    test(cs.name, async (t) => {
      if (!need(t)) return;
      const c = makeCase({ ...cs.spec, name: cs.name }, 0x19c0 + n);
      const ref = caseReference(c);
      for (const numSms of cs.sms) {
        const ns = caseMetadata(c, numSms).numSplits.host() as Int32Array;
        const most = Math.max(...Array.from(ns.subarray(1), (x, i) => x - ns[i]));
        assert.ok(most > 4, `the case splits a sequence into ${most} pieces at ${numSms} SMs`);
        keys.clear();
        const base = await runCase(c, bes.off!, flashMlaWithKvcache, { numSms });
        assert.deepEqual([...keys], [c.dtype], 'the opt-out: the default combine');
        keys.clear();
        const auto = await runCase(c, bes.auto!, flashMlaWithKvcache, { numSms });
        const autoCols = chooseCombineCols(c.b * c.sQ * c.hQ, numSms, most >= wideCombineMinSplits ? 8 : undefined);
        const slicedCols = chooseCombineCols(c.b * c.sQ * c.hQ, numSms, most >= wideCombineMinSplits ? 8 : undefined, 'auto');
        assert.deepEqual([...keys], [most >= wideCombineMinSplits ? `${c.dtype}.g8${autoCols > 1 ? `.c${autoCols}` : ''}` : c.dtype], `the choice at ${most} splits`);
        assertOutputsClose(auto.out, auto.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tolerances.webgpu, `${cs.name}, ${numSms} SMs, the default choice`);
        for (const g of groups) {
          keys.clear();
          const r = await runCase(c, bes[g]!, flashMlaWithKvcache, { numSms });
          assert.ok(keys.has(`${c.dtype}.g${g}`), [...keys].join(' '));
          assertOutputsClose(r.out, r.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tolerances.webgpu, `${cs.name}, ${numSms} SMs, ${g} groups`);
          // against the default combine: the same rows, up to the order of the sums (a bf16 / f16 ulp or two)
          let worst = 0;
          for (let i = 0; i < r.lse.length; i++) if (Number.isFinite(base.lse[i])) worst = Math.max(worst, Math.abs(r.lse[i] - base.lse[i]));
          assert.ok(worst < 1e-5, `lse against the default combine: ${worst}`);
        }
        // the column slices, forced, and the combine in a pass of its own: the reference, and the lse of the default combine
        // 'auto' slices (the default, auto above) chose slicedCols
        assert.equal(autoCols, slicedCols, 'combineSlicedDefault');
        for (const k of [...slices.map((x) => `c${x}` as const), 'one'] as const) {
          keys.clear();
          const r = await runCase(c, bes[k]!, flashMlaWithKvcache, { numSms });
          if (k === 'one') assert.deepEqual([...keys], [most >= wideCombineMinSplits ? `${c.dtype}.g8` : c.dtype], 'a row whole (combineCols 1)');
          else assert.ok(keys.has(`${c.dtype}.g8.${k}`), [...keys].join(' '));
          assertOutputsClose(r.out, r.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tolerances.webgpu, `${cs.name}, ${numSms} SMs, ${k}`);
          let worst = 0;
          for (let i = 0; i < r.lse.length; i++) if (Number.isFinite(base.lse[i])) worst = Math.max(worst, Math.abs(r.lse[i] - base.lse[i]));
          assert.ok(worst < 1e-5, `${k}: lse against the default combine: ${worst}`);
        }
      }
    });
  }

  test('no request split: no combine pass by default, the default combine\'s launch with the opt-out; same results', async (t) => {
    if (!need(t)) return;
    const spec = { dtype: 'bf16' as const, hQ: 16, hKv: 1, seqlens: [64, 60, 0], sQ: 2, pageBlockSize: 64, causal: true };
    const c = makeCase({ ...spec, name: 'no split' }, 0x19c9);
    const ref = caseReference(c);
    const ns = caseMetadata(c, 8).numSplits.host() as Int32Array;
    assert.equal(ns[c.b], c.b, `numSplits ${ns.join(' ')}: one split a request`);
    for (const [be, want] of [[bes.auto!, []], [bes.off!, [c.dtype]], [bes[8]!, [`${c.dtype}.g8`]]] as const) {
      keys.clear();
      const r = await runCase(c, be, flashMlaWithKvcache, { numSms: 8 });
      assert.deepEqual([...keys], want);
      assertOutputsClose(r.out, r.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, tolerances.webgpu, `no split, combine ${want.join('') || 'left out'}`);
    }
  });

  for (const [n, dc] of negInfTileCases.entries()) {
    test(`NaN / -inf: ${dc.name}`, async (t) => {
      if (!need(t)) return;
      const { c, ref } = buildDenseNanCase(dc, 1900 + n);
      // On a GPU's matrix path (v5) the decode kernel's known differences (support/nan-dense.ts matrixV5Differs) are todo.
      const known = matrixV5Known(bes.auto!, dc.name);
      if (known) t.todo(`v5 (the matrix path) gives '${known.got}' here, a known difference (support/nan-dense.ts matrixV5Differs)`);
      for (const g of [...groups, ...slices.map((x) => `c${x}` as const), 'one', 'auto'] as const) {
        const got = await runDense(c, bes[g]!, dc.numSms);
        const bad = specialsMismatch(got.out, got.lse, ref, c.dtype, tolerances.webgpu);
        assert.equal(bad, undefined, `${g === 'auto' ? 'the default choice' : `${g} groups`}: ${bad}`);
      }
    });
  }
});

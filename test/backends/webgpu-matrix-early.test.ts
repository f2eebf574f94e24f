// v5's firstEarly (kernels/decode-matrix5.ts `firstEarly`, session 26; docs/notes/webgpu-matrix-kernel.md, "Session
// 26"): a work item's first tile looked up beside q's loads and its words loaded right after the q prologue's first
// barrier. Fast: its WGSL (its own key; only with trim and qOnce; the lookup before the prologue's first barrier, the
// words after it, no barrier between the prologue and the tile loop), and the GPU WGSL (stubbed builtins) through
// Tint. On lavapipe (products emulated): on and off give the same bits, with one part walking many work items too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Spec, matrix5FirstEarlyAuto, matrix5FirstEarlyFor, matrix5FirstEarlyOn, matrix5FreshODefault, matrix5FreshOOn } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { resolveDecodeKernel } from '../../src/backends/webgpu/decode-kernel.js';
import { planDecode } from '../../src/core/plan.js';
import { planSchedule } from '../../src/core/scheduler.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { type DecodeCase, makeCase, runCase } from '../support/random.js';
import { growingCase, infKeyCase, nanRowsCase, onOffMatrixBackends } from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true } as const; // v5's default on the H200

describe('webgpu matrix v5 firstEarly (WGSL)', () => {
  test('by the plan by default (\'auto\': short work items, as qRowLanes); its own key; only with trim and qOnce', () => {
    assert.equal(matrix5FirstEarlyAuto, true);
    for (const k of [undefined, 'auto'] as const) {
      assert.equal(matrix5FirstEarlyFor(k, 318), true, 'b = 1 s_k 32768');
      assert.equal(matrix5FirstEarlyFor(k, 1024), true);
      assert.equal(matrix5FirstEarlyFor(k, 1025), false);
      assert.equal(matrix5FirstEarlyFor(k, undefined), false);
    }
    assert.equal(matrix5FirstEarlyFor(true, 8192), true);
    assert.equal(matrix5FirstEarlyFor(false, 64), false);
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).firstEarly, undefined, 'no plan: \'auto\' is not a yes');
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { firstEarly: 'auto' }).firstEarly, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { firstEarly: true }).firstEarly, true);
    assert.match(key({ ...dflt, firstEarly: true }), /\.fe$/);
    assert.equal(src({ ...dflt, firstEarly: false }), src(dflt));
    for (const o of [{ qOnce: undefined }, { lazy: undefined }, { pair: true }, { noPrefetch: true }]) {
      assert.equal(matrix5FirstEarlyOn({ ...dflt, firstEarly: true, ...o }), false, JSON.stringify(o));
      assert.equal(src({ ...dflt, firstEarly: true, ...o }), src({ ...dflt, ...o }), JSON.stringify(o));
    }
    for (const o of [{ qOnce: false }, { trim: false }, { lazy: false }, { tile16: true }]) {
      assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { firstEarly: true, ...o }).firstEarly, undefined, `rides on trim and qOnce: ${JSON.stringify(o)}`);
    }
  });
  test('the backend\'s kernel for a plan: firstEarly on short work items, not on long ones, as the knob says when told', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16, subgroups: true } as unknown as DeviceCaps;
    const at = (b: number, sk: number) => {
      const seq = new Int32Array(b).fill(sk);
      return planDecode({ b, sQ: 1, hQ: 16, hKv: 1, numSmParts: 132, maxBlocksPerSeq: Math.ceil(sk / 64), varlen: false }, planSchedule(seq, 132).numSplits, seq);
    };
    const settings = (matrix = {}) => ({ caps, path: { path: 'matrix' as const, why: '' }, mulAdd: false, tuning: {}, matrix });
    const spec = (plan: ReturnType<typeof at>, m = {}) => resolveDecodeKernel(plan, 'bf16', 1, settings(m)).spec as { firstEarly?: boolean };
    assert.equal(spec(at(1, 32768)).firstEarly, true);
    assert.equal(spec(at(128, 8192)).firstEarly, undefined);
    assert.equal(spec(at(128, 8192), { firstEarly: true }).firstEarly, true);
    assert.equal(spec(at(1, 32768), { firstEarly: false }).firstEarly, undefined);
    assert.equal(spec(at(1, 32768), { qOnce: false }).firstEarly, undefined, 'rides on qOnce');
  });

  test('the lookup beside q\'s loads, the words after the first barrier, no barrier before the tile loop', () => {
    for (const qRowLanes of [false, true]) {
      for (const subgroups of [4, 8] as const) {
        const on = src({ ...dflt, subgroups, qRowLanes, firstEarly: true });
        const lookup = on.indexOf('// firstEarly: the first tile\'s cache rows'), words = on.indexOf('// firstEarly: the first tile\'s words');
        const qLoad = on.lastIndexOf('= q[', lookup), firstBar = on.indexOf('workgroupBarrier();', lookup), loop = on.indexOf('for (var k0 = kBegin;');
        assert.ok(qLoad > 0 && qLoad < lookup && lookup < firstBar && firstBar < words && words < loop, `order, qRowLanes ${qRowLanes}`);
        assert.equal(on.indexOf('atomicMax(&qMax', lookup) > lookup, true, 'the lookup before the q maxima');
        const between = on.slice(on.indexOf('let qm0 = '), loop);
        assert.doesNotMatch(between, /workgroupBarrier\(\)/, 'no barrier from Qᵀ\'s matrix loads to the loop');
        assert.equal([...on.matchAll(/keySeg\[t\] = NONE;/g)].length, 1, 'one first-tile lookup');
      }
    }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    let be: WebGpuBackend | undefined;
    try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch (e) {
      if (process.env.CI) assert.fail(String(e)); t.skip(`no WebGPU adapter (${(e as Error).message.split('\n')[0]})`); return;
    }
    try {
      for (const o of [{ ...dflt, firstEarly: true }, { ...dflt, firstEarly: true, subgroups: 4 as const }, { ...dflt, firstEarly: true, qRowLanes: true, infSafe: 'seen' as const }]) {
        const code = stubbedMatrixWgsl(src(o));
        await be.programs.check({ name: `v5 ${key(o)}`, key: () => key(o), source: () => code }, undefined);
      }
    } finally { be.dispose(); }
  });
});

for (const [name, on] of [['qOnce', { qRowLanes: false }], ['qRowLanes', { qRowLanes: true }]] as const) {
  describe(`webgpu matrix v5 firstEarly on lavapipe (products emulated, 4 subgroups; ${name}): the same bits on and off`, () => {
    const bes = onOffMatrixBackends({ ...on, firstEarly: true }, { ...on, firstEarly: false });
    before(() => bes.setup());
    after(() => bes.teardown());
    const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
    test('a random case with odd heads and empty requests, keys growing along the sequence, NaN rows, an +inf key; 132 parts and one', async (t) => {
      if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
      const cases: [string, DecodeCase][] = [
        ['random', makeCase({ name: 'random', sQ: 2, hQ: 5, hKv: 1, seqlens: [70, 0, 1, 65], pageBlockSize: 16, dtype: 'bf16', causal: true }, 2727)],
        ['growing keys', growingCase([130, 33])],
        ['NaN rows', nanRowsCase()],
        ['+inf key', infKeyCase()],
      ];
      for (const [n, c] of cases) {
        for (const numSms of [132, 1]) {
          bes.keys.clear();
          const a = await runCase(c, bes.on!, flashMlaWithKvcache, { numSms });
          assert.ok([...bes.keys].some((k) => /\.fe(\.|$)/.test(k)), `${n}: ${[...bes.keys].join(' ')}`);
          bes.keys.clear();
          const b = await runCase(c, bes.off!, flashMlaWithKvcache, { numSms });
          assert.ok(![...bes.keys].some((k) => /\.fe(\.|$)/.test(k)), `${n}: ${[...bes.keys].join(' ')}`);
          assert.deepEqual(bits(a.lse), bits(b.lse), `${n}: lse, ${numSms} SMs`);
          assert.deepEqual(a.out, b.out, `${n}: out, ${numSms} SMs`);
        }
      }
    });
  });
}

// freshO (session 26, the default): a work item's first tile takes no rescale of O (still zero) when its references first move.
describe('webgpu matrix v5 freshO (WGSL)', () => {
  test('on by default; its own key; with the lazy rescale, not with infSafe true; the first tile\'s test in both O forms', () => {
    assert.equal(matrix5FreshODefault, true);
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).freshO, true);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { freshO: false }).freshO, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { freshO: true, lazy: false }).freshO, undefined);
    assert.match(key({ ...dflt, freshO: true }), /\.fo$/);
    assert.equal(src({ ...dflt, freshO: false }), src(dflt));
    assert.equal(matrix5FreshOOn({ ...dflt, freshO: true, infSafe: true }), false);
    assert.equal(matrix5FreshOOn({ ...dflt, freshO: true, infSafe: 'seen' }), true);
    assert.equal([...src({ ...dflt, freshO: true }).matchAll(/if \(grew && k0 != kBegin\) \{/g)].length, 1, 'the result matrices\' rescale');
    assert.equal([...src({ ...dflt, freshO: true, emulate: true, subgroups: 4 }).matchAll(/select\(1\.0, rowA\[hh \* 8u \+ \du\], grew && k0 != kBegin\)/g)].length, 8, 'the registers\' factors (emulation)');
  });
});

describe('webgpu matrix v5 freshO on lavapipe (products emulated, 4 subgroups): the same bits on and off', () => {
  const bes = onOffMatrixBackends({ freshO: true }, { freshO: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  test('keys growing along the sequence, a random case, NaN rows, an +inf key; 132 parts and one', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    for (const [n, c] of [['growing keys', growingCase([130, 33])], ['random', makeCase({ name: 'random', sQ: 2, hQ: 5, hKv: 1, seqlens: [70, 0, 65], pageBlockSize: 16, dtype: 'bf16', causal: true }, 2828)], ['NaN rows', nanRowsCase()], ['+inf key', infKeyCase()]] as [string, DecodeCase][]) {
      for (const numSms of [132, 1]) {
        bes.keys.clear();
        const a = await runCase(c, bes.on!, flashMlaWithKvcache, { numSms });
        assert.ok([...bes.keys].some((k) => /\.fo(\.|$)/.test(k)), `${n}: ${[...bes.keys].join(' ')}`);
        const b = await runCase(c, bes.off!, flashMlaWithKvcache, { numSms });
        assert.deepEqual(bits(a.lse), bits(b.lse), `${n}: lse, ${numSms} SMs`);
        assert.deepEqual(a.out, b.out, `${n}: out, ${numSms} SMs`);
      }
    }
  });
});

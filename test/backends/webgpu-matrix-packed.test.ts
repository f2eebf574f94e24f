// v5's packedMax (kernels/decode-matrix5.ts `packedMax`, the default since session 24; docs/notes/webgpu-matrix-kernel.md,
// "Session 24"): the key maxima from the loaded words as integers, and the conversion without a NaN test a value. Fast:
// its WGSL (its own key; bf16 only, not with tile16 or pair; no finite-maximum or NaN test a value outside the branch a
// NaN or an infinity takes; the same workgroup memory), and the GPU WGSL (stubbed builtins) through Tint. On lavapipe
// (products emulated): on and off give the same bits, also for keys that hold NaN and +-inf, split and unsplit.
// And qOnce (session 24, the default too): a work item's q words loaded once; its WGSL, and its q maxima on lavapipe.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Spec, matrix5PackedDefault, matrix5PackedOn, matrix5QOnceDefault, matrix5QRowLanesAuto, matrix5QRowLanesFor, matrix5QRowLanesMaxKeys } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { resolveDecodeKernel } from '../../src/backends/webgpu/decode-kernel.js';
import { planDecode } from '../../src/core/plan.js';
import { planSchedule } from '../../src/core/scheduler.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { makeCase, runCase } from '../support/random.js';
import { growingCase, infKeyCase, nanRowsCase, onOffMatrixBackends } from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src, wgBytes } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true } as const; // the default v5 on the H200 before packedMax
/** infKeyCase's +inf in a RoPE column of key 3, and -inf in a latent (V) column of key 20. */
function infMixCase(): ReturnType<typeof infKeyCase> {
  const c = infKeyCase();
  c.kCache[(c.blockTable[1] * 16 + 4) * 576 + 100] = 0xff80;
  return c;
}
const block = (s: string, name: string) => s.slice(s.indexOf(`// <${name}>`), s.indexOf(`// </${name}>`));

describe('webgpu matrix v5 packedMax (WGSL)', () => {
  test('the default; its own key; bf16 only, not with tile16 or pair', () => {
    assert.equal(matrix5PackedDefault, true);
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).packedMax, true);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { packedMax: false }).packedMax, undefined);
    assert.notEqual(key({ ...dflt, packedMax: true }), key(dflt));
    assert.match(key({ ...dflt, packedMax: true }), /\.pmax\./);
    for (const o of [{ dtype: 'f16' as const }, { tile16: true }, { pair: true }]) {
      assert.equal(matrix5PackedOn({ dtype: 'bf16', packedMax: true, ...o }), false, JSON.stringify(o));
      assert.equal(key({ packedMax: true, lazy: true, ...o }), key({ lazy: true, ...o }));
      assert.equal(src({ packedMax: true, lazy: true, ...o }), src({ lazy: true, ...o }));
    }
  });

  test('no finite-maximum or NaN test a value outside the NaN / infinity branch; the same workgroup memory', () => {
    for (const subgroups of [4, 8] as const) {
      const on = src({ ...dflt, subgroups, packedMax: true }), off = src({ ...dflt, subgroups });
      assert.equal(wgBytes(on), wgBytes(off));
      const mx = block(on, 'tile-max');
      const rare = mx.slice(mx.indexOf('if (max(mb, mr) >= 0x7f800000u) {'));
      assert.ok(rare.length > 0 && /magMax\(w0\)/.test(mx));
      const common = mx.slice(0, mx.indexOf('if (max(mb, mr) >= 0x7f800000u) {'));
      assert.doesNotMatch(common, /finiteBits4|isNan4|unpack2/);
      assert.match(rare, /finiteBits4\(a0\)/);
      const cv = block(on, 'tile-convert');
      assert.match(cv, /if \(atomicLoad\(&kNan\[lk\]\) != 0u\) \{ w0 = zeroNan4\(w0\);/);
      assert.doesNotMatch(cv, /isNan4|select\(/);
      assert.match(block(off, 'tile-convert'), /isNan4\(a0\)/);
      // the words are not unpacked before the key maxima (as `lean`): no 72 f32 values held across their barrier
      const top = on.slice(on.indexOf('// ---- The tile:'), on.indexOf('// <tile-max>'));
      assert.doesNotMatch(top, /let a0 = /);
    }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    let be: WebGpuBackend | undefined;
    try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch (e) {
      if (process.env.CI) assert.fail(String(e)); t.skip(`no WebGPU adapter (${(e as Error).message.split('\n')[0]})`); return;
    }
    try {
      for (const o of [{ ...dflt, packedMax: true }, { ...dflt, packedMax: true, subgroups: 4 as const }, { lazy: true, packedMax: true, infSafe: true }, { ...dflt, packedMax: true, qOnce: true }, { ...dflt, packedMax: true, qOnce: true, subgroups: 4 as const }]) {
        const code = stubbedMatrixWgsl(src(o));
        await be.programs.check({ name: `v5 ${key(o)}`, key: () => key(o), source: () => code }, undefined);
      }
    } finally { be.dispose(); }
  });
});

describe('webgpu matrix v5 qOnce (WGSL)', () => {
  test('its own key; off, the source is the default\'s; on, each q word is loaded once, before the first atomic', () => {
    assert.notEqual(key({ ...dflt, qOnce: true }), key(dflt));
    assert.equal(matrix5QOnceDefault, true);
    assert.equal(src({ ...dflt, qOnce: false }), src(dflt));
    for (const subgroups of [4, 8] as const) {
      const on = src({ ...dflt, subgroups, qOnce: true });
      const pro = on.slice(on.indexOf("// q: each row's"), on.indexOf('let qm0 = '));
      const loads = [...pro.matchAll(/= q\[/g)].map((m) => m.index!), atomics = [...pro.matchAll(/atomicMax\(&qMax/g)].map((m) => m.index!);
      assert.equal(loads.length, Math.ceil((16 * 72) / (32 * subgroups)));
      assert.ok(atomics.length === loads.length && Math.max(...loads) < Math.min(...atomics));
      assert.doesNotMatch(pro, /for \(var w = t;/);
      assert.equal(wgBytes(on), wgBytes(src({ ...dflt, subgroups })));
    }
  });
});

describe('webgpu matrix v5 qRowLanes by the plan (matrix5QRowLanesFor, session 25)', () => {
  test('the knob as told; \'auto\' (the default) where a work item holds at most 1024 keys on the mean; off without the plan\'s figure', () => {
    assert.equal(matrix5QRowLanesAuto, true);
    assert.equal(matrix5QRowLanesMaxKeys, 1024);
    for (const k of [undefined, 'auto'] as const) {
      assert.equal(matrix5QRowLanesFor(k, 318), true, 'b = 1 s_k 32768 on 132 parts');
      assert.equal(matrix5QRowLanesFor(k, 1024), true, 'b = 128 s_k 1024');
      assert.equal(matrix5QRowLanesFor(k, 1025), false);
      assert.equal(matrix5QRowLanesFor(k, 8192), false, 'b = 128 s_k 8192');
      assert.equal(matrix5QRowLanesFor(k, undefined), false, 'numSplits or seqlens not on the host');
    }
    assert.equal(matrix5QRowLanesFor(true, 8192), true);
    assert.equal(matrix5QRowLanesFor(false, 64), false);
    // decodeMatrix5Spec has no plan: 'auto' there is not a yes
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { qRowLanes: 'auto' }).qRowLanes, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { qRowLanes: true }).qRowLanes, true);
  });
  test('the backend\'s kernel for a plan: q2 on short work items, q1 on long ones, as the knob says when told', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16, subgroups: true } as unknown as DeviceCaps;
    const at = (b: number, sk: number) => {
      const seq = new Int32Array(b).fill(sk);
      const ns = planSchedule(seq, 132).numSplits;
      return planDecode({ b, sQ: 1, hQ: 16, hKv: 1, numSmParts: 132, maxBlocksPerSeq: Math.ceil(sk / 64), varlen: false }, ns, seq);
    };
    const settings = (matrix = {}) => ({ caps, path: { path: 'matrix' as const, why: '' }, mulAdd: false, tuning: {}, matrix });
    const spec = (plan: ReturnType<typeof at>, m = {}) => resolveDecodeKernel(plan, 'bf16', 1, settings(m)).spec as { qRowLanes?: boolean; qOnce?: boolean };
    assert.equal(spec(at(1, 32768)).qRowLanes, true);
    assert.equal(spec(at(128, 8192)).qRowLanes, undefined);
    assert.equal(spec(at(128, 8192), { qRowLanes: true }).qRowLanes, true);
    assert.equal(spec(at(1, 32768), { qRowLanes: false }).qRowLanes, undefined);
    assert.equal(spec(at(1, 32768), { qOnce: false }).qRowLanes, undefined, 'qRowLanes rides on qOnce');
    const noHost = planDecode({ b: 1, sQ: 1, hQ: 16, hKv: 1, numSmParts: 132, maxBlocksPerSeq: 512, varlen: false });
    assert.equal(spec(noHost).qRowLanes, undefined);
  });
});

describe('webgpu matrix v5 packedMax on lavapipe (products emulated, 4 subgroups): the same bits on and off', () => {
  // bf16Direct (session 40, the default on bf16) rides on packedMax and rounds differently: off on both sides here.
  const bes = onOffMatrixBackends({ bf16Direct: false }, { packedMax: false, bf16Direct: false });
  const keys = bes.keys;
  before(() => bes.setup());
  after(() => bes.teardown());
  const same = async (name: string, c: ReturnType<typeof growingCase>, numSms: number) => {
    keys.clear();
    const a = await runCase(c, bes.on!, flashMlaWithKvcache, { numSms });
    assert.ok([...keys].some((k) => k.includes('.pmax.')), `${name}: ${[...keys].join(' ')}`);
    keys.clear();
    const b = await runCase(c, bes.off!, flashMlaWithKvcache, { numSms });
    assert.ok(![...keys].some((k) => k.includes('.pmax')), `${name}: ${[...keys].join(' ')}`);
    const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
    assert.deepEqual(bits(a.lse), bits(b.lse), `${name}: lse, ${numSms} SMs`);
    if (a.out instanceof Float32Array && b.out instanceof Float32Array) assert.deepEqual(bits(a.out), bits(b.out), `${name}: out, ${numSms} SMs`);
    else assert.deepEqual(a.out, b.out, `${name}: out, ${numSms} SMs`);
  };
  test('keys growing along the sequence, a random case; keys holding NaN, keys holding +-inf (split and unsplit)', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const cases: [string, ReturnType<typeof growingCase>][] = [
      ['growing keys', growingCase([130, 33])],
      ['random', makeCase({ name: 'random', sQ: 2, hQ: 5, hKv: 1, seqlens: [70, 1], pageBlockSize: 64, dtype: 'bf16', causal: true }, 2424)],
      ['NaN keys', nanRowsCase()],
      ['+-inf keys', infMixCase()],
    ];
    for (const [name, c] of cases) for (const numSms of [132, 1]) await same(name, c, numSms);
  });
});

for (const [name, on] of [['qOnce', { qRowLanes: false }], ['qRowLanes', { qRowLanes: true }]] as const) describe(`webgpu matrix v5 ${name} on lavapipe (products emulated, 4 subgroups; its q maxima): the same bits on and off`, () => {
  const bes = onOffMatrixBackends(on, { qOnce: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  test('a random case with odd heads and a short query block; NaN rows', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
    for (const c of [makeCase({ name: 'random', sQ: 3, hQ: 5, hKv: 1, seqlens: [70, 2], pageBlockSize: 64, dtype: 'bf16', causal: true }, 99), nanRowsCase()]) {
      bes.keys.clear();
      const a = await runCase(c, bes.on, flashMlaWithKvcache, { numSms: 132 });
      assert.ok([...bes.keys].some((k) => k.includes(name === 'qOnce' ? '.q1.' : '.q2.')), [...bes.keys].join(' '));
      const b = await runCase(c, bes.off, flashMlaWithKvcache, { numSms: 132 });
      assert.deepEqual(bits(a.lse), bits(b.lse));
      assert.deepEqual(a.out, b.out);
    }
  });
});

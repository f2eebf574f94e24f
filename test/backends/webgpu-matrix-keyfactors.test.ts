// v5's keyFactors (kernels/decode-matrix5.ts `keyFactors`, session 26; docs/notes/webgpu-matrix-kernel.md, "Session
// 26"): each key's scale factors formed once a tile by the last subgroup, so that the softmax forms a score with a
// multiply-add and two multiplies instead of two pow2Mul. Fast: its WGSL (its own key; only where trim runs; no byte more
// workgroup memory; the short form, and pow2Mul only in the branch a wild tile or row takes), and the GPU WGSL (stubbed
// builtins) through Tint. On lavapipe (products emulated): on and off give the same bits on ordinary inputs, on every
// extreme-magnitude case (those outside the tame range take the default's arithmetic), NaN rows and +-inf keys.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Spec, matrix5KeyFactorsDefault, matrix5KeyFactorsOn } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { type DecodeCase, makeCase, runCase } from '../support/random.js';
import { extremeCases, growingCase, infKeyCase, mixedBlockCase, nanRowsCase, onOffMatrixBackends, ropeHeavyCase, scaledCase } from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src, wgBytes } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true } as const; // v5's default on the H200
/**
 * The case with every q and cache value's sign cleared: a key's latent scores then add up (~2^7 of its scaled values),
 * so with keys near 2^123 the short form's accLat * 2^(ek - 127) passes f32's range where pow2Mul's does not.
 */
function positive(c: DecodeCase): DecodeCase {
  for (const a of [c.q, c.kCache]) for (let i = 0; i < a.length; i++) if ((a[i] & 0x7fff) <= 0x7f80) a[i] &= 0x7fff;
  return c;
}
const softmax = (s: string) => s.slice(s.indexOf('// <softmax>'), s.indexOf('// </softmax>'));

describe('webgpu matrix v5 keyFactors (WGSL)', () => {
  test('off by default; its own key; only where trim runs (refused by the spec builder elsewhere)', () => {
    assert.equal(matrix5KeyFactorsDefault, false);
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).keyFactors, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { keyFactors: true }).keyFactors, true);
    assert.match(key({ ...dflt, keyFactors: true }), /\.kf$/);
    assert.equal(src({ ...dflt, keyFactors: false }), src(dflt));
    for (const o of [{ lazy: undefined }, { pair: true }, { tile16: true }, { lookahead: true }]) {
      assert.equal(matrix5KeyFactorsOn({ ...dflt, keyFactors: true, ...o }), false, JSON.stringify(o));
      assert.equal(src({ ...dflt, keyFactors: true, ...o }), src({ ...dflt, ...o }), JSON.stringify(o));
    }
    for (const o of [{ lazy: false }, { pair: true }, { tile16: true }, { trim: false }]) {
      assert.throws(() => decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { keyFactors: true, ...o }), /matrix\.keyFactors/, JSON.stringify(o));
    }
  });

  test('the softmax\'s short form, pow2Mul only in the wild branch; the factors formed after the conversion; no byte more', () => {
    for (const subgroups of [4, 8] as const) {
      const on = src({ ...dflt, subgroups, keyFactors: true }), off = src({ ...dflt, subgroups });
      assert.equal(wgBytes(on), wgBytes(off));
      const sm = softmax(on);
      const kpl = subgroups === 8 ? 4 : 2;
      assert.match(sm, /sv0 = \(\(sLat0 \* fa0 \+ sRope0 \* fb0\) \* frow\) \* u\.scaleLog2;/);
      // one branch for the tile's keys of a lane (a branch a key kept their chains apart: 1.02-1.05x in call 1)
      assert.equal([...sm.matchAll(/if \(kfFast\) \{/g)].length, 1);
      const slow = sm.slice(sm.indexOf('} else {', sm.indexOf('if (kfFast) {')));
      assert.equal([...sm.matchAll(/pow2Mul\(/g)].length, 2 * kpl);
      assert.equal([...slow.slice(0, slow.indexOf('\n    }')).matchAll(/pow2Mul\(/g)].length, 2 * kpl, 'all in the wild branch');
      assert.doesNotMatch(sm, /expOf\(/);
      assert.match(softmax(off), /expOf\(atomicLoad\(&kMax\[key\]\)\)/);
      // formed by the last subgroup, between the conversion's barrier and QK
      const conv = on.indexOf('// </tile-convert>'), qk = on.indexOf('// <qk-product>'), kfAt = on.indexOf('{ // keyFactors');
      assert.ok(conv < kfAt && kfAt < qk, 'after the conversion, before QK');
      assert.match(on.slice(kfAt - 40, kfAt), new RegExp(`if \\(t >= ${32 * subgroups - 32}u\\)`));
      assert.match(on, /if \(t == 0u\) \{ rowC\[2\] = 0\.0; \}/);
    }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    let be: WebGpuBackend | undefined;
    try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch (e) {
      if (process.env.CI) assert.fail(String(e)); t.skip(`no WebGPU adapter (${(e as Error).message.split('\n')[0]})`); return;
    }
    try {
      for (const o of [{ ...dflt, keyFactors: true }, { ...dflt, keyFactors: true, subgroups: 4 as const }, { ...dflt, keyFactors: true, qRowLanes: true, infSafe: 'seen' as const }]) {
        const code = stubbedMatrixWgsl(src(o));
        await be.programs.check({ name: `v5 ${key(o)}`, key: () => key(o), source: () => code }, undefined);
      }
    } finally { be.dispose(); }
  });
});

describe('webgpu matrix v5 keyFactors on lavapipe (products emulated, 4 subgroups): the same bits on and off', () => {
  const bes = onOffMatrixBackends({ keyFactors: true }, { keyFactors: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  const same = async (name: string, c: DecodeCase, numSms: number) => {
    bes.keys.clear();
    const a = await runCase(c, bes.on!, flashMlaWithKvcache, { numSms });
    assert.ok([...bes.keys].some((k) => k.endsWith('.kf')), `${name}: ${[...bes.keys].join(' ')}`);
    bes.keys.clear();
    const b = await runCase(c, bes.off!, flashMlaWithKvcache, { numSms });
    assert.ok(![...bes.keys].some((k) => k.endsWith('.kf')), `${name}: ${[...bes.keys].join(' ')}`);
    assert.deepEqual(bits(a.lse), bits(b.lse), `${name}: lse, ${numSms} SMs`);
    assert.deepEqual(a.out, b.out, `${name}: out, ${numSms} SMs`);
  };
  test('ordinary inputs: a random case with odd heads, keys growing along the sequence, RoPE 2^20 the latent columns', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const cases: [string, DecodeCase][] = [
      ['random', makeCase({ name: 'random', sQ: 2, hQ: 5, hKv: 1, seqlens: [70, 1, 0], pageBlockSize: 64, dtype: 'bf16', causal: true }, 2626)],
      ['growing keys', growingCase([130, 33])],
      ['RoPE-heavy keys', ropeHeavyCase(20, 3)],
      ['mixed blocks', mixedBlockCase()],
    ];
    for (const [name, c] of cases) for (const numSms of [132, 1]) await same(name, c, numSms);
  });
  test('extreme magnitudes (tame and wild tiles and rows), NaN rows, +-inf keys', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const spec = { name: 'wild', dtype: 'bf16' as const, hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [100, 40], sQ: 1, causal: false };
    const cases: [string, DecodeCase][] = [
      ...extremeCases().map(([n, f]) => [n, f()] as [string, DecodeCase]),
      ['keys below 2^-78 (wild keys)', scaledCase(spec, 61, 1e30, 1e-30)],
      ['keys above 2^114 (wild keys)', scaledCase(spec, 62, 1e-30, 1e36)],
      ['positive keys near 2^123 against q near 2^-61 (the short form overflows)', positive(scaledCase(spec, 64, 2 ** -62, 2 ** 122))],
      ['q near bf16\'s maximum', scaledCase(spec, 63, 1e37, 1e-30)],
      ['NaN rows', nanRowsCase()],
      ['+inf key', infKeyCase()],
    ];
    for (const [name, c] of cases) await same(name, c, 132);
  });
});

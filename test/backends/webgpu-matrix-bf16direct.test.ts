// v5's bf16Direct (kernels/decode-matrix5.ts `bf16Direct`, session 40; docs/notes/webgpu-matrix-kernel.md, "Session 40"):
// a bf16 tile whose lanes each pass a range test (largest magnitude in [2^-6, 2^16), or all zero) is converted at scale 1,
// without the key maxima; any other tile takes packedMax's maxima and scaled conversion, by a workgroup-uniform flag.
// Fast: the WGSL (its key; bf16 with lazy and packedMax only; both paths in the tile; the flag's reset; the softmax's
// factors) and the GPU WGSL (stubbed builtins) through Tint. On lavapipe (products emulated): against the float64
// reference on random cases of many shapes, split and unsplit; magnitudes far outside f16's range, blocks mixing 1e-6 and
// 6e4, keys of which only some are huge (direct and scaled tiles in one work item), NaN rows and an +inf key. Its two
// mutants (llvmpipe compiles each for ~45 s) are in test/long/webgpu-matrix-bf16direct-emu.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeMatrix5Spec, matrix5Bf16DirectDefault, matrix5Bf16DirectOn } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { type CaseSpec, makeCase } from '../support/random.js';
import {
  assertMatrixCase, checkInfKeyRows, checkNanRows, checkV5ThroughTint, extremeCases, mixedBlockCase, onOffMatrixBackends, ropeHeavyCase, someHugeKeys,
} from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src, wgBytes } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true } as const; // v5's default on the H200
const on = { ...dflt, bf16Direct: true } as const;
const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;
const tileOf = (s: string) => s.slice(s.indexOf('// <tile-max>'), s.indexOf('// </tile-convert>'));

describe('webgpu matrix v5 bf16Direct (WGSL)', () => {
  test('its own key, bf16 with lazy and packedMax only; off or on f16, the WGSL as before; no byte of workgroup memory more', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.match(key(on), /\.b16d$/);
    assert.equal(src({ ...dflt, bf16Direct: false }), src(dflt));
    assert.equal(src({ ...dflt, dtype: 'f16', bf16Direct: true }), src({ ...dflt, dtype: 'f16' }), 'f16: no change');
    for (const o of [{ tile16: true }, { pair: true }, { lean: true }, { infSafe: true }, { lazy: undefined }, { packedMax: undefined }] as const) {
      assert.equal(matrix5Bf16DirectOn({ dtype: 'bf16', ...on, ...o }), false, JSON.stringify(o));
      assert.equal(src({ ...on, ...o }), src({ ...dflt, ...o }), `${JSON.stringify(o)}: the WGSL as without it`);
    }
    assert.equal(matrix5Bf16DirectOn({ dtype: 'bf16', ...on }), true);
    assert.equal(matrix5Bf16DirectOn({ dtype: 'bf16', ...on, infSafe: 'seen' }), true);
    assert.equal(matrix5Bf16DirectOn({ dtype: 'f16', ...on }), false);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).bf16Direct, matrix5Bf16DirectDefault ? true : undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { bf16Direct: true }).bf16Direct, true);
    assert.equal(decodeMatrix5Spec({ dtype: 'f16' }, caps, 1, false, { bf16Direct: true }).bf16Direct, undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { bf16Direct: true, packedMax: false }).bf16Direct, undefined);
    for (const subgroups of [4, 8] as const) assert.equal(wgBytes(src({ ...on, subgroups })), wgBytes(src({ ...dflt, subgroups })));
  });

  test('the tile: a lane\'s range test flags it; the maxima and the scaled conversion only under the uniform flag; the flag reset after the tile\'s last reader', () => {
    for (const subgroups of [4, 8] as const) {
      const s = src({ ...on, subgroups }), off = src({ ...dflt, subgroups });
      const tile = tileOf(s);
      const test = tile.slice(0, tile.indexOf('// </tile-max>'));
      assert.doesNotMatch(test, /atomic/, 'the test takes no atomics');
      assert.match(test, /if \(mbD >= 0x47800000u \|\| \(mbD < 0x3c800000u && mbD != 0u\)\) \{ rowC\[2\] = 1\.0; \}/);
      assert.equal(count(test, /magMax\(w\d\)/g), 9, 'all 36 words, RoPE\'s included');
      const slowAt = tile.indexOf('let slow = workgroupUniformLoad(&rowC[2]) != 0.0;');
      assert.ok(slowAt > 0);
      const slowMax = tile.slice(slowAt, tile.indexOf('// <tile-convert>'));
      assert.match(slowMax, /if \(slow\) \{[^]*atomicMax\(&kMax\[lk\][^]*workgroupBarrier\(\);\s*\}/);
      const conv = tile.slice(tile.indexOf('// <tile-convert>'));
      const [scaled, direct] = conv.split('} else {');
      assert.match(scaled, /if \(slow\) \{/);
      assert.match(scaled, /downOf\(expOf\(atomicLoad\(&kMax\[lk\]\)\)\)/);
      assert.doesNotMatch(direct, /down|atomic/);
      assert.equal(count(direct, /vec4<f16>\([ab]\d\)/g), 18);
      assert.match(s, /\/\/ <\/tile-convert>\s*workgroupBarrier\(\);\s*if \(t == 0u\) \{ rowC\[2\] = 0\.0; \}/);
      assert.equal(count(s, /let ek = select\(127u, expOf\(atomicLoad\(&kMax\[key\]\)\), slow\);/g), count(off, /let ek = expOf\(atomicLoad\(&kMax\[key\]\)\);/g));
      assert.equal(count(s, /workgroupBarrier\(\)/g), count(off, /workgroupBarrier\(\)/g), 'one barrier moved into the rare branch, one into the uniform load');
    }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    await checkV5ThroughTint(t, [on, { ...on, subgroups: 4 }, { ...on, firstEarly: true, qRowLanes: true, infSafe: 'seen' }]);
  });
});

describe('webgpu matrix v5 bf16Direct on lavapipe (products emulated, 4 subgroups): against the float64 reference', () => {
  const bes = onOffMatrixBackends({ bf16Direct: true }, { bf16Direct: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  const base: CaseSpec = { name: 'bf16', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [130, 1], sQ: 1, causal: false };
  const skip = (t: { skip: (m?: string) => void }) => { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); };

  test('random cases (odd heads, two KV heads, seqlens 0 / 1 / 63 / 64 / 65, causal, page 64), split and unsplit', async (t) => {
    if (!bes.on) return skip(t);
    const specs: CaseSpec[] = [
      { ...base, name: 'h5 causal', hQ: 5, sQ: 2, seqlens: [65, 0, 1, 63, 64], causal: true },
      { ...base, name: 'hKv 2', hQ: 6, hKv: 2, seqlens: [200, 17] },
      { ...base, name: 'h16 page 64', pageBlockSize: 64, seqlens: [300, 64] },
    ];
    for (const [i, sp] of specs.entries()) {
      const c = makeCase(sp, 0xb16d + i);
      bes.keys.clear();
      for (const [numSms, schedule] of [[132, 'fill'], [1, undefined]] as const) await assertMatrixCase(bes.on!, c, numSms, sp.name, schedule);
      assert.ok([...bes.keys].some((k) => /\.b16d(\.|$)/.test(k)), [...bes.keys].join(' '));
    }
  });

  test('magnitudes outside f16\'s range, blocks mixing 1e-6 and 6e4, RoPE columns 2^20 times the latent ones, some keys 2^20 times the rest', async (t) => {
    if (!bes.on) return skip(t);
    for (const [name, mk] of extremeCases()) await assertMatrixCase(bes.on!, mk(), 132, name, 'fill');
    await assertMatrixCase(bes.on!, mixedBlockCase(), 1, 'mixed blocks');
    await assertMatrixCase(bes.on!, ropeHeavyCase(20), 132, 'RoPE x 2^20', 'fill');
    for (const every of [7, 50]) await assertMatrixCase(bes.on!, someHugeKeys({ ...base, seqlens: [260, 90] }, 0xb1 + every, every), 132, `every ${every}th key x 2^20`, 'fill');
  });

  test('NaN rows and an +inf key (the scaled tiles\' NaN and infinity handling)', async (t) => {
    if (!bes.on) return skip(t);
    await checkNanRows(bes.on!);
    await checkInfKeyRows(bes.on!);
  });
});

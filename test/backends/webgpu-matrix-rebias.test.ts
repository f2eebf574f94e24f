// v5's rebias (kernels/decode-matrix5.ts `rebias`, session 27; docs/notes/webgpu-matrix-kernel.md, "Session 27"): bf16
// keys scaled to f16's top binade and converted by integer arithmetic, a float path beside it for lanes with an infinity,
// a NaN, a tiny key or a value under f16's normal range. Fast: the WGSL (its key; bf16 with packedMax only; the scores'
// and the output's 2^-15) and the GPU WGSL (stubbed builtins) through Tint. On lavapipe (products emulated): the same
// bits as without it where every value lies within 2^14 of its key's largest; against the float64 reference on random
// cases, extreme magnitudes, keys holding zeros, tiny keys, NaN rows and an +inf key; a mutant with a wrong exponent fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Program, decodeMatrix5Spec, matrix5RebiasDefault, matrix5RebiasOn } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { bf16ToF32, f32ToBf16 } from '../../src/core/dtype.js';
import { compareOutputs } from '../support/compare.js';
import { type CaseSpec, type DecodeCase, caseReference, makeCase, nanBits, runCase } from '../support/random.js';
import { assertMatrixCase, checkInfKeyRows, checkNanRows, checkV5ThroughTint, extremeCases, growingCase, matrixTol, mixedBlockCase, onOffMatrixBackends, scaledCase } from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true } as const; // v5's default on the H200
const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;

/** The case with every cache value at least 2^-12 of its key's largest magnitude (smaller ones pushed up to it, sign kept). */
function tame(c: DecodeCase): DecodeCase {
  const rows = c.kCache.length / 576;
  for (let r = 0; r < rows; r++) {
    const at = r * 576;
    for (const [lo, hi] of [[0, 512], [512, 576]]) {
      let mx = 0;
      for (let i = lo; i < hi; i++) if (c.kCache[at + i] !== nanBits.bf16) mx = Math.max(mx, Math.abs(bf16ToF32(c.kCache[at + i])));
      const floor = mx * 2 ** -12;
      for (let i = lo; i < hi; i++) {
        const v = c.kCache[at + i];
        if (v === nanBits.bf16) continue;
        const x = bf16ToF32(v);
        if (Math.abs(x) < floor) c.kCache[at + i] = f32ToBf16(x < 0 ? -floor : floor);
      }
    }
  }
  return c;
}

describe('webgpu matrix v5 rebias (WGSL)', () => {
  test('its own key; bf16 with packedMax only; off, the WGSL as before; the scores\' and the output\'s 2^-15', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.match(key({ ...dflt, rebias: true }), /\.rb$/);
    assert.equal(src({ ...dflt, rebias: false }), src(dflt));
    for (const o of [{ packedMax: false }, { lean: true }, { dtype: 'f16' as const }, { tile16: true }]) {
      assert.equal(matrix5RebiasOn({ dtype: 'bf16', ...dflt, rebias: true, ...o }), false, JSON.stringify(o));
    }
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).rebias, matrix5RebiasDefault ? true : undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { rebias: true }).rebias, true);
    assert.equal(decodeMatrix5Spec({ dtype: 'f16' }, caps, 1, false, { rebias: true }).rebias, undefined);
    for (const subgroups of [4, 8] as const) {
      const on = src({ ...dflt, subgroups, rebias: true });
      assert.equal(count(on, /\(d \* vec4<u32>\(8u\) \+ vec4<u32>\(0x04000400u\)\)/g), 9, 'nine words a lane by integers');
      assert.equal(count(on, /- 269\)/g), 2 * (subgroups === 8 ? 4 : 2), 'the scores: 2^-15 in both parts\' exponents');
      assert.equal(count(on, /0\.000030517578125 \/ ls\d/g), 8, 'the output: 2^-15 in 1 / row sum');
      assert.doesNotMatch(on, /- 254\)/);
    }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    await checkV5ThroughTint(t, [{ ...dflt, rebias: true }, { ...dflt, rebias: true, subgroups: 4 }, { ...dflt, rebias: true, firstEarly: true, qRowLanes: true, infSafe: 'seen' }, { ...dflt, rebias: true, infSafe: true }]);
  });
});

describe('webgpu matrix v5 rebias on lavapipe (products emulated, 4 subgroups)', () => {
  const bes = onOffMatrixBackends({ rebias: true }, { rebias: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);
  const base: CaseSpec = { name: 'bf16', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [130, 33], sQ: 1, causal: false };
  const close = assertMatrixCase;
  test('the same bits as without it where every value lies within 2^14 of its key\'s largest (132 parts and one)', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const cases: [string, DecodeCase][] = [
      ['random, odd heads, causal', tame(makeCase({ ...base, hQ: 5, sQ: 2, seqlens: [70, 0, 1, 65], causal: true }, 2727))],
      ['growing keys', tame(growingCase([130, 33]))],
    ];
    for (const [n, c] of cases) {
      for (const numSms of [132, 1]) {
        bes.keys.clear();
        const a = await runCase(c, bes.on!, flashMlaWithKvcache, { numSms });
        assert.ok([...bes.keys].some((k) => /\.rb(\.|$)/.test(k)), `${n}: ${[...bes.keys].join(' ')}`);
        const b = await runCase(c, bes.off!, flashMlaWithKvcache, { numSms });
        assert.deepEqual(bits(a.lse), bits(b.lse), `${n}: lse, ${numSms} SMs`);
        assert.deepEqual(a.out, b.out, `${n}: out, ${numSms} SMs`);
      }
    }
  });
  test('the float64 reference: random cases, extreme magnitudes, mixed blocks, keys with zeros, tiny keys (split and unsplit)', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const zeros = makeCase({ ...base, seqlens: [100] }, 31);
    for (let i = 0; i < zeros.kCache.length; i += 7) if (zeros.kCache[i] !== nanBits.bf16) zeros.kCache[i] = (i / 7) % 2 ? 0 : 0x8000; // +0 and -0
    const cases: [string, DecodeCase][] = [
      ['random h16 hKv 2', makeCase({ ...base, hQ: 32, hKv: 2, seqlens: [190, 64, 63] }, 2828)],
      ['zeros in keys', zeros],
      ['tiny keys (1e-36)', scaledCase({ ...base, seqlens: [80] }, 32, 1, 1e-36)],
      ['mixed blocks', mixedBlockCase()],
      ...extremeCases().map(([n, f]) => [n, f()] as [string, DecodeCase]),
    ];
    for (const [n, c] of cases) for (const [numSms, schedule] of [[132, 'fill'], [1, undefined]] as const) await close(bes.on!, c, numSms, n, schedule);
  });
  test('NaN rows and an +inf key, as without it', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    await checkNanRows(bes.on);
    await checkInfKeyRows(bes.on);
  });
  test('mutant: the integer path one binade off fails the reference', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const { source, key: key0 } = decodeMatrix5Program;
    decodeMatrix5Program.source = (s) => source.call(decodeMatrix5Program, s).replaceAll('vec4<u32>(0x04000400u)', 'vec4<u32>(0x08000800u)');
    decodeMatrix5Program.key = (s) => `${key0.call(decodeMatrix5Program, s)}.mutant`;
    let be: WebGpuBackend | undefined;
    try {
      be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, rebias: true } });
      const c = makeCase({ ...base, seqlens: [90] }, 33);
      const got = await runCase(c, be, flashMlaWithKvcache, { numSms: 1 });
      const rep = compareOutputs(got.out, got.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol);
      assert.equal(rep.ok, false, 'the mutant must fail');
    } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key0; be?.dispose(); }
  });
});

// v5's f16Direct (kernels/decode-matrix5.ts `f16Direct`, session 27; docs/notes/webgpu-matrix-kernel.md, "Session 27"):
// an f16 cache's words go into the key tile as loaded (no key maxima, no scaling, no conversion), every key at scale 1.
// Fast: the WGSL (its key; f16 only; what the tile loses; the softmax's factor 1) and the GPU WGSL (stubbed builtins)
// through Tint. On lavapipe (products emulated): against the float64 reference on random f16 cases of many shapes, split
// and unsplit, on values near f16's largest and among its subnormals, on NaN rows and an +inf key; a mutant that keeps
// a NaN half in the tile fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Program, decodeMatrix5Spec, matrix5F16DirectDefault, matrix5F16DirectOn } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { type CaseSpec, type DecodeCase, caseMetadata, caseReference, makeCase, runCase } from '../support/random.js';
import { assertMatrixCase, checkV5ThroughTint, onOffMatrixBackends, scaledCase } from '../support/webgpu-matrix.js';
import { key5 as key, m16, src5 as src } from '../support/matrix5-spec.js';

const dflt = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true } as const; // v5's default on the H200
const f16 = { ...dflt, dtype: 'f16' as const };
const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;

describe('webgpu matrix v5 f16Direct (WGSL)', () => {
  test('its own key, f16 caches only; off or on bf16, the WGSL as before; not with tile16, pair, lean, infSafe true', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    assert.match(key({ ...f16, f16Direct: true }), /\.f16d$/);
    assert.equal(src({ ...f16, f16Direct: false }), src(f16));
    assert.equal(src({ ...dflt, f16Direct: true }), src(dflt), 'bf16: no change');
    assert.equal(key({ ...dflt, f16Direct: true }), key(dflt));
    for (const o of [{ tile16: true }, { pair: true }, { lean: true }, { infSafe: true }] as const) {
      assert.equal(matrix5F16DirectOn({ ...f16, f16Direct: true, ...o }), false, JSON.stringify(o));
    }
    assert.equal(matrix5F16DirectOn({ ...f16, f16Direct: true, infSafe: 'seen' }), true);
    assert.equal(decodeMatrix5Spec({ dtype: 'f16' }, caps, 1, false).f16Direct, matrix5F16DirectDefault ? true : undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'f16' }, caps, 1, false, { f16Direct: true }).f16Direct, true);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { f16Direct: true }).f16Direct, undefined);
  });

  test('the tile: no maxima and no conversion; the words stored as they are; the softmax\'s key factor 1', () => {
    for (const subgroups of [4, 8] as const) {
      const on = src({ ...f16, subgroups, f16Direct: true }), off = src({ ...f16, subgroups });
      const tileOf = (s: string) => s.slice(s.indexOf('// <tile-max>'), s.indexOf('// </tile-convert>'));
      assert.equal(count(tileOf(on), /atomicMax\(&kMax/g), 0);
      assert.ok(count(tileOf(off), /atomicMax\(&kMax/g) > 0);
      assert.doesNotMatch(tileOf(on), /downOf|unpack2|vec4<f16>\(/);
      assert.equal(count(tileOf(on), /bitcast<vec2<f16>>\(w\d\.[xyzw]\)/g), 4 * 9);
      assert.match(on, /let ek = 127u;/);
      assert.doesNotMatch(on, /expOf\(atomicLoad\(&kMax\[key\]\)\)/);
      assert.equal(count(on, /workgroupBarrier\(\)/g), count(off, /workgroupBarrier\(\)/g), 'the same barriers (the tile-max one guards the tile\'s reuse)');
    }
  });

  test('the GPU\'s WGSL (stubbed builtins) compiles through Tint', async (t) => {
    await checkV5ThroughTint(t, [{ ...f16, f16Direct: true }, { ...f16, f16Direct: true, subgroups: 4 }, { ...f16, f16Direct: true, firstEarly: true, qRowLanes: true, infSafe: 'seen' }]);
  });
});

describe('webgpu matrix v5 f16Direct on lavapipe (products emulated, 4 subgroups): against the float64 reference', () => {
  const bes = onOffMatrixBackends({ f16Direct: true }, { f16Direct: false });
  before(() => bes.setup());
  after(() => bes.teardown());
  const check = assertMatrixCase;
  const base: CaseSpec = { name: 'f16', dtype: 'f16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [130, 1], sQ: 1, causal: false };
  test('random f16 cases (odd heads, two KV heads, seqlens 0 / 1 / 63 / 64 / 65, causal), split and unsplit', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const specs: CaseSpec[] = [
      { ...base, name: 'h5 causal', hQ: 5, sQ: 2, seqlens: [65, 0, 1, 63, 64], causal: true },
      { ...base, name: 'hKv 2', hQ: 6, hKv: 2, seqlens: [200, 17] },
      { ...base, name: 'h16', seqlens: [300, 64] },
    ];
    for (const [i, sp] of specs.entries()) {
      const c = makeCase(sp, 0x16d0 + i);
      bes.keys.clear();
      for (const [numSms, schedule] of [[132, 'fill'], [1, undefined]] as const) await check(bes.on!, c, numSms, sp.name, schedule);
      assert.ok([...bes.keys].some((k) => /\.f16d(\.|$)/.test(k)), [...bes.keys].join(' '));
      assert.ok((caseMetadata(c, 132, 'fill').numSplits.host() as Int32Array)[c.b] > c.b, `${sp.name}: the fill plan splits`);
    }
  });
  test('values near f16\'s largest and among its subnormals (q and cache), on and off', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    for (const [sq, sk] of [[1, 1e4], [1e4, 1], [1, 1e-5], [1e-5, 1e3], [3e3, 1e-6]] as const) {
      const c = scaledCase({ ...base, seqlens: [150] }, 0x16e0, sq, sk);
      for (const be of [bes.on!, bes.off!]) await check(be, c, 132, `q x ${sq}, cache x ${sk}${be === bes.on ? '' : ' (off)'}`, 'fill');
    }
  });
  test('NaN in a key only the later causal query sees, NaN in a q row, +inf in a key (split and unsplit)', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    for (const [name, c] of nanInfCases()) {
      for (const [numSms, schedule] of [[132, 'fill'], [1, undefined]] as const) {
        const got = await runCase(c, bes.on!, flashMlaWithKvcache, { numSms, ...(schedule ? { schedule } : {}) });
        const ref = caseReference(c);
        assertNanRows(c, got, ref, `${name}, ${numSms} SMs`);
      }
    }
  });
  test('mutant: a NaN half left in the tile fails (rows that do not see the key turn NaN)', async (t) => {
    if (!bes.on) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const { source, key: key0 } = decodeMatrix5Program;
    decodeMatrix5Program.source = (s) => source.call(decodeMatrix5Program, s).replace(/w(\d) = zeroNan16\(w\d\);/g, '');
    decodeMatrix5Program.key = (s) => `${key0.call(decodeMatrix5Program, s)}.mutant`;
    let be: WebGpuBackend | undefined;
    try {
      be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, f16Direct: true } });
      const [name, c] = nanInfCases()[0];
      const got = await runCase(c, be, flashMlaWithKvcache, { numSms: 1 });
      assert.throws(() => assertNanRows(c, got, caseReference(c), name), /NaN/);
    } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key0; be?.dispose(); }
  });
});

/** f16 cases with a NaN key seen only by the later causal query, a NaN q row, and an +inf key. */
function nanInfCases(): [string, DecodeCase][] {
  const a = makeCase({ name: 'nan', dtype: 'f16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [90, 40], sQ: 2, causal: true }, 5);
  a.q[(1 * 16 + 3) * 576 + 100] = 0x7e00; // NaN in batch 0, query 1, head 3
  const key = 39, mb = a.maxBlocksPerSeq;
  a.kCache[(a.blockTable[mb + Math.floor(key / 16)] * 16 + (key % 16)) * 576 + 7] = 0x7e00; // batch 1's last key, a V column
  const b = makeCase({ name: 'inf', dtype: 'f16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [200], sQ: 1, causal: false }, 6);
  b.kCache[(b.blockTable[0] * 16 + 3) * 576 + 520] = 0x7c00; // +inf in a RoPE column of key 3
  return [['NaN rows', a], ['+inf key', b]];
}

/** Exactly the reference's NaN rows are NaN (out and lse). */
function assertNanRows(c: DecodeCase, got: { out: Uint16Array; lse: Float32Array }, ref: ReturnType<typeof caseReference>, what: string): void {
  const half = (h: number) => (h & 0x7fff) > 0x7c00;
  let nanRows = 0;
  for (let row = 0; row < c.totalQ * c.hQ; row++) {
    const tok = Math.floor(row / c.hQ), h = row % c.hQ, bi = Math.floor(tok / c.sQ), j = tok % c.sQ;
    const li = (bi * c.hQ + h) * c.sQ + j;
    const refNan = Number.isNaN(ref.lse[li]);
    nanRows += refNan ? 1 : 0;
    for (const col of [0, 7, 300, 511]) assert.equal(half(got.out[row * 512 + col]), refNan, `${what}: row ${row} col ${col} NaN ${!refNan}, reference ${refNan}`);
    assert.equal(Number.isNaN(got.lse[li]), refNan, `${what}: row ${row} lse NaN ${!refNan}, reference ${refNan}`);
  }
  assert.ok(nanRows > 0, `${what}: the reference has NaN rows`);
}

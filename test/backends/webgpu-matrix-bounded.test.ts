// v5's bounded indices (kernels/decode-matrix5.ts `bounded`, the default where trim runs since session 18;
// docs/notes/webgpu-tensor-core.md, "Session 18"), fast: off it leaves session 17's WGSL byte for byte; on it keys its
// pipeline apart, declares the same workgroup memory,
// computes every lane index and offset v5 computes on the lanes that use it, and (in a model of Tint's range analysis,
// test/support/wgsl-ranges.ts) leaves the robustness transform no matrix load to predicate and no clamp in the tile loop
// but the parity-indexed key lookups; its GPU WGSL (stubbed builtins) and emulated WGSL compile through Tint; on
// lavapipe (products emulated) the default and `bounded: false` give the same bits.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type DecodeMatrix5Spec, decodeMatrix5Spec, matrix5BoundedDefault, matrix5BoundedOn } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { runCase } from '../support/random.js';
import { growingCase, onOffMatrixBackends } from '../support/webgpu-matrix.js';
import { key5 as key, src5 as src, wgBytes } from '../support/matrix5-spec.js';
import { rangeOf, workgroupAccesses } from '../support/wgsl-ranges.js';

const dflt = { lazy: true, trim: true } as const; // the default v5 on the H200
const loopOf = (s: string) => [s.indexOf('for (var k0 = kBegin;'), s.indexOf('// Row sums')] as const;

/** The entry point's lane lets (`let x = ...;` before the item loop), evaluated in BigInt for lane t. */
function laneLets(s: string, t: number): Map<string, bigint> {
  const head = s.slice(s.indexOf('fn main('), s.indexOf(' for (var bi = beginIdx;'));
  const env = new Map<string, bigint>([['t', BigInt(t)]]);
  for (const [, name, expr] of head.matchAll(/let (\w+) = ([^;]+);/g)) {
    if (/wid|META|u\./.test(expr)) continue;
    const js = expr.replace(/(\d+)u\b/g, '$1n').replace(/\bselect\(/g, 'sel(').replace(/==/g, '===');
    const fn = new Function('env', 'min', 'sel', `with (env) { return (${js}); }`);
    try {
      env.set(name, fn(Object.fromEntries(env), (a: bigint, b: bigint) => (a < b ? a : b), (f: bigint, tr: bigint, c: boolean) => (c ? tr : f)) as bigint);
    } catch { /* a let of the parameters or the metadata: not a lane index */ }
  }
  return env;
}

describe('webgpu matrix v5 bounded (WGSL)', () => {
  test('off, the shipped WGSL is unchanged; on, it keys its pipeline apart and declares the same workgroup memory', () => {
    for (const emulate of [false, true]) for (const subgroups of [4, 8] as const) {
      assert.equal(src({ ...dflt, emulate, subgroups, bounded: false }), src({ ...dflt, emulate, subgroups }));
      assert.equal(wgBytes(src({ ...dflt, emulate, subgroups, bounded: true })), wgBytes(src({ ...dflt, emulate, subgroups })));
    }
    assert.match(key({ ...dflt, bounded: true }), /\.trim\.bnd$/);
    assert.equal(wgBytes(src({ ...dflt, bounded: true })), 49088);
  });

  test('every lane index and offset v5 computes, on the lanes that use it', () => {
    for (const subgroups of [4, 8] as const) for (const lazy of [true, undefined]) {
      const base = src({ lazy, trim: lazy, subgroups });
      const bnd = src({ lazy, trim: lazy, subgroups, bounded: true });
      const nT = subgroups * 4;
      for (let t = 0; t < 32 * subgroups; t++) {
        const a = laneLets(base, t);
        const b = laneLets(bnd, t);
        for (const v of ['sg', 'l', 'kb', 'cp', 'cl', 'cs', 'ce', 'r', 'cc', 'hh', 'lk', 'lj']) { assert.equal(typeof a.get(v), 'bigint', v); assert.equal(b.get(v), a.get(v), `${v} at t ${t}`); }
        if (t < 128) assert.equal(b.get('slot'), a.get('slot'), `slot at t ${t}`);
        if (a.get('cp')! < 3n) assert.equal(b.get('cs3'), a.get('cs'));
        if (a.get('cp')! < 2n) assert.equal(b.get('cs2'), a.get('cs'));
        if (t < nT) assert.equal(b.get('tk'), BigInt(t));
      }
    }
  });

  test('the range model: what Tint bounds and what it does not', () => {
    const env = new Map([['t', { lo: 0, hi: 255 }]]);
    assert.deepEqual(rangeOf('min(t, 127u) / 16u', env), { lo: 0, hi: 7 });
    assert.deepEqual(rangeOf('t % 16u', env), { lo: 0, hi: 15 });
    assert.deepEqual(rangeOf('(t >> 5u) * 64u + 15u', env), { lo: 15, hi: 463 });
    assert.equal(rangeOf('select(0u, 15u, t == 3u)', env).hi, Infinity);
    assert.equal(rangeOf('t & 15u', env).hi, Infinity);
    assert.equal(rangeOf('1u - t', env).hi, Infinity);
  });

  test('no matrix load left to predicate, no clamp in the tile loop but the parity-indexed lookups (v5: 15 loads, the softmax\'s indices)', () => {
    for (const subgroups of [8, 4] as const) {
      const base = src({ ...dflt, subgroups });
      const bnd = src({ ...dflt, subgroups, bounded: true });
      const lanes = 32 * subgroups;
      const a = workgroupAccesses(base, lanes);
      const b = workgroupAccesses(bnd, lanes);
      const kLoads = (x: typeof a) => x.loads.filter((l) => l.array === 'Kt' && l.stride === 584);
      assert.equal(kLoads(a).length, 11 + (subgroups / 4) * (512 / subgroups / 16), 'QK\'s 11 and PV\'s');
      assert.equal(a.loads.filter((l) => !l.inRange).length, 15, `v5 (${subgroups} subgroups): the 4 Qᵀ and 11 K loads from cs`);
      assert.deepEqual(b.loads.filter((l) => !l.inRange).map((l) => l.offset), [], `bounded (${subgroups} subgroups)`);
      const [lo, hi] = loopOf(bnd);
      const inLoop = (x: { at: number }) => x.at > lo && x.at < hi;
      const left = b.accesses.filter((x) => inLoop(x) && !x.inRange);
      assert.deepEqual([...new Set(left.map((x) => x.array))].sort(), ['keyRow', 'keySeg'], JSON.stringify(left.map((x) => `${x.array}[${x.index}]`)));
      const [blo, bhi] = loopOf(base);
      const baseLeft = a.accesses.filter((x) => x.at > blo && x.at < bhi && !x.inRange);
      if (subgroups === 8) assert.ok(baseLeft.some((x) => x.array === 'Sc') && baseLeft.some((x) => x.array === 'kMax'), 'v5\'s softmax indices are not bounded');
      assert.ok(left.length < baseLeft.length);
    }
  });

  test('the default where trim runs; false turns it off; refused only when asked for with tile16 or pair', () => {
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: { m: 16, n: 16, k: 16, result: 'f32' } } as unknown as DeviceCaps;
    const spec = (o = {}) => decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, o);
    assert.equal(matrix5BoundedDefault, true);
    assert.equal(spec().bounded, true);
    assert.equal(spec({ subgroups: 4 }).bounded, true);
    assert.equal(spec({ bounded: false }).bounded, undefined);
    assert.equal(spec({ bounded: true }).bounded, true);
    // where trim does not run (the eager rescale, trim off, lookahead, tile16, pair): off unless asked for
    for (const o of [{ lazy: false }, { trim: false }, { lookahead: true }, { tile16: true }, { pair: true }, { tile16: true, pair: true }]) {
      assert.equal(spec(o).bounded, undefined, JSON.stringify(o));
    }
    for (const o of [{ lazy: false }, { trim: false }, { lookahead: true }]) assert.equal(spec({ ...o, bounded: true }).bounded, true, JSON.stringify(o));
    for (const o of [{ tile16: true }, { pair: true }]) {
      assert.throws(() => spec({ ...o, bounded: true }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'matrix.bounded');
      assert.equal(spec({ ...o, bounded: false }).bounded, undefined);
    }
  });

  test('a tile16 or pair probe on top of the default runs without it (its WGSL and key those of the spec without it)', () => {
    for (const o of [{ tile16: true }, { pair: true }, { tile16: true, pair: true }, { pair: true, lazy: true as const }]) {
      assert.equal(matrix5BoundedOn({ ...o, bounded: true }), false);
      assert.equal(src({ ...o, bounded: true }), src(o), JSON.stringify(o));
      assert.equal(key({ ...o, bounded: true }), key(o), JSON.stringify(o));
    }
    assert.equal(matrix5BoundedOn({ bounded: true }), true);
  });
});

describe('webgpu matrix v5 bounded and not on lavapipe (products emulated, 4 subgroups, lazy + trim)', () => {
  const bes = onOffMatrixBackends({}, { bounded: false });
  const keys = bes.keys;
  before(() => bes.setup());
  after(() => bes.teardown());
  test('the same bits either way: keys growing along the sequence, split (132 SMs) and unsplit (1 SM)', async (t) => {
    if (!bes.on || !bes.off) { if (process.env.CI) assert.fail(bes.why); t.skip(bes.why); return; }
    const c = growingCase([130, 33]);
    for (const numSms of [132, 1]) {
      keys.clear();
      const a = await runCase(c, bes.on, flashMlaWithKvcache, { numSms });
      assert.ok([...keys].some((k) => /\.lazy\.trim\.bnd(\.|$)/.test(k)), [...keys].join(' '));
      keys.clear();
      const b = await runCase(c, bes.off, flashMlaWithKvcache, { numSms });
      assert.ok([...keys].some((k) => /\.lazy\.trim(\.|$)/.test(k)) && ![...keys].some((k) => /\.bnd(\.|$)/.test(k)), [...keys].join(' '));
      assert.deepEqual(a.out, b.out, `out, ${numSms} SMs`);
      assert.deepEqual(new Uint32Array(a.lse.buffer, a.lse.byteOffset, a.lse.length), new Uint32Array(b.lse.buffer, b.lse.byteOffset, b.lse.length), `lse, ${numSms} SMs`);
    }
  });
});

describe('webgpu matrix v5 bounded through Tint', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('the GPU\'s WGSL (lazy + trim, eager, 3 cache bindings, 4 subgroups; stubbed builtins) and the emulated WGSL', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const probes: Partial<DecodeMatrix5Spec>[] = [{ ...dflt, bounded: true }, { bounded: true }, { ...dflt, bounded: true, segs: 3 }, { ...dflt, bounded: true, subgroups: 4 }, { lazy: 'side', trim: true, bounded: true }];
    for (const p of probes) {
      const code = stubbedMatrixWgsl(src(p));
      await be.programs.check({ name: `v5 ${key(p)}`, key: () => key(p), source: () => code }, undefined);
    }
    for (const e of [{ ...dflt, bounded: true, emulate: true, subgroups: 4 as const }]) {
      await be.programs.check({ name: `v5 ${key(e)}`, key: () => key(e), source: () => src(e) }, undefined);
    }
  });
});

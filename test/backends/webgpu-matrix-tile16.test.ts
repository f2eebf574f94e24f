// v5's tile16 and pair candidates and the noPrefetch and lookahead probes (kernels/decode-matrix5.ts; docs/notes/webgpu-matrix-tile16.md), fast:
// off they leave the shipped WGSL byte for byte; on they key their pipelines apart; tile16's layout (8 contraction
// parts covering the 576 columns once, none straddling 512; its declared workgroup memory); the option's checks; its
// GPU WGSL (stubbed builtins) through Tint. The emulated arithmetic runs in test/long/webgpu-matrix-tile16-emu.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type DecodeMatrix5Spec, decodeMatrix5SharedBytes, decodeMatrix5Spec, matrix5Layout } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { key5 as key, m16, src5 as src, wgBytes } from '../support/matrix5-spec.js';


describe('webgpu matrix v5 tile16 (WGSL and layout)', () => {
  test('off, the shipped WGSL is unchanged; on, each keys its pipeline apart', () => {
    for (const lazy of [false, true] as const) {
      for (const emulate of [false, true]) assert.equal(src({ lazy, emulate, tile16: false, noPrefetch: false }), src({ lazy, emulate }));
      const keys = new Set([{}, { tile16: true }, { noPrefetch: true }, { tile16: true, noPrefetch: true }].map((p) => key({ lazy, ...p })));
      assert.equal(keys.size, 4);
    }
    assert.throws(() => src({ tile16: true, subgroups: 4 }), /tile16 needs 8 subgroups/);
  });

  test('layout: 16 keys, 8 parts covering columns 0..575 once (none straddles 512), 5 words a lane, 29 440 B declared', () => {
    const g = matrix5Layout(8, true);
    assert.deepEqual([g.nT, g.kb, g.lpk, g.words, g.kpl, g.nbs], [16, 1, 16, 5, 2, 4]);
    let next = 0;
    for (const [start, steps] of g.parts) {
      assert.equal(start, next);
      next = start + 16 * steps;
      assert.ok(start >= 512 || next <= 512, `part ${start} straddles 512`);
    }
    assert.equal(next, 576);
    assert.equal(g.parts.length, g.subgroups);
    assert.equal(decodeMatrix5SharedBytes(8, true), 29440);
    for (const p of [{ tile16: true }, { tile16: true, lazy: true as const, noPrefetch: true }, { tile16: true, emulate: true }]) assert.equal(wgBytes(src(p)), 29440);
    // The WGSL's part bounds (cs, ce) as the generator writes them, evaluated for each subgroup, are the layout's.
    const s = src({ tile16: true, emulate: true });
    const csExpr = /let cs = (select\(select\(80u \* cp, 320u \+ 64u \* \(cp - 4u\), cp >= 4u\), 512u, cp == 7u\));/.exec(s);
    const ceExpr = /let ce = cs \+ select\(80u, 64u, cp >= 4u\);/.exec(s);
    assert.ok(csExpr && ceExpr, 'the part bounds');
    for (let cp = 0; cp < 8; cp++) {
      const cs = cp === 7 ? 512 : cp >= 4 ? 320 + 64 * (cp - 4) : 80 * cp;
      const ce = cs + (cp >= 4 ? 64 : 80);
      assert.deepEqual([cs, (ce - cs) / 16], g.parts[cp]);
    }
    // The fifth word (RoPE's) is loaded and converted on lanes lj < 8 only, at columns 512..575.
    assert.match(s, /if \(lj < 8u\) \{ w4 = loadK\(ls, lr \+ lj \+ 64u\); \}/);
    assert.match(s, /if \(lj < 8u\) \{ let ha = vec4<f16>\(select\(a4 \* downR,/);
    assert.match(s, /Kt\[o \+ 519u\] = hb\.w;/);
    assert.doesNotMatch(s, /Kt\[o \+ 520u\]/);
  });

  test('noPrefetch: one load block, at the top of the tile loop; v5\'s two (before the loop and the next tile\'s) gone', () => {
    for (const tile16 of [false, true]) {
      const s = src({ lazy: true, tile16 }), n = src({ lazy: true, tile16, noPrefetch: true });
      assert.equal((s.match(/\/\/ <tile-load>/g) ?? []).length, 2);
      assert.equal((n.match(/\/\/ <tile-load>/g) ?? []).length, 1);
      const loop = n.slice(n.indexOf('for (var k0 = kBegin;'));
      assert.ok(loop.indexOf('// <tile-load>') < loop.indexOf('// <tile-max>'));
      assert.match(loop, /let ls = keySeg\[par \* (16|32)u \+ lk\];/);
    }
  });

  test('pair: off, nothing changes; on, one loop of two tiles whose next loads and lookups sit after the second conversion', () => {
    for (const tile16 of [false, true]) {
      for (const emulate of [false, true]) assert.equal(src({ lazy: true, emulate, tile16, pair: false }), src({ lazy: true, emulate, tile16 }));
      const nT = tile16 ? 16 : 32;
      const s = src({ lazy: true, tile16, pair: true });
      assert.notEqual(key({ lazy: true, tile16, pair: true }), key({ lazy: true, tile16 }));
      assert.equal((s.match(/for \(var k0 = kBegin; k0 < kEnd; k0 \+= (\d+)\)/g) ?? []).length, 1);
      assert.match(s, new RegExp(`for \\(var k0 = kBegin; k0 < kEnd; k0 \\+= ${2 * nT}\\) \\{\\n {3}let k1 = k0 \\+ ${nT};`));
      assert.equal((s.match(/\/\/ <tile-convert>/g) ?? []).length, 2, 'two tiles a loop iteration');
      assert.equal((s.match(/let seen = k0 \+/g) ?? []).length, nT / 8, 'the first tile masks its keys against k0 ...');
      assert.equal((s.match(/let seen = k1 \+/g) ?? []).length, nT / 8, '... the second against k1');
      assert.ok(s.includes('if (k1 < kEnd) {'));
      // The next pair's loads: after the second tile's conversion barrier, before its QK; the lookups two pairs ahead.
      const second = s.slice(s.indexOf('if (k1 < kEnd) {'));
      const after = second.slice(second.indexOf('// </tile-convert>'), second.indexOf('// <qk-product>'));
      assert.match(after, /let ls = keySeg\[lk\];[\s\S]*w0 = loadK[\s\S]*let ls = keySeg\[\d+u \+ lk\];[\s\S]*v0 = loadK[\s\S]*let key = k0 \+ \d+ \+ i32\(t\);[\s\S]*nxRow =/);
      assert.match(after, new RegExp(`let key = k0 \\+ ${4 * nT} \\+ i32\\(t\\);`));
      // The first tile's top stores the rows looked up a pair earlier; no lookup from the block table there.
      const first = s.slice(s.indexOf('let k1 = k0'), s.indexOf('if (k1 < kEnd) {'));
      assert.match(first, new RegExp(`if \\(t < ${2 * nT}u\\) \\{ keyRow\\[t\\] = nxRow; keySeg\\[t\\] = nxSeg; \\}`));
      assert.doesNotMatch(first, /idx\[/);
      assert.equal(wgBytes(s), wgBytes(src({ lazy: true, tile16 })), 'no workgroup byte more');
    }
    for (const p of [{ lean: true }, { late: true }, { noPrefetch: true }]) assert.throws(() => src({ pair: true, ...p }), /pair runs without/);
  });

  test('lookahead: off, nothing changes; on, the loop\'s top stores the row looked up an iteration ago and looks up the tile after next', () => {
    for (const emulate of [false, true]) assert.equal(src({ lazy: true, emulate, lookahead: false }), src({ lazy: true, emulate }));
    const s = src({ lazy: true, lookahead: true });
    assert.notEqual(key({ lazy: true, lookahead: true }), key({ lazy: true }));
    const top = s.slice(s.indexOf('for (var k0 = kBegin;'), s.indexOf('// ---- The tile:'));
    assert.match(top, /let o = \(1u - par\) \* 32u \+ t;\n {4}keyRow\[o\] = nxRow;\n {4}keySeg\[o\] = nxSeg;/);
    assert.match(top, /let key = k0 \+ 64 \+ i32\(t\);[\s\S]*nxRow = /);
    assert.doesNotMatch(top, /keyRow\[o\] = \(\(/, 'no block-table value stored at the top');
    assert.match(s.slice(0, s.indexOf('for (var k0 = kBegin;')), /let key = kBegin \+ 32 \+ i32\(t\);/);
    assert.equal(wgBytes(s), 49088);
    assert.throws(() => src({ lookahead: true, pair: true }), /one or the other/);
  });

  test('the options: decodeMatrix5Spec sets tile16 with 8 subgroups (refuses 4), pair, lookahead (refuses both at once)', () => {
    const caps = { maxComputeWorkgroupStorageSize: 32768, subgroupMatrixF16: m16 } as unknown as DeviceCaps;
    const s = decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, true, { lazy: true, tile16: true });
    assert.equal(s.tile16, true);
    assert.equal(s.subgroups, 8);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, true, { lazy: true }).subgroups, 4);
    assert.throws(() => decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, true, { subgroups: 4, lazy: true, tile16: true }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'matrix.subgroups');
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, true, { subgroups: 4, lazy: true, pair: true }).pair, true);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, true, { subgroups: 4, lazy: true, lookahead: true }).lookahead, true);
    assert.throws(() => decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, true, { subgroups: 4, lazy: true, pair: true, lookahead: true }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'matrix.lookahead');
  });
});

describe('webgpu matrix v5 tile16 through Tint', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('the GPU\'s WGSL of tile16, noPrefetch, pair and lookahead (eager, lazy, lazy side; stubbed builtins)', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const probes: Partial<DecodeMatrix5Spec>[] = [{ tile16: true }, { tile16: true, lazy: true }, { tile16: true, lazy: 'side' }, { tile16: true, lazy: true, noPrefetch: true }, { lazy: true, noPrefetch: true },
      { pair: true }, { lazy: true, pair: true }, { lazy: 'side', pair: true }, { tile16: true, lazy: true, pair: true }, { lazy: true, pair: true, segs: 3 },
      { lookahead: true }, { lazy: true, lookahead: true, segs: 3 }];
    for (const p of probes) {
      const code = stubbedMatrixWgsl(src(p));
      await be.programs.check({ name: `v5 ${key(p)}`, key: () => key(p), source: () => code }, undefined);
    }
  });
});

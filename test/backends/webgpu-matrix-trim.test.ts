// v5's trim candidate (kernels/decode-matrix5.ts `trim`; docs/notes/webgpu-matrix-trim.md), fast: off it leaves the
// shipped WGSL byte for byte; on it keys its pipeline apart, runs two barriers fewer a tile, resets the keys' maxima once
// before the loop and once a tile right after the softmax (never at the tile's top), declares v5's 49 088 B, refuses
// eager, pair and lookahead; its GPU WGSL (stubbed builtins) and emulated WGSL compile through Tint. The emulated
// arithmetic runs in test/long/webgpu-matrix-trim-emu.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type DecodeMatrix5Spec, decodeMatrix5Spec, matrix5TrimDefault } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { key5 as key, src5 as src, wgBytes } from '../support/matrix5-spec.js';

const loopOf = (s: string) => s.slice(s.indexOf('for (var k0 = kBegin;'), s.indexOf('// Row sums'));
const count = (s: string, x: string) => s.split(x).length - 1;
const reset = (n: number) => `if (t < ${n}u) { atomicStore(&kMax[t], 0u); atomicStore(&kMaxR[t], 0u); atomicStore(&kNan[t], 0u); }`;

describe('webgpu matrix v5 trim (WGSL)', () => {
  test('off, the shipped WGSL is unchanged; on, it keys its pipeline apart', () => {
    for (const emulate of [false, true]) for (const lazy of [true, 'side'] as const) assert.equal(src({ lazy, emulate, trim: false }), src({ lazy, emulate }));
    assert.notEqual(key({ lazy: true, trim: true }), key({ lazy: true }));
    assert.match(key({ lazy: true, trim: true }), /\.trim$/);
  });

  test('two barriers fewer a tile; the key maxima reset before the loop and after the softmax, not at the top', () => {
    for (const [o, nT] of [[{}, 32], [{ subgroups: 4 as const }, 16], [{ emulate: true, subgroups: 4 as const }, 16], [{ lazy: 'side' as const }, 32]] as const) {
      const base = src({ lazy: true, ...o });
      const s = src({ lazy: true, ...o, trim: true });
      assert.equal(count(loopOf(s), 'workgroupBarrier();'), count(loopOf(base), 'workgroupBarrier();') - 2, JSON.stringify(o));
      assert.equal(count(loopOf(s), 'workgroupUniformLoad('), 1);
      const loop = loopOf(s);
      assert.equal(count(loop, 'atomicStore(&kMax[t], 0u)'), 1, 'one reset a tile');
      const softmaxEnd = loop.lastIndexOf('// </softmax>');
      assert.ok(loop.indexOf(reset(nT)) > softmaxEnd, 'after the softmax\'s second half');
      assert.ok(loop.indexOf(reset(nT)) < loop.indexOf('workgroupUniformLoad('), 'before the uniform load\'s barrier');
      assert.ok(loop.lastIndexOf('// </softmax>', softmaxEnd - 1) > loop.indexOf('// <softmax>'), 'the softmax has two halves');
      const head = s.slice(0, s.indexOf('for (var k0 = kBegin;'));
      assert.equal(count(head.slice(head.lastIndexOf('The first tile\'s keys')), reset(nT)), 1, 'one reset before the loop');
      // the lazy flag: reset after the key maxima's barrier, before the conversion; not at the top
      assert.doesNotMatch(loop.slice(0, loop.indexOf('<tile-max>')), /rowC\[0\] = 0\.0/);
      const flag = loop.indexOf('if (t == 0u) { rowC[0] = 0.0; }');
      assert.ok(flag > loop.indexOf('</tile-max>') && flag < loop.indexOf('<tile-convert>'));
      assert.equal(wgBytes(s), wgBytes(base));
    }
    assert.equal(wgBytes(src({ lazy: true, trim: true })), 49088);
  });

  test('every v5 variant here declares a multiple of 16 B of workgroup memory (the H200 computes wrong results otherwise: pad4, pad8)', () => {
    for (const o of [{}, { lazy: true }, { lazy: true, trim: true }, { lazy: true, subgroups: 4 as const }, { lazy: true, pad: 16 }, { lazy: true, pad: 64 }]) {
      assert.equal(wgBytes(src(o)) % 16, 0, JSON.stringify(o));
    }
    for (const pad of [4, 8]) assert.notEqual(wgBytes(src({ lazy: true, pad })) % 16, 0, 'the failing probes break the rule');
  });

  test('ignored without lazy and with pair, lookahead or tile16 (their WGSL and keys as without it); the default where it applies; refused by the options where it does not', () => {
    for (const o of [{}, { lazy: true, pair: true }, { lazy: true, lookahead: true }, { lazy: true, tile16: true }, { lazy: true, tile16: true, pair: true }] as const) {
      assert.equal(src({ ...o, trim: true }), src(o), JSON.stringify(o));
      assert.equal(key({ ...o, trim: true }), key(o), JSON.stringify(o));
    }
    const caps = { maxComputeWorkgroupStorageSize: 49152, subgroupMatrixF16: { m: 16, n: 16, k: 16, result: 'f32' } } as unknown as DeviceCaps;
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false).trim, matrix5TrimDefault ? true : undefined);
    assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { trim: false }).trim, undefined);
    for (const o of [{ lazy: false }, { pair: true }, { lookahead: true }, { tile16: true }]) {
      assert.equal(decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, o).trim, undefined, JSON.stringify(o));
      assert.throws(() => decodeMatrix5Spec({ dtype: 'bf16' }, caps, 1, false, { ...o, trim: true }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'matrix.trim');
    }
  });
});

describe('webgpu matrix v5 trim through Tint', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('the GPU\'s WGSL (lazy, lazy side, 3 cache bindings; stubbed builtins) and the emulated WGSL', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const probes: Partial<DecodeMatrix5Spec>[] = [{ lazy: true, trim: true }, { lazy: 'side', trim: true }, { lazy: true, trim: true, segs: 3 }, { lazy: true, trim: true, subgroups: 4 },
      { lazy: true, trim: true, late: true }];
    for (const p of probes) {
      const code = stubbedMatrixWgsl(src(p));
      await be.programs.check({ name: `v5 ${key(p)}`, key: () => key(p), source: () => code }, undefined);
    }
    for (const e of [{ lazy: true, trim: true, emulate: true, subgroups: 4 as const }]) {
      await be.programs.check({ name: `v5 ${key(e)}`, key: () => key(e), source: () => src(e) }, undefined);
    }
  });
});

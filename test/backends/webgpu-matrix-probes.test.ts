// The probes of v5 (kernels/decode-matrix5.ts `pad`, `every`, `late`) that session 11's first device call runs to
// find why lazy computed wrong results on the H200 (scripts/webgpu-tools/lazy-isolate.mjs, h200-matrix-lazy2.sh;
// docs/notes/webgpu-matrix-kernel.md, "Session 10, round 2"): off, they leave the shipped WGSL byte for byte; on, each
// changes exactly what it names and keys its pipeline apart; every probe's GPU WGSL (typed stubs for the matrix
// builtins) passes Tint, and with working matrix functions (test/support/matrix-stub.ts) the 4-subgroup kernel runs on
// lavapipe (the long file webgpu-matrix-lazy-functional.test.ts checks its results).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type DecodeMatrix5Spec, decodeMatrix5SharedBytes } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { functionalMatrixWgsl, stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { key5 as key, src5 as src, wgBytes } from '../support/matrix5-spec.js';


describe('webgpu matrix v5 probes (pad, every, late)', () => {
  test('off, the shipped WGSL is unchanged; on, each keys its pipeline apart', () => {
    for (const lazy of [false, true] as const) {
      assert.equal(src({ lazy, pad: 0, every: false, late: false }), src({ lazy }));
      const keys = new Set([{}, { pad: 4 }, { pad: 64 }, { every: true }, { late: true }, { late: true, every: true }].map((p) => key({ lazy, ...p })));
      assert.equal(keys.size, 6);
    }
    assert.throws(() => src({ pad: 6 }), /pad 6/);
  });

  test('pad declares its bytes (v5: 49 088 B, pad 4 / 64: 49 092 / 49 152, the H200\'s limit), zeroes them and reads one into lse', () => {
    assert.equal(wgBytes(src()), decodeMatrix5SharedBytes(8));
    assert.equal(wgBytes(src()), 49088);
    for (const pad of [4, 64]) {
      const s = src({ pad });
      assert.equal(wgBytes(s), 49088 + pad);
      assert.match(s, new RegExp(`for \\(var i = t; i < ${pad / 4}u; i \\+= 256u\\) \\{ padW\\[i\\] = 0u; \\}`));
      assert.match(s, new RegExp(`\\* 0\\.6931471805599453 \\+ f32\\(padW\\[${pad / 4 - 1}u\\]\\)`));
    }
  });

  test('every: lazy\'s rescale of the result matrices on every tile (no branch on the flag), same products', () => {
    const lazy = src({ lazy: true }), every = src({ lazy: true, every: true });
    assert.ok(lazy.includes('if (grew) {') && !every.includes('if (grew) {'));
    assert.equal(every.replace('{ // probe: every tile', 'if (grew) {'), lazy);
    // Without lazy there is no rescale branch: every changes nothing but the key.
    assert.equal(src({ every: true }), src());
  });

  test('late: the next tile\'s loads move from before QK to after the softmax\'s barrier, nothing else', () => {
    for (const lazy of [false, true] as const) {
      const s = src({ lazy }), l = src({ lazy, late: true });
      const load = s.slice(s.indexOf('par = 1u - par;') + 'par = 1u - par;'.length, s.indexOf('// ---- Sᵀ'));
      assert.equal((load.match(/\/\/ <tile-load>/g) ?? []).length, 1);
      // After the softmax's last block: its barrier (lazy: the uniform load of the flag), then the loads, then PV.
      const tail = l.slice(l.lastIndexOf('// </softmax>'));
      assert.match(tail, lazy ? /^\/\/ <\/softmax>\n {3}let grew = workgroupUniformLoad\(&rowC\[0\]\) != 0\.0;[^\n]*\n {3}\{\n/ : /^\/\/ <\/softmax>\n {3}workgroupBarrier\(\);\n {3}\{\n/);
      assert.ok(tail.indexOf('// <tile-load>') > 0 && tail.indexOf('// <tile-load>') < tail.indexOf('// <pv-product>'), 'the load before PV');
      const qk = l.slice(l.indexOf('par = 1u - par;'), l.indexOf('// ---- Sᵀ'));
      assert.doesNotMatch(qk, /tile-load/);
      // Both texts hold the same statements, in another order.
      const sorted = (x: string) => x.split('\n').map((y) => y.trim()).filter((y) => y && !y.startsWith('//')).sort().join('\n');
      assert.equal(sorted(l), sorted(s));
    }
  });
});

describe('webgpu matrix v5 probes through Tint', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('every probe of the GPU\'s WGSL (8 subgroups, stubbed builtins), and the 4-subgroup kernel with working matrix functions', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const probes: Partial<DecodeMatrix5Spec>[] = [{ pad: 4 }, { pad: 64 }, { lazy: true, every: true }, { late: true }, { lazy: true, late: true }];
    for (const p of probes) {
      const code = stubbedMatrixWgsl(src(p));
      await be.programs.check({ name: `v5 probe ${key(p)}`, key: () => key(p), source: () => code }, undefined);
    }
    for (const lazy of [false, true, 'side', 'scratch'] as const) {
      const code = functionalMatrixWgsl(src({ subgroups: 4, lazy }));
      await be.programs.check({ name: `v5 functional ${lazy}`, key: () => `functional.${lazy}`, source: () => code }, undefined);
    }
  });
});

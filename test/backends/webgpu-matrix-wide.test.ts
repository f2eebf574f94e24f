// v5's wide candidate (kernels/decode-matrix5.ts `wide`, session 14; docs/notes/webgpu-matrix-trim.md, "Session 14:
// wide"): off, the shipped WGSL is unchanged (scripts/webgpu-tools/wgsl-snapshot.ts); on, 512 lanes at 8 subgroups with
// v5's workgroup memory, QK on the first 8 subgroups, the subgroups' scratch in two turns, 16 lanes a key in the tile's
// load; its GPU WGSL (typed stubs for the matrix builtins) passes Tint in every rescale form, and the 4 + 4-subgroup
// kernel with working matrix functions compiles too (test/long/webgpu-matrix-wide-emu.test.ts checks the numbers).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { type DecodeMatrix5Spec, decodeMatrix5SharedBytes, matrix5Layout } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { functionalMatrixWgsl, stubbedMatrixWgsl } from '../support/matrix-stub.js';
import { key5 as key, src5 as src, wgBytes } from '../support/matrix5-spec.js';

describe('webgpu matrix v5 wide', () => {
  test('layout: 512 lanes, 32 O columns a subgroup, 16 lanes a key; the workgroup memory of v5', () => {
    const g = matrix5Layout(8, false, true);
    assert.deepEqual([g.lanes, g.vCols, g.nbs, g.lpk, g.words, g.lastLanes, g.nT], [512, 32, 2, 16, 5, 8, 32]);
    for (const lazy of [true, 'side', undefined] as const) {
      const s = src({ lazy, trim: lazy === true, wide: true });
      assert.equal(wgBytes(s), decodeMatrix5SharedBytes(8));
      assert.match(s, /@workgroup_size\(512\)/);
      assert.doesNotMatch(s, /[^%] sg \* 256u/, 'every scratch base is (sg % 8) * 256');
      assert.match(s, /if \(sg < 8u\) \{ \/\/ wide: QK on the first 8 subgroups/);
      assert.match(s, /if \(lj < 8u\) \{ w4 = loadK/);
    }
    assert.notEqual(key({ lazy: true, trim: true, wide: true }), key({ lazy: true, trim: true }));
    assert.equal(src({ lazy: true, trim: true, wide: false }), src({ lazy: true, trim: true }));
    assert.throws(() => src({ lazy: true, wide: true, pair: true }), /wide runs without/);
    assert.throws(() => src({ tile16: true, wide: true }), /wide runs without/);
  });
  test('the scratch in two turns: as many barriers in the rescale and at the item\'s end as v5 at 8 subgroups', () => {
    const count = (x: string, re: RegExp) => (x.match(re) ?? []).length;
    const v5 = src({ lazy: true, trim: true }), w = src({ lazy: true, trim: true, wide: true });
    const rescale = (x: string) => x.slice(x.indexOf('if (grew) {'), x.indexOf('// <pv-product>', x.indexOf('if (grew) {')));
    // wide's barriers sit in a loop of two turns over 2 results; v5's run once over 4
    assert.equal(2 * count(rescale(w), /workgroupBarrier\(\);/g), count(rescale(v5), /workgroupBarrier\(\);/g));
    assert.equal(count(w, /for \(var hv = 0u; hv < 2u; hv\+\+\)/g), 2 + 2 + 2);
  });
});

describe('webgpu matrix v5 wide through Tint', () => {
  let be: WebGpuBackend | undefined;
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true } }); } catch { /* skipped below */ } });
  after(() => be?.dispose());
  test('the GPU\'s WGSL (8 + 8 subgroups, stubbed builtins), and 4 + 4 subgroups with working matrix functions', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const probes: Partial<DecodeMatrix5Spec>[] = [{ lazy: true, trim: true, wide: true }, { lazy: true, trim: true, wide: true, lean: true }, { lazy: 'side', wide: true }, { wide: true }];
    for (const p of probes) {
      const code = stubbedMatrixWgsl(src(p));
      await be.programs.check({ name: `v5 wide ${key(p)}`, key: () => key(p), source: () => code }, undefined);
    }
    for (const lazy of [true, 'side'] as const) {
      const code = functionalMatrixWgsl(src({ subgroups: 4, lazy, trim: lazy === true, wide: true }));
      await be.programs.check({ name: `v5 wide functional ${lazy}`, key: () => `wide.functional.${lazy}`, source: () => code }, undefined);
    }
  });
});

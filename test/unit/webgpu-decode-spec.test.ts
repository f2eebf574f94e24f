// The WebGPU f32 decode kernel's spec, geometry and kernel resolution, without a GPU: the spec chosen for a plan,
// the workgroup memory the geometry promises against what the generated WGSL declares, the metadata layout read
// through core's constants, and the per-plan cache of resolved kernels.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planDecode } from '../../src/core/plan.js';
import { Meta, metadataFields } from '../../src/core/constants.js';
import type { DeviceCaps } from '../../src/backends/webgpu/program.js';
import { chooseDecodeSpec, decodeDispatch, decodeProgram, decodeSpecKey } from '../../src/backends/webgpu/kernels/decode.js';
import { decodeGeometry } from '../../src/backends/webgpu/kernels/decode-geometry.js';
import { DecodeKernelCache, resolveDecodeKernel } from '../../src/backends/webgpu/decode-kernel.js';
import { chooseDecodePath } from '../../src/backends/webgpu/kernels/path.js';

const caps = (workgroupBytes: number, subgroups = true): DeviceCaps => ({
  f16: false, subgroups, subgroupMinSize: subgroups ? 32 : 4, timestamps: false, maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30,
  maxStorageBuffersPerShaderStage: 10, maxComputeWorkgroupStorageSize: workgroupBytes, maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupsPerDimension: 65535, minStorageBufferOffsetAlignment: 256,
});
const shape = (sQ: number, hQ: number, hKv: number, b = 2, numSmParts = 8) =>
  planDecode({ b, sQ, hQ, hKv, numSmParts, maxBlocksPerSeq: 4, varlen: false });

/** Bytes of the `var<workgroup>` declarations of a WGSL module (arrays of f32/i32/u32/atomic<u32>/vec4<f32>). */
function declaredWorkgroupBytes(wgsl: string): number {
  let bytes = 0;
  for (const m of wgsl.matchAll(/var<workgroup>\s+\w+\s*:\s*([^;]+);/g)) {
    const t = m[1].trim();
    const arr = /^array<(.+),\s*(\d+)>$/.exec(t);
    const elem = arr ? arr[1] : t, n = arr ? Number(arr[2]) : 1;
    bytes += n * (elem.startsWith('vec4') ? 16 : 4);
  }
  return bytes;
}

describe('webgpu decode spec and geometry', () => {
  test('rows per tile follow the query rows per KV head of the plan; the dispatch covers them', () => {
    for (const [sQ, hQ, hKv, want] of [[1, 16, 1, 16], [2, 16, 1, 32], [1, 128, 1, 64], [1, 64, 4, 16], [4, 128, 8, 64]] as const) {
      const plan = shape(sQ, hQ, hKv);
      const s = chooseDecodeSpec(plan, 'bf16', caps(1 << 16), 1);
      assert.equal(s.rowsPerTile, want, `sQ ${sQ} hQ ${hQ} hKv ${hKv}`);
      const [x, y, z] = decodeDispatch(plan, s);
      assert.deepEqual([x, y], [plan.numSmParts, hKv]);
      assert.equal(z, Math.ceil((sQ * hQ) / hKv / want));
    }
  });

  test('a small workgroup memory shrinks the tile; the geometry stays within the limit and matches the WGSL', () => {
    for (const limit of [28672, 32768, 49152, 65536]) {
      for (const subgroups of [true, false]) {
        const s = chooseDecodeSpec(shape(1, 128, 1), 'f16', caps(limit, subgroups), 2);
        const g = decodeGeometry(s);
        assert.ok(g.sharedBytes <= limit, `${decodeSpecKey(s)}: ${g.sharedBytes} > ${limit}`);
        assert.equal(declaredWorkgroupBytes(decodeProgram.source(s)), g.sharedBytes, decodeSpecKey(s));
        assert.equal(s.rowsPerTile * g.pvColumnGroups * g.pvKeySplit, 256 * g.pvRowsPerLane, 'PV lanes cover rows x columns');
        assert.equal(g.qkStages * s.qkColumnsPerStage, 576);
      }
    }
    assert.throws(() => chooseDecodeSpec(shape(1, 16, 1), 'bf16', caps(4096), 1), /too small/);
  });

  test('the WGSL reads the metadata fields by the names core generates', () => {
    const src = decodeProgram.source(chooseDecodeSpec(shape(1, 16, 1), 'bf16', caps(1 << 16), 1));
    assert.match(src, new RegExp(`const META_FIELDS: u32 = ${metadataFields}u;`));
    assert.match(src, new RegExp(`const META_BEGIN_NSPLIT_IDX: u32 = ${Meta.BeginNSplitIdx}u;`));
    assert.match(src, /idx\[metaBase \+ META_BEGIN_NSPLIT_IDX\]/);
    assert.doesNotMatch(src, /idx\[metaBase \+ \du\]/, 'a raw metadata index');
  });

  test('the kernel is resolved once per plan and again when a setting changes', () => {
    const c = caps(1 << 16);
    const settings = { caps: c, path: chooseDecodePath(c), mulAdd: false, tuning: {} };
    const cache = new DecodeKernelCache();
    const plan = shape(1, 64, 1);
    const a = cache.get(plan, 'bf16', 1, settings);
    assert.equal(cache.get(plan, 'bf16', 1, { ...settings }), a, 'same plan and settings: the same answer');
    assert.deepEqual(a, resolveDecodeKernel(plan, 'bf16', 1, settings));
    assert.notEqual(cache.get(plan, 'f16', 1, settings), a, 'dtype');
    const tuned = cache.get(plan, 'bf16', 1, { ...settings, tuning: { rowsPerTile: 16 } });
    assert.equal((tuned.spec as { rowsPerTile: number }).rowsPerTile, 16, 'a new tuning object is seen');
    assert.equal(tuned.dispatch[2], 4);
    assert.notEqual(cache.get(shape(1, 64, 1), 'bf16', 1, settings), a, 'another plan object');
  });
});

// The ablation patterns of scripts/webgpu-tools/ match the decode kernel as generated now (no GPU needed): a change
// of the kernel's code that breaks a pattern fails here, not silently on the GPU host.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs dev tool without type declarations
import { ablate, ablations } from '../../scripts/webgpu-tools/ablations.mjs';
import { type DecodeSpec, decodeProgram } from '../../src/backends/webgpu/kernels/decode.js';

const spec = (dtype: DecodeSpec['dtype'], rowsPerTile: number, qkColumnsPerStage: number, pvKeysPerStage: number, prefetchStages: number,
  stagesPerIteration: number, cacheBindings: number, subgroups: boolean, mulAdd: boolean): DecodeSpec =>
  ({ dtype, rowsPerTile, qkColumnsPerStage, pvKeysPerStage, prefetchStages, stagesPerIteration, cacheBindings, subgroups, mulAdd });
const specs: DecodeSpec[] = [
  spec('bf16', 16, 32, 8, 2, 2, 1, true, false),
  spec('bf16', 32, 32, 4, 1, 1, 2, false, false),
  spec('f16', 64, 16, 4, 2, 2, 1, true, false),
  spec('bf16', 64, 16, 8, 2, 2, 1, true, true),
];

describe('webgpu tools: ablations of the decode kernel', () => {
  for (const spec of specs) {
    test(`every ablation changes ${decodeProgram.key(spec)}`, () => {
      const src = decodeProgram.source(spec);
      for (const name of Object.keys(ablations)) {
        const out = ablate(src, [name]);
        assert.ok(out.length < src.length || name === 'noLoad', `${name} removed nothing`);
      }
      const all = ablate(src, Object.keys(ablations));
      assert.doesNotMatch(all, /a\d+_\d+ = (fma\(|vec4<f32>\(p)/, 'PV multiply-adds left');
      assert.doesNotMatch(all, /exp2\(sc - mNew\)/, 'softmax exp2 left');
      assert.throws(() => ablate(src, ['noSuchPart']), /unknown ablation/);
    });
  }
});

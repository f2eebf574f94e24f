// The ablation patterns of scripts/webgpu-tools/ match the decode kernel as generated now (no GPU needed): a change
// of the kernel's code that breaks a pattern fails here, not silently on the GPU host.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs dev tool without type declarations
import { ablate, ablations } from '../../scripts/webgpu-tools/ablations.mjs';
import { type DecodeSpec, decodeProgram } from '../../src/backends/webgpu/kernels/decode.js';

const specs: DecodeSpec[] = [
  { dtype: 'bf16', mT: 16, dc: 32, kc: 8, pf: 2, unroll: 2, segs: 1, subgroups: true, mulAdd: false },
  { dtype: 'bf16', mT: 32, dc: 32, kc: 4, pf: 1, unroll: 1, segs: 2, subgroups: false, mulAdd: false },
  { dtype: 'f16', mT: 64, dc: 16, kc: 4, pf: 2, unroll: 2, segs: 1, subgroups: true, mulAdd: false },
  { dtype: 'bf16', mT: 64, dc: 16, kc: 8, pf: 2, unroll: 2, segs: 1, subgroups: true, mulAdd: true },
];

describe('webgpu tools: ablations of the decode kernel', () => {
  for (const spec of specs) {
    test(`every ablation changes mT=${spec.mT} unroll=${spec.unroll} mulAdd=${spec.mulAdd}`, () => {
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

// v5's bf16Direct (session 40; test/backends/webgpu-matrix-bf16direct.test.ts has its WGSL and reference tests): two
// mutants on lavapipe (products emulated, 4 subgroups) must fail against the float64 reference — direct tiles scaled by
// 2 (so random cases do run the direct path), and lanes that never flag a tile (so keys past f16's range do need the
// scaled path). llvmpipe compiles each mutant for ~45 s.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { compareOutputs } from '../support/compare.js';
import { type CaseSpec, type DecodeCase, caseReference, makeCase, runCase } from '../support/random.js';
import { matrixTol, someHugeKeys } from '../support/webgpu-matrix.js';
import { src5 as src } from '../support/matrix5-spec.js';

const on = { lazy: true, trim: true, bounded: true, packedMax: true, qOnce: true, freshO: true, bf16Direct: true } as const;
const base: CaseSpec = { name: 'bf16', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [130, 1], sQ: 1, causal: false };

describe('webgpu matrix v5 bf16Direct mutants on lavapipe', () => {
  test('mutants: direct tiles scaled by 2 fail on random cases; lanes that never flag fail on huge keys', async (t) => {
    const { source, key: key0 } = decodeMatrix5Program;
    const mutate = async (name: string, edit: (s: string) => string, c: DecodeCase): Promise<boolean> => {
      decodeMatrix5Program.source = (s) => edit(source.call(decodeMatrix5Program, s));
      decodeMatrix5Program.key = (s) => `${key0.call(decodeMatrix5Program, s)}.${name}`;
      let be: WebGpuBackend | undefined;
      try {
        try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, bf16Direct: true } }); } catch (e) {
          if (process.env.CI) throw e;
          t.skip(`no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`);
          return false;
        }
        const got = await runCase(c, be, flashMlaWithKvcache, { numSms: 132, schedule: 'fill' });
        const rep = compareOutputs(got.out, got.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, matrixTol);
        assert.equal(rep.ok, false, `${name}: the mutant passed`);
        return true;
      } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key0; be?.dispose(); }
    };
    const direct = (s: string) => s.replace(/let ha = vec4<f16>\(a(\d)\); let hb = vec4<f16>\(b\d\);/g, (_, i) => `let ha = vec4<f16>(a${i} * 2.0); let hb = vec4<f16>(b${i} * 2.0);`);
    assert.notEqual(direct(src({ ...on, emulate: true, subgroups: 4 })), src({ ...on, emulate: true, subgroups: 4 }));
    if (!(await mutate('mut2x', direct, makeCase({ ...base, seqlens: [150, 40] }, 0xb16e)))) return;
    const noFlag = (s: string) => s.replace('{ rowC[2] = 1.0; }', '{ }');
    assert.notEqual(noFlag(src({ ...on, emulate: true, subgroups: 4 })), src({ ...on, emulate: true, subgroups: 4 }));
    await mutate('mutnoflag', noFlag, someHugeKeys({ ...base, seqlens: [200] }, 0xb1f, 5));
  });
});

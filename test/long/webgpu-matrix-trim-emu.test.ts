// v5's trim candidate (kernels/decode-matrix5.ts `trim`: the keys' maxima reset after the softmax, two barriers fewer a
// tile) on lavapipe with the products emulated (4 subgroups, lazy): against the float64 reference on keys growing along
// the sequence (132 and 1 SM parts) and 4 random bf16 cases, and a mutant that resets the maxima before the softmax
// reads them (it must fail). The GPU's WGSL runs on the H200 with FLASHMLA_MATRIX_TEST_TRIM=1
// (test/gpu/webgpu-matrix.test.ts; scripts/webgpu-tools/h200-s12-trim.sh).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { closeToReference as close, emuBackend } from '../support/matrix-emu.js';
import { caseMatrix, makeCase } from '../support/random.js';
import { growingCase } from '../support/webgpu-matrix.js';

describe('webgpu matrix v5 trim (emulated products, 4 subgroups)', () => {
  const need = emuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, subgroups: 4 } });
  const { source, key } = decodeMatrix5Program;
  // bf16Direct off (the default since session 40): its direct tiles take no key maxima, so a mutant that resets them
  // early would not show there; trim's reset order is the scaled path's.
  const withTrim = (edit: (x: string) => string = (x) => x, tag = '') => {
    decodeMatrix5Program.source = (s) => edit(source.call(decodeMatrix5Program, { ...s, trim: true, bf16Direct: undefined }));
    decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, { ...s, trim: true, bf16Direct: undefined })}${tag}`;
  };
  after(() => { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; });
  test('growing keys at 132 and 1 SM parts, 4 random bf16 cases; a mutant resetting the maxima before the softmax fails', async (t) => {
    const b = need(t);
    if (!b) return;
    withTrim();
    try {
      for (const numSms of [132, 1]) await close(b, growingCase(), numSms, `trim, growing keys, ${numSms} SMs`);
      for (const [i, sp] of caseMatrix(4, 0x7217).entries()) await close(b, makeCase({ ...sp, dtype: 'bf16' }, 9700 + i), i % 2 ? 264 : 132, `trim, random #${i}`);
      // The reset line indexes by t, or by tk (= t on those lanes) where v5 runs bounded (the default with trim).
      const resetRe = /if \(t < 16u\) \{ atomicStore\(&kMax\[(tk?)\], 0u\); atomicStore\(&kMaxR\[\1\], 0u\); atomicStore\(&kNan\[\1\], 0u\); \} \/\/ trim/;
      withTrim((x) => {
        const m = x.match(resetRe);
        assert.ok(m, 'the trim reset line');
        const reset = m[0];
        const qk = x.indexOf('// ---- Sᵀ (keys x rows)');
        return `${x.slice(0, qk)}${reset}\n   ${x.slice(qk)}`.replace(`${reset}: the softmax's first half was the last reader`, '');
      }, '.mutant');
      await assert.rejects(close(b, growingCase(), 1, 'trim mutant'), /trim mutant/);
    } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; }
  });
});

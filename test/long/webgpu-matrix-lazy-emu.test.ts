// v5's lazy rescale of O (kernels/decode-matrix5.ts `lazy`: P' against a per-row reference that moves only past 2^8 of
// it, O in result matrices, PV with no scratch round trip on the tiles where no reference moves) on lavapipe with the
// products emulated (4 subgroups, 16-key tiles; the emulation keeps O in the lanes' registers and applies the same
// factors: 2^(old - new reference) on a tile where some row's reference moved, 2^(reference - m) at the item's end).
// Against the float64 reference: keys growing along the sequence (references moving on many tiles, split and
// unsplit), the same case on a mutant that never rescales O (it must fail), random cases, golden cases, magnitudes
// outside f16's range, NaN and +inf inputs. The GPU's WGSL (result matrices) runs on the H200
// (test/gpu/webgpu-matrix.test.ts with FLASHMLA_WEBGPU_MATRIX_LAZY=1).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { checkRandomWebGpu } from '../support/webgpu.js';
import { growingCase, matrixTol } from '../support/webgpu-matrix.js';
import { closeToReference, emuBackend, matrixEmuCommonTests } from '../support/matrix-emu.js';

const need = emuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, lazy: true } });
const close = closeToReference;

describe('webgpu matrix v5, lazy rescale (emulated products)', () => {
  test('the backend runs the lazy kernel', (t) => {
    const b = need(t);
    if (!b) return;
    assert.match(String(b.info.details?.decodePathWhy), /emulated/);
  });

  test('keys growing along the sequence (references move on many tiles), split (132 SMs) and unsplit (1 SM)', async (t) => {
    const b = need(t);
    if (!b) return;
    for (const numSms of [132, 1]) await close(b, growingCase(), numSms, `growing keys, ${numSms} SMs`);
  });

  test('the check can fail: a kernel that never rescales O fails the growing keys', async (t) => {
    const b = need(t);
    if (!b) return;
    const { source, key } = decodeMatrix5Program;
    decodeMatrix5Program.source = (s) => { const src = source.call(decodeMatrix5Program, s); assert.ok(src.includes('rowA[r] = exp2(yref - yr);')); return src.replace('rowA[r] = exp2(yref - yr);', 'rowA[r] = 1.0;'); };
    decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, s)}.mutant`;
    try {
      await assert.rejects(close(b, growingCase(), 1, 'growing keys, never rescaled'), /growing keys/);
    } finally {
      decodeMatrix5Program.source = source;
      decodeMatrix5Program.key = key;
    }
  });

  test('10 cases of the random matrix (132-SM plans and the backend\'s own)', async (t) => {
    const b = need(t);
    if (b) await checkRandomWebGpu(b, 10, 0x3a7e1e, 9300, (i) => (i % 2 ? 132 : b.info.numSms), matrixTol);
  });

  matrixEmuCommonTests(need);
});

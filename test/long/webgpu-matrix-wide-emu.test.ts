// v5's wide candidate (kernels/decode-matrix5.ts `wide`: twice the lanes, QK on the first half of the subgroups, PV and
// the tile's load on all, the subgroups' scratch shared by sg and sg + S in two turns) on lavapipe with the products
// emulated: 4 QK subgroups, 8 in all (256 lanes, 16-key tiles: the 8 + 8 layout of the H200 needs 49 088 B, lavapipe
// allows 32 768), trim and lazy as shipped. Against the float64 reference on keys growing along the sequence (132 and 1
// SM parts) and 2 random bf16 cases; a mutant in which both halves take the first turn (racing on the shared scratch)
// must fail. The GPU's WGSL runs on the H200 with FLASHMLA_MATRIX_TEST_TRIM=wide (test/gpu/webgpu-matrix.test.ts;
// scripts/webgpu-tools/h200-s14-h3-wide.sh).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { closeToReference as close, emuBackend } from '../support/matrix-emu.js';
import { caseMatrix, makeCase } from '../support/random.js';
import { growingCase } from '../support/webgpu-matrix.js';

describe('webgpu matrix v5 wide (emulated products, 4 + 4 subgroups)', () => {
  const need = emuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, subgroups: 4 } });
  const { source, key } = decodeMatrix5Program;
  const withWide = (edit: (x: string) => string = (x) => x, tag = '') => {
    decodeMatrix5Program.source = (s) => edit(source.call(decodeMatrix5Program, { ...s, trim: true, wide: true }));
    decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, { ...s, trim: true, wide: true })}${tag}`;
  };
  after(() => { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; });
  test('growing keys at 132 and 1 SM parts, 2 random bf16 cases; a mutant without the scratch\'s turns fails', async (t) => {
    const b = need(t);
    if (!b) return;
    withWide();
    try {
      for (const numSms of [132, 1]) await close(b, growingCase(), numSms, `wide, growing keys, ${numSms} SMs`);
      for (const [i, sp] of caseMatrix(2, 0x71de).entries()) await close(b, makeCase({ ...sp, dtype: 'bf16' }, 9900 + i), i % 2 ? 264 : 132, `wide, random #${i}`);
      withWide((x) => { assert.ok(x.includes('if (sg / 4u == hv) {')); return x.replaceAll('if (sg / 4u == hv) {', 'if (hv == 0u) {'); }, '.mutant');
      await assert.rejects(close(b, growingCase(), 1, 'wide mutant'), /wide mutant/);
    } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; }
  });
});

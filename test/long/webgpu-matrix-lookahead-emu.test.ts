// v5's lookahead probe (kernels/decode-matrix5.ts `lookahead`: each tile's block-table lookup issued one iteration
// earlier into registers and stored at the next iteration's top) on lavapipe with the products emulated (4 subgroups):
// against the float64 reference on keys growing along the sequence (132 and 1 SM parts) and 6 random bf16 cases, and a
// mutant that looks up the wrong tile (it must fail). About 80 s on a cold shader cache. The GPU's WGSL runs on the
// H200 with FLASHMLA_MATRIX_TEST_LOOKAHEAD=1 (test/gpu/webgpu-matrix.test.ts; scripts/webgpu-tools/h200-tile16.sh).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { closeToReference as close, emuBackend } from '../support/matrix-emu.js';
import { caseMatrix, makeCase } from '../support/random.js';
import { growingCase } from '../support/webgpu-matrix.js';

describe('webgpu matrix v5 lookahead (emulated products, 4 subgroups)', () => {
  const need = emuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, subgroups: 4 } });
  const { source, key } = decodeMatrix5Program;
  const withAhead = (edit: (x: string) => string = (x) => x, tag = '') => {
    decodeMatrix5Program.source = (s) => edit(source.call(decodeMatrix5Program, { ...s, lookahead: true }));
    decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, { ...s, lookahead: true })}${tag}`;
  };
  after(() => { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; });
  test('growing keys at 132 and 1 SM parts, 6 random bf16 cases; a mutant looking up the wrong tile fails', async (t) => {
    const b = need(t);
    if (!b) return;
    withAhead();
    try {
      for (const numSms of [132, 1]) await close(b, growingCase(), numSms, `lookahead, growing keys, ${numSms} SMs`);
      for (const [i, sp] of caseMatrix(6, 0xa4ead).entries()) await close(b, makeCase({ ...sp, dtype: 'bf16' }, 9600 + i), i % 2 ? 264 : 132, `lookahead, random #${i}`);
      withAhead((x) => { assert.ok(x.includes('let key = k0 + 32 + i32(t);')); return x.replace('let key = k0 + 32 + i32(t);', 'let key = k0 + 16 + i32(t);'); }, '.mutant');
      await assert.rejects(close(b, growingCase(), 1, 'lookahead mutant'), /lookahead mutant/);
    } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; }
  });
});

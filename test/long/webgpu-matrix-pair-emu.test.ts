// v5's pair candidate (kernels/decode-matrix5.ts `pair`: two tiles an iteration, the next pair's words and the
// lookups of the pair after it issued together after the second tile's conversion) on lavapipe with the products
// emulated, on v5's 4-subgroup layout (16-key tiles, pairs of 32 keys). tile16 + pair passed the same tests here
// (8 subgroups; 191 s, most of it llvmpipe compiling) and its checks on the H200; it is left out to keep this file short.
// Against the float64 reference: keys growing along the sequence at 132, 264 and 1 SM parts (odd tile counts: the
// second tile of the last pair skipped),
// random cases, golden cases, magnitudes outside f16's range, NaN and +inf inputs. The GPU's WGSL runs on the H200
// (test/gpu/webgpu-matrix.test.ts with FLASHMLA_MATRIX_TEST_PAIR=1; scripts/webgpu-tools/h200-tile16.sh).
// Runs only with FLASHMLA_TEST_PAIR_EMU=1: llvmpipe needs minutes to compile the emulated pair kernel (two tile bodies;
// more than 10 minutes for f16) on a cold shader cache, too long for CI's long suite, and pair is not a candidate to
// ship (1.10-1.14x v5 on the H200). Measured here with a warm cache: 4 tests in about 10 s.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { caseMatrix, makeCase } from '../support/random.js';
import { runGoldenWebGpu } from '../support/webgpu.js';
import { checkInfKeyRows, checkNanRows, extremeCases, growingCase, matrixTol, mixedBlockCase } from '../support/webgpu-matrix.js';
import { closeToReference, emuBackend } from '../support/matrix-emu.js';

const close = closeToReference;

for (const tile16 of [false]) {
  describe(`webgpu matrix v5 pair${tile16 ? ' + tile16' : ''} (emulated products)`, () => {
    const need = emuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, pair: true, ...(tile16 ? { tile16 } : { subgroups: 4 }) } },
      { env: 'FLASHMLA_TEST_PAIR_EMU', why: 'minutes of llvmpipe compiling' });

    test('the backend runs the pair kernel; keys growing along the sequence at 132, 264 and 1 SM parts', async (t) => {
      const b = need(t);
      if (!b) return;
      let seen = '';
      const get = b.programs.get.bind(b.programs);
      b.programs.get = ((p, spec) => { if (p.name === 'mla_decode_matrix5') seen = p.key(spec); return get(p, spec); }) as typeof b.programs.get;
      try {
        for (const numSms of [132, 264, 1]) await close(b, growingCase(), numSms, `growing keys, ${numSms} SMs`);
      } finally { b.programs.get = get; }
      assert.match(seen, tile16 ? /\.sg8\.emu\.q[12]\.lazy\.t16\.pair(\.fo)?$/ : /\.sg4\.emu\.q[12]\.lazy\.pair(\.fo)?$/); // q1 / q2: qOnce, the default since session 24, with qRowLanes where the plan's work items are short (session 25); fo: freshO (session 26)
    });

    // No WGSL mutant here: llvmpipe took more than 7 minutes to compile one (the pair kernel is not a candidate to ship:
    // 1.10-1.14x v5 on the H200). The comparisons below fail on any wrong row (float64 reference, poisoned outputs);
    // lookahead, below, keeps a mutant.
    // bf16 only: llvmpipe takes many minutes to compile the emulated pair kernel for f16 (its unpack2x16float in two
    // tile bodies); the H200 ran f16 cases on pair (GPU suite 25/25, 100 random cases).
    test('6 cases of the random matrix in bf16 (132- and 264-SM plans)', async (t) => {
      const b = need(t);
      if (!b) return;
      for (const [i, sp] of caseMatrix(6, tile16 ? 0x9a1e : 0x9a1f).entries()) await close(b, makeCase({ ...sp, dtype: 'bf16' }, 9500 + i), i % 2 ? 132 : 264, `random #${i}`);
    });

    test('golden cases, extremes, the mixed block, NaN and +inf', async (t) => {
      const b = need(t);
      if (!b) return;
      for (const name of ['decode_bf16_h16_sq1', 'decode_bf16_h128_sq2_causal']) await runGoldenWebGpu(b, name, matrixTol);
      for (const [label, make] of extremeCases().slice(0, 4)) await close(b, make(), 132, label);
      await close(b, mixedBlockCase(), 132, 'mixed block');
      await checkNanRows(b);
      await checkInfKeyRows(b);
    });
  });
}


// v5's pair candidate (kernels/decode-matrix5.ts `pair`: two tiles an iteration, the next pair's words and the
// lookups of the pair after it issued together after the second tile's conversion) on lavapipe with the products
// emulated: v5's 4-subgroup layout (16-key tiles, pairs of 32 keys) and tile16 (8 subgroups, pairs of 32 keys).
// Against the float64 reference: keys growing along the sequence at 132, 264 and 1 SM parts (odd tile counts: the
// second tile of the last pair skipped), a mutant that reuses the first tile's rows for the second (it must fail),
// random cases, golden cases, magnitudes outside f16's range, NaN and +inf inputs. The GPU's WGSL runs on the H200
// (test/gpu/webgpu-matrix.test.ts with FLASHMLA_MATRIX_TEST_PAIR=1; scripts/webgpu-tools/h200-tile16.sh). Also the
// lookahead probe (each tile's lookup an iteration earlier, into registers) on v5's 4-subgroup layout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { assertOutputsClose } from '../support/compare.js';
import { caseMatrix, caseReference, makeCase, runCase } from '../support/random.js';
import { runGoldenWebGpu } from '../support/webgpu.js';
import { checkInfKeyRows, checkNanRows, extremeCases, growingCase, matrixTol, mixedBlockCase } from '../support/webgpu-matrix.js';

const close = async (b: WebGpuBackend, c: ReturnType<typeof growingCase>, numSms: number, label: string) => {
  const r = await runCase(c, b, flashMlaWithKvcache, { numSms });
  assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, matrixTol, label);
};

for (const tile16 of [false, true]) {
  describe(`webgpu matrix v5 pair${tile16 ? ' + tile16' : ''} (emulated products)`, () => {
    let be: WebGpuBackend | undefined, why = '';
    before(async () => {
      try {
        be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, pair: true, ...(tile16 ? { tile16 } : { subgroups: 4 }) } });
      } catch (e) {
        why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`;
      }
    });
    after(() => be?.dispose());
    function need(t: { skip: (m?: string) => void }): WebGpuBackend | undefined {
      if (be) return be;
      if (process.env.CI) assert.fail(`WebGPU matrix emulation suite cannot run in CI: ${why}`);
      t.skip(why);
      return undefined;
    }

    test('the backend runs the pair kernel; keys growing along the sequence at 132, 264 and 1 SM parts', async (t) => {
      const b = need(t);
      if (!b) return;
      let seen = '';
      const get = b.programs.get.bind(b.programs);
      b.programs.get = ((p, spec) => { if (p.name === 'mla_decode_matrix5') seen = p.key(spec); return get(p, spec); }) as typeof b.programs.get;
      try {
        for (const numSms of [132, 264, 1]) await close(b, growingCase(), numSms, `growing keys, ${numSms} SMs`);
      } finally { b.programs.get = get; }
      assert.match(seen, tile16 ? /\.sg8\.emu\.lazy\.t16\.pair$/ : /\.sg4\.emu\.lazy\.pair$/);
    });

    test('the check can fail: the second tile loading the first tile\'s rows fails the growing keys', async (t) => {
      const b = need(t);
      if (!b) return;
      const { source, key } = decodeMatrix5Program;
      const nT = 16; // v5's 4-subgroup tile and tile16's: both 16 keys
      decodeMatrix5Program.source = (s) => {
        const src = source.call(decodeMatrix5Program, s);
        const from = `let ls = keySeg[${nT}u + lk];`;
        assert.ok(src.includes(from));
        return src.replaceAll(from, 'let ls = keySeg[lk];').replaceAll(`let lr = keyRow[${nT}u + lk];`, 'let lr = keyRow[lk];');
      };
      decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, s)}.mutant`;
      try {
        await assert.rejects(close(b, growingCase(), 1, 'growing keys, second tile wrong'), /growing keys/);
      } finally {
        decodeMatrix5Program.source = source;
        decodeMatrix5Program.key = key;
      }
    });

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

describe('webgpu matrix v5 lookahead (emulated products, 4 subgroups)', () => {
  let be: WebGpuBackend | undefined;
  const { source, key } = decodeMatrix5Program;
  const withAhead = (edit: (x: string) => string = (x) => x, tag = '') => {
    decodeMatrix5Program.source = (s) => edit(source.call(decodeMatrix5Program, { ...s, lookahead: true }));
    decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, { ...s, lookahead: true })}${tag}`;
  };
  before(async () => { try { be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, subgroups: 4 } }); } catch { /* skipped below */ } });
  after(() => { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; be?.dispose(); });
  test('growing keys at 132 and 1 SM parts, 6 random bf16 cases; a mutant looking up the wrong tile fails', async (t) => {
    if (!be) { if (process.env.CI) assert.fail('no WebGPU adapter with shader-f16 in CI'); t.skip('no WebGPU adapter with shader-f16'); return; }
    const b = be;
    withAhead();
    try {
      for (const numSms of [132, 1]) await close(b, growingCase(), numSms, `lookahead, growing keys, ${numSms} SMs`);
      for (const [i, sp] of caseMatrix(6, 0xa4ead).entries()) await close(b, makeCase({ ...sp, dtype: 'bf16' }, 9600 + i), i % 2 ? 264 : 132, `lookahead, random #${i}`);
      withAhead((x) => { assert.ok(x.includes('let key = k0 + 32 + i32(t);')); return x.replace('let key = k0 + 32 + i32(t);', 'let key = k0 + 16 + i32(t);'); }, '.mutant');
      await assert.rejects(close(b, growingCase(), 1, 'lookahead mutant'), /lookahead mutant/);
    } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; }
  });
});

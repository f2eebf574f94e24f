// The subgroup-matrix decode kernel v6 (kernels/decode-matrix6.ts: 32 query rows a workgroup, 16-key tiles; opt-in by
// matrix.version 6) on an adapter without subgroup matrices: its matrix builtins replaced by scalar code with the same
// memory contract (`matrix: { emulate: true }`), everything else the generated WGSL, in the layout that fits
// lavapipe's 32 KiB (pvPair 1: one PV result a subgroup through the scratch at a time; the GPU's pvPair 2 differs only
// in how many results pass between two barriers). Against the float64 reference: NaN-poisoned unused slots and
// poisoned outputs (runCase), sequence lengths 0 / 1 / 63 / 64 / 65 / 15 / 16 / 17 around the tile and page edges, an
// odd head count, h_kv 2 with 17 groups, causal s_q > 1, 128 rows (4 row blocks), split and unsplit plans, the extreme
// magnitudes, NaN and +inf inputs, the cases issue #13 fixed, and random cases of the hostile matrix. Lavapipe's
// compiler takes one to several minutes for each of the two pipelines (bf16, f16); the cases after it are quick.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import { assertOutputsClose } from '../support/compare.js';
import { type DecodeCase, caseReference, makeCase, runCase } from '../support/random.js';
import { checkRandomWebGpu } from '../support/webgpu.js';
import { checkInfKeyRows, checkNanRows, extremeCases, matrixTol, mixedBlockCase, noKeyRowsCase, ropeHeavyCase, scaledCase } from '../support/webgpu-matrix.js';

let be: WebGpuBackend | undefined, why = '';
before(async () => {
  try {
    be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, version: 6 } });
  } catch (e) {
    why = `no WebGPU adapter with shader-f16 (${(e as Error).message.split('\n')[0]})`;
  }
});
after(() => be?.dispose());
function need(t: { skip: (m?: string) => void }): WebGpuBackend | undefined {
  if (be) return be;
  if (process.env.CI) assert.fail(`WebGPU matrix v6 emulation suite cannot run in CI: ${why}`);
  t.skip(why);
  return undefined;
}

async function check(b: WebGpuBackend, c: DecodeCase, label: string, numSmsList: number[] = [132, 1]): Promise<void> {
  for (const numSms of numSmsList) {
    const r = await runCase(c, b, flashMlaWithKvcache, { numSms });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ, qIndptr: c.qIndptr }, matrixTol, `${label}, ${numSms} SMs`);
  }
}

describe('webgpu matrix kernel v6 (emulated products): shapes', () => {
  test('the selected kernel is v6 in the lavapipe layout', (t) => {
    const b = need(t);
    if (b) assert.equal(b.info.details?.decodePath, 'matrix');
  });
  test('seqlens 0, 1, 63, 64, 65 (bf16, h_q 32: one full 32-row block), split and unsplit', async (t) => {
    const b = need(t);
    if (b) await check(b, makeCase({ name: 'edges', dtype: 'bf16', hQ: 32, hKv: 1, pageBlockSize: 64, seqlens: [65, 1, 0, 63, 64], sQ: 1, causal: false }, 100), 'seqlens 0/1/63/64/65');
  });
  test('seqlens 15, 16, 17 on 16-key pages (tile and page edges together)', async (t) => {
    const b = need(t);
    if (b) await check(b, makeCase({ name: 'tile edges', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 16, seqlens: [15, 16, 17], sQ: 1, causal: false }, 103), 'seqlens 15/16/17');
  });
  test('h_kv 2 with 17 groups, causal s_q 3 (51 rows: two blocks, the second partly empty)', async (t) => {
    const b = need(t);
    if (b) await check(b, makeCase({ name: 'hkv2', dtype: 'bf16', hQ: 34, hKv: 2, pageBlockSize: 16, seqlens: [70, 33], sQ: 3, causal: true }, 101), 'h_kv 2, 17 groups, causal s_q 3');
  });
  test('h_q 128, causal s_q 2 (256 rows: 8 row blocks of 32)', async (t) => {
    const b = need(t);
    if (b) await check(b, makeCase({ name: 'h128', dtype: 'bf16', hQ: 128, hKv: 1, pageBlockSize: 64, seqlens: [150, 40], sQ: 2, causal: true }, 102), 'h_q 128 causal s_q 2');
  });
  test('f16, odd head count, rows that see no key (a zero-length sequence, causal queries past a short one)', async (t) => {
    const b = need(t);
    if (b) await check(b, noKeyRowsCase(), 'no-key rows');
  });
});

describe('webgpu matrix kernel v6 (emulated products): magnitudes, NaN and inf', () => {
  for (const [label, make] of [...extremeCases(), ['one key row mixing 1e-6 and 6e4', mixedBlockCase] as const]) {
    test(label, async (t) => {
      const b = need(t);
      if (b) await check(b, make(), label, [132]);
    });
  }
  test('keys whose RoPE columns are 2^20 times their latent columns', async (t) => {
    const b = need(t);
    if (b) await check(b, ropeHeavyCase(20), 'RoPE x 2^20', [132]);
  });
  test('q of 1e37 against keys of 1e-30', async (t) => {
    const b = need(t);
    if (b) await check(b, scaledCase({ name: 'q huge', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [77], sQ: 1, causal: false }, 4242, 1e37, 1e-30), 'q x 1e37');
  });
  test('a NaN in q or in a key a row sees: NaN out and lse for exactly those rows', async (t) => {
    const b = need(t);
    if (b) await checkNanRows(b);
  });
  test('+inf in a key: NaN rows where the reference has them, split and unsplit', async (t) => {
    const b = need(t);
    if (b) await checkInfKeyRows(b);
  });
});

describe('webgpu matrix kernel v6 (emulated products): random cases', () => {
  test('10 cases of the hostile matrix (varlen, shuffled pages, out-of-range table slots), 132-SM plans and 1', async (t) => {
    const b = need(t);
    if (b) await checkRandomWebGpu(b, 10, 0x3a7e1e, 9300, (i) => (i % 2 ? 132 : 1), matrixTol);
  });
});

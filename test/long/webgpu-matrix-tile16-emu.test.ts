// v5's tile16 candidate (kernels/decode-matrix5.ts `tile16`: 16-key tiles on 8 subgroups, QK in 8 contraction parts)
// on lavapipe with the products emulated (its 29 440 B of workgroup memory fit lavapipe's 32 KiB at 8 subgroups):
// against the float64 reference on keys growing along the sequence (split at 132 and 264 SM parts, unsplit), a
// mutant that drops one latent part (it must fail), random cases, golden cases, magnitudes outside f16's range, the
// RoPE-heavy key, NaN and +inf inputs. The GPU's WGSL runs on the H200
// (test/gpu/webgpu-matrix.test.ts with FLASHMLA_MATRIX_TEST_TILE16=1; scripts/webgpu-tools/h200-tile16.sh).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMatrix5Program } from '../../src/backends/webgpu/kernels/decode-matrix5.js';
import { checkRandomWebGpu } from '../support/webgpu.js';
import { growingCase, matrixTol } from '../support/webgpu-matrix.js';
import { closeToReference, emuBackend, matrixEmuCommonTests } from '../support/matrix-emu.js';

const need = emuBackend({ decodePath: 'matrix', matrix: { emulate: true, lazy: true, tile16: true } });
const close = closeToReference;
/** Runs `body` with the program's source passed through `edit` (and its pipelines keyed apart). */
async function patched(edit: (src: string) => string, tag: string, body: () => Promise<void>): Promise<void> {
  const { source, key } = decodeMatrix5Program;
  decodeMatrix5Program.source = (s) => edit(source.call(decodeMatrix5Program, s));
  decodeMatrix5Program.key = (s) => `${key.call(decodeMatrix5Program, s)}.${tag}`;
  try { await body(); } finally { decodeMatrix5Program.source = source; decodeMatrix5Program.key = key; }
}

describe('webgpu matrix v5 tile16 (emulated products)', () => {
  test('the backend runs tile16 with 8 subgroups', async (t) => {
    const b = need(t);
    if (!b) return;
    let seen = '';
    const get = b.programs.get.bind(b.programs);
    b.programs.get = ((p, spec) => { if (p.name === 'mla_decode_matrix5') seen = p.key(spec); return get(p, spec); }) as typeof b.programs.get;
    try { await close(b, growingCase(), 132, 'growing keys, 132 SMs'); } finally { b.programs.get = get; }
    assert.match(seen, /\.sg8\.emu\.q[12]\.lazy\.t16(\.fo)?$/); // q1 / q2: qOnce, the default since session 24, with qRowLanes where the plan's work items are short (session 25); fo: freshO (session 26)
  });

  // (noPrefetch, a probe, passed the growing keys at 132 and 1 SM parts here and 8/8 checks on the H200; not repeated
  // here: each variant costs llvmpipe a minute or more to compile.)
  test('keys growing along the sequence at 264 and 1 SM parts', async (t) => {
    const b = need(t);
    if (!b) return;
    for (const numSms of [264, 1]) await close(b, growingCase(), numSms, `growing keys, ${numSms} SMs`);
  });

  test('the check can fail: tile16 without its sixth latent part fails the growing keys', async (t) => {
    const b = need(t);
    if (!b) return;
    await patched((s) => {
      assert.ok(s.includes(' + Sc[base + 1280u]'));
      return s.replaceAll(' + Sc[base + 1280u]', '');
    }, 'mutant', () => assert.rejects(close(b, growingCase(), 1, 'growing keys, a part dropped'), /growing keys/));
  });

  test('8 cases of the random matrix (132- and 264-SM plans)', async (t) => {
    const b = need(t);
    if (b) await checkRandomWebGpu(b, 8, 0x7116e, 9400, (i) => (i % 2 ? 132 : 264), matrixTol);
  });

  matrixEmuCommonTests(need);
});

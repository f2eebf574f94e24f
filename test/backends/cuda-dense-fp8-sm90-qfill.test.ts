// What CI can check without a GPU of dense_fp8_sm90.cu's bit 2251799813685248 (session 21, helper s21-f3): the item's
// Q^T fill by 16-byte loads. Emulated here: every word of Q^T (canonical K-major, the alt S^T's dimension order qDimAlt)
// that the cp.async fill writes from (row, dims) is written once by the units of the new fill with the same (row,
// dims), for 16 rows over 8 and 12 consumer warps and 32 rows over 8; and each store of a warp hits 32 banks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

const src = readFileSync(new URL('../../src/backends/cuda/kernels/dense_fp8_sm90.cu', import.meta.url), 'utf8');

const qDimAlt = (ks: number, c: number) => {
  const tq = (c & 7) >> 1, e = (c & 1) + ((c >> 3) << 1);
  return ks < 32 ? 128 * (ks >> 3) + 32 * tq + 4 * (ks & 7) + e : 512 + 16 * tq + 4 * (ks - 32) + e;
};
const canonOff = (nr: number, n: number, k: number) => ((k >> 3) * nr + n) * 16 + (k & 7) * 2;

test('the 16-byte fill writes the words the cp.async fill writes, once each, conflict-free', () => {
  for (const [nr, nc] of [[16, 2], [16, 3], [32, 2]]) {
    const old = new Map<number, string>();
    for (let e = 0; e < nr * 36 * 8; e++) {
      const r = e % nr, pr = Math.floor(e / nr), ks = pr >> 3, c2 = 2 * (pr % 8);
      old.set(canonOff(nr, r, 16 * ks + c2), `${r}:${qDimAlt(ks, c2)}:${qDimAlt(ks, c2 + 1)}`);
    }
    const ni = nr / 8, nu = 5 * nr / 8, nw = 4 * nc, upw = Math.ceil(nu / nw);
    const got = new Map<number, string>();
    for (let cw = 0; cw < nw; cw++) {
      for (let k = 0; k < upw; k++) {
        const u = cw + nw * k;
        if (u >= nu) continue;
        const rope = u >= 4 * ni;
        for (let m = 0; m < (rope ? 2 : 4); m++) {
          for (let x = 0; x < 4; x++) {
            const banks = new Set<number>();
            for (let lane = 0; lane < 32; lane++) {
              const gq = lane >> 2, tq = lane & 3;
              const r = 8 * (rope ? u - 4 * ni : u >> 2) + gq;
              const chunk = (rope ? 64 + 2 * tq : 16 * (u & 3) + 4 * tq) + m;
              const ks0 = rope ? 32 + 2 * m : 8 * (u & 3) + 2 * m;
              const off = ((2 * (ks0 + (x >> 1)) + (x & 1)) * nr + r) * 16 + 4 * tq;
              assert.ok(!got.has(off), `NR ${nr}: offset ${off} written twice`);
              got.set(off, `${r}:${8 * chunk + 2 * x}:${8 * chunk + 2 * x + 1}`);
              banks.add((off >> 2) % 32);
            }
            assert.equal(banks.size, 32, `NR ${nr} unit ${u} chunk ${m} word ${x}: bank conflicts`);
          }
        }
      }
    }
    assert.equal(got.size, old.size);
    for (const [off, v] of old) assert.equal(got.get(off), v, `NR ${nr} ${nc} warpgroups: offset ${off}`);
  }
});

test('the kernel has the fill as emulated, the bits handed to their passes', () => {
  for (const s of [
    '#define MLA_DFP8_QV ((MLA_DENSE_FP8_VAR & 2251799813685248) != 0)',
    'constexpr int NU = 5 * NR / 8, NW = 4 * NC, UPW = (NU + NW - 1) / NW;',
    'const int r = 8 * (rope ? u - 4 * NI : u >> 2) + gq;',
    '(rope ? 64 + 2 * tq : 16 * (u & 3) + 4 * tq);',
    'const int ks0 = rope ? 32 + 2 * m : 8 * (u & 3) + 2 * m;',
    'const uint32_t off = ((2 * (ks0 + (x >> 1)) + (x & 1)) * NR + r) * 16 + 4 * tq, v = w4[x];',
    '#if MLA_DENSE_FP8_VAR & 4503599627370496\n#define MLA_DFP8_P2G 2251799813685248',
    '#if MLA_DENSE_FP8_VAR & 2251799813685248\n#define MLA_DFP8_P3G 2251799813685248',
    '#if MLA_DENSE_FP8_VAR & 9007199254740992\n#define MLA_DFP8_P3H 9007199254740992',
  ]) assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
});

// What CI can check without a GPU of dense_fp8_sm90.cu's bit 134217728 (stale row maxima, session 12): the softmax of
// the alternating-tile design emulated tile by tile as the kernel runs it (two warpgroups on alternate 64-key tiles, f32
// state, P rounded to f16 before the O^T product, the row sums from the unrounded P, the two warpgroups merged at the
// end), with the usual update on every tile and with the stale-maxima rule (a tile keeps the row maxima unless one of its
// scores passes its row's maximum by more than 8, voted over all the warpgroup's rows). Both are compared with the
// float64 softmax on fresh random scores, masked keys and NaN scores; the stale rule must keep P <= 2^8 and must skip
// most tiles on the benchmark's kind of data (its reason to exist).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { f16ToF32, f32ToF16 } from '../../src/core/dtype.js';
import { Rng } from '../support/random.js';

const src = readFileSync(new URL('../../src/backends/cuda/kernels/dense_fp8_sm90.cu', import.meta.url), 'utf8');
const TAU = 8, BN = 64, f = Math.fround;

interface Run { out: number[][]; lse: number[]; maxP: number; tiles: number; updates: number }

/** rows x keys scores (log2 units, -Infinity = masked), keys x cols values; lazy: the stale-maxima rule. */
function emulate(s: number[][], v: number[][], lazy: boolean): Run {
  const rows = s.length, keys = s[0]!.length, cols = v[0]!.length, nTiles = Math.ceil(keys / BN);
  const wg = [0, 1].map(() => ({ m: new Array(rows).fill(-Infinity), l: new Array(rows).fill(0), o: s.map(() => new Array(cols).fill(0)) }));
  let maxP = 0, tiles = 0, updates = 0;
  for (let t = 0; t < nTiles; t++) {
    const w = wg[t % 2]!, k0 = t * BN, k1 = Math.min(keys, k0 + BN);
    tiles++;
    let grow = !lazy;
    if (lazy) for (let r = 0; r < rows; r++) for (let k = k0; k < k1; k++) if (s[r]![k]! > f(w.m[r]! + TAU)) grow = true;
    if (grow) updates++;
    for (let r = 0; r < rows; r++) {
      const mOld = w.m[r]!;
      let mNew = mOld, alpha = 1;
      if (grow) {
        for (let k = k0; k < k1; k++) if (s[r]![k]! > mNew) mNew = s[r]![k]!; // (fmaxf: a NaN score never wins)
        const bse = mNew === -Infinity ? 0 : mNew;
        alpha = f(2 ** f(mOld - bse));
        for (let c = 0; c < cols; c++) w.o[r]![c] = f(w.o[r]![c]! * alpha);
      }
      const bse = mNew === -Infinity ? 0 : mNew;
      let l = f(w.l[r]! * alpha);
      for (let k = k0; k < k1; k++) {
        const p = f(2 ** f(s[r]![k]! - bse));
        if (p > maxP) maxP = p;
        l = f(l + p);
        const ph = f16ToF32(f32ToF16(p));
        for (let c = 0; c < cols; c++) w.o[r]![c] = f(w.o[r]![c]! + f(ph * v[k]![c]!));
      }
      w.l[r] = l;
      w.m[r] = mNew;
    }
  }
  const out: number[][] = [], lse: number[] = [];
  for (let r = 0; r < rows; r++) {
    const [a, b] = wg, m = Math.max(a!.m[r]!, b!.m[r]!), bse = m === -Infinity ? 0 : m;
    const ea = f(2 ** f(a!.m[r]! - bse)), eb = f(2 ** f(b!.m[r]! - bse));
    const l = f(f(ea * a!.l[r]!) + f(eb * b!.l[r]!));
    out.push(a!.o[r]!.map((x, c) => (l === 0 ? 0 : f(f(f(x * ea) + f(b!.o[r]![c]! * eb)) / l))));
    lse.push(l === 0 ? -Infinity : m + Math.log2(l));
  }
  return { out, lse, maxP, tiles, updates };
}

function reference(s: number[][], v: number[][]): { out: number[][]; lse: number[] } {
  return {
    out: s.map((row) => {
      const m = Math.max(...row.filter((x) => !Number.isNaN(x)));
      const e = row.map((x) => (m === -Infinity ? 0 : 2 ** (x - m)));
      const l = e.reduce((a, b) => a + b, 0);
      return v[0]!.map((_, c) => (l === 0 ? 0 : e.reduce((a, p, k) => a + p * v[k]![c]!, 0) / l));
    }),
    lse: s.map((row) => {
      const m = Math.max(...row.filter((x) => !Number.isNaN(x)));
      return m === -Infinity ? -Infinity : m + Math.log2(row.reduce((a, x) => a + 2 ** (x - m), 0));
    }),
  };
}

function randomCase(seed: number, rows: number, keys: number, spread: number, drift = 0) {
  const rng = new Rng(seed);
  const s = Array.from({ length: rows }, () => Array.from({ length: keys }, (_, k) => f((rng.float() * 2 - 1) * spread + drift * Math.floor(k / BN))));
  const v = Array.from({ length: keys }, () => Array.from({ length: 8 }, () => f16ToF32(f32ToF16((rng.float() * 2 - 1) * 4))));
  return { s, v };
}

function maxErr(a: { out: number[][]; lse: number[] }, b: { out: number[][]; lse: number[] }): [number, number] {
  let eo = 0, el = 0;
  a.out.forEach((row, r) => row.forEach((x, c) => { eo = Math.max(eo, Math.abs(x - b.out[r]![c]!)); }));
  a.lse.forEach((x, r) => { el = Math.max(el, x === b.lse[r] ? 0 : Math.abs(x - b.lse[r]!)); });
  return [eo, el];
}

test('the kernel implements the rule emulated here', () => {
  for (const t of ['constexpr float kLazyTau = 8.f;', 'grow = grow || fmaxf(s0, s1) > mOld + kLazyTau;', 'if (groupAny(wg, grow)) {',
    'lPart[i][b] = lPart[i][b] + p0 + p1;', '#define MLA_DFP8_LAZY ((MLA_DENSE_FP8_VAR & 134217728) != 0)',
    '#define MLA_DFP8_P2A 134217728', '#define MLA_DENSE_FP8_VAR (31296 + MLA_DFP8_P2A + MLA_DFP8_P2B + MLA_DFP8_P2D + MLA_DFP8_P2E + MLA_DFP8_P2F + MLA_DFP8_P2G + MLA_DFP8_P2H + MLA_DFP8_P2K)']) assert.ok(src.includes(t), `dense_fp8_sm90.cu contains ${t}`);
});

test('stale maxima: random rows, lengths, score spreads and drifts match float64 as closely as the usual update, P <= 2^8', () => {
  const rng = new Rng(1412);
  let skipped = 0, all = 0;
  for (let i = 0; i < 40; i++) {
    const rows = rng.pick([1, 4, 16]), keys = rng.pick([1, 63, 64, 65, 200, 512, 1024]), spread = rng.pick([0.5, 4, 12, 40]);
    const drift = rng.pick([0, 0, 3, 20]); // (log2 units a tile: 20 forces updates, 3 some)
    const { s, v } = randomCase(rng.u32(), rows, keys, spread, drift);
    // causal-style masking of a row's last keys, as the kernel's selection does
    for (let r = 0; r < rows; r++) for (let k = keys - (r % 3); k < keys; k++) if (k > 0) s[r]![k] = -Infinity;
    const ref = reference(s, v), lazy = emulate(s, v, true), eager = emulate(s, v, false);
    const [lo, ll] = maxErr(lazy, ref), [eo, el] = maxErr(eager, ref);
    assert.ok(lazy.maxP <= 2 ** TAU, `P ${lazy.maxP} <= 256`);
    assert.ok(eager.maxP <= 1);
    // P's f16 rounding (2^-11 relative) over |v| <= 4 bounds both; the stale rule may not be worse than ~the usual one
    assert.ok(lo <= 4 * 2 ** -10 && lo <= 2 * eo + 1e-6, `case ${i}: out error ${lo} (usual ${eo})`);
    assert.ok(ll <= 1e-5 && el <= 1e-5, `case ${i}: lse error ${ll} / ${el}`);
    if (spread <= 4 && drift === 0) skipped += lazy.tiles - lazy.updates, all += lazy.tiles;
  }
  // After each warpgroup's first tile nearly every tile keeps its maxima on data like the benchmark's
  assert.ok(skipped / all > 0.5, `skipped ${skipped} of ${all} tiles`);
});

test('stale maxima: scores that climb by more than 2^8 a tile update every tile; masked rows and NaN scores as usual', () => {
  const { s, v } = randomCase(77, 4, 640, 1, 12); // +12 (log2) a tile: every tile must update
  const lazy = emulate(s, v, true), ref = reference(s, v);
  assert.equal(lazy.updates, lazy.tiles);
  assert.ok(lazy.maxP <= 2 ** TAU);
  assert.ok(maxErr(lazy, ref)[0] <= 4 * 2 ** -10);
  // a fully masked row: output 0, lse -inf (the kernel's empty-row convention comes after)
  const m = randomCase(78, 2, 130, 3);
  m.s[1] = m.s[1]!.map(() => -Infinity);
  const lm = emulate(m.s, m.v, true);
  assert.deepEqual(lm.out[1], new Array(8).fill(0));
  assert.equal(lm.lse[1], -Infinity);
  // a NaN score poisons its row in both updates
  const n = randomCase(79, 2, 200, 3);
  n.s[0]![150] = NaN;
  for (const lazyRule of [true, false]) {
    const e = emulate(n.s, n.v, lazyRule);
    assert.ok(e.out[0]!.every(Number.isNaN), `NaN row (lazy ${lazyRule})`);
    assert.ok(e.out[1]!.every((x) => !Number.isNaN(x)));
  }
});

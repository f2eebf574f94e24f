// A JavaScript model of the subgroup-matrix decode kernel v5's arithmetic (kernels/decode-matrix5.ts), loop for
// loop: tiles of nT keys (16 with 4 subgroups, 32 with 8) converted once to f16 with two power-of-two scales per key
// (its latent columns 0..511, its RoPE columns 512..575), q converted once with one per row, Sᵀ = K Qᵀ as four
// contraction parts (columns 0..175, 176..351, 352..511, 512..575) summed in f32, the latent sum and the RoPE part each
// times 2^(eq + ek - 254) (two exact power-of-two factors), added, times scaleLog2, the exp2-domain softmax on 8 lanes a row (each
// with its own partial sum), P' = 2^(x + log2 ks - y) rounded to f16 with y the row's tile maximum of x + log2 ks,
// O = O * alpha + (P' V) * 2^(y - m) in f32, and the NaN rules (a separate NaN flag per key and per q row; NaN
// values converted to 0). One split per sequence, as the kernel runs when a sequence is one work item.
//
// The products are summed in f32 in column order (the emulated WGSL's order; the tensor cores' order differs only
// in rounding). `opts` can break the scheme on purpose, so the fast suite proves its assertions can fail; three of
// them are v5 as it was before issue #13 (`v5Before13`).
import { type HalfDType, f16ToF32, f32Bits, f32ToF16, halfToF32 } from '../../src/core/dtype.js';
import type { DecodeCase } from './random.js';

const fr = Math.fround;
const NEG = -1e30;
const f16 = (x: number): number => f16ToF32(f32ToF16(x));
const LN2 = fr(0.6931471805599453);

export interface Matrix5ModelOptions {
  /** 8 (32-key tiles, the H200's default) or 4 (16-key tiles, lavapipe's). */
  subgroups?: 4 | 8;
  /** false: keys converted as they are (exponent 127), what the per-key scale is there to avoid. */
  keyScale?: boolean;
  /** false: q rows converted as they are. */
  qScale?: boolean;
  /**
   * true: the bug fixed in 9b5ecf4: a NaN went through the same atomicMax as the finite maximum (as bit 31), so the
   * key's (row's) exponent came out 0 (clamped to 1): its finite values converted times 2^126 (inf in f16).
   */
  nanInMax?: boolean;
  /** false: P' without the key scale (P = 2^(x - m) in f16 straight), so V's scale never enters O. */
  keyScaleInP?: boolean;
  /**
   * true: v5 before issue #13: one exponent over a key's 576 values (the latent columns lose bits when the RoPE
   * columns are far larger) and QK's four parts of 144 columns each, summed before the scales.
   */
  oneKeyScale?: boolean;
  /** true: v5 before issue #13: the score as ((acc * qs) * ks) * scaleLog2, whose acc * qs overflows for q near 1e37. */
  productScore?: boolean;
  /** true: v5 before issue #13: a NaN row sum (a score of +inf) writes lse +inf ("no key"), not NaN. */
  nanSumNoKey?: boolean;
}

/** The three mutations together: v5 as it was before issue #13. */
export const v5Before13: Matrix5ModelOptions = { oneKeyScale: true, productScore: true, nanSumNoKey: true };

/** x * 2^e as the kernel's pow2Mul: two exact power-of-two factors, 2^clamp(e, -126, 127) first. */
export function pow2Mul(x: number, e: number): number {
  const e1 = Math.min(Math.max(e, -126), 127);
  return fr(fr(x * 2 ** e1) * 2 ** (e - e1));
}

/**
 * A key's or q row's 576 values as the kernel converts them: f16 values (NaN to 0), exponent e, the scale 2^(e-127)
 * (NaN where a value is NaN), and whether every converted value is finite.
 */
export function convertRow(xs: ArrayLike<number>, scaled = true, nanInMax = false, split = xs.length): { h: Float64Array; e: number; scale: number; eR: number; finite: boolean } {
  const h = new Float64Array(xs.length);
  let finite = true, anyNan = false;
  // [0, split) and [split, length): one exponent each (split = length: one for all, as v5 does).
  const es = [0, split].filter((from) => from < xs.length).map((from) => {
    const to = from === 0 ? split : xs.length;
    let mb = 0, nan = false;
    for (let i = from; i < to; i++) {
      const x = xs[i];
      if (Number.isNaN(x)) nan = true;
      else if (Number.isFinite(x)) mb = Math.max(mb, f32Bits(Math.abs(x)) >>> 0); // finiteBits4: inf counts as 0
    }
    if (nan && nanInMax) mb = 0; // 0x80000000 & 0x7fffffff
    const e = scaled ? Math.min(Math.max(mb >>> 23, 1), 253) : 127; // expOf
    const down = 2 ** (127 - e); // downOf
    for (let i = from; i < to; i++) {
      h[i] = Number.isNaN(xs[i]) ? 0 : f16(fr(xs[i] * down));
      finite &&= Number.isFinite(h[i]);
    }
    anyNan ||= nan;
    return e;
  });
  return { h, e: es[0], eR: es[es.length - 1], scale: anyNan ? NaN : 2 ** (es[0] - 127), finite };
}

/** out [b, sQ, hQ, 512] as the dtype's bits and lse [b, hQ, sQ], for a uniform-sQ case, as v5 computes them. */
export function matrix5Model(c: DecodeCase, opts: Matrix5ModelOptions = {}): { out: Uint16Array; lse: Float32Array } {
  if (c.qIndptr) throw new Error('matrix5Model: uniform sQ only');
  const { subgroups = 8, keyScale = true, qScale = true, nanInMax = false, keyScaleInP = true, oneKeyScale = false, productScore = false, nanSumNoKey = false } = opts;
  const split = oneKeyScale ? 576 : 512;
  const nT = 4 * subgroups, kpl = nT / 8;
  const toF = halfToF32(c.dtype as HalfDType);
  const enc = c.dtype === 'bf16' ? bf16Rne : f16Bits;
  const nG = c.hQ / c.hKv, R = c.sQ * nG;
  const out = new Uint16Array(c.b * c.sQ * c.hQ * 512), lse = new Float32Array(c.b * c.hQ * c.sQ);
  const scaleLog2 = fr(c.softmaxScale * Math.LOG2E);
  const row576 = (src: Uint16Array, at: number) => Array.from({ length: 576 }, (_, i) => toF(src[at + i]));
  for (let bi = 0; bi < c.b; bi++) {
    const seqlen = c.cacheSeqlens[bi], kBegin = 0, kEnd = seqlen;
    const keyAt = (key: number, kvh: number) => ((c.blockTable[bi * c.maxBlocksPerSeq + Math.floor(key / c.pageBlockSize)] * c.pageBlockSize + (key % c.pageBlockSize)) * c.hKv + kvh) * 576;
    // Every row's arithmetic depends only on its own q, the keys and its own softmax state, never on which rows share
    // its 16-row work item (scales are per q row and per key), so the model takes all rows of a KV head at once.
    for (let kvh = 0; kvh < c.hKv; kvh++) {
      const qAt = (m: number) => ((bi * c.sQ + Math.floor(m / nG)) * c.hQ + kvh * nG + (m % nG)) * 576;
      const qc = Array.from({ length: R }, (_, m) => convertRow(row576(c.q, qAt(m)), qScale, nanInMax));
      const qsr = qc.map((x) => fr(x.scale));
      const vis = Array.from({ length: R }, (_, m) => Math.min(c.causal ? seqlen - c.sQ + Math.floor(m / nG) + 1 : seqlen, kEnd));
      // Per row: m (the same on the row's 8 softmax lanes), each lane's partial sum, the NaN flag, O.
      const M = new Array<number>(R).fill(NEG), nanRow = new Array<boolean>(R).fill(false);
      const Ls = Array.from({ length: R }, () => new Array<number>(8).fill(0));
      const O = Array.from({ length: R }, () => new Float64Array(512));
      for (let k0 = kBegin; k0 < kEnd; k0 += nT) {
        // The tile: keys past kEnd are zero words (keySeg NONE), so exponent 1 and zero values.
        const kc = Array.from({ length: nT }, (_, kk) => (k0 + kk < kEnd
          ? convertRow(row576(c.kCache, keyAt(k0 + kk, kvh)), keyScale, nanInMax, split)
          : convertRow(new Float64Array(576), keyScale, false, split)));
        const Ph = Array.from({ length: R }, () => new Float64Array(nT));
        const alpha = new Array<number>(R), rc = new Array<number>(R);
        for (let r = 0; r < R; r++) {
          const q = qc[r].h;
          const x = new Float64Array(nT), y = new Float64Array(nT);
          for (let kk = 0; kk < nT; kk++) {
            if (k0 + kk >= vis[r]) { x[kk] = NEG; y[kk] = NEG; continue; } // masked: selected out whatever the sum
            const k = kc[kk].h;
            // Four contraction parts, each summed in f32; acc times the row's and the key's scales.
            const bad = Number.isNaN(qsr[r]) || Number.isNaN(kc[kk].scale);
            const scaled = (acc: number, e: number) => (productScore ? fr(fr(acc * qsr[r]) * fr(bad ? NaN : 2 ** (e - 127))) : pow2Mul(acc, qc[r].e + e - 254));
            let sx: number;
            if (oneKeyScale) {
              // Four parts of 144 columns, added left to right, one scale.
              const sAcc = fr(fr(fr(part(q, k, 0) + part(q, k, 144)) + part(q, k, 288)) + part(q, k, 432));
              sx = fr(scaled(sAcc, kc[kk].e) * scaleLog2);
            } else {
              // No part straddles column 512: 11, 11 and 10 steps of 16 (latent, added), 4 (RoPE); each its scale.
              const lat = fr(fr(part(q, k, 0, 176) + part(q, k, 176, 176)) + part(q, k, 352, 160));
              sx = fr(fr(scaled(lat, kc[kk].e) + scaled(part(q, k, 512, 64), kc[kk].eR)) * scaleLog2);
            }
            x[kk] = bad ? NaN : sx;
            y[kk] = fr(fr(x[kk] + (keyScaleInP ? kc[kk].e : 127)) - 127);
          }
          // 8 lanes a row, keys slot * kpl + j: partial maxima (a NaN score marks the slot), then the row's.
          let mNew = M[r], yMax = NEG;
          for (let slot = 0; slot < 8; slot++) {
            let mx = NEG, my = NEG, bad = false;
            for (let j = 0; j < kpl; j++) {
              const kk = slot * kpl + j;
              if (Number.isNaN(x[kk])) bad = true;
              else { mx = Math.max(mx, x[kk]); my = Math.max(my, y[kk]); }
            }
            if (bad) nanRow[r] = true; else mNew = Math.max(mNew, mx);
            yMax = Math.max(yMax, my);
          }
          alpha[r] = fr(2 ** fr(M[r] - mNew));
          for (let slot = 0; slot < 8; slot++) {
            let part = 0;
            for (let j = 0; j < kpl; j++) {
              const kk = slot * kpl + j;
              const live = !Number.isNaN(x[kk]) && x[kk] > NEG * 0.5;
              part = fr(part + (live ? fr(2 ** fr(x[kk] - mNew)) : 0));
              Ph[r][kk] = live ? f16(fr(2 ** fr(y[kk] - yMax))) : 0;
            }
            Ls[r][slot] = fr(fr(Ls[r][slot] * alpha[r]) + part);
          }
          M[r] = mNew;
          rc[r] = fr(2 ** fr(yMax - mNew));
        }
        // PV: V is the tile's first 512 columns in place (times 1 / its key's scale); f32 sums over the tile's keys.
        // A key with P' = 0 and finite values adds exact zeros, so it is skipped; 0 times inf (a broken scale) is not.
        const kh = kc.map((k) => k.h);
        const terms = Ph.map((p) => kc.map((_, kk) => kk).filter((kk) => p[kk] !== 0 || !kc[kk].finite));
        for (let col = 0; col < 512; col++) {
          for (let r = 0; r < R; r++) {
            const acc = pvSum(Ph[r], terms[r], kh, col);
            O[r][col] = fr(O[r][col] * alpha[r] + fr(acc * rc[r])); // fma
          }
        }
      }
      for (let m = 0; m < R; m++) {
        const j = Math.floor(m / nG), h = kvh * nG + (m % nG);
        let ls = 0;
        for (let slot = 0; slot < 8; slot++) ls = slot === 0 ? Ls[m][0] : fr(ls + Ls[m][slot]);
        const inv = ls > 0 ? fr(1 / ls) : 0;
        for (let col = 0; col < 512; col++) out[((bi * c.sQ + j) * c.hQ + h) * 512 + col] = enc(nanRow[m] ? NaN : fr(O[m][col] * inv));
        const nr = nanRow[m] || (!nanSumNoKey && Number.isNaN(ls));
        const v = nr ? NaN : fr(fr(M[m] + fr(Math.log2(ls))) * LN2);
        lse[(bi * c.hQ + h) * c.sQ + j] = ls > 0 || nr ? v : Infinity;
      }
    }
  }
  return { out, lse };
}

// The hot loops as small functions, which V8 optimises after a few calls (one large loop nest takes seconds to).
/** One contraction part: 144 (n) products of f16 values (exact in f32) summed in f32 in column order. */
function part(q: Float64Array, k: Float64Array, from: number, n = 144): number {
  let x = 0;
  for (let i = from; i < from + n; i++) x = fr(x + q[i] * k[i]);
  return x;
}

/** One element of P' V: the tile's keys `terms` in order, f16 x f16 summed in f32. */
function pvSum(p: Float64Array, terms: number[], kh: Float64Array[], col: number): number {
  let x = 0;
  for (const kk of terms) x = fr(x + p[kk] * kh[kk][col]);
  return x;
}

function f16Bits(x: number): number {
  return Number.isNaN(x) ? 0x7e00 : f32ToF16(x);
}

function bf16Rne(x: number): number {
  const b = f32Bits(x) >>> 0;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

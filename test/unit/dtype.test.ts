// Bit-exact conversions, checked over every bit pattern against values built here from the format definitions
// in float64 (never by calling the conversion under test twice).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bf16ToF32, bitsF32, decodeHalf, encodeHalf, f16ToF32, f32Bits, f32ToBf16, f32ToF16, f32ToFp8e4m3, fp8e4m3ToF32,
} from '../../src/core/dtype.js';
import { Rng } from '../support/random.js';

/** A binary floating format: sign, `eBits` exponent bits (bias 2^(eBits-1) - 1), `mBits` mantissa bits. */
interface Format { name: string; bits: number; eBits: number; mBits: number; fn?: boolean }
const bf16: Format = { name: 'bf16', bits: 16, eBits: 8, mBits: 7 };
const f16: Format = { name: 'f16', bits: 16, eBits: 5, mBits: 10 };
/** e4m3 "fn": no infinities; only S.1111.111 is NaN, so the top binade holds finite values up to 448. */
const e4m3: Format = { name: 'fp8_e4m3', bits: 8, eBits: 4, mBits: 3, fn: true };

/** The exact value of a bit pattern, from the definition. */
function valueOf(f: Format, v: number): number {
  const sign = (v >> (f.bits - 1)) & 1 ? -1 : 1;
  const e = (v >> f.mBits) & ((1 << f.eBits) - 1), m = v & ((1 << f.mBits) - 1);
  const bias = (1 << (f.eBits - 1)) - 1, eMax = (1 << f.eBits) - 1;
  if (f.fn && e === eMax && m === (1 << f.mBits) - 1) return NaN;
  if (!f.fn && e === eMax) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - f.mBits);
  return sign * (1 + m / 2 ** f.mBits) * 2 ** (e - bias);
}

const signBit = (f: Format) => 1 << (f.bits - 1);
const isNanPattern = (f: Format, v: number) => Number.isNaN(valueOf(f, v));
const f32SignOf = (x: number) => f32Bits(x) >>> 31;

/** Next f32 away from zero / toward zero (x finite, nonzero for `down`). */
const f32Up = (x: number) => bitsF32(f32Bits(x) + 1);
const f32Down = (x: number) => bitsF32(f32Bits(x) - 1);

/**
 * The positive non-NaN patterns of a format in increasing order (+0 first; Inf last where the format has it),
 * which for these formats is simply increasing bit patterns.
 */
function positivePatterns(f: Format): number[] {
  const out: number[] = [];
  for (let v = 0; v < signBit(f); v++) if (!isNanPattern(f, v)) out.push(v);
  return out;
}

/** Round x (an f32 value) to the nearest pattern of f, ties to the even pattern, by search over exact values. */
function roundIndependent(f: Format, sorted: number[], x: number): number {
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let lo = 0, hi = sorted.length - 1;
  while (lo < hi) { // largest pattern whose value <= a
    const mid = (lo + hi + 1) >> 1;
    if (valueOf(f, sorted[mid]) <= a) lo = mid; else hi = mid - 1;
  }
  let r = sorted[lo];
  if (lo + 1 < sorted.length) {
    // IEEE rounds to Inf as if it sat one ulp above the largest finite value.
    const next = valueOf(f, sorted[lo + 1]) === Infinity ? 2 * valueOf(f, sorted[lo]) - valueOf(f, sorted[lo - 1]) : valueOf(f, sorted[lo + 1]);
    const below = a - valueOf(f, sorted[lo]), above = next - a;
    if (above < below || (above === below && (sorted[lo + 1] & 1) === 0)) r = sorted[lo + 1];
  }
  return neg ? r | signBit(f) : r;
}

function checkDecodeAll(f: Format, decode: (v: number) => number): void {
  for (let v = 0; v < 2 ** f.bits; v++) {
    const want = valueOf(f, v), got = decode(v);
    if (Number.isNaN(want)) {
      assert.ok(Number.isNaN(got), `${f.name} ${hex(v)} should decode to NaN, got ${got}`);
    } else {
      assert.ok(Object.is(got, want), `${f.name} ${hex(v)}: got ${got}, expected ${want}`);
    }
  }
}

/** f32 bits with the quiet bit set when they are a NaN (signalling NaNs do not survive a JS number). */
const quiet = (bits: number) => ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff ? (bits | 0x400000) >>> 0 : bits);
const hex = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;

describe('bf16', () => {
  test('decode: every pattern is its exact value (NaN payload and sign kept)', () => {
    checkDecodeAll(bf16, bf16ToF32);
    for (let v = 0; v < 65536; v++) {
      // A JS number cannot carry a signalling NaN (the f32 -> f64 load quiets it), so the quiet bit is free.
      if (isNanPattern(bf16, v)) assert.equal(quiet(f32Bits(bf16ToF32(v))), quiet((v << 16) >>> 0), `bf16 NaN ${hex(v)} keeps sign and payload`);
    }
  });

  test('encode(decode(h)) is h for every non-NaN pattern; NaN stays a quiet NaN of the same sign', () => {
    for (let v = 0; v < 65536; v++) {
      const back = f32ToBf16(bf16ToF32(v));
      if (isNanPattern(bf16, v)) {
        assert.ok(isNanPattern(bf16, back), `NaN ${hex(v)} -> ${hex(back)}`);
        assert.equal(back >> 15, v >> 15, `NaN ${hex(v)} keeps its sign`);
        assert.ok(back & 0x40, `NaN ${hex(v)} -> ${hex(back)} is quiet`);
      } else {
        assert.equal(back, v, `bf16 ${hex(v)} round trip gave ${hex(back)}`);
      }
    }
  });

  test('rounding at every midpoint between adjacent values: ties to even, just above and below', () => checkMidpoints(bf16, f32ToBf16));

  test('overflow: values past the max finite bf16 rounding up become Inf', () => {
    const max = valueOf(bf16, 0x7f7f);
    assert.equal(f32ToBf16(max), 0x7f7f);
    assert.equal(f32ToBf16(-max), 0xff7f);
    assert.equal(f32ToBf16(3.4028234663852886e38), 0x7f80); // f32 max rounds up to Inf
    assert.equal(f32ToBf16(Infinity), 0x7f80);
    assert.equal(f32ToBf16(-Infinity), 0xff80);
  });

  test('f32 NaNs (signalling, negative, payloads) become quiet NaNs of the same sign', () => checkF32Nans(bf16, f32ToBf16, 0x40));

  test('random f32 patterns round like the exact nearest search', () => checkRandomF32(bf16, f32ToBf16, 1));

  test('bulk decodeHalf / encodeHalf agree with the scalar conversions', () => checkBulk('bf16', bf16ToF32, f32ToBf16));
});

describe('f16', () => {
  test('decode: every pattern is its exact value (subnormals, ±0, ±Inf)', () => {
    checkDecodeAll(f16, f16ToF32);
    for (let v = 0; v < 65536; v++) {
      if (isNanPattern(f16, v)) assert.equal(f32SignOf(f16ToF32(v)), v >> 15, `f16 NaN ${hex(v)} keeps its sign`);
    }
  });

  test('encode(decode(h)) is h for every non-NaN pattern; NaN stays a quiet NaN of the same sign', () => {
    for (let v = 0; v < 65536; v++) {
      const back = f32ToF16(f16ToF32(v));
      if (isNanPattern(f16, v)) {
        assert.ok(isNanPattern(f16, back), `NaN ${hex(v)} -> ${hex(back)}`);
        assert.equal(back >> 15, v >> 15, `NaN ${hex(v)} keeps its sign`);
        assert.ok(back & 0x200, `NaN ${hex(v)} -> ${hex(back)} is quiet`);
        if (v & 0x200) assert.equal(back, v, `quiet NaN ${hex(v)} keeps its payload`);
      } else {
        assert.equal(back, v, `f16 ${hex(v)} round trip gave ${hex(back)}`);
      }
    }
  });

  test('rounding at every midpoint between adjacent values: ties to even, just above and below', () => checkMidpoints(f16, f32ToF16));

  test('overflow to Inf, underflow to signed zero', () => {
    assert.equal(f32ToF16(65504), 0x7bff);
    assert.equal(f32ToF16(65519.99609375), 0x7bff); // just below the midpoint 65520
    assert.equal(f32ToF16(65520), 0x7c00); // the midpoint: 0x7bff is odd, so ties go to Inf
    assert.equal(f32ToF16(1e10), 0x7c00);
    assert.equal(f32ToF16(-1e10), 0xfc00);
    assert.equal(f32ToF16(Infinity), 0x7c00);
    assert.equal(f32ToF16(-Infinity), 0xfc00);
    assert.equal(f32ToF16(2 ** -25), 0x0000); // half the smallest subnormal: tie to even (0)
    assert.equal(f32ToF16(f32Up(2 ** -25)), 0x0001);
    assert.equal(f32ToF16(-(2 ** -26)), 0x8000);
    assert.equal(f32ToF16(1e-30), 0x0000);
    assert.equal(f32ToF16(-1e-45), 0x8000); // an f32 subnormal
    assert.equal(f32ToF16(-0), 0x8000);
  });

  test('f32 NaNs (signalling, negative, payloads) become quiet NaNs of the same sign', () => checkF32Nans(f16, f32ToF16, 0x200));

  test('random f32 patterns round like the exact nearest search', () => checkRandomF32(f16, f32ToF16, 2));

  test('bulk decodeHalf / encodeHalf agree with the scalar conversions', () => checkBulk('f16', f16ToF32, f32ToF16));
});

describe('fp8 e4m3fn', () => {
  test('decode: all 256 patterns (max 448, S.1111.111 NaN, no Inf)', () => {
    checkDecodeAll(e4m3, fp8e4m3ToF32);
    assert.equal(fp8e4m3ToF32(0x7e), 448);
    assert.equal(fp8e4m3ToF32(0x78), 256); // e = 15 holds finite values in the fn variant
    assert.equal(fp8e4m3ToF32(0x01), 2 ** -9);
    assert.ok(Number.isNaN(fp8e4m3ToF32(0x7f)) && Number.isNaN(fp8e4m3ToF32(0xff)));
  });

  test('encode(decode(v)) is v for all 254 non-NaN patterns, with and without saturate', () => {
    for (let v = 0; v < 256; v++) {
      if (isNanPattern(e4m3, v)) continue;
      assert.equal(f32ToFp8e4m3(fp8e4m3ToF32(v)), v, `e4m3 ${hex(v)}`);
      assert.equal(f32ToFp8e4m3(fp8e4m3ToF32(v), true), v, `e4m3 ${hex(v)} (saturate)`);
    }
  });

  test('rounding at every midpoint between adjacent finite values: ties to even, just above and below', () => {
    checkMidpoints(e4m3, (x) => f32ToFp8e4m3(x));
  });

  test('overflow: a value that rounds past 448 (and ±Inf) is NaN, or ±448 with saturate (PyTorch float8_e4m3fn)', () => {
    // 464 is the midpoint between 448 (mantissa 110, even) and the 480 slot that is NaN: the tie goes to 448.
    for (const [x, want] of [[464, 0x7e], [f32Down(464), 0x7e], [f32Up(464), 0x7f], [479.9, 0x7f], [480, 0x7f], [1e6, 0x7f], [Infinity, 0x7f]] as const) {
      const got = f32ToFp8e4m3(x);
      assert.equal(got & 0x7f, want, `${x} -> ${hex(got)}`);
      assert.equal(got & 0x80, 0, `${x} -> positive`);
      const neg = f32ToFp8e4m3(-x);
      assert.equal(neg, want === 0x7f ? 0xff : 0xfe, `${-x} -> ${hex(neg)}`);
      assert.equal(f32ToFp8e4m3(x, true), 0x7e, `${x} saturates to 448`);
      assert.equal(f32ToFp8e4m3(-x, true), 0xfe, `${-x} saturates to -448`);
    }
    assert.equal(f32ToFp8e4m3(NaN) & 0x7f, 0x7f);
    assert.equal(f32ToFp8e4m3(NaN, true) & 0x7f, 0x7f, 'saturate keeps NaN');
    assert.equal(f32ToFp8e4m3(-NaN) & 0x7f, 0x7f);
  });

  test('underflow to signed zero', () => {
    assert.equal(f32ToFp8e4m3(2 ** -10), 0x00); // half the smallest subnormal: tie to even
    assert.equal(f32ToFp8e4m3(f32Up(2 ** -10)), 0x01);
    assert.equal(f32ToFp8e4m3(-(2 ** -12)), 0x80);
    assert.equal(f32ToFp8e4m3(-0), 0x80);
    assert.equal(f32ToFp8e4m3(1e-40), 0x00);
  });

  test('random f32 patterns round like the exact nearest search (NaN past 464)', () => {
    const sorted = positivePatterns(e4m3);
    const rng = new Rng(3);
    for (let k = 0; k < 200_000; k++) {
      // Exponents concentrated on the e4m3 range so most samples are interesting.
      const x = bitsF32(((rng.u32() & 0x80000000) | ((rng.int(100, 140) << 23) >>> 0) | (rng.u32() & 0x7fffff)) >>> 0);
      const got = f32ToFp8e4m3(x);
      if (Math.abs(x) > 464) { assert.equal(got & 0x7f, 0x7f, `${x}`); continue; }
      assert.equal(got, roundIndependent(e4m3, sorted, x), `${x}`);
    }
  });
});

/** For adjacent patterns lo < hi (both signs): the midpoint ties to the even one; one f32 step off it does not. */
function checkMidpoints(f: Format, encode: (x: number) => number): void {
  const pos = positivePatterns(f);
  let n = 0;
  for (let k = 0; k + 1 < pos.length; k++) {
    const lo = pos[k], hi = pos[k + 1];
    const a = valueOf(f, lo), b = valueOf(f, hi);
    const mid = b === Infinity ? valueOf(f, lo) + (valueOf(f, lo) - valueOf(f, lo - 1)) / 2 : (a + b) / 2;
    assert.equal(Math.fround(mid), mid, `${f.name}: midpoint ${mid} is an f32`);
    const even = (lo & 1) === 0 ? lo : hi;
    for (const s of [0, signBit(f)]) {
      const sg = s ? -1 : 1;
      assert.equal(encode(sg * mid), even | s, `${f.name}: midpoint ${sg * mid} of ${hex(lo | s)} and ${hex(hi | s)}`);
      assert.equal(encode(sg * f32Down(mid)), lo | s, `${f.name}: just below midpoint ${sg * mid}`);
      assert.equal(encode(sg * f32Up(mid)), hi | s, `${f.name}: just above midpoint ${sg * mid}`);
      assert.equal(encode(sg * a), lo | s);
      n++;
    }
  }
  assert.ok(n > (f.bits === 16 ? 60000 : 240), `${f.name}: ${n} midpoints checked`);
}

function checkF32Nans(f: Format, encode: (x: number) => number, quietBit: number): void {
  for (const bits of [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7fe12345, 0xffa00000]) {
    const x = bitsF32(bits), h = encode(x);
    assert.ok(isNanPattern(f, h), `${f.name}: f32 NaN 0x${bits.toString(16)} -> ${hex(h)}`);
    assert.equal(h >> 15, bits >>> 31, `${f.name}: f32 NaN 0x${bits.toString(16)} keeps its sign`);
    assert.ok(h & quietBit, `${f.name}: f32 NaN 0x${bits.toString(16)} -> quiet`);
  }
}

function checkRandomF32(f: Format, encode: (x: number) => number, seed: number): void {
  const sorted = positivePatterns(f);
  const rng = new Rng(seed);
  for (let k = 0; k < 300_000; k++) {
    // Half the samples anywhere in f32, half with exponents near the format's range (subnormals and overflow).
    const bits = k & 1 ? rng.u32() : ((rng.u32() & 0x80000000) | ((rng.int(95, 145) << 23) >>> 0) | (rng.u32() & 0x7fffff)) >>> 0;
    const x = bitsF32(bits);
    if (Number.isNaN(x)) continue;
    assert.equal(encode(x), roundIndependent(f, sorted, x), `${f.name}: f32 0x${bits.toString(16)} = ${x}`);
  }
}

function checkBulk(dtype: 'bf16' | 'f16', decode: (v: number) => number, encode: (x: number) => number): void {
  const all = new Uint16Array(65536).map((_, i) => i);
  const dec = decodeHalf(dtype, all);
  for (let v = 0; v < 65536; v++) assert.equal(quiet(f32Bits(dec[v])), quiet(f32Bits(decode(v))), `${dtype} decodeHalf ${hex(v)}`);
  const xs = new Float32Array(4096);
  const rng = new Rng(11);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.normal() * 2 ** rng.int(-30, 20);
  const enc = encodeHalf(dtype, xs);
  for (let i = 0; i < xs.length; i++) assert.equal(enc[i], encode(xs[i]));
}

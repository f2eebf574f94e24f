// Element types and bit-exact conversions between their raw bit patterns and float32.
// Every narrowing conversion rounds to nearest, ties to even (IEEE 754 default), keeps the sign of zero,
// handles subnormals, and turns NaN into a quiet NaN of the same sign. Browser-safe: no Node imports.
import { invalidArgument, outOfMemory } from './errors.js';

export type DType = 'bf16' | 'f16' | 'f32' | 'f64' | 'i32' | 'fp8_e4m3';

/** The 16-bit floating types that q, the cache and out may have. */
export type HalfDType = 'bf16' | 'f16';

export const dtypeBytes: Readonly<Record<DType, number>> = {
  bf16: 2, f16: 2, f32: 4, f64: 8, i32: 4, fp8_e4m3: 1,
};

export type HostArray = Uint16Array | Float32Array | Float64Array | Int32Array | Uint8Array;

/** The typed array class that holds raw elements of each dtype on the host (16-bit floats as bit patterns). */
export const hostArrayTypes = {
  bf16: Uint16Array, f16: Uint16Array, f32: Float32Array, f64: Float64Array, i32: Int32Array, fp8_e4m3: Uint8Array,
} as const satisfies Record<DType, unknown>;

export function checkDtypeName(name: string, dtype: unknown): asserts dtype is DType {
  if (typeof dtype !== 'string' || !Object.hasOwn(dtypeBytes, dtype)) {
    throw invalidArgument(name, `one of ${Object.keys(dtypeBytes).join(', ')}`, String(dtype));
  }
}

/**
 * A zero-filled typed array for `length` raw elements of `dtype`. A length the engine cannot allocate becomes
 * FlashMlaError('out_of_memory') naming the request, instead of the engine's RangeError.
 */
export function hostArrayFor(dtype: DType, length: number, what = 'host tensor'): HostArray {
  checkDtypeName('dtype', dtype);
  if (!Number.isSafeInteger(length) || length < 0) throw invalidArgument(`${what} length`, 'a non-negative safe integer', String(length));
  try {
    return new hostArrayTypes[dtype](length);
  } catch (e) {
    if (e instanceof RangeError) throw outOfMemory(`${what} (${length} ${dtype} elements)`, length * dtypeBytes[dtype], 'the JavaScript engine refused the allocation', e);
    throw e;
  }
}

/** Same as hostArrayFor, over a SharedArrayBuffer (worker threads read it in place). */
export function sharedArrayFor(dtype: DType, length: number, what = 'shared host tensor'): HostArray {
  checkDtypeName('dtype', dtype);
  if (!Number.isSafeInteger(length) || length < 0) throw invalidArgument(`${what} length`, 'a non-negative safe integer', String(length));
  const bytes = Math.max(8, length * dtypeBytes[dtype]);
  try {
    // (the view can fail where the buffer did not: a SharedArrayBuffer may be reserved lazily, and a typed array has
    // its own length limit)
    return new hostArrayTypes[dtype](new SharedArrayBuffer(bytes) as unknown as ArrayBuffer, 0, length);
  } catch (e) {
    if (e instanceof RangeError) throw outOfMemory(`${what} (${length} ${dtype} elements)`, bytes, 'the JavaScript engine refused the allocation', e);
    throw e;
  }
}

// One scratch word shared by the scalar conversions (reinterpreting f32 <-> u32).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32Bits(x: number): number { f32[0] = x; return u32[0]; }
export function bitsF32(bits: number): number { u32[0] = bits >>> 0; return f32[0]; }

// ---------------------------------------------------------------- bf16: the top 16 bits of an f32
export function bf16ToF32(h: number): number { return bitsF32((h & 0xffff) << 16); }

export function f32ToBf16(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x0040; // NaN: keep sign and payload top, force quiet
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;     // carries into the exponent give Inf correctly
}

// ---------------------------------------------------------------- f16: 1 sign, 5 exponent, 10 mantissa bits
const f16Table = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    if (e === 31 && m) t[h] = bitsF32((h & 0x8000) << 16 | 0x7f800000 | m << 13); // keep NaN sign and payload
  }
  return t;
})();

export function f16ToF32(h: number): number { return f16Table[h & 0xffff]; }

export function f32ToF16(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff) return man ? sign | 0x7e00 | (man >>> 13) : sign | 0x7c00;
  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand right, rounding to nearest even.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const full = man | 0x800000;
    const shift = 14 - e; // 24-bit significand -> 10-bit subnormal mantissa
    const kept = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    const up = rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0;
    return sign | (kept + up); // a carry into bit 10 makes the smallest normal, which is right
  }
  const kept = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  const up = rest > 0x1000 || (rest === 0x1000 && (kept & 1) === 1) ? 1 : 0;
  return sign | (kept + up); // a carry may reach exponent 31 (Inf), which is right
}

// ---------------------------------------------------------------- fp8 e4m3 ("fn": no Inf, S.1111.111 is NaN, max 448)
const fp8Table = (() => {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    const s = v & 0x80 ? -1 : 1, e = (v >> 3) & 0xf, m = v & 7;
    t[v] = e === 15 && m === 7 ? NaN : e === 0 ? s * m * 2 ** -9 : s * (1 + m / 8) * 2 ** (e - 7);
  }
  return t;
})();

export function fp8e4m3ToF32(v: number): number { return fp8Table[v & 0xff]; }

/**
 * f32 -> e4m3fn, round to nearest even. Like PyTorch's float8_e4m3fn cast, values whose rounding exceeds 448
 * (and +-Inf) become NaN unless `saturate`, which clamps them to +-448 (NaN stays NaN).
 */
export function f32ToFp8e4m3(x: number, saturate = false): number {
  const b = f32Bits(x);
  const sign = (b >>> 24) & 0x80;
  const exp = (b >>> 23) & 0xff;
  const man = b & 0x7fffff;
  if (exp === 0xff && man) return sign | 0x7f;
  if (exp === 0xff) return saturate ? sign | 0x7e : sign | 0x7f;
  const e = exp - 127 + 7;
  let r: number;
  if (e <= 0) {
    if (e < -3) return sign; // below half the smallest subnormal (2^-10)
    const full = man | 0x800000;
    const shift = 21 - e; // 24-bit significand -> 3-bit subnormal mantissa
    const kept = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    r = kept + (rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0);
  } else {
    const kept = (Math.min(e, 16) << 3) | (man >>> 20);
    const rest = man & 0xfffff;
    r = kept + (rest > 0x80000 || (rest === 0x80000 && (kept & 1) === 1) ? 1 : 0);
  }
  if (r > 0x7e) return saturate ? sign | 0x7e : sign | 0x7f;
  return sign | r;
}

// ---------------------------------------------------------------- bulk helpers
export function halfToF32(dtype: HalfDType): (h: number) => number {
  return dtype === 'bf16' ? bf16ToF32 : f16ToF32;
}
export function f32ToHalf(dtype: HalfDType): (x: number) => number {
  return dtype === 'bf16' ? f32ToBf16 : f32ToF16;
}

/** Decode a whole array of 16-bit patterns into f32 (fast path for bf16: a shift into the high half). */
export function decodeHalf(dtype: HalfDType, src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  if (dtype === 'bf16') {
    const d = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
    for (let i = 0; i < src.length; i++) d[i] = src[i] << 16;
  } else {
    for (let i = 0; i < src.length; i++) dst[i] = f16Table[src[i]];
  }
  return dst;
}

export function encodeHalf(dtype: HalfDType, src: ArrayLike<number>, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (dtype === 'bf16' && src instanceof Float32Array) {
    // Fast path (the MLA layer converts millions of query values a step): f32ToBf16 inlined on the raw bits.
    const b = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < b.length; i++) {
      const x = b[i];
      dst[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x0040 : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
    }
    return dst;
  }
  const f = f32ToHalf(dtype);
  for (let i = 0; i < src.length; i++) dst[i] = f(src[i]);
  return dst;
}

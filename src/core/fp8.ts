// FlashMLA's two FP8 latent-cache formats, byte for byte (FlashMLA 9241ae3, tests/quant.py), and the quantizer
// that writes them. Browser-safe: no Node imports.
//
//   V3.2   (dQk 576): 656 bytes a token, tokens back to back in a block:
//          [0, 512) e4m3 NoPE dims 0..511 | [512, 528) 4 f32 scales (dims 128j..128j+127) | [528, 656) 64 bf16 RoPE.
//   MODEL1 (dQk 512): 584 bytes a token, laid out per block of B tokens, block stride ceil(B*584/576)*576:
//          token t at t*576: 448 e4m3 NoPE (dims 0..447) + 64 bf16 RoPE (dims 448..511);
//          at B*576 + t*8: 7 UE8M0 scales (dims 64j..64j+63) + 1 pad byte; then zero padding.
// A tile's scale is s = 2^ceil(log2(max(amax/448, 1e-4))), computed in f32 as torch does; the stored value is
// e4m3fn(x / s) and the dequantized one e4m3(byte) * s, exact in f32 (s is a power of two).
import { bf16ToF32, f32ToBf16, f32ToFp8e4m3, fp8e4m3ToF32 } from './dtype.js';
import { describeValue, invalidArgument } from './errors.js';

export type Fp8Format = 'v32' | 'model1';

export interface Fp8Layout {
  readonly format: Fp8Format;
  /** Head dimension of q and of a dequantized token. */
  readonly dQk: number;
  /** Quantized (NoPE) dims, then `rope` raw bf16 dims. */
  readonly nope: number;
  readonly rope: number;
  /** Dims per scale. */
  readonly tile: number;
  readonly bytesPerToken: number;
  /** V = the first dV dims of the dequantized token (V3.2: the NoPE part; MODEL1: NoPE + RoPE). */
  readonly dV: number;
}

export const fp8Layouts: Readonly<Record<Fp8Format, Fp8Layout>> = {
  v32: { format: 'v32', dQk: 576, nope: 512, rope: 64, tile: 128, bytesPerToken: 656, dV: 512 },
  model1: { format: 'model1', dQk: 512, nope: 448, rope: 64, tile: 64, bytesPerToken: 584, dV: 512 },
};

/** Whether a cache kind (a sparse cache's `kind`: an FP8 format or a 16-bit dtype) is one of FlashMLA's FP8 formats. */
export function isFp8Format(kind: string): kind is Fp8Format {
  return Object.hasOwn(fp8Layouts, kind);
}

/** A format named by a caller: one of the two, or a typed error naming the argument (not an inherited property name). */
export function checkFp8Format(name: string, format: unknown): asserts format is Fp8Format {
  if (typeof format !== 'string' || !isFp8Format(format)) throw invalidArgument(name, "'v32' or 'model1'", describeValue(format));
}

/** FlashMLA picks the format from q's head dimension: 576 -> V3.2, 512 -> MODEL1. */
export function fp8FormatForDqk(dQk: number): Fp8Format | undefined {
  return dQk === 576 ? 'v32' : dQk === 512 ? 'model1' : undefined;
}

export function fp8FormatForBytes(bytesPerToken: number): Fp8Format | undefined {
  return bytesPerToken === 656 ? 'v32' : bytesPerToken === 584 ? 'model1' : undefined;
}

/** Bytes from one page block to the next. */
export function fp8BlockStride(format: Fp8Format, pageBlockSize: number): number {
  return format === 'v32' ? pageBlockSize * 656 : Math.ceil((pageBlockSize * 584) / 576) * 576;
}

// ---------------------------------------------------------------- UE8M0: an unsigned biased exponent, 0xFF = NaN
export function ue8m0ToF32(b: number): number {
  b &= 0xff;
  return b === 0xff ? NaN : 2 ** (b - 127);
}

/** Power of two (or NaN) -> UE8M0 byte, rounding the exponent up as torch's float8_e8m0fnu cast does for s > 0. */
export function f32ToUe8m0(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 0xff;
  const e = Math.ceil(Math.log2(x));
  return Math.min(254, Math.max(0, e + 127));
}

const minScale = Math.fround(1e-4);

/**
 * The tile scale for a tile whose largest |x| is amax (f32 arithmetic, as torch on the CPU):
 * 2^ceil(log2(max(fround(amax / 448), 1e-4))). NaN amax gives NaN.
 */
export function fp8TileScale(amax: number): number {
  if (Number.isNaN(amax)) return NaN;
  const r = Math.max(Math.fround(amax / 448), minScale);
  // torch's f32 log2 is correctly rounded to f32; rounding the double result agrees with it.
  return 2 ** Math.ceil(Math.fround(Math.log2(r)));
}

/** Where one token lives in a cache of the given format: byte offsets of its NoPE, RoPE and scales. */
export interface TokenAddress { nope: number; rope: number; scales: number }

export function fp8TokenAddress(format: Fp8Format, pageBlockSize: number, block: number, slot: number, base = 0): TokenAddress {
  if (format === 'v32') {
    const t = base + block * pageBlockSize * 656 + slot * 656;
    return { nope: t, rope: t + 528, scales: t + 512 };
  }
  const blk = base + block * fp8BlockStride('model1', pageBlockSize);
  const t = blk + slot * 576;
  return { nope: t, rope: t + 448, scales: blk + pageBlockSize * 576 + slot * 8 };
}

const scaleBytes = new Uint8Array(4);
const scaleView = new DataView(scaleBytes.buffer);

/**
 * Quantize one token (dQk values as raw bf16 bits) into `cache` at physical token `block * pageBlockSize + slot`,
 * writing exactly FlashMLA's bytes. MODEL1's pad byte is written as 0.
 */
export function quantizeToken(
  format: Fp8Format, src: Uint16Array, srcOffset: number, cache: Uint8Array, pageBlockSize: number, block: number, slot: number, base = 0,
): void {
  const L = fp8Layouts[format];
  const a = fp8TokenAddress(format, pageBlockSize, block, slot, base);
  for (let j = 0; j < L.nope / L.tile; j++) {
    const d0 = j * L.tile;
    let amax = 0;
    for (let d = d0; d < d0 + L.tile; d++) {
      const v = Math.abs(bf16ToF32(src[srcOffset + d]));
      if (!(v <= amax)) amax = v; // a NaN sticks (torch's amax propagates NaN)
    }
    const s = fp8TileScale(amax);
    for (let d = d0; d < d0 + L.tile; d++) cache[a.nope + d] = f32ToFp8e4m3(Math.fround(bf16ToF32(src[srcOffset + d]) / s));
    if (format === 'v32') {
      scaleView.setFloat32(0, s, true);
      cache.set(scaleBytes, a.scales + 4 * j);
    } else {
      cache[a.scales + j] = f32ToUe8m0(s);
    }
  }
  if (format === 'model1') cache[a.scales + 7] = 0;
  for (let d = 0; d < L.rope; d++) {
    const h = src[srcOffset + L.nope + d];
    cache[a.rope + 2 * d] = h & 0xff;
    cache[a.rope + 2 * d + 1] = h >>> 8;
  }
}

/** The scale of tile j of a token (f32, a power of two, or NaN). */
export function fp8ReadScale(format: Fp8Format, cache: Uint8Array, a: TokenAddress, j: number): number {
  if (format === 'model1') return ue8m0ToF32(cache[a.scales + j]);
  const o = a.scales + 4 * j;
  scaleBytes[0] = cache[o]; scaleBytes[1] = cache[o + 1]; scaleBytes[2] = cache[o + 2]; scaleBytes[3] = cache[o + 3];
  return scaleView.getFloat32(0, true);
}

/** Dequantize one token into dst[dstOffset .. + dQk) (exact values: e4m3 * power-of-two scale; bf16 RoPE). */
export function dequantizeToken(
  format: Fp8Format, cache: Uint8Array, pageBlockSize: number, block: number, slot: number,
  dst: Float32Array | Float64Array, dstOffset = 0, base = 0,
): void {
  const L = fp8Layouts[format];
  const a = fp8TokenAddress(format, pageBlockSize, block, slot, base);
  for (let j = 0; j < L.nope / L.tile; j++) {
    const s = fp8ReadScale(format, cache, a, j);
    for (let d = j * L.tile; d < (j + 1) * L.tile; d++) dst[dstOffset + d] = fp8e4m3ToF32(cache[a.nope + d]) * s;
  }
  for (let d = 0; d < L.rope; d++) dst[dstOffset + L.nope + d] = bf16ToF32(cache[a.rope + 2 * d] | (cache[a.rope + 2 * d + 1] << 8));
}

/**
 * Quantize n tokens [n, dQk] (bf16 bits, or f32 values rounded to bf16 first) into a fresh cache of
 * ceil(n / pageBlockSize) blocks, token i at block floor(i / B), slot i % B.
 */
export function quantizeCache(format: Fp8Format, tokens: Uint16Array | Float32Array, pageBlockSize: number, numBlocks?: number): Uint8Array {
  checkFp8Format('format', format);
  const L = fp8Layouts[format];
  const bits = tokens instanceof Uint16Array ? tokens : Uint16Array.from(tokens, (x) => f32ToBf16(x));
  const n = bits.length / L.dQk;
  const nb = numBlocks ?? Math.ceil(n / pageBlockSize);
  const cache = new Uint8Array(nb * fp8BlockStride(format, pageBlockSize));
  for (let i = 0; i < n; i++) quantizeToken(format, bits, i * L.dQk, cache, pageBlockSize, Math.floor(i / pageBlockSize), i % pageBlockSize);
  return cache;
}

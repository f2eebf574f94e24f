// NaN and infinity in WGSL, by bit patterns. WGSL does not promise IEEE behaviour for NaN: `max()` may return
// either operand, `x != x` may be folded to false by compilers that assume finite math, and a NaN or infinity
// written as a constant expression is a shader-creation error. So the kernels classify a value by its bits
// (`bitcast<u32>`), build NaN and +/-inf from a runtime uniform (`posInfBits` = 0x7f800000), and write NaN
// outputs as raw 16-bit patterns. Every kernel that must match the float64 reference's NaN/inf semantics
// (dense decode, split combine, sparse decode, and the variants) takes these helpers from here.
import type { HalfDType } from '../../../core/dtype.js';

/** Quiet NaN bit patterns of the 16-bit output dtypes (what the CPU and CUDA paths write). */
export const halfNanBits: Record<HalfDType, number> = { bf16: 0x7fc0, f16: 0x7e00 };

/**
 * WGSL functions:
 *   nonFinite(x) -> bool   NaN, +inf or -inf
 *   isNan(x) -> bool
 *   isNegInf(x) -> bool
 *   nanF32() -> f32        a quiet NaN, built at run time from `infBits` (a u32 expression holding 0x7f800000)
 *   negInfF32() -> f32
 *   nanPair() -> u32       two NaNs of the output dtype packed in one word (for out arrays of u32)
 *   finiteHalves(w) -> vec4<u32>   8 packed halves with every NaN/inf half replaced by +0
 */
export function nanWgsl(dtype: HalfDType, infBits: string): string {
  const nan = halfNanBits[dtype];
  const exp = dtype === 'bf16' ? 0x7f80 : 0x7c00; // exponent field of a half: all ones = NaN or inf
  const hex = (x: number) => `0x${x.toString(16)}u`;
  return `fn nonFinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u; }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isNegInf(x: f32) -> bool { return bitcast<u32>(x) == 0xff800000u; }
fn nanF32() -> f32 { return bitcast<f32>((${infBits}) | 0x00400000u); }
fn negInfF32() -> f32 { return bitcast<f32>((${infBits}) | 0x80000000u); }
fn nanPair() -> u32 { return ${hex(nan | (nan << 16))}; }
fn finiteHalves(w: vec4<u32>) -> vec4<u32> {
  let lo = select(vec4<u32>(0xffffu), vec4<u32>(0u), (w & vec4<u32>(${hex(exp)})) == vec4<u32>(${hex(exp)}));
  let hi = select(vec4<u32>(0xffff0000u), vec4<u32>(0u), (w & vec4<u32>(${hex(exp * 65536)})) == vec4<u32>(${hex(exp * 65536)}));
  return w & (lo | hi);
}`;
}

// FLOP and byte counts of one MLA decode, FlashMLA's formulas over the actual sequence lengths, and the roofline
// a measured time is judged against. Every benchmark routine (and the README's numbers) uses these.
//   FLOP  = 2 * sQ * sum(seqlens) * hQ * (dQk + dV)
//   bytes = 2 * (sum(seqlens) * hKv * dQk + b * sQ * hQ * dQk + b * sQ * hQ * dV)      (bf16 / f16: 2 bytes)
import { dQk, dV } from '../core/constants.js';

/** What the formulas need of a decode: batch, query rows, heads and the summed sequence lengths. */
export interface DecodeSize {
  b: number;
  sQ: number;
  hQ: number;
  hKv: number;
  /** sum(seqlens). */
  totalSeqlen: number;
}

export function decodeFlop(s: DecodeSize): number {
  return 2 * s.sQ * s.totalSeqlen * s.hQ * (dQk + dV);
}

export function decodeBytes(s: DecodeSize): number {
  return 2 * (s.totalSeqlen * s.hKv * dQk + s.b * s.sQ * s.hQ * dQk + s.b * s.sQ * s.hQ * dV);
}

/** GB/s and TFLOPS of a decode that took `ms`. */
export function decodeRates(s: DecodeSize, ms: number): { GBps: number; TFLOPS: number } {
  return { GBps: decodeBytes(s) / ms / 1e6, TFLOPS: decodeFlop(s) / ms / 1e9 };
}

/** A device's measured ceilings: copy bandwidth and f32 throughput. */
export interface Ceilings {
  copy_GBps: number;
  f32_fma_TFLOPS: number;
}

/** Which ceiling bounds a decode of `flop` and `bytes`, and the fraction of that bound a time of `ms` reaches. */
export function roofline(c: Ceilings, flop: number, bytes: number, ms: number): { bound: 'memory' | 'f32'; roofline_fraction: number } {
  const tMem = bytes / (c.copy_GBps * 1e6), tF32 = flop / (c.f32_fma_TFLOPS * 1e9);
  return { bound: tMem >= tF32 ? 'memory' : 'f32', roofline_fraction: Math.max(tMem, tF32) / ms };
}

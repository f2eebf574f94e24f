// The page's inputs: presets, sequence lengths typed or drawn from a distribution, and the scaling that keeps a
// FlashMLA benchmark shape small enough for a software adapter. Pure functions (no DOM), tested in Node.
import type { HalfDType } from '../../src/index.js';

/** The cache's format: 16-bit values in q's dtype, or DeepSeek-V3.2's FP8 tokens (656 bytes: e4m3 NoPE, scales, bf16 RoPE). */
export type CacheFormat = 'half' | 'v32';

export interface Shape {
  seqlens: number[];
  hQ: number;
  sQ: number;
  pageBlockSize: number;
  dtype: HalfDType;
  /** Default 'half'. */
  cache?: CacheFormat;
}

/** Bytes a cached token takes in each format. */
export const cacheTokenBytes: Record<CacheFormat, number> = { half: 1152, v32: 656 };

export interface Preset {
  id: string;
  label: string;
  /** The shape FlashMLA's benchmark or test uses. */
  full: Shape;
  note: string;
}

const fill = (b: number, s: number) => Array.from({ length: b }, () => s);

/** FlashMLA's decode benchmark shapes (b = 128, h_q = 128, s_q = 1, page 64, bf16) and its uneven-batch test. */
export const presets: Preset[] = [
  ...[1024, 4096, 8192].map((s) => ({
    id: `bench-${s}`, label: `FlashMLA bench: b=128, s_k=${s}, h_q=128`,
    full: { seqlens: fill(128, s), hQ: 128, sQ: 1, pageBlockSize: 64, dtype: 'bf16' as const },
    note: `FlashMLA's benchmark shape: 128 sequences of ${s} keys, 128 query heads.`,
  })),
  {
    id: 'uneven', label: 'Uneven batch [4641, 45118, 1730, 1696]',
    full: { seqlens: [4641, 45118, 1730, 1696], hQ: 128, sQ: 1, pageBlockSize: 64, dtype: 'bf16' },
    note: 'One long sequence among short ones: the scheduler must split it across many SM parts.',
  },
  {
    id: 'small', label: 'Small mixed batch (quick check)',
    full: { seqlens: [300, 0, 1000, 64, 700, 129], hQ: 16, sQ: 1, pageBlockSize: 64, dtype: 'bf16' },
    note: 'Six short sequences, one of them empty (its output row must be zeros and its lse +∞).',
  },
];

/** The cost the page lets a software adapter or the CPU run in one decode: keys × query heads × s_q. */
export const softwareBudget = 48 * 1024;

export interface Scaled { shape: Shape; batchDiv: number; lenDiv: number; headDiv: number }

/**
 * Shrink `s` until sum(seqlens) · h_q · s_q fits `budget` and sum(seqlens) fits `maxKeys`: first h_q (down to 16,
 * only while the cost is over), then the batch (keeping every other sequence, down to 4), then every length, each
 * by powers of two. Returns the factors so the page can say what it did.
 */
export function scaleShape(s: Shape, budget: number, maxKeys = Infinity): Scaled {
  const keys = (x: Shape) => x.seqlens.reduce((a, v) => a + v, 0);
  const cost = (x: Shape) => keys(x) * x.hQ * x.sQ;
  const over = (x: Shape) => cost(x) > budget || keys(x) > maxKeys;
  let shape: Shape = { ...s, seqlens: [...s.seqlens] };
  let headDiv = 1, batchDiv = 1, lenDiv = 1;
  while (cost(shape) > budget && shape.hQ > 16) { shape = { ...shape, hQ: shape.hQ / 2 }; headDiv *= 2; }
  while (over(shape) && shape.seqlens.length >= 8) {
    shape = { ...shape, seqlens: shape.seqlens.filter((_, i) => i % 2 === 0) }; batchDiv *= 2;
  }
  while (over(shape) && Math.max(...shape.seqlens) > 1) {
    lenDiv *= 2;
    shape = { ...shape, seqlens: s.seqlens.filter((_, i) => i % batchDiv === 0).map((v) => Math.ceil(v / lenDiv)) };
  }
  return { shape, batchDiv, lenDiv, headDiv };
}

/** A small seeded generator (mulberry32): the same seed draws the same lengths on every visit. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Distribution = 'fixed' | 'uniform' | 'lognormal';

/**
 * b lengths around `mean`: all equal (fixed), uniform on [1, 2·mean − 1], or log-normal with σ = 1 (a few long
 * sequences among many short ones, like a serving batch). Every length is an integer in [1, maxLen].
 */
export function drawSeqlens(b: number, mean: number, dist: Distribution, seed = 1, maxLen = 1 << 20): number[] {
  const r = rng(seed);
  const clamp = (v: number) => Math.min(maxLen, Math.max(1, Math.round(v)));
  return Array.from({ length: b }, () => {
    if (dist === 'fixed') return clamp(mean);
    if (dist === 'uniform') return clamp(1 + r() * (2 * mean - 2));
    // Box-Muller; exp(mu + sigma^2/2) = mean.
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return clamp(Math.exp(Math.log(mean) - 0.5 + z));
  });
}

/** "4641, 45118 1730" → [4641, 45118, 1730]; an error names the first bad entry. */
export function parseSeqlens(text: string): { seqlens?: number[]; error?: string } {
  const parts = text.split(/[\s,;]+/).filter((p) => p.length);
  if (!parts.length) return { error: 'type at least one sequence length' };
  const out: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isInteger(v) || v < 0 || v > 1 << 24) return { error: `"${p}" is not a whole number of keys in [0, 16777216]` };
    out.push(v);
  }
  if (out.length > 4096) return { error: `${out.length} sequences: the page draws at most 4096` };
  return { seqlens: out };
}

/** Bytes a decode moves (cache rows read once, q read, out written) and its floating-point work. */
export function decodeCost(seqlens: readonly number[], hQ: number, sQ: number, cache: CacheFormat = 'half'): { bytes: number; flop: number } {
  const keys = seqlens.reduce((a, v) => a + v, 0), b = seqlens.length;
  return { bytes: keys * cacheTokenBytes[cache] + 2 * (b * sQ * hQ * 576 + b * sQ * hQ * 512), flop: 2 * sQ * keys * hQ * (576 + 512) };
}

// Fast reproducible normal-distributed 16-bit floats for demos and benchmarks. A GPU benchmark fills a
// gigabyte of cache, so values come from a table of 65536 normal draws indexed by 16 random bits; any chunk of
// a stream can be regenerated from (seed, chunk) alone, which lets a check rebuild the pages it needs on the
// host instead of reading a device cache back.
import { type HalfDType, f32ToHalf } from '../core/dtype.js';

/** mulberry32: small, fast and good enough to fill test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform in [0, 1). */
export function uniform(seed: number): () => number {
  const r = rng(seed);
  return () => r() / 4294967296;
}

const tables = new Map<HalfDType, Uint16Array>();
function normalTable(dtype: HalfDType): Uint16Array {
  let t = tables.get(dtype);
  if (!t) {
    const u = uniform(0x5eed);
    const toHalf = f32ToHalf(dtype);
    t = new Uint16Array(65536);
    for (let i = 0; i < t.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u())), th = 2 * Math.PI * u(); // Box-Muller
      t[i] = toHalf(r * Math.cos(th));
      t[i + 1] = toHalf(r * Math.sin(th));
    }
    tables.set(dtype, t);
  }
  return t;
}

/** Elements per independently seeded chunk of a stream. */
export const chunkElements = 1 << 16;

function hash(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  return Math.imul(h, 0x27d4eb2f) >>> 0;
}

/** Write elements [start, start + dst.length) of the normal stream `seed` into dst (raw 16-bit patterns). */
export function fillNormal(dtype: HalfDType, seed: number, dst: Uint16Array, start = 0): Uint16Array {
  const table = normalTable(dtype);
  let i = 0;
  while (i < dst.length) {
    const pos = start + i;
    const chunk = Math.floor(pos / chunkElements);
    const within = pos - chunk * chunkElements;
    const r = rng(hash(seed, chunk));
    // Draw d makes elements 2d and 2d + 1; skip the draws before `within` (at most one chunk of them).
    const first = within >> 1;
    for (let d = 0; d < first; d++) r();
    const end = Math.min(chunkElements, within + (dst.length - i));
    for (let e = 2 * first; e < end; e += 2) {
      const x = r();
      if (e >= within) dst[i++] = table[x & 0xffff];
      if (e + 1 < end) dst[i++] = table[x >>> 16];
    }
  }
  return dst;
}

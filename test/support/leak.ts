// Host-memory sampling for leak tests: heapUsed (JS objects), external + arrayBuffers (native memory V8 knows of)
// and RSS, each after a full gc. A per-call leak shows as a heapUsed that keeps growing, or as an RSS slope that
// stays positive over the second half of a long run; RSS alone is noisy (the allocator keeps freed pages and
// grows its arenas in steps), so its first half is only a loose bound.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export interface MemSample { calls: number; heap: number; external: number; rss: number }

/** gc twice around a macrotask (finalizers of native wrappers run in between), then sample. */
export async function sampleMemory(calls: number): Promise<MemSample> {
  gc();
  await new Promise((r) => setTimeout(r, 0));
  gc();
  const m = process.memoryUsage();
  return { calls, heap: m.heapUsed, external: m.external + m.arrayBuffers, rss: m.rss };
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

export const MiB = 2 ** 20;

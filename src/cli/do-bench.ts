// triton.testing.do_bench's loop on any Backend: the shape of the protocol by which the anchors time FlashMLA
// (bench_flashmla.py and bench_sparse.py: do_bench(fn, warmup=25, rep=200, return_mode="median")). Not only the
// flush before each repetition matters but the loop's shape: do_bench times ~200 ms of flushed calls after ~25 ms of
// calls back to back, so the clock it measures at is the one the flushed loop settles at. A loop that times a few
// dozen flushed calls right after long back-to-back warm-up measures the warm-up's clock instead (session 35 on the
// H200: 0.93x of the time at 128 rows s_k 1024, 0.98x over FlashMLA's grid; docs/notes/benchmark-protocol.md).
import type { Backend } from '../core/problem.js';
import { UsageError } from './args.js';

export interface DoBenchOptions {
  /** do_bench's `warmup`: calls back to back (no flush) for about this many ms, counted from the estimate. */
  warmMs: number;
  /** do_bench's `rep`: flushed repetitions for about this many ms, counted from the estimate. */
  repMs: number;
  /** Bytes written before every estimate call and timed repetition, outside the repetition's events (256 MB in do_bench). */
  flushBytes: number;
  /** A cap on the repetitions (the event pairs are created up front). Default 20000. */
  maxReps?: number;
  /** The host clock in ms (default performance.now; tests pass their own). */
  clock?: () => number;
}

export interface DoBenchTimes {
  /** One time a repetition, in ms (the caller takes the median). */
  times: number[];
  /** The per-call estimate (ms): five flushed calls by the host clock, the flushes included, as do_bench's events. */
  estimateMs: number;
  warmup: number;
  reps: number;
}

/**
 * do_bench's steps: one call and a synchronize; five calls, each after its flush, timed together (the estimate);
 * max(1, warmMs / estimate) calls back to back; max(1, repMs / estimate) repetitions, each flushed then timed alone.
 * The estimate is taken by the host clock around the five calls and a synchronize, so it also holds the flushes, as
 * do_bench's events around its five do (and a few µs of host time more).
 */
export async function doBenchMs(backend: Pick<Backend, 'timeMs' | 'synchronize'>, run: (rep: number) => void | Promise<void>, o: DoBenchOptions): Promise<DoBenchTimes> {
  await run(0);
  await backend.synchronize();
  const now = o.clock ?? (() => performance.now());
  const t0 = now();
  await backend.timeMs(run, { warmup: 0, reps: 5, flushBytes: o.flushBytes });
  await backend.synchronize();
  const estimateMs = Math.max((now() - t0) / 5, 1e-3);
  const cap = o.maxReps ?? 20000;
  const warmup = Math.min(cap, Math.max(1, Math.floor(o.warmMs / estimateMs)));
  const reps = Math.min(cap, Math.max(1, Math.floor(o.repMs / estimateMs)));
  for (let i = 0; i < warmup; i++) await run(i);
  const times = await backend.timeMs(run, { warmup: 0, reps, flushBytes: o.flushBytes });
  return { times, estimateMs, warmup, reps };
}

/** bench_flashmla.py's and bench_sparse.py's do_bench arguments. */
export const anchorDoBench = { warmMs: 25, repMs: 200 } as const;

/**
 * WebGPU's chained protocol (`--chain-calls N`, docs/notes/benchmark-protocol.md): each repetition runs `calls` calls
 * (`run(rep, i)`) back to back in one batch, one submission, timed first pass to last; a call's time is the
 * repetition's / calls. `what` names the option in the error of a backend without batches.
 */
export async function chainedMs(backend: Pick<Backend, 'kind' | 'batch' | 'timeMs'>, calls: number, run: (rep: number, i: number) => Promise<unknown>,
  o: { warmup: number; reps: number }, what = 'chainCalls'): Promise<number[]> {
  if (!backend.batch) throw new UsageError(`${what}: the ${backend.kind} backend has no batches`);
  const batch = backend.batch.bind(backend);
  const times = await backend.timeMs((rep) => batch(async () => { for (let i = 0; i < calls; i++) await run(rep, i); }), o);
  return times.map((t) => t / calls);
}

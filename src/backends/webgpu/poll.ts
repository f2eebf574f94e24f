// Dawn's Node binding (the `webgpu` package) settles its promises (mapAsync, onSubmittedWorkDone, ...) by polling:
// while any is pending it asks the global setImmediate for its next poll, again and again, so a process awaiting a
// GPU result keeps one core at 100 % for the whole wait. On a GPU that is a core taken from the rest of the program;
// on a CPU adapter (Mesa's lavapipe) it is a core taken from the driver's own threads, which then render slower
// (session 44, lavapipe on 2 quiet cores, bench/webgpu/poll-wait.ts: a decode awaited with synchronize() took
// 0.73-0.91 s and 1.4-1.8 s of CPU a call with the polls spaced, against 1.05-1.34 s and 2.1-2.6 s spinning).
//
// This module leaves short waits as they are and spaces the polls of long ones: a poll requested while a Dawn wait
// has been pending for more than `spinMs` is run by setTimeout(poll, 1) instead. Only Dawn's own poll callbacks are
// touched (anonymous native functions without parameters); every other setImmediate call goes to Node's unchanged
// and returns what Node returns. Node-only (node.ts installs it); FLASHMLA_DAWN_POLL=spin leaves Dawn as it is.

/** The waits whose length decides the polling: when each pending one began (performance.now()). */
const pending = new Set<{ since: number }>();
let realSetImmediate: typeof setImmediate | undefined;
let spinMs = 10;
let slowPolls = 0;

/** Whether `fn` looks like Dawn's poll callback: an anonymous native function of no parameters. */
function isDawnPoll(fn: unknown): boolean {
  return typeof fn === 'function' && fn.length === 0 && fn.name === '' && Function.prototype.toString.call(fn) === 'function () { [native code] }';
}

/** The longest time (ms) any tracked wait has been pending, 0 when none is. */
function longestWait(now: number): number {
  let most = 0;
  for (const w of pending) most = Math.max(most, now - w.since);
  return most;
}

/** Track a Dawn promise as a wait while it is pending; returns it unchanged. */
function tracked<T>(p: Promise<T>): Promise<T> {
  const w = { since: performance.now() };
  pending.add(w);
  const done = () => { pending.delete(w); };
  p.then(done, done);
  return p;
}

export interface DawnPollState {
  installed: boolean;
  spinMs: number;
  /** Dawn polls run by a 1 ms timer instead of setImmediate since installation. */
  slowPolls: number;
  /** Waits pending now. */
  pending: number;
}

export function dawnPollState(): DawnPollState {
  return { installed: realSetImmediate !== undefined, spinMs, slowPolls, pending: pending.size };
}

/**
 * Space Dawn's polls during long waits (module comment). Idempotent; `spin` (milliseconds a wait polls at full rate
 * before its polls are spaced by 1 ms) may be changed by a later call. GPUQueue.onSubmittedWorkDone and
 * GPUBuffer.mapAsync of `globals` are wrapped to know when a wait began.
 */
export function installDawnPoll(globals: Record<string, unknown>, spin = 10): void {
  spinMs = spin;
  if (realSetImmediate) return;
  const real = globalThis.setImmediate;
  realSetImmediate = real;
  const queue = (globals.GPUQueue as { prototype?: { onSubmittedWorkDone?: (...a: unknown[]) => Promise<unknown> } } | undefined)?.prototype;
  const buffer = (globals.GPUBuffer as { prototype?: { mapAsync?: (...a: unknown[]) => Promise<unknown> } } | undefined)?.prototype;
  if (queue?.onSubmittedWorkDone) {
    const f = queue.onSubmittedWorkDone;
    queue.onSubmittedWorkDone = function (this: unknown, ...a: unknown[]) { return tracked(f.apply(this, a)); };
  }
  if (buffer?.mapAsync) {
    const f = buffer.mapAsync;
    buffer.mapAsync = function (this: unknown, ...a: unknown[]) { return tracked(f.apply(this, a)); };
  }
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (isDawnPoll(fn) && longestWait(performance.now()) > spinMs) {
      slowPolls++;
      return setTimeout(fn, 1, ...args) as unknown as NodeJS.Immediate;
    }
    return (real as (f: (...a: unknown[]) => void, ...a: unknown[]) => NodeJS.Immediate)(fn, ...args);
  } as typeof setImmediate;
  // setImmediate's util.promisify form and any other own properties stay reachable.
  Object.assign(wrapped, real);
  globalThis.setImmediate = wrapped;
}

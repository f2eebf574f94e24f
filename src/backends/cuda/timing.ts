// Runtime piece of the CUDA backend: kernel timing with CUDA events. A pair of events brackets each repetition on
// the backend's stream; the events are created once and reused (grow-only), and destroyed with the backend.
import type { Driver } from './driver.js';
import type { TimeOptions } from '../../core/problem.js';

export class EventTimer {
  private readonly events: bigint[] = [];
  /** The scratch buffer `flushBytes` writes (grow-only), and its size. */
  private scratch = 0n;
  private scratchBytes = 0;

  constructor(private readonly drv: Driver, private readonly stream: bigint) {}

  /**
   * Run `run` warmup times, then reps times between events; the per-repetition device times in ms. With
   * `flushBytes`, each timed repetition is preceded, outside its events, by a write of that many bytes of a scratch
   * buffer: triton's do_bench protocol (it zeroes a 256 MB buffer before every repetition), which evicts L2 and
   * leaves the card a memory-bound gap between two timed runs.
   */
  async timeMs(run: (rep: number) => void | Promise<void>, opts: TimeOptions): Promise<number[]> {
    const flush = Math.ceil((opts.flushBytes ?? 0) / 4) * 4;
    if (flush > this.scratchBytes) {
      if (this.scratch) { this.drv.free(this.scratch); this.scratch = 0n; this.scratchBytes = 0; }
      this.scratch = this.drv.alloc(flush);
      this.scratchBytes = flush;
    }
    for (let i = 0; i < opts.warmup; i++) {
      if (flush) this.drv.memsetD32(this.scratch, 0, flush / 4, this.stream);
      await run(i);
    }
    while (this.events.length < 2 * opts.reps) this.events.push(this.drv.createEvent());
    for (let r = 0; r < opts.reps; r++) {
      if (flush) this.drv.memsetD32(this.scratch, 0, flush / 4, this.stream);
      this.drv.record(this.events[2 * r], this.stream);
      await run(r);
      this.drv.record(this.events[2 * r + 1], this.stream);
    }
    this.drv.eventSynchronize(this.events[2 * opts.reps - 1]);
    const times: number[] = [];
    for (let r = 0; r < opts.reps; r++) times.push(this.drv.elapsedMs(this.events[2 * r], this.events[2 * r + 1]));
    return times;
  }

  /** Destroy the events and free the scratch buffer; `attempt` swallows the errors of a faulted context. */
  dispose(attempt: (f: () => void) => void): void {
    for (const e of this.events) attempt(() => this.drv.destroyEvent(e));
    const s = this.scratch;
    this.scratch = 0n;
    if (s) attempt(() => this.drv.free(s));
  }
}

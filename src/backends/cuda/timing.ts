// Runtime piece of the CUDA backend: kernel timing with CUDA events. A pair of events brackets each repetition on
// the backend's stream; the events are created once and reused (grow-only), and destroyed with the backend.
import type { Driver } from './driver.js';

export class EventTimer {
  private readonly events: bigint[] = [];

  constructor(private readonly drv: Driver, private readonly stream: bigint) {}

  /** Run `run` warmup times, then reps times between events; the per-repetition device times in ms. */
  async timeMs(run: (rep: number) => void | Promise<void>, opts: { warmup: number; reps: number }): Promise<number[]> {
    for (let i = 0; i < opts.warmup; i++) await run(i);
    while (this.events.length < 2 * opts.reps) this.events.push(this.drv.createEvent());
    for (let r = 0; r < opts.reps; r++) {
      this.drv.record(this.events[2 * r], this.stream);
      await run(r);
      this.drv.record(this.events[2 * r + 1], this.stream);
    }
    this.drv.eventSynchronize(this.events[2 * opts.reps - 1]);
    const times: number[] = [];
    for (let r = 0; r < opts.reps; r++) times.push(this.drv.elapsedMs(this.events[2 * r], this.events[2 * r + 1]));
    return times;
  }

  /** Destroy the events; `attempt` swallows the errors of a faulted context. */
  dispose(attempt: (f: () => void) => void): void {
    for (const e of this.events) attempt(() => this.drv.destroyEvent(e));
  }
}

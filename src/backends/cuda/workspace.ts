// Runtime piece of the CUDA backend: grow-only device workspaces. The decode workspace holds the staged index
// words and then the accumulators (lseAccum, oAccum) as the step's DecodePlan lays them out; sparse.cu's holds the
// copied host index tensors. Growing synchronizes the stream first: a queued kernel may still read the old one.
// A captured graph reads the allocations that were current when it was captured on every replay: captureGraph holds
// them (hold()), and a workspace that grows past a held allocation keeps it until the last graph holding it is disposed.
import { FlashMlaError } from '../../core/errors.js';
import type { Driver } from './driver.js';

export class Workspace {
  ptr = 0n;
  bytes = 0;
  /**
   * Bumped by every allocation. A new allocation may come back at the address just freed (CUDA's allocator reuses
   * freed ranges), so what a caller copied into the workspace is known to be there only while the epoch it copied
   * under is the current one, never by the address alone (session 51: a bf16 decode read stale index words that way).
   */
  epoch = 0;
  /** Graphs holding an allocation (by address), and the held allocations this workspace has grown past. */
  private readonly holds = new Map<bigint, number>();
  private readonly retired = new Set<bigint>();

  /**
   * `growth`: the factor over the current size a growth takes at least (so repeated small growths are rare).
   * `capturing`: whether the stream is being captured into a graph, where a growth (a synchronize, a free) cannot happen.
   */
  constructor(private readonly drv: Driver, private readonly stream: bigint, private readonly growth: number,
    private readonly capturing: () => boolean = () => false) {}

  /** At least `bytes` long from now on (the address changes when it grows). */
  ensure(bytes: number): void {
    if (bytes <= this.bytes) return;
    if (this.capturing()) {
      throw new FlashMlaError('invalid_argument', `cuda: a workspace must grow from ${this.bytes} to ${bytes} bytes while capturing a graph `
        + '(capture with warmup, the default, or run the same calls once before capturing)', 'workspace', `at least ${bytes} bytes before the capture`, `${this.bytes} bytes`);
    }
    const grown = Math.max(bytes, Math.ceil(this.bytes * this.growth)), old = this.ptr;
    if (old) {
      this.drv.synchronize(this.stream); // queued kernels may still read the old one
      if (this.holds.has(old)) this.retired.add(old); // a captured graph still reads it
      else this.drv.free(old);
    }
    this.ptr = 0n;
    this.bytes = 0;
    this.ptr = this.drv.alloc(grown);
    this.bytes = grown;
    this.epoch++;
  }

  /**
   * Keep the current allocation (none: nothing) until the returned release runs, however the workspace grows meanwhile.
   * The release synchronizes the stream before it frees an allocation the workspace has grown past (a replay may be queued).
   */
  hold(): () => void {
    const p = this.ptr;
    if (!p) return () => {};
    this.holds.set(p, (this.holds.get(p) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.holds.get(p) ?? 1) - 1;
      if (n > 0) { this.holds.set(p, n); return; }
      this.holds.delete(p);
      if (this.retired.delete(p)) {
        this.drv.synchronize(this.stream);
        this.drv.free(p);
      }
    };
  }

  dispose(attempt: (f: () => void) => void): void {
    if (this.ptr) { const p = this.ptr; attempt(() => this.drv.free(p)); }
    for (const p of this.retired) attempt(() => this.drv.free(p));
    this.retired.clear();
    this.holds.clear();
    this.ptr = 0n;
    this.bytes = 0;
  }
}

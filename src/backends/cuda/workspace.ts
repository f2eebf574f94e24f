// Runtime piece of the CUDA backend: grow-only device workspaces. The decode workspace holds the staged index
// words and then the accumulators (lseAccum, oAccum) as the step's DecodePlan lays them out; sparse.cu's holds the
// copied host index tensors. Growing synchronizes the stream first: a queued kernel may still read the old one.
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

  /** `growth`: the factor over the current size a growth takes at least (so repeated small growths are rare). */
  constructor(private readonly drv: Driver, private readonly stream: bigint, private readonly growth: number) {}

  /** At least `bytes` long from now on (the address changes when it grows). */
  ensure(bytes: number): void {
    if (bytes <= this.bytes) return;
    const grown = Math.max(bytes, Math.ceil(this.bytes * this.growth)), old = this.ptr;
    if (old) {
      this.drv.synchronize(this.stream); // queued kernels may still read the old one
      this.drv.free(old);
    }
    this.ptr = this.drv.alloc(grown);
    this.bytes = grown;
    this.epoch++;
  }

  dispose(attempt: (f: () => void) => void): void {
    if (this.ptr) { const p = this.ptr; attempt(() => this.drv.free(p)); }
  }
}

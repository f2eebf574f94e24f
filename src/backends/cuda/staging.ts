// Runtime piece of the CUDA backend: the pinned staging ring for host index tensors. A decode whose blockTable,
// cacheSeqlens, qIndptr, metadata or numSplits are host tensors gets them packed into one range of a pinned ring
// and copied, in one transfer, to the front of the decode workspace (the accumulators follow them); a repeat of
// the words last copied to the same place is not copied again. Device index tensors are pointed at where they are.
import { invalidArgument } from '../../core/errors.js';
import type { DecodeCall } from '../../core/problem.js';
import type { Tensor } from '../../core/tensor.js';
import type { Driver } from './driver.js';
import { mlaParamsLayout } from './params.js';
import type { Workspace } from './workspace.js';

/** Pinned staging for host index tensors (see stageRange). */
interface StageRing { ptr: bigint; i32: Int32Array; segWords: number; seg: number; done: bigint[]; pending: boolean[] }

/** What the staging needs from the backend that owns it. */
export interface IndexStagingHost {
  readonly drv: Driver;
  readonly stream: bigint;
  /** The decode parameter block (MlaParams) whose pointer fields are written. */
  readonly paramsView: DataView;
  /** The decode workspace: staged index words first, then the accumulators. */
  readonly ws: Workspace;
  /** The device address of a tensor of this backend. */
  ptrOf(t: Tensor): bigint;
  /** Whether a graph capture is under way (host tensors are refused then: a graph would replay stale words). */
  capturing(): boolean;
}

export class IndexStaging {
  private ring?: StageRing;
  private stageAt = 0;
  /** Where the last copied index words sit in the ring, and the workspace allocation they went to (Workspace.epoch; -1:
      none), to skip a repeat copy. */
  private lastStaged: { ring?: StageRing; at: number; words: number; epoch: number; lens: Int32Array } = { at: 0, words: 0, epoch: -1, lens: new Int32Array(5) };
  private accumAt = { ws: 0n, indexBytes: -1, lseBytes: -1 };

  constructor(private readonly h: IndexStagingHost) {}

  /** The parameter block was repacked (its accumulator pointers zeroed): write them again at the next decode. */
  repacked(): void {
    this.accumAt.indexBytes = -1;
  }

  /** Something outside the decode path (a CUDA graph's replay) may have written over the workspace's staged words: the
      next decode copies its host words whatever they were before. */
  forgetStaged(): void {
    this.lastStaged.epoch = -1;
  }

  /**
   * Point the parameter block at the index tensors and the accumulators. Device index tensors are used where they
   * are; host ones are packed into one staging range and copied, in one transfer, to the front of the workspace
   * (the accumulators follow them). When the packed words equal what the previous call copied to that same place,
   * the copy is skipped: a step's layers pass the same index tensors, and the device already holds them.
   */
  placeIndices(l: DecodeCall, accumBytes: number, lseBytes: number): void {
    const view = this.h.paramsView, off = mlaParamsLayout.offsets;
    let words = 0;
    words += this.hostWords(l.blockTable);
    words += this.hostWords(l.cacheSeqlens);
    words += this.hostWords(l.qIndptr);
    words += this.hostWords(l.tileSchedulerMetadata);
    words += this.hostWords(l.numSplits);
    words = (words + 63) & ~63; // the accumulators after them stay 256-byte aligned
    const indexBytes = words * 4;
    if (indexBytes + accumBytes > this.h.ws.bytes) this.h.ws.ensure(indexBytes + accumBytes);
    const ws = this.h.ws.ptr;
    if (words > 0) {
      if (this.h.capturing()) {
        throw invalidArgument('index tensors', 'device tensors while capturing a graph (MlaDecoder.plan uploads them)', 'host tensors');
      }
      const ring = this.stageRange(words);
      const buf = ring.i32, start = this.stageAt;
      const prev = this.lastStaged;
      // Unchanged since the last copy to this workspace allocation (Workspace.epoch, not its address: a grown workspace
      // may come back where the old one was): compare the sources with the words staged then.
      let same = prev.epoch === this.h.ws.epoch && prev.ring === ring;
      let at = prev.at;
      if (same) {
        // Every word compared, the schedule's too: validation accepts two plans for the same seqlens and SM parts
        // (FlashMLA's and 'fill'), so equal seqlens and lengths do not imply equal metadata.
        at = this.sameAs(l.blockTable, buf, at, 0);
        at = this.sameAs(l.cacheSeqlens, buf, at, 1);
        at = this.sameAs(l.qIndptr, buf, at, 2);
        at = this.sameAs(l.tileSchedulerMetadata, buf, at, 3);
        at = this.sameAs(l.numSplits, buf, at, 4);
        same = at >= 0 && at - prev.at === prev.words;
      }
      const base = same ? prev.at : start;
      at = base;
      at = this.stageOne(l.blockTable, off.blockTable, buf, at, base, same);
      at = this.stageOne(l.cacheSeqlens, off.cacheSeqlens, buf, at, base, same);
      at = this.stageOne(l.qIndptr, off.qIndptr, buf, at, base, same);
      at = this.stageOne(l.tileSchedulerMetadata, off.tileSchedulerMetadata, buf, at, base, same);
      at = this.stageOne(l.numSplits, off.numSplits, buf, at, base, same);
      if (!same) {
        const used = at - start;
        this.h.drv.copyHtoD(ws, ring.ptr + BigInt(start * 4), used * 4, this.h.stream);
        this.stageAt = start + words;
        prev.epoch = this.h.ws.epoch; prev.words = used; prev.ring = ring; prev.at = start;
        prev.lens[0] = l.blockTable.numel; prev.lens[1] = l.cacheSeqlens.numel; prev.lens[2] = l.qIndptr?.numel ?? -1;
        prev.lens[3] = l.tileSchedulerMetadata.numel; prev.lens[4] = l.numSplits.numel;
      }
    } else {
      this.lastStaged.epoch = -1; // this decode's accumulators start at the workspace front, over the staged words
      view.setBigUint64(off.blockTable, this.h.ptrOf(l.blockTable), true);
      view.setBigUint64(off.cacheSeqlens, this.h.ptrOf(l.cacheSeqlens), true);
      view.setBigUint64(off.qIndptr, l.qIndptr ? this.h.ptrOf(l.qIndptr) : 0n, true);
      view.setBigUint64(off.tileSchedulerMetadata, this.h.ptrOf(l.tileSchedulerMetadata), true);
      view.setBigUint64(off.numSplits, this.h.ptrOf(l.numSplits), true);
    }
    if (this.accumAt.ws !== ws || this.accumAt.indexBytes !== indexBytes || this.accumAt.lseBytes !== lseBytes) {
      this.accumAt = { ws, indexBytes, lseBytes };
      view.setBigUint64(off.lseAccum, ws + BigInt(indexBytes), true);
      view.setBigUint64(off.oAccum, ws + BigInt(indexBytes + lseBytes), true);
    }
  }

  /** Words a host index tensor takes in the staging range (16-byte aligned pieces); 0 for device tensors. */
  private hostWords(t: Tensor | undefined): number {
    return t && t.device === 'cpu' ? (t.numel + 3) & ~3 : 0;
  }

  /**
   * Stage one index tensor (host: into buf at `at` unless `staged` says it is there already, pointing the parameter
   * at its place in the workspace; device: as it is). Returns where the next one goes.
   */
  private stageOne(t: Tensor | undefined, field: number, buf: Int32Array, at: number, start: number, staged: boolean): number {
    const view = this.h.paramsView;
    if (!t) { view.setBigUint64(field, 0n, true); return at; }
    if (t.device !== 'cpu') { view.setBigUint64(field, this.h.ptrOf(t), true); return at; }
    if (!staged) buf.set(t.host() as Int32Array, at);
    view.setBigUint64(field, this.h.ws.ptr + BigInt((at - start) * 4), true);
    return at + ((t.numel + 3) & ~3);
  }

  /**
   * Whether host tensor t's values sit in buf at `at` (device or absent tensors take no words): the next position,
   * or -1. k: its place among the five index tensors (lastStaged.lens).
   */
  private sameAs(t: Tensor | undefined, buf: Int32Array, at: number, k: number): number {
    if (at < 0 || !t || t.device !== 'cpu') return at;
    const src = t.host() as Int32Array, n = src.length;
    if (n !== this.lastStaged.lens[k] || at + n > buf.length) return -1;
    for (let i = 0; i < n; i++) if (buf[at + i] !== src[i]) return -1;
    return at + ((n + 3) & ~3);
  }

  /**
   * Staging for host index words: one pinned ring in four segments. A staged range never spans segments; leaving a
   * segment records an event after the copies that read it, and entering one waits (rarely) for its event. So a call
   * costs no event work, and nothing is written while a queued copy may still read it. Grows (after a sync) when
   * a quarter cannot hold the request. Sets this.stageAt to where the range starts and returns the ring.
   */
  private stageRange(words: number): StageRing {
    const drv = this.h.drv;
    let r = this.ring;
    if (!r || words > r.segWords) {
      drv.synchronize(this.h.stream); // no copy may still read the ring we replace
      if (r) { drv.hostFree(r.ptr); for (const e of r.done) drv.destroyEvent(e); }
      const segWords = Math.max(16384, words * 4);
      const pinned = drv.hostAlloc(segWords * 16);
      r = this.ring = {
        ptr: pinned.ptr, i32: new Int32Array(pinned.bytes), segWords, seg: 0,
        done: [drv.createEvent(), drv.createEvent(), drv.createEvent(), drv.createEvent()],
        pending: [false, false, false, false],
      };
      this.stageAt = 0;
      this.lastStaged.ring = undefined;
    }
    const segEnd = (r.seg + 1) * r.segWords;
    if (this.stageAt + words > segEnd) {
      drv.record(r.done[r.seg], this.h.stream);
      r.pending[r.seg] = true;
      r.seg = (r.seg + 1) & 3;
      if (r.pending[r.seg]) {
        if (!drv.eventDone(r.done[r.seg])) drv.eventSynchronize(r.done[r.seg]);
        r.pending[r.seg] = false;
      }
      this.stageAt = r.seg * r.segWords;
      if (this.lastStaged.ring === r && this.lastStaged.at >= this.stageAt && this.lastStaged.at < this.stageAt + r.segWords) {
        this.lastStaged.ring = undefined; // about to be overwritten
      }
    }
    return r;
  }

  /** Free the ring and its events; `attempt` swallows the errors of a faulted context. */
  dispose(attempt: (f: () => void) => void): void {
    const ring = this.ring;
    if (ring) { attempt(() => this.h.drv.hostFree(ring.ptr)); for (const e of ring.done) attempt(() => this.h.drv.destroyEvent(e)); }
  }
}

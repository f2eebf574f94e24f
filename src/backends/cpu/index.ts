// The CPU backend for Node: the kernel of ./kernel.ts on worker threads over shared memory. Tensors it allocates
// live in SharedArrayBuffers, so workers read the cache in place; other host arrays are staged into shared
// memory per call (a copy), which is why caches should come from backend.empty() / upload().
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type DType, type HostArray, sharedArrayFor } from '../../core/dtype.js';
import { FlashMlaError, outOfMemory } from '../../core/errors.js';
import type { Backend, BackendInfo, DecodeLaunch } from '../../core/problem.js';
import { Tensor, numelOf } from '../../core/tensor.js';
import { checkPositiveInt } from '../../core/validate.js';
import { cpuArgs, wallClockTimes, writeHost } from './inline.js';
import { type CpuDecodeArgs, decodeUnits } from './kernel.js';
import type { SharedView, WorkerJob } from './worker.js';

export { InlineCpuBackend } from './inline.js';

export interface CpuBackendOptions {
  /** Worker threads (default: the machine's available parallelism). */
  workers?: number;
}

const arrayTypes = { Uint16Array, Int32Array, Float32Array, Float64Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof arrayTypes;

/**
 * Start one worker: the compiled worker.js, or worker.ts from source. Node 20 does not apply --import loader
 * hooks to a worker's entry module, so from source a small bootstrap registers tsx inside the worker first.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url));
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const target = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  return new Worker(`import(${api}).then((m) => { m.register(); return import(${target}); });`, { eval: true });
}

/** A started worker, its "ready" awaited; rejects with a typed error if it dies first. */
function readyWorker(): Promise<Worker> {
  return new Promise<Worker>((resolve, reject) => {
    const w = startWorker();
    const fail = (why: string) => reject(new FlashMlaError('backend_unavailable', `CPU worker could not start: ${why}`));
    const onError = (e: Error) => { w.off('exit', onExit); fail(e.message); };
    const onExit = (code: number) => { w.off('error', onError); fail(`exited with code ${code}`); };
    w.once('message', () => { w.off('error', onError); w.off('exit', onExit); w.unref(); resolve(w); }); // the worker's "ready"
    w.once('error', onError);
    w.once('exit', onExit);
  });
}

/**
 * One worker thread and the reply it owes. Its listeners are attached once, for its whole life (never per call),
 * and a worker that errors or exits rejects the phase waiting on it, then is replaced before the next call.
 */
class WorkerSlot {
  private waiting?: { id: number; resolve: () => void; reject: (e: FlashMlaError) => void };
  dead?: FlashMlaError;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: { id?: number; error?: string }) => {
      const w = this.waiting;
      if (!w || m.id !== w.id) return;
      this.waiting = undefined;
      if (m.error) w.reject(new FlashMlaError('driver_error', `CPU worker: ${m.error}`)); else w.resolve();
    });
    worker.on('error', (e: Error) => this.die(new FlashMlaError('driver_error', `CPU worker crashed: ${e.message}`)));
    worker.on('exit', (code: number) => this.die(new FlashMlaError('driver_error', `CPU worker exited (code ${code}) during a call`)));
  }

  /** Post a job; resolves when this worker reports it done. */
  run(job: WorkerJob): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<void>((resolve, reject) => {
      this.waiting = { id: job.id, resolve, reject };
      this.worker.postMessage(job);
    });
  }

  /** Reject the reply owed (dispose(), a crash). */
  abort(e: FlashMlaError): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }

  private die(e: FlashMlaError): void {
    if (this.dead) return;
    this.dead = e;
    this.abort(e);
  }
}

/**
 * The worker backend. Calls are queued (FIFO) and run one at a time, each on every worker: the staging copies,
 * the split-KV accumulators and the unit counter belong to the call that runs, and no call can see another's.
 * dispose() rejects the running and the queued calls with 'disposed'; a worker that crashes rejects the running
 * call ('driver_error') and is replaced before the next one.
 */
class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly info: BackendInfo;
  private readonly accum: { o: Float32Array; lse: Float32Array } = { o: new Float32Array(0), lse: new Float32Array(0) };
  private staging = new Map<string, HostArray>();
  private readonly slots: WorkerSlot[];
  /** The end of the queue: resolves when every call queued so far has settled. */
  private tail: Promise<void> = Promise.resolve();
  private jobId = 0;
  private disposed = false;
  /** Set when a dead worker could not be replaced: every later call fails with it. */
  private broken?: FlashMlaError;

  constructor(workers: Worker[]) {
    this.slots = workers.map((w) => new WorkerSlot(w));
    this.info = { kind: 'cpu', device: `CPU, ${workers.length} worker thread${workers.length > 1 ? 's' : ''}`, numSms: 8 * workers.length, details: { workers: workers.length } };
  }

  empty(dtype: DType, shape: readonly number[]): Tensor {
    this.live();
    return new Tensor(dtype, shape, sharedArrayFor(dtype, numelOf(shape), `CPU empty(${dtype}, [${shape.join(', ')}])`));
  }
  upload(t: Tensor<HostArray>): Tensor {
    this.live();
    if (t.data.buffer instanceof SharedArrayBuffer) return t;
    const c = this.empty(t.dtype, t.shape);
    (c.host() as HostArray).set(t.host() as never);
    return c;
  }
  write(dst: Tensor, src: Tensor<HostArray>, dstOffset = 0): void { this.live(); writeHost(dst, src, dstOffset); }
  async download(t: Tensor): Promise<Tensor<HostArray>> { this.live(); return t as Tensor<HostArray>; }

  decode(l: DecodeLaunch): Promise<void> {
    this.live();
    const run = this.tail.then(() => this.run(l));
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }

  /** One call, alone on the workers (the queue guarantees it). */
  private async run(l: DecodeLaunch): Promise<void> {
    this.live();
    if (this.broken) throw this.broken;
    await this.replaceDeadWorkers();
    const args = cpuArgs(l, this.accum, sharedArrayFor);
    const copyBack: [HostArray, HostArray][] = [];
    const share = (role: string, a: HostArray | undefined, output = false): SharedView | undefined => {
      if (!a) return undefined;
      let s = a;
      if (!(a.buffer instanceof SharedArrayBuffer)) {
        s = this.stage(role, a);
        if (output) copyBack.push([s, a]); else s.set(a as never);
      }
      return { buffer: s.buffer as SharedArrayBuffer, byteOffset: s.byteOffset, length: s.length, type: s.constructor.name as ArrayTypeName };
    };
    const job: WorkerJob = {
      id: 0,
      p: args.p,
      arrays: {
        q: share('q', args.q)!, kCache: share('kCache', args.kCache)!, blockTable: share('blockTable', args.blockTable)!,
        seqlens: share('seqlens', args.seqlens)!, qIndptr: share('qIndptr', args.qIndptr), meta: share('meta', args.meta)!,
        numSplits: share('numSplits', args.numSplits)!, out: share('out', args.out, true)!, lse: share('lse', args.lse, true)!,
        oAccum: share('oAccum', args.oAccum)!, lseAccum: share('lseAccum', args.lseAccum)!,
      },
      counter: new SharedArrayBuffer(8),
      phase: 'decode',
      units: decodeUnits(args.p),
    };
    await this.phase(job);
    await this.phase({ ...job, counter: new SharedArrayBuffer(8), phase: 'combine', units: args.p.b });
    this.live(); // disposed meanwhile: do not copy back
    for (const [s, a] of copyBack) a.set(s as never);
  }

  /**
   * Run one phase on every worker; units are handed out through the phase's own atomic counter. Waits for every
   * worker's reply (none may still be writing when the next phase or call starts), then fails with the first error.
   */
  private async phase(job: WorkerJob): Promise<void> {
    const id = ++this.jobId;
    const replies = await Promise.allSettled(this.slots.map((s) => s.run({ ...job, id })));
    const failed = replies.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (this.disposed) throw disposedError();
    if (failed) throw failed.reason;
  }

  private async replaceDeadWorkers(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) {
      if (!this.slots[i].dead) continue;
      try {
        const w = await readyWorker();
        if (this.disposed) { void w.terminate(); throw disposedError(); }
        this.slots[i] = new WorkerSlot(w);
      } catch (e) {
        if (e instanceof FlashMlaError && e.code === 'disposed') throw e;
        this.broken = new FlashMlaError('driver_error', `CPU backend: a worker died and could not be restarted (${(e as Error).message}); create a new backend`);
        throw this.broken;
      }
    }
  }

  /** Shared staging for host arrays that are not shared memory; only the running call uses it. */
  private stage(role: string, a: HostArray): HostArray {
    const have = this.staging.get(role);
    const Ctor = a.constructor as new (b: SharedArrayBuffer, o: number, n: number) => HostArray;
    if (have && have.constructor === a.constructor && have.buffer.byteLength >= a.byteLength) {
      return new Ctor(have.buffer as SharedArrayBuffer, 0, a.length);
    }
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(Math.max(8, a.byteLength));
    } catch (e) {
      if (e instanceof RangeError) throw outOfMemory(`CPU staging copy of ${role}`, a.byteLength, 'the JavaScript engine refused the allocation', e);
      throw e;
    }
    const s = new Ctor(sab, 0, a.length);
    this.staging.set(role, s);
    return s;
  }

  /** Resolves when every call queued so far has settled. */
  async synchronize(): Promise<void> {
    this.live();
    await this.tail;
    this.live();
  }
  timeMs(run: (rep: number) => void | Promise<void>, opts: { warmup: number; reps: number }): Promise<number[]> {
    this.live();
    return wallClockTimes(run, opts);
  }
  /** Shared host memory is the garbage collector's; free() is a no-op (also after dispose()). */
  free(): void {}
  /** Ends the workers. The running call and queued ones reject with FlashMlaError('disposed'). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const e = disposedError();
    for (const s of this.slots) { s.dead ??= e; s.abort(e); void s.worker.terminate(); }
    this.staging.clear();
    this.accum.o = this.accum.lse = new Float32Array(0);
  }

  private live(): void {
    if (this.disposed) throw disposedError();
  }
}

function disposedError(): FlashMlaError {
  return new FlashMlaError('disposed', 'CPU backend used after dispose()');
}

/** Start a CPU backend with `workers` threads. Call dispose() to end them (they do not keep the process alive). */
export async function createCpuBackend(opts: CpuBackendOptions = {}): Promise<Backend> {
  const n = opts.workers ?? Math.max(1, availableParallelism());
  checkPositiveInt('workers', n, 256);
  const started = await Promise.allSettled(Array.from({ length: n }, () => readyWorker()));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const r of started) if (r.status === 'fulfilled') void r.value.terminate();
    throw failed.reason;
  }
  return new CpuBackend(started.map((r) => (r as PromiseFulfilledResult<Worker>).value));
}

export type { CpuDecodeArgs };


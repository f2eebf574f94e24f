// The CPU backend for Node: the kernel of ./kernel.ts on worker threads over shared memory. Tensors it allocates
// live in SharedArrayBuffers, so workers read the cache in place; other host arrays are staged into shared
// memory per call (a copy), which is why caches should come from backend.empty() / upload().
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type DType, type HostArray, sharedArrayFor } from '../../core/dtype.js';
import { FlashMlaError, outOfMemory } from '../../core/errors.js';
import { gemm } from '../../core/mla/gemm.js';
import type { Backend, BackendInfo, DecodeCall, MatmulCall, TimeOptions } from '../../core/problem.js';
import type { SparseCall } from '../../core/sparse.js';
import { Tensor, numelOf } from '../../core/tensor.js';
import { checkMatmul, checkPositiveInt } from '../../core/validate.js';
import { type DecodePlan, mostSplits } from '../../core/plan.js';
import { cpuArgs, wallClockTimes, writeHost } from './inline.js';
import { cpuDenseFp8Args } from './dense-fp8.js';
import type { DenseFp8Call } from '../../core/dense-fp8.js';
import { type CpuKernel, type CpuKernelName, denseFp8KernelName, sparseKernelName } from './item.js';
import { type CpuDecodeArgs, decodeUnits, reserveAccum } from './kernel.js';
import { type CpuKernelChoice, type CpuKernelPick, type NativeIsa, type NativeIsaChoice, chooseCpuKernel } from './paths.js';
import { cpuSparseArgs } from './sparse.js';
import type { GemmJob, SharedView, SparseWorkerJob, WorkerJob } from './worker.js';

export { InlineCpuBackend } from './inline.js';
export { type CpuKernelChoice, type NativeIsaChoice, chooseCpuKernel } from './paths.js';

export interface CpuBackendOptions {
  /** Worker threads (default: the machine's available parallelism). */
  workers?: number;
  /** Force a CPU kernel rung (default: FLASHMLA_CPU_KERNEL, else native, else wasm, else scalar). */
  kernel?: CpuKernelChoice;
  /**
   * Force the native rung's instruction set: 'avx512bf16', 'avx512' or 'avx2' on x86-64, 'neonbf16' or 'neon' on arm64
   * Linux (default: FLASHMLA_CPU_ISA, else the best the CPU has). One the CPU (or its architecture) lacks is a
   * backend_unavailable error naming what is missing.
   */
  isa?: NativeIsaChoice;
}

type AnyJob = WorkerJob | GemmJob | SparseWorkerJob;

const arrayTypes = { Uint16Array, Int32Array, Float32Array, Float64Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof arrayTypes;

/**
 * Start one worker: the compiled worker.js, or worker.ts from source. Node 20 does not apply --import loader
 * hooks to a worker's entry module, so from source a small bootstrap registers tsx inside the worker first.
 */
function startWorker(kernel: CpuKernelName, isa?: NativeIsa): Worker {
  const workerData = { kernel, isa };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData });
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const target = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  return new Worker(`import(${api}).then((m) => { m.register(); return import(${target}); });`, { eval: true, workerData });
}

/**
 * A started worker, its "ready" awaited; rejects with a typed error if it dies first. The worker loads `kernel` (the
 * rung the main thread chose) before it reports ready, so a worker is never terminated (a crash of another call,
 * dispose()) while it is still loading the native library: terminating a thread inside koffi's addon initialisation
 * aborts the whole process (seen 2026-12-02: "FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw").
 */
function readyWorker(kernel: CpuKernelName, isa?: NativeIsa): Promise<Worker> {
  return new Promise<Worker>((resolve, reject) => {
    const w = startWorker(kernel, isa);
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
  run(job: AnyJob): Promise<void> {
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

  private readonly kernel: CpuKernel;
  private readonly sparseAccum: { o: Float32Array; lse: Float32Array } = { o: new Float32Array(0), lse: new Float32Array(0) };

  constructor(workers: Worker[], pick: CpuKernelPick) {
    this.slots = workers.map((w) => new WorkerSlot(w));
    this.kernel = pick.kernel;
    this.info = {
      kind: 'cpu', device: `CPU, ${workers.length} worker thread${workers.length > 1 ? 's' : ''}, ${pick.kernel.name} kernel`, numSms: 8 * workers.length,
      details: { workers: workers.length, kernel: pick.kernel.name, ...(pick.kernel.isa ? { isa: pick.kernel.isa } : {}), kernelDetail: pick.kernel.detail, sparseKernel: sparseKernelName(pick.kernel), denseFp8Kernel: denseFp8KernelName(pick.kernel), chosenBy: pick.by, ...(pick.skipped.length ? { skipped: pick.skipped } : {}) },
    };
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

  decode(l: DecodeCall): Promise<void> { return this.enqueue(() => this.runDecode(l)); }
  /** A queued decode keeps the arrays it started with, so growing them here cannot pull them from under it. */
  reserve(plan: DecodePlan): void { this.live(); reserveAccum(plan, this.accum, sharedArrayFor); }
  /** The CPU rung every decode runs (native, wasm-simd, scalar...: kernels chosen at creation). */
  decodeKernel(): string { return `cpu-${String(this.info.details?.kernel)}`; }
  /** y = x · wᵀ; small products stay on this thread (a worker round trip costs more than they do). */
  matmul(l: MatmulCall): Promise<void> { return this.enqueue(() => this.runMatmul(l)); }
  /** Sparse decode (./sparse.ts) on the workers: the SM parts, then the requests split over parts. */
  decodeSparse(l: SparseCall): Promise<void> { return this.enqueue(() => this.runSparse(l)); }

  /** Queue a call behind every earlier one; it runs alone on the workers. */
  private enqueue(call: () => Promise<void>): Promise<void> {
    this.live();
    const run = this.tail.then(async () => {
      this.live();
      if (this.broken) throw this.broken;
      await this.replaceDeadWorkers();
      await call();
    });
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }

  /** Dense decode over an FP8 cache, read by block table (./dense-fp8.ts), on the workers; always taken (host tensors). */
  async decodeDenseFp8(l: DenseFp8Call): Promise<boolean> {
    await this.enqueue(() => {
      const { args, plan } = cpuDenseFp8Args(l, this.accum, sharedArrayFor);
      return this.runDense(args, plan.combine);
    });
    return true;
  }
  denseFp8Kernel(): string { return denseFp8KernelName(this.kernel); }

  private runDecode(l: DecodeCall): Promise<void> {
    return this.runDense(cpuArgs(l, this.accum, sharedArrayFor), l.plan.combine);
  }

  /** A dense decode (16-bit or FP8 cache) on the workers: the decode units, then the combine when a request was split. */
  private async runDense(args: CpuDecodeArgs, combine: boolean): Promise<void> {
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
      kernel: this.kernel.name,
      isa: this.kernel.isa,
    };
    await this.phase(job);
    // Sequences computed in one piece were finished by the decode phase: skip a round trip when none was split.
    if (combine) await this.phase({ ...job, counter: new SharedArrayBuffer(8), phase: 'combine', units: args.p.b });
    this.live(); // disposed meanwhile: do not copy back
    for (const [s, a] of copyBack) a.set(s as never);
  }

  private async runMatmul(l: MatmulCall): Promise<void> {
    checkMatmul(l, 'cpu');
    const x = l.x.host() as Float32Array, w = l.w.host() as Float32Array, y = l.y.host() as Float32Array;
    if (l.m * l.n * l.k < 1 << 18 || this.slots.length === 1) { gemm({ ...l, x, w, y }); return; }
    const share = (role: string, a: Float32Array, input: boolean): Float32Array => {
      if (a.buffer instanceof SharedArrayBuffer) return a;
      const s = this.stage(role, a) as Float32Array;
      if (input) s.set(a);
      return s;
    };
    const sv = (a: Float32Array): SharedView => ({ buffer: a.buffer as SharedArrayBuffer, byteOffset: a.byteOffset, length: a.length, type: 'Float32Array' });
    const ys = share('gemmY', y, false);
    // Units of whole 4-column blocks, about four per worker so a slow worker does not hold the others up.
    const cols = Math.max(4, Math.ceil(l.n / (4 * this.slots.length) / 4) * 4);
    await this.phase({
      id: 0, phase: 'gemm', x: sv(share('gemmX', x, true)), w: sv(share('gemmW', w, true)), y: sv(ys),
      m: l.m, n: l.n, k: l.k, xOff: l.xOff, xStride: l.xStride, wOff: l.wOff, wStride: l.wStride,
      cols, counter: new SharedArrayBuffer(8), units: Math.ceil(l.n / cols),
    });
    this.live();
    if (ys !== y) y.set(ys);
  }

  private async runSparse(l: SparseCall): Promise<void> {
    const args = cpuSparseArgs(l, this.sparseAccum);
    if (!(args.oAccum.buffer instanceof SharedArrayBuffer)) {
      this.sparseAccum.o = args.oAccum = sharedArrayFor('f32', args.oAccum.length, 'CPU sparse oAccum') as Float32Array;
      this.sparseAccum.lse = args.lseAccum = sharedArrayFor('f32', args.lseAccum.length, 'CPU sparse lseAccum') as Float32Array;
    }
    const copyBack: [HostArray, HostArray][] = [];
    const arrays: SparseWorkerJob['arrays'] = {};
    for (const [role, a] of Object.entries(args) as [keyof SparseWorkerJob['arrays'] | 'p', HostArray | undefined][]) {
      if (role === 'p' || !a) continue;
      let s = a;
      if (!(a.buffer instanceof SharedArrayBuffer)) {
        s = this.stage(`sparse.${role}`, a);
        if (role === 'out' || role === 'lse') copyBack.push([s, a]); else s.set(a as never);
      }
      arrays[role] = { buffer: s.buffer as SharedArrayBuffer, byteOffset: s.byteOffset, length: s.length, type: s.constructor.name as ArrayTypeName };
    }
    const job: SparseWorkerJob = {
      id: 0, kind: 'sparse', p: args.p, arrays, counter: new SharedArrayBuffer(8), phase: 'decode', units: args.p.numSmParts,
      kernel: this.kernel.name, isa: this.kernel.isa,
    };
    await this.phase(job);
    // Requests computed in one piece were finished by the decode phase: skip the round trip when none was split.
    if (mostSplits(args.numSplits, args.p.b) > 1) await this.phase({ ...job, counter: new SharedArrayBuffer(8), phase: 'combine', units: args.p.b });
    this.live(); // disposed meanwhile: do not copy back
    for (const [s, a] of copyBack) a.set(s as never);
  }

  /**
   * Run one phase on every worker; units are handed out through the phase's own atomic counter. Waits for every
   * worker's reply (none may still be writing when the next phase or call starts), then fails with the first error.
   */
  private async phase(job: AnyJob): Promise<void> {
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
        const w = await readyWorker(this.kernel.name, this.kernel.isa);
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
  timeMs(run: (rep: number) => void | Promise<void>, opts: TimeOptions): Promise<number[]> {
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
    this.sparseAccum.o = this.sparseAccum.lse = new Float32Array(0);
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
  const pick = await chooseCpuKernel(opts.kernel, opts.isa);
  const started = await Promise.allSettled(Array.from({ length: n }, () => readyWorker(pick.kernel.name, pick.kernel.isa)));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const r of started) if (r.status === 'fulfilled') void r.value.terminate();
    throw failed.reason;
  }
  return new CpuBackend(started.map((r) => (r as PromiseFulfilledResult<Worker>).value), pick);
}

export type { CpuDecodeArgs };


// The CPU backend for Node: the kernel of ./kernel.ts on worker threads over shared memory. Tensors it allocates
// live in SharedArrayBuffers, so workers read the cache in place; other host arrays are staged into shared
// memory per call (a copy), which is why caches should come from backend.empty() / upload().
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type DType, type HostArray, dtypeBytes } from '../../core/dtype.js';
import { FlashMlaError } from '../../core/errors.js';
import type { Backend, BackendInfo, DecodeLaunch, MatmulLaunch } from '../../core/problem.js';
import { gemm } from '../../core/mla/gemm.js';
import { Tensor } from '../../core/tensor.js';
import { checkMatmul, checkPositiveInt } from '../../core/validate.js';
import { cpuArgs, wallClockTimes, writeHost } from './inline.js';
import { type CpuDecodeArgs, decodeUnits } from './kernel.js';
import type { CpuKernel } from './item.js';
import { type CpuKernelChoice, type CpuKernelPick, chooseCpuKernel } from './paths.js';
import type { GemmJob, SharedView, SparseWorkerJob, WorkerJob } from './worker.js';
import type { SparseLaunch } from '../../core/sparse.js';
import { cpuSparseArgs } from './sparse.js';

export { InlineCpuBackend } from './inline.js';
export { type CpuKernelChoice, chooseCpuKernel } from './paths.js';

export interface CpuBackendOptions {
  /** Worker threads (default: the machine's available parallelism). */
  workers?: number;
  /** Force a CPU kernel rung (default: FLASHMLA_CPU_KERNEL, else native, else scalar). */
  kernel?: CpuKernelChoice;
}

const arrayTypes = { Uint16Array, Int32Array, Float32Array, Float64Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof arrayTypes;

function sharedArray(dtype: DType, length: number): HostArray {
  const bytes = Math.max(8, length * dtypeBytes[dtype]);
  const sab = new SharedArrayBuffer(bytes);
  switch (dtype) {
    case 'bf16': case 'f16': return new Uint16Array(sab, 0, length);
    case 'f32': return new Float32Array(sab, 0, length);
    case 'f64': return new Float64Array(sab, 0, length);
    case 'i32': return new Int32Array(sab, 0, length);
    case 'fp8_e4m3': return new Uint8Array(sab, 0, length);
  }
}

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

class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly info: BackendInfo;
  private readonly accum: { o: Float32Array; lse: Float32Array } = { o: new Float32Array(0), lse: new Float32Array(0) };
  private staging = new Map<string, HostArray>();
  private readonly counter = new Int32Array(new SharedArrayBuffer(8));
  private disposed = false;

  private readonly kernel: CpuKernel;
  constructor(private readonly workers: Worker[], pick: CpuKernelPick) {
    this.kernel = pick.kernel;
    this.info = {
      kind: 'cpu', device: `CPU, ${workers.length} worker thread${workers.length > 1 ? 's' : ''}, ${pick.kernel.name} kernel`, numSms: 8 * workers.length,
      details: { workers: workers.length, kernel: pick.kernel.name, kernelDetail: pick.kernel.detail, chosenBy: pick.by, ...(pick.skipped.length ? { skipped: pick.skipped } : {}) },
    };
  }

  empty(dtype: DType, shape: readonly number[]): Tensor {
    return new Tensor(dtype, shape, sharedArray(dtype, shape.reduce((a, b) => a * b, 1)));
  }
  upload(t: Tensor<HostArray>): Tensor {
    if (t.data.buffer instanceof SharedArrayBuffer) return t;
    const c = this.empty(t.dtype, t.shape);
    (c.host() as HostArray).set(t.host() as never);
    return c;
  }
  write(dst: Tensor, src: Tensor<HostArray>, dstOffset = 0): void { writeHost(dst, src, dstOffset); }
  async download(t: Tensor): Promise<Tensor<HostArray>> { return t as Tensor<HostArray>; }

  async decode(l: DecodeLaunch): Promise<void> {
    if (this.disposed) throw new FlashMlaError('disposed', 'CPU backend used after dispose()');
    const args = cpuArgs(l, this.accum);
    if (!(args.oAccum.buffer instanceof SharedArrayBuffer)) {
      this.accum.o = args.oAccum = sharedArray('f32', args.oAccum.length) as Float32Array;
      this.accum.lse = args.lseAccum = sharedArray('f32', args.lseAccum.length) as Float32Array;
    }
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
      p: args.p,
      arrays: {
        q: share('q', args.q)!, kCache: share('kCache', args.kCache)!, blockTable: share('blockTable', args.blockTable)!,
        seqlens: share('seqlens', args.seqlens)!, qIndptr: share('qIndptr', args.qIndptr), meta: share('meta', args.meta)!,
        numSplits: share('numSplits', args.numSplits)!, out: share('out', args.out, true)!, lse: share('lse', args.lse, true)!,
        oAccum: share('oAccum', args.oAccum)!, lseAccum: share('lseAccum', args.lseAccum)!,
      },
      counter: this.counter.buffer as SharedArrayBuffer,
      phase: 'decode',
      units: decodeUnits(args.p),
      kernel: this.kernel.name,
    };
    await this.phase(job);
    // Sequences computed in one piece were finished by the decode phase: skip a round trip when none was split.
    const split = args.numSplits.some((v, i) => i < args.p.b && args.numSplits[i + 1] - v > 1);
    if (split) await this.phase({ ...job, phase: 'combine', units: args.p.b });
    for (const [s, a] of copyBack) a.set(s as never);
  }

  /** y = x · wᵀ; small products stay on this thread (a worker round trip costs more than they do). */
  async matmul(l: MatmulLaunch): Promise<void> {
    if (this.disposed) throw new FlashMlaError('disposed', 'CPU backend used after dispose()');
    checkMatmul(l, 'cpu');
    const x = l.x.host() as Float32Array, w = l.w.host() as Float32Array, y = l.y.host() as Float32Array;
    if (l.m * l.n * l.k < 1 << 18 || this.workers.length === 1) { gemm({ ...l, x, w, y }); return; }
    const share = (role: string, a: Float32Array, input: boolean): Float32Array => {
      if (a.buffer instanceof SharedArrayBuffer) return a;
      const s = this.stage(role, a) as Float32Array;
      if (input) s.set(a);
      return s;
    };
    const sv = (a: Float32Array): SharedView => ({ buffer: a.buffer as SharedArrayBuffer, byteOffset: a.byteOffset, length: a.length, type: 'Float32Array' });
    const ys = share('gemmY', y, false);
    // Units of whole 4-column blocks, about four per worker so a slow worker does not hold the others up.
    const cols = Math.max(4, Math.ceil(l.n / (4 * this.workers.length) / 4) * 4);
    const job: GemmJob = {
      phase: 'gemm', x: sv(share('gemmX', x, true)), w: sv(share('gemmW', w, true)), y: sv(ys),
      m: l.m, n: l.n, k: l.k, xOff: l.xOff, xStride: l.xStride, wOff: l.wOff, wStride: l.wStride,
      cols, counter: this.counter.buffer as SharedArrayBuffer, units: Math.ceil(l.n / cols),
    };
    await this.phase(job);
    if (ys !== y) y.set(ys);
  }

  private readonly sparseAccum: { o: Float32Array; lse: Float32Array } = { o: new Float32Array(0), lse: new Float32Array(0) };

  /** Sparse decode (./sparse.ts) on the workers: the SM parts, then the requests split over parts. */
  async decodeSparse(l: SparseLaunch): Promise<void> {
    if (this.disposed) throw new FlashMlaError('disposed', 'CPU backend used after dispose()');
    const args = cpuSparseArgs(l, this.sparseAccum);
    if (!(args.oAccum.buffer instanceof SharedArrayBuffer)) {
      this.sparseAccum.o = args.oAccum = sharedArray('f32', args.oAccum.length) as Float32Array;
      this.sparseAccum.lse = args.lseAccum = sharedArray('f32', args.lseAccum.length) as Float32Array;
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
    const job: SparseWorkerJob = { kind: 'sparse', p: args.p, arrays, counter: this.counter.buffer as SharedArrayBuffer, phase: 'decode', units: args.p.numSmParts };
    await this.phase(job);
    await this.phase({ ...job, phase: 'combine', units: args.p.b });
    for (const [s, a] of copyBack) a.set(s as never);
  }

  /** Run one phase on every worker; units are handed out through a shared atomic counter. */
  private phase(job: WorkerJob | GemmJob | SparseWorkerJob): Promise<void> {
    Atomics.store(this.counter, 0, 0);
    return new Promise((resolve, reject) => {
      let left = this.workers.length;
      for (const w of this.workers) {
        const onMessage = (m: { error?: string }) => {
          w.off('error', onError);
          if (m.error) { left = -1; reject(new FlashMlaError('driver_error', `CPU worker: ${m.error}`)); return; }
          if (--left === 0) resolve();
        };
        const onError = (e: Error) => { w.off('message', onMessage); left = -1; reject(e); };
        w.once('message', onMessage);
        w.once('error', onError);
        w.postMessage(job);
      }
    });
  }

  private stage(role: string, a: HostArray): HostArray {
    const have = this.staging.get(role);
    const Ctor = a.constructor as new (b: SharedArrayBuffer, o: number, n: number) => HostArray;
    if (have && have.constructor === a.constructor && have.buffer.byteLength >= a.byteLength) {
      return new Ctor(have.buffer as SharedArrayBuffer, 0, a.length);
    }
    const s = new Ctor(new SharedArrayBuffer(Math.max(8, a.byteLength)), 0, a.length);
    this.staging.set(role, s);
    return s;
  }

  async synchronize(): Promise<void> {}
  timeMs(run: (rep: number) => void | Promise<void>, opts: { warmup: number; reps: number }): Promise<number[]> {
    return wallClockTimes(run, opts);
  }
  free(): void {}
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.workers) void w.terminate();
  }
}

/** Start a CPU backend with `workers` threads. Call dispose() to end them (they do not keep the process alive). */
export async function createCpuBackend(opts: CpuBackendOptions = {}): Promise<Backend> {
  const n = opts.workers ?? Math.max(1, availableParallelism());
  checkPositiveInt('workers', n, 256);
  const pick = await chooseCpuKernel(opts.kernel);
  const workers = await Promise.all(Array.from({ length: n }, () => new Promise<Worker>((resolve, reject) => {
    const w = startWorker();
    w.once('message', () => { w.off('error', reject); w.unref(); resolve(w); }); // the worker's "ready"
    w.once('error', reject);
  })));
  return new CpuBackend(workers, pick);
}

export type { CpuDecodeArgs };


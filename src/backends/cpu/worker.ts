// A CPU decode worker: takes units from a shared counter until none are left, then reports.
import { parentPort, workerData } from 'node:worker_threads';
import { gemmColumns } from '../../core/mla/gemm.js';
import type { CpuKernelName } from './item.js';
import type { NativeIsa } from './native/loader.js';
import { type CpuDecodeArgs, type CpuProblem, CpuScratch } from './kernel.js';
import { cpuKernelByName } from './paths.js';
import type { SparseProblem } from '../../core/sparse.js';
import { type CpuSparseArgs, CpuSparseScratch, runSparseCombineUnit } from './sparse.js';
import { combineUnitOf, denseUnitOf, sparseUnitOf } from './item.js';

export interface SharedView {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  type: 'Uint16Array' | 'Int32Array' | 'Float32Array' | 'Float64Array' | 'Uint8Array';
}

export interface WorkerJob {
  /** Echoed in the reply, so the backend matches replies to the phase it waits for. */
  id: number;
  p: CpuProblem;
  arrays: Record<Exclude<keyof CpuDecodeArgs, 'p' | 'qIndptr'>, SharedView> & { qIndptr?: SharedView };
  counter: SharedArrayBuffer;
  phase: 'decode' | 'combine';
  units: number;
  /** The CPU kernel rung the main thread chose (paths.ts), and the native rung's ISA. */
  kernel: CpuKernelName;
  isa?: NativeIsa;
}

/** A matmul y = x · wᵀ split into units of `cols` output columns. */
export interface GemmJob {
  id: number;
  phase: 'gemm';
  x: SharedView;
  w: SharedView;
  y: SharedView;
  m: number; n: number; k: number; xOff: number; xStride: number; wOff: number; wStride: number;
  cols: number;
  counter: SharedArrayBuffer;
  units: number;
}

/** A sparse decode phase (./sparse.ts): units are SM parts, then requests to combine. */
export interface SparseWorkerJob {
  id: number;
  kind: 'sparse';
  p: SparseProblem;
  arrays: Partial<Record<Exclude<keyof CpuSparseArgs, 'p'>, SharedView>>;
  counter: SharedArrayBuffer;
  phase: 'decode' | 'combine';
  units: number;
  /** The rung whose sparse kernel runs the parts (item.ts sparseUnitOf), as for a dense job. */
  kernel: CpuKernelName;
  isa?: NativeIsa;
}

const sparseScratch = new CpuSparseScratch();

const ctors = { Uint16Array, Int32Array, Float32Array, Float64Array, Uint8Array };
const scratch = new CpuScratch();

function view(v: SharedView) {
  return new ctors[v.type](v.buffer as unknown as ArrayBuffer, v.byteOffset, v.length);
}

parentPort?.on('message', async (job: WorkerJob | GemmJob | SparseWorkerJob) => {
  try {
    if (job.phase === 'gemm') {
      const g = { ...job, x: view(job.x) as Float32Array, w: view(job.w) as Float32Array, y: view(job.y) as Float32Array };
      const counter = new Int32Array(job.counter);
      for (let u = Atomics.add(counter, 0, 1); u < job.units; u = Atomics.add(counter, 0, 1)) {
        gemmColumns(g, u * job.cols, Math.min(job.n, (u + 1) * job.cols));
      }
      parentPort!.postMessage({ id: job.id });
      return;
    }
    if ('kind' in job && job.kind === 'sparse') {
      const a = Object.fromEntries(Object.entries(job.arrays).map(([k, v]) => [k, v && view(v)])) as unknown as CpuSparseArgs;
      a.p = job.p;
      const unit = sparseUnitOf(await cpuKernelByName(job.kernel, job.isa, 'the main thread'), a);
      const counter = new Int32Array(job.counter);
      for (let u = Atomics.add(counter, 0, 1); u < job.units; u = Atomics.add(counter, 0, 1)) {
        if (job.phase === 'decode') unit(a, u, sparseScratch);
        else runSparseCombineUnit(a, u);
      }
      parentPort!.postMessage({ id: job.id });
      return;
    }
    const kernel = await cpuKernelByName((job as WorkerJob).kernel, (job as WorkerJob).isa, 'the main thread');
    const a = Object.fromEntries(Object.entries(job.arrays).map(([k, v]) => [k, v && view(v)])) as unknown as CpuDecodeArgs;
    a.p = (job as WorkerJob).p;
    const unit = denseUnitOf(kernel, a.p), combine = combineUnitOf(kernel);
    const counter = new Int32Array(job.counter);
    for (let u = Atomics.add(counter, 0, 1); u < job.units; u = Atomics.add(counter, 0, 1)) {
      if (job.phase === 'decode') unit(a, u, scratch);
      else combine(a, u);
    }
    parentPort!.postMessage({ id: job.id });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
});

// The rung the main thread chose, loaded before "ready" (index.ts readyWorker: never terminated inside the native
// library's load); a rung that fails to load here fails the first job with its reason, as before.
const preload = workerData as { kernel?: CpuKernelName; isa?: NativeIsa } | undefined;
if (preload?.kernel) await cpuKernelByName(preload.kernel, preload.isa, 'the main thread').catch(() => undefined);
parentPort?.postMessage({ ready: true });

// A CPU decode worker: takes units from a shared counter until none are left, then reports.
import { parentPort } from 'node:worker_threads';
import type { MlaProblem } from '../../core/problem.js';
import { type CpuDecodeArgs, CpuScratch, runCombineUnit, runDecodeUnit } from './kernel.js';
import type { SparseProblem } from '../../core/sparse.js';
import { type CpuSparseArgs, CpuSparseScratch, runSparseCombineUnit, runSparseDecodeUnit } from './sparse.js';

export interface SharedView {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  type: 'Uint16Array' | 'Int32Array' | 'Float32Array' | 'Float64Array' | 'Uint8Array';
}

export interface WorkerJob {
  p: MlaProblem;
  arrays: Record<Exclude<keyof CpuDecodeArgs, 'p' | 'qIndptr'>, SharedView> & { qIndptr?: SharedView };
  counter: SharedArrayBuffer;
  phase: 'decode' | 'combine';
  units: number;
}

/** A sparse decode phase (./sparse.ts): units are SM parts, then requests to combine. */
export interface SparseWorkerJob {
  kind: 'sparse';
  p: SparseProblem;
  arrays: Partial<Record<Exclude<keyof CpuSparseArgs, 'p'>, SharedView>>;
  counter: SharedArrayBuffer;
  phase: 'decode' | 'combine';
  units: number;
}

const sparseScratch = new CpuSparseScratch();

const ctors = { Uint16Array, Int32Array, Float32Array, Float64Array, Uint8Array };
const scratch = new CpuScratch();

function view(v: SharedView) {
  return new ctors[v.type](v.buffer as unknown as ArrayBuffer, v.byteOffset, v.length);
}

parentPort?.on('message', (job: WorkerJob | SparseWorkerJob) => {
  try {
    if ('kind' in job && job.kind === 'sparse') {
      const a = Object.fromEntries(Object.entries(job.arrays).map(([k, v]) => [k, v && view(v)])) as unknown as CpuSparseArgs;
      a.p = job.p;
      const counter = new Int32Array(job.counter);
      for (let u = Atomics.add(counter, 0, 1); u < job.units; u = Atomics.add(counter, 0, 1)) {
        if (job.phase === 'decode') runSparseDecodeUnit(a, u, sparseScratch);
        else runSparseCombineUnit(a, u);
      }
      parentPort!.postMessage({});
      return;
    }
    const a = Object.fromEntries(Object.entries(job.arrays).map(([k, v]) => [k, v && view(v)])) as unknown as CpuDecodeArgs;
    a.p = (job as WorkerJob).p;
    const counter = new Int32Array(job.counter);
    for (let u = Atomics.add(counter, 0, 1); u < job.units; u = Atomics.add(counter, 0, 1)) {
      if (job.phase === 'decode') runDecodeUnit(a, u, scratch);
      else runCombineUnit(a, u);
    }
    parentPort!.postMessage({});
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
});

parentPort?.postMessage({ ready: true });

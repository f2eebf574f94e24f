// A CPU decode worker: takes units from a shared counter until none are left, then reports.
import { parentPort } from 'node:worker_threads';
import type { MlaProblem } from '../../core/problem.js';
import { type CpuDecodeArgs, CpuScratch, runCombineUnit, runDecodeUnit } from './kernel.js';

export interface SharedView {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  type: 'Uint16Array' | 'Int32Array' | 'Float32Array' | 'Float64Array' | 'Uint8Array';
}

export interface WorkerJob {
  /** Echoed in the reply, so the backend matches replies to the phase it waits for. */
  id: number;
  p: MlaProblem;
  arrays: Record<Exclude<keyof CpuDecodeArgs, 'p' | 'qIndptr'>, SharedView> & { qIndptr?: SharedView };
  counter: SharedArrayBuffer;
  phase: 'decode' | 'combine';
  units: number;
}

const ctors = { Uint16Array, Int32Array, Float32Array, Float64Array, Uint8Array };
const scratch = new CpuScratch();

function view(v: SharedView) {
  return new ctors[v.type](v.buffer as unknown as ArrayBuffer, v.byteOffset, v.length);
}

parentPort?.on('message', (job: WorkerJob) => {
  try {
    const a = Object.fromEntries(Object.entries(job.arrays).map(([k, v]) => [k, v && view(v)])) as unknown as CpuDecodeArgs;
    a.p = job.p;
    const counter = new Int32Array(job.counter);
    for (let u = Atomics.add(counter, 0, 1); u < job.units; u = Atomics.add(counter, 0, 1)) {
      if (job.phase === 'decode') runDecodeUnit(a, u, scratch);
      else runCombineUnit(a, u);
    }
    parentPort!.postMessage({ id: job.id });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
});

parentPort?.postMessage({ ready: true });

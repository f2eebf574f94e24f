// A CPU decode worker: takes units from a shared counter until none are left, then reports.
import { parentPort } from 'node:worker_threads';
import type { MlaProblem } from '../../core/problem.js';
import type { CpuKernelName } from './item.js';
import { type CpuDecodeArgs, CpuScratch, runCombineUnit } from './kernel.js';
import { cpuKernelByName } from './paths.js';

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
  /** The CPU kernel rung the main thread chose (paths.ts). */
  kernel: CpuKernelName;
}

const ctors = { Uint16Array, Int32Array, Float32Array, Float64Array, Uint8Array };
const scratch = new CpuScratch();

function view(v: SharedView) {
  return new ctors[v.type](v.buffer as unknown as ArrayBuffer, v.byteOffset, v.length);
}

parentPort?.on('message', async (job: WorkerJob) => {
  try {
    const kernel = await cpuKernelByName(job.kernel);
    const a = Object.fromEntries(Object.entries(job.arrays).map(([k, v]) => [k, v && view(v)])) as unknown as CpuDecodeArgs;
    a.p = job.p;
    const counter = new Int32Array(job.counter);
    for (let u = Atomics.add(counter, 0, 1); u < job.units; u = Atomics.add(counter, 0, 1)) {
      if (job.phase === 'decode') kernel.runDecodeUnit(a, u, scratch);
      else runCombineUnit(a, u);
    }
    parentPort!.postMessage({});
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
});

parentPort?.postMessage({ ready: true });

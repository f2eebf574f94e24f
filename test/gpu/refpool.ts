// A pool of reference workers (ref-worker.ts, compiled next to this file): reference(spec, seed) resolves to the
// same ReferenceOutput caseReference(makeCase(spec, seed)) gives, computed off the main thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ReferenceOutput } from '../../src/core/reference.js';
import type { CaseSpec } from '../support/random.js';

export class RefPool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, (r: ReferenceOutput) => void>();
  private next = 0;

  constructor(size = Math.max(1, availableParallelism() - 2)) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(new URL('./ref-worker.js', import.meta.url));
      w.on('message', (m: { id: number; out: Float64Array; lse: Float64Array }) => {
        this.waiting.get(m.id)!({ out: m.out, lse: m.lse });
        this.waiting.delete(m.id);
      });
      return w;
    });
  }

  reference(spec: CaseSpec, seed: number): Promise<ReferenceOutput> {
    const id = this.next++;
    return new Promise((res) => {
      this.waiting.set(id, res);
      this.workers[id % this.workers.length].postMessage({ id, spec, seed });
    });
  }

  async close(): Promise<void> { await Promise.all(this.workers.map((w) => w.terminate())); }
}

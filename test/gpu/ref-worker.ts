// Worker for the GPU suite: rebuilds a case from (spec, seed) and computes the float64 reference, so the
// references of a thousand cases are computed on all the host's cores while the GPU runs the cases.
import { parentPort } from 'node:worker_threads';
import { type CaseSpec, caseReference, makeCase } from '../support/random.js';

parentPort!.on('message', (m: { id: number; spec: CaseSpec; seed: number }) => {
  const r = caseReference(makeCase(m.spec, m.seed));
  parentPort!.postMessage({ id: m.id, out: r.out, lse: r.lse }, [r.out.buffer as ArrayBuffer, r.lse.buffer as ArrayBuffer]);
});

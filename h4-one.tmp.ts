import { createNodeWebGpuBackend } from './src/backends/webgpu/node.js';
import { flashMlaWithKvcache } from './src/index.js';
import { caseReference, runCase, makeCase, caseMatrix } from './test/support/random.js';
import { compareOutputs } from './test/support/compare.js';
import { growingCase, matrixTol } from './test/support/webgpu-matrix.js';
const pair = process.env.PAIR === '1';
const be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, lazy: true, pair } });
const specs = caseMatrix(4, 0x16a7e);
for (const [i, sp] of specs.entries()) { if (i < 3) continue;
  const dc = makeCase({ ...sp, ...(process.env.DT ? { dtype: process.env.DT } : {}), ...(process.env.SEQ ? { seqlens: JSON.parse(process.env.SEQ) } : {}), ...(process.env.SQ ? { sQ: Number(process.env.SQ) } : {}) } as any, 7200 + i); const numSms = Number(process.env.NSMS ?? 264);
  console.log('case', i, JSON.stringify({ b: dc.b, hQ: dc.hQ, sQ: dc.sQ, s: sp.seqlens, dt: dc.dtype, pb: sp.pageBlockSize }));
  const t0 = performance.now();
  const got = await runCase(dc, be, flashMlaWithKvcache, { numSms });
  const rep = compareOutputs(got.out, got.lse, caseReference(dc), dc.dtype, { b: dc.b, sQ: dc.sQ, hQ: dc.hQ }, matrixTol);
  console.log(numSms, rep.ok, rep.cosDiff, rep.maxLseErr, ((performance.now() - t0) / 1e3).toFixed(1), 's', rep.failures?.[0] ?? '');
}
be.dispose();

import { createNodeWebGpuBackend } from './src/backends/webgpu/node.js';
import { decodeMatrix5Program } from './src/backends/webgpu/kernels/decode-matrix5.js';
import { flashMlaWithKvcache } from './src/index.js';
import { caseReference, runCase, makeCase, caseMatrix } from './test/support/random.js';
import { compareOutputs } from './test/support/compare.js';
import { growingCase, matrixTol } from './test/support/webgpu-matrix.js';
const { source, key } = decodeMatrix5Program;
decodeMatrix5Program.source = (s) => source.call(decodeMatrix5Program, { ...s, lookahead: true });
decodeMatrix5Program.key = (s) => key.call(decodeMatrix5Program, { ...s, lookahead: true });
const be = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix: { emulate: true, subgroups: 4, lazy: true } });
const cases = [...[132, 1].map((n) => [growingCase(), n, 'growing']), ...caseMatrix(10, 0xa4ead).map((sp, i) => [makeCase({ ...sp, dtype: 'bf16' }, 7300 + i), i % 2 ? 264 : 132, JSON.stringify(sp.seqlens)])] as const;
let bad = 0;
for (const [dc, numSms, name] of cases) {
  const got = await runCase(dc, be, flashMlaWithKvcache, { numSms });
  const rep = compareOutputs(got.out, got.lse, caseReference(dc), dc.dtype, { b: dc.b, sQ: dc.sQ, hQ: dc.hQ, qIndptr: dc.qIndptr }, matrixTol);
  if (!rep.ok) bad++;
  console.log(name, numSms, rep.ok, rep.cosDiff.toExponential(2), rep.failures?.[0] ?? '');
}
console.log('bad', bad);
be.dispose();

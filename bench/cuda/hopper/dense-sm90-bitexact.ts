// Session 34: do two builds of decode_sm90.cu (the <= 32-row Hopper kernel) write the same bytes? One process, one CUDA
// backend per kernel folder (kernel: 'sm90'), each case's host inputs uploaded to both with the same poisoned outputs;
// `out` and `lse` compared bit for bit (NaN against NaN by bits too). The cases: test/support/random.ts's matrix cut to
// the kernel's shapes (one KV head, page 64, uniform query lengths, at most 32 rows), run with 132, 16 and 1 SM parts by
// turns (so unsplit items, split items and several items a part all occur), plus fixed shapes: FlashMLA's b=128 16 / 32-row
// rows at s_k 1024, b=1 s_k 32768 (103 splits), the uneven batch's lengths at 32 rows, and seqlens 0 / 1 / 63 / 64 / 65.
// --wide: the >= 64-row kernel (decode_sm90_wide.cu) instead: FlashMLA's b=128 64 / 128 / 256-row rows at s_k 1024, b=1
// s_k 32768 at 128 rows, the uneven batch (64 rows), corner seqlens at 64-192 rows, and the matrix cut to 64-256 rows.
//   node build/bench/cuda/hopper/dense-sm90-bitexact.js A=KERNEL_DIR B=KERNEL_DIR [--cases N (60)] [--wide]
// Prints one line a case (`identical` or the first differing element) and last `bitexact: N of M identical`; exit
// status 0 only when every case is identical and both builds ran the kernel asked for.
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { flashMlaWithKvcache } from '../../../src/index.js';
import type { MlaProblem } from '../../../src/core/problem.js';
import { type CaseSpec, caseMatrix, makeCase, runCase } from '../../../test/support/random.js';
import { bitDifference } from './merge-bitexact.js';

const args = process.argv.slice(2);
const ci = args.indexOf('--cases'), nCases = ci >= 0 ? Number(args[ci + 1]) : 60;
const wide = args.includes('--wide');
const builds = args.filter((a) => /^[\w.-]+=/.test(a)).map((a) => ({ name: a.slice(0, a.indexOf('=')), dir: a.slice(a.indexOf('=') + 1) }));
if (builds.length !== 2) throw new Error('usage: dense-sm90-bitexact.js A=KERNEL_DIR B=KERNEL_DIR [--cases N]');

const fixed = (name: string, seqlens: number[], hQ: number, sQ: number, dtype: 'bf16' | 'f16' = 'bf16'): CaseSpec =>
  ({ name, dtype, hQ, hKv: 1, pageBlockSize: 64, seqlens, sQ, causal: true });
const narrowSpecs: CaseSpec[] = [
  fixed('b128 s_k1024 h16 s_q1', Array(128).fill(1024), 16, 1),
  fixed('b128 s_k1024 h16 s_q2', Array(128).fill(1024), 16, 2),
  fixed('b128 s_k1024 h32 s_q1 f16', Array(128).fill(1024), 32, 1, 'f16'),
  fixed('b1 s_k32768 h16', [32768], 16, 1),
  fixed('uneven h8 s_q4', [4641, 45118, 1730, 1696], 8, 4),
  fixed('corners h5 s_q3', [0, 1, 63, 64, 65, 0, 129], 5, 3),
  fixed('corners h31 s_q1', [65, 0, 1, 64, 63], 31, 1, 'f16'),
  ...caseMatrix(nCases, 0x34be).map((s): CaseSpec => {
    const sQ = s.qLens ? 1 : s.sQ;
    return { ...s, hKv: 1, pageBlockSize: 64, qLens: undefined, sQ, hQ: Math.max(1, Math.min(s.hQ, Math.floor(32 / sQ))) };
  }),
];
const wideSpecs: CaseSpec[] = [
  fixed('b128 s_k1024 h32 s_q2', Array(128).fill(1024), 32, 2),
  fixed('b128 s_k1024 h64 s_q2', Array(128).fill(1024), 64, 2),
  fixed('b128 s_k1024 h128 s_q2 f16', Array(128).fill(1024), 128, 2, 'f16'),
  fixed('b1 s_k32768 h128', [32768], 128, 1),
  fixed('uneven h16 s_q4', [4641, 45118, 1730, 1696], 16, 4),
  fixed('corners h64 s_q3', [0, 1, 63, 64, 65, 0, 129], 64, 3),
  fixed('corners h65 s_q1', [65, 0, 1, 64, 63], 65, 1, 'f16'),
  ...caseMatrix(nCases, 0x34bf).map((s, i): CaseSpec => {
    const sQ = [1, 2, 3, 4][i % 4], rows = [64, 100, 128, 192, 256][i % 5];
    return { ...s, hKv: 1, pageBlockSize: 64, qLens: undefined, sQ, hQ: Math.max(1, Math.ceil(rows / sQ)), causal: sQ > 1 };
  }),
];
const specs = wide ? wideSpecs : narrowSpecs;

const backends = await Promise.all(builds.map((b) => createCudaBackend({ kernelDir: b.dir, kernel: 'sm90' })));
let same = 0, onSm90 = 0;
try {
  for (let i = 0; i < specs.length; i++) {
    const c = makeCase(specs[i], 0x34000 + i);
    const numSms = i % 3 === 0 ? 132 : i % 3 === 1 ? 16 : 1;
    const kern = backends.map((be) => be.decodeKernel({ dtype: c.dtype, sQ: c.sQ, nGroups: c.hQ, hKv: 1, pageBlockSize: 64, varlen: false, numSmParts: 1 } as unknown as MlaProblem));
    if (kern.every((k) => (wide ? /sm90w_/ : /sm90_/).test(k))) onSm90++;
    const r = [];
    for (const be of backends) r.push(await runCase(c, be, flashMlaWithKvcache, { numSms }));
    const diff = bitDifference(r[0], r[1]);
    const desc = `${specs[i].name} b=${c.b} h_q=${c.hQ} s_q=${c.sQ} ${c.dtype} parts<=${numSms} ${kern[0]}`;
    if (!diff) same++;
    console.log(`case ${i}: ${desc}: ${diff || 'identical'}`);
  }
} finally {
  for (const be of backends) be.dispose();
}
console.log(`bitexact: ${same} of ${specs.length} identical (${builds[0].name} / ${builds[1].name}); ${wide ? 'sm90w' : 'sm90'} on both in ${onSm90}`);
process.exitCode = same === specs.length && onSm90 === specs.length ? 0 : 1;

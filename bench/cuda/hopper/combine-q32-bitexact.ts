// Session 41: does mla_combine_q32 (combine.cu combineQuarter with 32 pieces a lane, FLASHMLA_CUDA_COMBINE_Q32=1) write
// the same bytes as one warp a row (combineWarps)? Per column both add the same weighted partials in the same order, so
// they should. One process, two CUDA backends of the same kernel folder: A with FLASHMLA_CUDA_COMBINE=warps (one warp a
// row for every merge, the quarter merge off), B the same with FLASHMLA_CUDA_COMBINE_Q32=1 (q32 for steps whose largest
// request is in 5-64 pieces); each case's host inputs uploaded to both with the same poisoned outputs, `out` and `lse`
// compared bit for bit (NaN by bits too). Cases: session 38's (combine-quarter-bitexact.ts) plus requests in 17-64
// pieces, and test/support/random.ts's matrix, each with 132, 66, 16 and 8 SM parts by turns and the 'auto' or FlashMLA's plan.
//   node build/bench/cuda/hopper/combine-q32-bitexact.js [--cases N (80)] [--only REGEX (the cases whose names match)]
// Prints a line a case (its merge on each backend, `identical` or the first differing element) and last `bitexact: N of
// M identical; q32 ran in K`; exit status 0 only when every case is identical and q32 ran in some.
import { type CudaBackend, createCudaBackend } from '../../../src/backends/cuda/index.js';
import { type CaseSpec, caseMatrix } from '../../../test/support/random.js';
import { mergeBitexact, mergeCase, quarterMergeCases } from './merge-bitexact.js';

const args = process.argv.slice(2);
const ci = args.indexOf('--cases'), nCases = ci >= 0 ? Number(args[ci + 1]) : 80;
const oi = args.indexOf('--only'), only = oi >= 0 ? new RegExp(args[oi + 1]) : undefined; // fixed cases by name (e.g. for compute-sanitizer)

const allSpecs: CaseSpec[] = [
  ...quarterMergeCases,
  mergeCase('b5 s_k16384 h16 s_q4', Array(5).fill(16384), 16, 4),
  mergeCase('b4 s_k8192 h16 s_q4 f16', Array(4).fill(8192), 16, 4, 'f16'),
  mergeCase('b3 s_k8192 h16', Array(3).fill(8192), 16, 1),
  mergeCase('b2 s_k24000 h64', Array(2).fill(24000), 64, 1),
  mergeCase('b2 s_k30000 h16 s_q2', Array(2).fill(30000), 16, 2),
  mergeCase('corners h16 s_q4 (33 pieces)', [9000, 0, 1, 8192], 16, 4),
  ...caseMatrix(nCases, 0x41c0).map((s): CaseSpec => ({ ...s, hKv: 1, pageBlockSize: 64, qLens: undefined })),
];
const specs = only ? allSpecs.filter((s) => only.test(s.name)) : allSpecs;

// FLASHMLA_CUDA_COMBINE is read whenever a shape's kernels are resolved, so it stays set for the whole run (session 41's
// first run deleted it after creating the backends, and four cases compared q32 with the CTA merge, whose sums differ);
// the other two are read when a backend is created.
process.env.FLASHMLA_CUDA_COMBINE = 'warps';
const make = async (on: boolean) => {
  process.env.FLASHMLA_CUDA_COMBINE_QUARTER = '0';
  process.env.FLASHMLA_CUDA_COMBINE_Q32 = on ? '1' : '0';
  return createCudaBackend();
};
const backends = [await make(false), await make(true)];
for (const k of ['FLASHMLA_CUDA_COMBINE_QUARTER', 'FLASHMLA_CUDA_COMBINE_Q32']) delete process.env[k];
process.exitCode = await mergeBitexact({ specs, seed: 0x41000, backends: backends as [CudaBackend, CudaBackend], newMerge: 'mla_combine_q32', label: 'warps / q32' });

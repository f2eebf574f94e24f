// Session 38: does the merge of one warp a quarter row (combine.cu combineQuarter, FLASHMLA_CUDA_COMBINE_QUARTER=1) write
// the same bytes as one warp a row (combineWarps)? Per column both add the same weighted partials in the same order, so
// they should. One process, two CUDA backends of the same kernel folder, created with the switch off and on; each case's
// host inputs uploaded to both with the same poisoned outputs, `out` and `lse` compared bit for bit (NaN by bits too).
// Cases: small batches whose requests are split in 5-24 pieces (16, 32 and 64+ rows, both dtypes, corner lengths), and
// test/support/random.ts's matrix, each with 132, 66, 16 and 8 SM parts by turns and the 'auto' or FlashMLA's plan.
//   node build/bench/cuda/hopper/combine-quarter-bitexact.js [--cases N (80)]
// Prints a line a case (its merge on each backend, `identical` or the first differing element) and last `bitexact: N of
// M identical; quarter ran in K`; exit status 0 only when every case is identical and the quarter merge ran in some.
import { type CudaBackend, createCudaBackend } from '../../../src/backends/cuda/index.js';
import { type CaseSpec, caseMatrix } from '../../../test/support/random.js';
import { mergeBitexact } from './merge-bitexact.js';

const args = process.argv.slice(2);
const ci = args.indexOf('--cases'), nCases = ci >= 0 ? Number(args[ci + 1]) : 80;

const fixed = (name: string, seqlens: number[], hQ: number, sQ: number, dtype: 'bf16' | 'f16' = 'bf16'): CaseSpec =>
  ({ name, dtype, hQ, hKv: 1, pageBlockSize: 64, seqlens, sQ, causal: true });
const specs: CaseSpec[] = [
  fixed('b10 s_k3000 h16', Array(10).fill(3000), 16, 1),
  fixed('b9 s_k1536 h16', Array(9).fill(1536), 16, 1),
  fixed('b8 s_k1536 h16 f16', Array(8).fill(1536), 16, 1, 'f16'),
  fixed('b16 s_k1024 h16', Array(16).fill(1024), 16, 1),
  fixed('b12 s_k1500 h32', Array(12).fill(1500), 32, 1),
  fixed('b6 s_k5000 h16 s_q2', Array(6).fill(5000), 16, 2),
  fixed('b8 s_k4096 h64', Array(8).fill(4096), 64, 1),
  fixed('b4 s_k8192 h128 s_q2', Array(4).fill(8192), 128, 2),
  fixed('uneven h16 s_q4', [4641, 45118, 1730, 1696], 16, 4),
  fixed('corners h5 s_q3', [0, 1, 63, 64, 65, 0, 1290, 3000], 5, 3),
  fixed('corners h17 s_q1 f16', [6500, 0, 1, 64, 63, 2000], 17, 1, 'f16'),
  ...caseMatrix(nCases, 0x38c0).map((s): CaseSpec => ({ ...s, hKv: 1, pageBlockSize: 64, qLens: undefined })),
];

// (mla_combine_q32's rule off on both, session 41: the quarter merge alone against one warp a row)
const make = async (on: boolean) => {
  process.env.FLASHMLA_CUDA_COMBINE_QUARTER = on ? '1' : '0';
  process.env.FLASHMLA_CUDA_COMBINE_Q32 = '0';
  return createCudaBackend();
};
const backends = [await make(false), await make(true)];
delete process.env.FLASHMLA_CUDA_COMBINE_QUARTER;
delete process.env.FLASHMLA_CUDA_COMBINE_Q32;
process.exitCode = await mergeBitexact({ specs, seed: 0x38000, backends: backends as [CudaBackend, CudaBackend], newMerge: 'mla_combine_quarter', label: 'quarter off / on' });

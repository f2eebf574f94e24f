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
import { mergeBitexact, quarterMergeCases } from './merge-bitexact.js';

const args = process.argv.slice(2);
const ci = args.indexOf('--cases'), nCases = ci >= 0 ? Number(args[ci + 1]) : 80;

const specs: CaseSpec[] = [
  ...quarterMergeCases,
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

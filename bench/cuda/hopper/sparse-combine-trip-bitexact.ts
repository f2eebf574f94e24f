// Session 39: does sparse_mma.cu's combineTrip (a warp's pieces loaded together, FLASHMLA_CUDA_SPARSE_COMBINE=trip) write
// the same bytes as combine (a piece's partial loaded after its weight)? Both add the same weighted partials in the same
// order, so they should. One process, two CUDA backends of the same kernel folder, created with the switch on old and
// trip; each seeded random sparse case (test/support/sparse-random.ts: the random suite's seeds, then FlashMLA's 64 / 128
// heads, then the dense-on-sparse 64+ heads cases) runs on both, checked against the float64 reference there, and `out`
// and `lse` are compared bit for bit (NaN by bits too). The reference check takes precision 'fast''s bound (P in bf16:
// tolerances.cudaSparseFast), as sparse.test.ts does.
//   node build/bench/cuda/hopper/sparse-combine-trip-bitexact.js [--cases N (200)]
// Prints the differing cases and last `sparse combine bitexact: N of M identical`; exit status 0 only when all are.
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { tolerances } from '../../../test/support/compare.js';
import { runRandomSparse } from '../../../test/support/sparse-random.js';

const args = process.argv.slice(2);
const ci = args.indexOf('--cases'), n = ci >= 0 ? Number(args[ci + 1]) : 200;
const make = async (v: string) => {
  process.env.FLASHMLA_CUDA_SPARSE_COMBINE = v;
  return createCudaBackend();
};
const backends = [await make('old'), await make('trip')];
delete process.env.FLASHMLA_CUDA_SPARSE_COMBINE;
const u32 = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
let same = 0, total = 0, failed = 0;
try {
  const seeds = [...Array.from({ length: n }, (_, i) => 20000 + i), ...Array.from({ length: Math.ceil(n / 4) }, (_, i) => 40000 + i)];
  for (const seed of seeds) {
    const heads = seed >= 40000 ? (r: { pick: (xs: number[]) => number }) => r.pick([64, 128]) : undefined;
    const got: { out: Uint16Array; lse: Uint32Array }[] = [];
    for (const be of backends) {
      try {
        await runRandomSparse(seed, be, tolerances.cudaSparseFast, undefined, false, heads, { outputs: (out, lse) => got.push({ out: out.slice(), lse: u32(lse.slice()) }) });
      } catch (e) {
        failed++;
        console.log(`seed ${seed}: reference check failed: ${String((e as Error).message).split('\n')[0]}`);
      }
    }
    total++;
    let diff = '';
    if (got.length !== 2) diff = 'no outputs';
    for (let e = 0; e < (got[0]?.out.length ?? 0) && !diff; e++) if (got[0].out[e] !== got[1].out[e]) diff = `out[${e}] ${got[0].out[e].toString(16)} / ${got[1].out[e].toString(16)}`;
    for (let e = 0; e < (got[0]?.lse.length ?? 0) && !diff; e++) if (got[0].lse[e] !== got[1].lse[e]) diff = `lse[${e}] bits ${got[0].lse[e].toString(16)} / ${got[1].lse[e].toString(16)}`;
    if (diff) console.log(`seed ${seed}: ${diff}`); else same++;
  }
} finally {
  for (const be of backends) be.dispose();
}
console.log(`sparse combine bitexact: ${same} of ${total} identical (old / trip); reference failures ${failed}`);
process.exitCode = same === total && failed === 0 ? 0 : 1;

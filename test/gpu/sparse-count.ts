// Count passes of the seeded random sparse and dense-FP8 cases on a GPU backend without stopping at the first
// failure (the test files stop there). Needs a GPU (CUDA: built kernels):
//   node --import tsx test/gpu/sparse-count.ts [cases=1000] [cuda|webgpu] [suites=random,heads,dense,dense90,dense90q,dense64,dense64d] [shard=i/n]
//   (or build/test/gpu/sparse-count.js after tsc)
// Prints "<backend> <suite>: <passed>/<cases> pass" and the first few failures of each suite (the random and heads
// suites use sparse.test.ts's seeds; dense runs test/support/dense-fp8-random.ts from seed 80000). Shard i/n runs every
// n-th case of each suite from its i-th, so n processes side by side cover the same seeds as one.
import type { Backend } from '../../src/core/problem.js';
import { tolerances } from '../support/compare.js';
import { runRandomDenseFp8 } from '../support/dense-fp8-random.js';
import type { Rng } from '../support/random.js';
import { runRandomSparse } from '../support/sparse-random.js';

const n = Number(process.argv[2] ?? 1000);
const kind = process.argv[3] ?? 'cuda';
const only = (process.argv[4] ?? 'random,heads,dense').split(',');
const [shard, shards] = (process.argv[5] ?? '0/1').split('/').map(Number);
let be: Backend & { dispose(): void };
if (kind === 'cuda') be = await (await import('../../src/backends/cuda/index.js')).createCudaBackend();
else if (kind === 'webgpu') be = await (await import('../../src/backends/webgpu/node.js')).createNodeWebGpuBackend();
else throw new Error(`backend: cuda or webgpu, got ${kind}`);
const tol = kind === 'cuda' ? tolerances.cuda : tolerances.webgpu;
// The sparse suites call with the default precision, 'fast': on the Hopper kernel P is rounded to bf16 before P·V, as
// FlashMLA does, so they take the bound that rounding allows (sparse.test.ts does the same). The dense FP8 suites keep
// the tight bound: their kernels keep P to 2^-11 or better (dense-on-sparse runs precision 'exact').
const sparseTol = kind === 'cuda' ? tolerances.cudaSparseFast : tolerances.webgpu;
const sparse = (pick?: (r: Rng) => number) => (seed: number) => runRandomSparse(seed, be, sparseTol, undefined, false, pick);
const suites: [string, number, number, (seed: number) => Promise<void>][] = [
  ['random', 20000, n, sparse()],
  ['heads', 40000, Math.max(1, Math.round(n / 20)), sparse((r) => r.pick([64, 128, 33, 48, 96]))],
  ['dense', 80000, n, (seed) => runRandomDenseFp8(seed, be, tol)],
  // dense_fp8_sm90.cu's shapes (V3.2, bf16, page 64, sQ * hQ <= 32): on sm_90 these run the Hopper kernel.
  ['dense90', 90000, n, (seed) => runRandomDenseFp8(seed, be, tol, false, true)],
  // the same shapes with query rows from 2^-20 to 2^17 in magnitude (dense_fp8_sm90.cu's f16 score path, its rescale)
  ['dense90q', 95000, n, (seed) => runRandomDenseFp8(seed, be, tol, false, true, true)],
  // 64 and 128 heads, both formats, host lengths: on sm_90 dense steps on sparse_sm90.cu (sparse.ts denseOnSparse)
  ['dense64', 97000, n, (seed) => runRandomDenseFp8(seed, be, tol, false, 'wide')],
  // the same with the block table and the lengths on the device (the step planned by mla_dense_fp8_plan)
  ['dense64d', 98000, n, (seed) => runRandomDenseFp8(seed, be, tol, false, 'wide', false, true)],
];
for (const [name, base, count, run] of suites) {
  if (!only.includes(name)) continue;
  let fail = 0, ran = 0;
  const first: string[] = [];
  const t0 = Date.now();
  for (let s = base + shard; s < base + count; s += shards) {
    ran++;
    try {
      await run(s);
    } catch (e) {
      fail++;
      if (first.length < 4) first.push(String((e as Error).message).split('\n').slice(0, 3).join(' | '));
    }
  }
  console.log(`${kind} ${name}${shards > 1 ? ` shard ${shard}/${shards}` : ''}: ${ran - fail}/${ran} pass (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  for (const m of first) console.log(`  ${m}`);
}
be.dispose();

// Count passes of the seeded random CUDA sparse cases without stopping at the first failure (test/gpu/sparse.test.ts
// stops there). Needs an NVIDIA GPU and built kernels:
//   node --import tsx test/gpu/sparse-count.ts [cases=1000]      (or build/test/gpu/sparse-count.js after tsc)
// Prints "<suite>: <passed>/<cases> pass" and the first few failures of each suite (same seeds as sparse.test.ts).
import { createCudaBackend } from '../../src/backends/cuda/index.js';
import { tolerances } from '../support/compare.js';
import type { Rng } from '../support/random.js';
import { runRandomSparse } from '../support/sparse-random.js';

const n = Number(process.argv[2] ?? 1000);
const cuda = await createCudaBackend();
const suites: [string, number, number, ((r: Rng) => number) | undefined][] = [
  ['random', 20000, n, undefined],
  ['many heads', 40000, Math.max(1, Math.round(n / 20)), (r) => r.pick([64, 128, 33, 48, 96])],
];
for (const [name, base, count, pick] of suites) {
  let fail = 0;
  const first: string[] = [];
  for (let s = base; s < base + count; s++) {
    try {
      await runRandomSparse(s, cuda, tolerances.cuda, undefined, false, pick);
    } catch (e) {
      fail++;
      if (first.length < 4) first.push(String((e as Error).message).split('\n').slice(0, 3).join(' | '));
    }
  }
  console.log(`${name}: ${count - fail}/${count} pass`);
  for (const m of first) console.log(`  ${m}`);
}
cuda.dispose();

// A/B timing of the sparse FP8 decode kernels through the library on FlashMLA's V3.2 shapes (bench --mode sparse's
// runShape): sparse_sm90.cu (the default on sm_90) and sparse_mma.cu (FLASHMLA_CUDA_SPARSE=mma), against FlashMLA's
// times from anchors/flashmla-sparse/bench_sparse.py run in the same session.
//   node build/bench/cuda/hopper/sparse-sm90-bench.js [flashmla.json] [--all] [--reps N] [--sm90-only] [--shape I]
import { readFileSync } from 'node:fs';
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { flashmlaSparseShapes, runShape } from '../../../src/cli/bench-sparse.js';

const args = process.argv.slice(2);
const all = args.includes('--all');
const reps = Number(args[args.indexOf('--reps') + 1] || 30) || 30;
const file = args.find((a) => a.endsWith('.json'));
type FRow = { kind: string; label?: string; b: number; h_q: number; s_q: number; topk: number; extra_topk?: number | null; us: number };
const theirs: FRow[] = file ? (JSON.parse(readFileSync(file, 'utf8')).rows as FRow[]).filter((r) => r.kind === 'sparse_fp8') : [];
const only = args.indexOf('--shape') >= 0 ? Number(args[args.indexOf('--shape') + 1]) : -1;
const shapes = flashmlaSparseShapes.filter((s, i) => (all || s.format === 'v32') && (only < 0 || i === only));
const res: Record<string, number[]> = {};
for (const kernel of args.includes('--sm90-only') ? ['sm90'] : ['sm90', 'mma']) {
  process.env.FLASHMLA_CUDA_SPARSE = kernel === 'mma' ? 'mma' : '';
  const be = await createCudaBackend();
  res[kernel] = [];
  for (const s of shapes) res[kernel].push((await runShape(be, s, { warmup: 5, reps })).us);
  be.dispose();
}
const ratios: number[] = [];
shapes.forEach((s, i) => {
  const f = theirs.find((r) => r.label === s.label && r.b === s.b && r.h_q === s.hQ && r.s_q === s.sQ && r.topk === s.topk && (r.extra_topk ?? 0) === (s.extraTopk ?? 0));
  const a = res.sm90[i], m = res.mma?.[i] ?? NaN;
  if (f) ratios.push(f.us / a);
  console.log(`${s.label} b=${s.b} h_q=${s.hQ} s_q=${s.sQ} topk=${s.topk}${s.extraTopk ? '+' + s.extraTopk : ''}: sm90 ${a.toFixed(1)} us, mma ${m.toFixed(1)} us (${(m / a).toFixed(2)}x)` +
    (f ? `, FlashMLA ${f.us.toFixed(1)} us -> ${(f.us / a).toFixed(3)}x` : ''));
});
if (ratios.length) console.log(`geomean vs FlashMLA: ${Math.exp(ratios.reduce((x, r) => x + Math.log(r), 0) / ratios.length).toFixed(3)} over ${ratios.length} shapes`);

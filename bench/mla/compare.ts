// One record of the V3-layer comparison: our CUDA decode step (bench/mla/layer.ts --json) against transformers'
// (bench/mla/torch_layer.py --out) timed in the same device call; the comparator is the faster of eager and sdpa.
//   node --import tsx bench/mla/compare.ts --ours cuda.json --torch torch.json --commit SHA --out results/gpu-host/bench/NAME.json
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({ options: {
  ours: { type: 'string' }, torch: { type: 'string' }, commit: { type: 'string' }, out: { type: 'string' }, note: { type: 'string' },
} });
if (!v.ours || !v.torch || !v.out) throw new Error('--ours, --torch and --out are required');
const ours = JSON.parse(readFileSync(v.ours, 'utf8')) as { median_ms: number; device_median_ms?: number; backend: string; date: string };
const torch = JSON.parse(readFileSync(v.torch, 'utf8')) as { device: string; rows: { impl: string; median_ms: number }[] };
const best = torch.rows.reduce((a, b) => (b.median_ms < a.median_ms ? b : a));
const res = {
  card: ours.backend, commit: v.commit ?? 'unknown', date: ours.date,
  what: 'one decode step of a DeepSeek-V3-shaped attention layer (hidden 7168, 128 heads, q_lora 1536), b=64, 4096 cached tokens, bf16',
  ours, torch, comparator: { impl: `transformers ${best.impl}`, median_ms: best.median_ms },
  ratio: best.median_ms / ours.median_ms, ...(v.note ? { note: v.note } : {}),
};
writeFileSync(v.out, JSON.stringify(res, null, 1) + '\n');
console.log(`ours ${ours.median_ms.toFixed(3)} ms (wall, one sync a step), transformers ${best.impl} ${best.median_ms.toFixed(3)} ms: ${res.ratio.toFixed(1)}x`);

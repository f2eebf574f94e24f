// Session 30: the 'auto' plan's numbers for bench configs of the wide Hopper kernel (>= 64 rows a KV head): SM parts,
// work items (numSplits[b]), mean keys an item (DecodePlan.keysPerSplit) and items a part; the axes along which call 1
// measured the short-item entry (docs/notes/cuda-hopper-decode.md, session 30). Offline (no GPU):
//   npx tsx bench/cuda/hopper/s30_plan_metrics.ts CONFIGS.json [--num-sms 132] [--json]
import { readFileSync } from 'node:fs';
import { autoRuleCuda, numSmPartsFor, planSchedule } from '../../../src/core/scheduler.js';
import { planDecode } from '../../../src/core/plan.js';
import { parseConfigs, seqlensOf } from '../../../src/cli/harness.js';

const args = process.argv.slice(2);
const numSms = args.includes('--num-sms') ? Number(args[args.indexOf('--num-sms') + 1]) : 132;
const configs = parseConfigs(JSON.parse(readFileSync(args[0], 'utf8')), args[0]);
const out = configs.map((c) => {
  const hKv = c.h_kv ?? 1, rows = (c.s_q * c.h_q) / hKv;
  const seqlens = seqlensOf(c);
  const s = planSchedule(seqlens, numSmPartsFor(numSms, rows, hKv), 'auto', rows, autoRuleCuda);
  const b = seqlens.length;
  const dp = planDecode({ b, sQ: c.s_q, hQ: c.h_q, hKv, numSmParts: s.numSmParts, maxBlocksPerSeq: 1, varlen: false }, s.numSplits, seqlens);
  return {
    b, s_k: c.s_k, seqlens: c.seqlens, h_q: c.h_q, s_q: c.s_q, rows, numSmParts: s.numSmParts, pieces: s.numSplits[b],
    keysPerSplit: dp.keysPerSplit, itemsPerPart: s.numSplits[b] / s.numSmParts,
  };
});
if (args.includes('--json')) console.log(JSON.stringify(out));
else for (const r of out) console.log(`b ${r.b} s_k ${r.s_k ?? 'var'} h_q ${r.h_q} s_q ${r.s_q}: rows ${r.rows} parts ${r.numSmParts} items ${r.pieces} keys/item ${r.keysPerSplit?.toFixed(0)} items/part ${r.itemsPerPart.toFixed(2)}`);

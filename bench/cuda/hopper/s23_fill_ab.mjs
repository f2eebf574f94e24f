#!/usr/bin/env node
// Session 23: the CUDA backend on the 'fill' (or 'auto', S23_ARMS) split-KV plan (core/scheduler.ts: FlashMLA's walk with the payload floor
// lowered from two overheads to one overhead and one block) against FlashMLA's plan, in one process, on the library's
// default kernels (sm90 narrow / wide on the H200). Each config of --configs is timed as bench arms main, fill, fill,
// main (ABBA: the drift cancels in the means); every arm's decoders are planned by MlaDecoder with that `schedule`.
// The harness's float64 spot check (--check rows) runs on the faster arm; the GPU suites run the fill plan on their
// own (FLASHMLA_TEST_SCHEDULE=fill). Runs the compiled package ($FLASHMLA_DIST, default dist).
//   node bench/cuda/hopper/s23_fill_ab.mjs --configs FILE.json [--reps 30] [--out FILE.json]
// Prints per config: each plan's mean of its two arms (ms), fill / main, and the parts and splits of both plans.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', '..', process.env.FLASHMLA_DIST ?? 'dist');
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);
const { values: v } = parseArgs({ options: {
  configs: { type: 'string' }, reps: { type: 'string', default: '30' }, warmup: { type: 'string', default: '3' },
  check: { type: 'string', default: '2' }, out: { type: 'string' },
} });
if (!v.configs) throw new Error('s23_fill_ab: --configs FILE is required');

const { createCudaBackend } = await imp('backends/cuda/index.js');
const makeBackend = process.env.S23_DRY ? async () => (await imp('backends/cpu/index.js')).createCpuBackend() : createCudaBackend;
const { parseConfigs, runConfigs, describe, seqlensOf } = await imp('cli/harness.js');
const { planSchedule, numSmPartsFor } = await imp('core/scheduler.js');
const configs = parseConfigs(JSON.parse(readFileSync(v.configs, 'utf8')), v.configs);
const backend = await makeBackend(process.env.S23_KDIR ? { kernelDir: process.env.S23_KDIR } : {});
console.log(`device: ${backend.info.device}; ${configs.length} configs`);
// S23_ARMS: the arms in order (labels main = FlashMLA's plan, fill, auto; default main,fill,fill,main). The ratio
// printed is the second label's mean over the first's.
const order = (process.env.S23_ARMS ?? 'main,fill,fill,main').split(',');
const [la, lb] = [...new Set(order)];
const kindOf = (label) => (label === 'main' ? 'flashmla' : label);
const rows = [];
try {
  await runConfigs(backend, configs, {
    warmup: Number(v.warmup), reps: Number(v.reps), warmMs: 300, idleWarmMs: 3000, check: Number(v.check),
    arms: () => order.map((label) => ({ label, schedule: kindOf(label) })),
    onProgress: () => {},
    onRow: (row, index) => {
      const c = configs[index], seq = seqlensOf(c);
      const parts = numSmPartsFor(backend.info.numSms, (c.s_q * c.h_q) / (c.h_kv ?? 1), c.h_kv ?? 1);
      const plan = Object.fromEntries([kindOf(la), kindOf(lb)].map((k) => {
        const s = planSchedule(seq, parts, k, (c.s_q * c.h_q) / (c.h_kv ?? 1));
        let busy = 0;
        for (let p = 0; p < s.numSmParts; p++) if (s.tileSchedulerMetadata[p * 8 + 2] >= s.tileSchedulerMetadata[p * 8]) busy++;
        return [k, { parts: busy, partials: s.numSplits[seq.length] }];
      }));
      const mean = (l) => { const a = row.arms.filter((x) => x.label === l).map((x) => x.ms); return a.reduce((s, x) => s + x, 0) / a.length; };
      const a = mean(la), b = mean(lb), pa = plan[kindOf(la)], pb = plan[kindOf(lb)];
      const r = { config: describe(c), kernel: row.kernel, [`${la}_ms`]: a, [`${lb}_ms`]: b, [`${lb}_over_${la}`]: b / a,
        arms: row.arms.map((x) => x.ms), plan, check: row.check, arm_checked: row.arm };
      rows.push(r);
      console.log(`ROW ${describe(c).padEnd(44)} ${la} ${(a * 1e3).toFixed(2)} us  ${lb} ${(b * 1e3).toFixed(2)} us  ${lb}/${la} ${(b / a).toFixed(4)}  [arms ${row.arms.map((x) => (x.ms * 1e3).toFixed(2)).join(' / ')}]  parts ${pa.parts} -> ${pb.parts}, partials ${pa.partials} -> ${pb.partials}  ${row.kernel ?? ''}${row.check ? `  check (${row.arm}) ${row.check.ok ? 'ok' : 'FAIL'} cos ${row.check.cos_diff.toExponential(2)}` : ''}`);
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'cuda-fill-ab', device: backend.info.device, date: new Date().toISOString(), rows }, null, 1));
    },
  });
} finally {
  backend.dispose?.();
}

#!/usr/bin/env node
// v5 against v5 with its lazy rescale of O (kernels/decode-matrix5.ts `lazy`), in one process: each config of
// --configs timed as four bench arms, v5 / lazy / v5 / lazy (the second pair shows the drift between arms), with the
// float64 spot check of the harness on the lazy arm (--check rows). Runs the compiled tree ($FLASHMLA_DIST, default
// build/src) with the matrix path forced (v5, the device's default layout).
//   node scripts/webgpu-tools/ab-matrix5-lazy.mjs --configs FILE.json [--reps 10] [--out FILE.json]
// Prints one line per arm as it is timed, then per config: v5 and lazy (mean of their two arms, ms) and lazy / v5.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);
const { values: v } = parseArgs({ options: {
  configs: { type: 'string' }, reps: { type: 'string', default: '10' }, warmup: { type: 'string', default: '2' },
  check: { type: 'string', default: '1' }, out: { type: 'string' },
} });
if (!v.configs) throw new Error('ab-matrix5-lazy: --configs FILE is required');

const { createNodeWebGpuBackend } = await imp('backends/webgpu/node.js');
const { parseConfigs, runConfigs, describe } = await imp('cli/harness.js');
const { median } = await imp('bench/stats.js');
const configs = parseConfigs(JSON.parse(readFileSync(v.configs, 'utf8')), v.configs);
const matrix = process.env.ABLATE_EMULATE === '1' ? { version: 5, emulate: true, subgroups: 4, lazy: false } : { version: 5, lazy: false };
const backend = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix });
console.log(`device: ${backend.info.device}; ${configs.length} configs`);
let current, pipeline = '';
const get = backend.programs.get.bind(backend.programs);
backend.programs.get = (p, spec) => { if (p.name.startsWith('mla_decode_matrix')) pipeline = `${p.name}:${p.key(spec)}`; return get(p, spec); };
const timeMs = backend.timeMs.bind(backend);
backend.timeMs = async (run, o) => {
  const times = await timeMs(run, o);
  if (current) console.log(`  ${current}: ${median(times).toFixed(4)} ms  [${pipeline}]`);
  return times;
};
const arm = (label, lazy, c) => ({
  label,
  // A new tuning object makes the backend resolve the kernel again (its cache compares it by identity).
  enter: () => { matrix.lazy = lazy; backend.decodeTuning = {}; current = `${describe(c)} ${label}`; },
  exit: () => { matrix.lazy = false; backend.decodeTuning = {}; current = undefined; },
});
const rows = [];
try {
  await runConfigs(backend, configs, {
    warmup: Number(v.warmup), reps: Number(v.reps), warmMs: 100, idleWarmMs: 2000, check: Number(v.check),
    arms: (c) => [arm('v5', false, c), arm('lazy', true, c), arm('v5 again', false, c), arm('lazy again', true, c)],
    onRow: (row, index) => {
      const ms = (l) => row.arms.find((a) => a.label === l).ms;
      const v5 = (ms('v5') + ms('v5 again')) / 2, lz = (ms('lazy') + ms('lazy again')) / 2;
      console.log(`${describe(configs[index]).padEnd(40)} v5 ${v5.toFixed(4)} ms  lazy ${lz.toFixed(4)} ms  lazy / v5 ${(lz / v5).toFixed(3)}  (arms ${row.arms.map((a) => a.ms.toFixed(4)).join(' / ')})${row.check ? `  check: ${JSON.stringify(row.check)}` : ''}`);
      rows.push({ ...row, v5_ms: v5, lazy_ms: lz, lazy_over_v5: lz / v5 });
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-matrix5-lazy-ab', device: backend.info.device, rows }, null, 1));
    },
  });
} finally {
  backend.dispose?.();
}

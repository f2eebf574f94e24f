#!/usr/bin/env node
// v5 against v5 with its lazy rescale of O (kernels/decode-matrix5.ts `lazy`), in one process: each config of
// --configs timed as bench arms, twice over (the second round shows the drift between arms): v5, lazy (its three
// forms: true, 'side', 'scratch'), and on request (VARIANTS) `lean`, a probe (the loaded words unpacked twice, fewer
// registers at the tile's peak) set by patching the program's spec as the ablation does, alone or with lazy. The harness's float64 spot check (--check rows) runs on the fastest arm. Runs
// the compiled tree ($FLASHMLA_DIST, default build/src) with the matrix path forced (v5, the device's default layout).
//   node scripts/webgpu-tools/ab-matrix5-lazy.mjs --configs FILE.json [--reps 10] [--out FILE.json]
// Prints one line per arm as it is timed, then per config each variant's mean of its two arms (ms) and its ratio to v5.
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
const { decodeMatrix5Program } = await imp('backends/webgpu/kernels/decode-matrix5.js');
const configs = parseConfigs(JSON.parse(readFileSync(v.configs, 'utf8')), v.configs);
const matrix = process.env.ABLATE_EMULATE === '1' ? { version: 5, emulate: true, subgroups: 4, lazy: false } : { version: 5, lazy: false };
const backend = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix });
console.log(`device: ${backend.info.device}; ${configs.length} configs`);
let current, pipeline = '', lean = false;
const { source, key } = decodeMatrix5Program;
decodeMatrix5Program.source = (spec) => source.call(decodeMatrix5Program, lean ? { ...spec, lean: true } : spec);
decodeMatrix5Program.key = (spec) => key.call(decodeMatrix5Program, lean ? { ...spec, lean: true } : spec);
const get = backend.programs.get.bind(backend.programs);
backend.programs.get = (p, spec) => { if (p.name.startsWith('mla_decode_matrix')) pipeline = `${p.name}:${p.key(spec)}`; return get(p, spec); };
const timeMs = backend.timeMs.bind(backend);
backend.timeMs = async (run, o) => {
  const times = await timeMs(run, o);
  if (current) console.log(`  ${current}: ${median(times).toFixed(4)} ms  [${pipeline}]`);
  return times;
};
// VARIANTS (comma-separated labels) picks among them; default v5, lazy, side, scratch.
const all = [['v5', false, false], ['lazy', true, false], ['side', 'side', false], ['scratch', 'scratch', false], ['lean', false, true], ['lazy+lean', true, true]];
const variants = all.filter(([l]) => (process.env.VARIANTS ?? 'v5,lazy,side,scratch').split(',').includes(l));
const arm = ([label, lz, ln], round, c) => ({
  label: `${label}${round ? ' again' : ''}`,
  // A new tuning object makes the backend resolve the kernel again (its cache compares it by identity).
  enter: () => { matrix.lazy = lz; lean = ln; backend.decodeTuning = {}; current = `${describe(c)} ${label}${round ? ' again' : ''}`; },
  exit: () => { matrix.lazy = false; lean = false; backend.decodeTuning = {}; current = undefined; },
});
const rows = [];
try {
  await runConfigs(backend, configs, {
    warmup: Number(v.warmup), reps: Number(v.reps), warmMs: 100, idleWarmMs: 2000, check: Number(v.check),
    arms: (c) => [0, 1].flatMap((round) => variants.map((x) => arm(x, round, c))),
    onRow: (row, index) => {
      const ms = (l) => row.arms.find((a) => a.label === l).ms;
      const mean = Object.fromEntries(variants.map(([l]) => [l, (ms(l) + ms(`${l} again`)) / 2]));
      console.log(`${describe(configs[index]).padEnd(40)} ${variants.map(([l]) => `${l} ${mean[l].toFixed(4)} ms (${(mean[l] / mean.v5).toFixed(3)})`).join('  ')}  [arms ${row.arms.map((a) => a.ms.toFixed(4)).join(' / ')}]${row.check ? `  check (${row.arm}): ${JSON.stringify(row.check)}` : ''}`);
      rows.push({ ...row, mean_ms: mean });
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-matrix5-lazy-ab', device: backend.info.device, rows }, null, 1));
    },
  });
} finally {
  decodeMatrix5Program.source = source;
  decodeMatrix5Program.key = key;
  backend.dispose?.();
}

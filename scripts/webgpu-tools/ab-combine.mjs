#!/usr/bin/env node
// The default split-KV combine against the wide combine (kernels/combine.ts `groups`, session 19 candidate) in one
// process, on the backend's default decode path (v5 lazy + trim + bounded on the H200, robust device): each config of
// --configs (--only picks by index) timed as bench arms in two alternating rounds (base, w4, w8, base, w4, w8; the
// second round shows the drift). The arms switch only the combine (the backend's `matrix.combine`, read at every
// launch), so the decode pipeline is the same object in every arm. The harness's float64 spot check (--check rows)
// runs on the fastest arm. Runs the compiled tree ($FLASHMLA_DIST, default build/src).
//   node scripts/webgpu-tools/ab-combine.mjs --configs FILE.json [--only 16,22,24,25] [--reps 10] [--out FILE.json]
// Prints one line per arm as it is timed, then per config each variant's mean of its two arms (ms) and its ratio to base.
// VARIANTS (comma-separated, default base,w4,w8,nocomb) picks the arms: base is the opt-out (`combine: 0`: the default
// combine on every launch, as before session 19), new the backend's default choice (combine unset: kernels/combine.ts
// chooseCombine, no combine pass where no request is split), w4 / w8 the wide combine forced. nocomb is a timing probe,
// not a kernel: base's combine patched to return at once (its bindings kept, its results wrong), so base - nocomb is
// what the combine's work costs inside the timed span (decode pass start to combine pass end).
// main / fill (session 19, round 3): the default combine choice with the split-KV plan forced per arm (the harness
// plans each arm's decoders with MlaDecoder's `schedule`): main FlashMLA's plan (the WebGPU backend's default; call W3
// kept it), fill the opt-in plan (core/scheduler.ts 'fill'). Ratios are to the first variant; each row
// records the most splits a request has under both plans (`splits`). mainnc / fillnc: the nocomb probe on either plan
// (the decode pass alone, plus an empty combine launch).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);
const { values: v } = parseArgs({ options: {
  configs: { type: 'string' }, only: { type: 'string' }, reps: { type: 'string', default: '10' }, warmup: { type: 'string', default: '2' },
  check: { type: 'string', default: '1' }, out: { type: 'string' },
} });
if (!v.configs) throw new Error('ab-combine: --configs FILE is required');

const { createNodeWebGpuBackend } = await imp('backends/webgpu/node.js');
const { parseConfigs, runConfigs, describe } = await imp('cli/harness.js');
const { median } = await imp('bench/stats.js');
const { combineProgram } = await imp('backends/webgpu/kernels/combine.js');
const { planSchedule, numSmPartsFor } = await imp('core/scheduler.js');
const { seqlensOf } = await imp('cli/harness.js');
let raw = JSON.parse(readFileSync(v.configs, 'utf8'));
if (v.only) raw = v.only.split(',').map((i) => raw[Number(i)]);
const configs = parseConfigs(raw, v.configs);
const matrix = {}; // the backend keeps this object: an arm sets matrix.combine, read at each launch
const backend = await createNodeWebGpuBackend({ matrix });
console.log(`device: ${backend.info.device}; robustness ${backend.info.details?.robustness}; ${configs.length} configs`);
let current, currentLabel, pipeline = '', nocomb = false;
let pipes = {}; // arm label -> the combine pipeline its timed runs used (reset per config)
const { source, key } = combineProgram;
combineProgram.source = (spec) => {
  const src = source.call(combineProgram, spec);
  if (!nocomb) return src;
  const head = '  let g = linearWorkgroup(wid, nwg);';
  if (!src.includes(head)) throw new Error('ab-combine: the combine has no linearWorkgroup line to return before');
  return src.replace(head, `  if (u.b != 4294967295u) { return; } // nocomb probe: no work, the bindings kept\n${head}`);
};
combineProgram.key = (spec) => `${key.call(combineProgram, spec)}${nocomb ? '.nocomb' : ''}`;
const get = backend.programs.get.bind(backend.programs);
backend.programs.get = (p, spec) => { if (p.name === 'mla_combine') pipeline = `${p.name}:${p.key(spec)}`; return get(p, spec); };
const timeMs = backend.timeMs.bind(backend);
backend.timeMs = async (run, o) => {
  const times = await timeMs(run, o);
  if (current) { console.log(`  ${current}: ${median(times).toFixed(4)} ms  [${pipeline}]`); pipes[currentLabel] = pipeline; }
  return times;
};
const all = [['base', 0], ['new', undefined], ['w4', 4], ['w8', 8], ['nocomb', 'probe'], ['main', undefined, 'flashmla'], ['fill', undefined, 'fill'],
  ['mainnc', 'probe', 'flashmla'], ['fillnc', 'probe', 'fill']];
const variants = all.filter(([l]) => (process.env.VARIANTS ?? 'base,w4,w8,nocomb').split(',').includes(l));
const arm = ([label, g, schedule], round, c) => ({
  label: `${label}${round ? ' again' : ''}`,
  ...(schedule ? { schedule } : {}),
  enter: () => {
    nocomb = g === 'probe'; pipeline = 'no combine pass';
    if (g === undefined) delete matrix.combine; else matrix.combine = nocomb ? 0 : g;
    currentLabel = `${label}${round ? ' again' : ''}`; current = `${describe(c)} ${currentLabel}`;
  },
  exit: () => { nocomb = false; delete matrix.combine; current = undefined; },
});
if (Number(v.check) > 0 && variants.some(([, g]) => g === 'probe')) throw new Error('ab-combine: --check 0 with the nocomb probe (the spot check runs on the fastest arm)');
const rows = [];
try {
  await runConfigs(backend, configs, {
    warmup: Number(v.warmup), reps: Number(v.reps), warmMs: 100, idleWarmMs: 2000, check: Number(v.check),
    arms: (c) => [0, 1].flatMap((round) => variants.map((x) => arm(x, round, c))),
    onRow: (row, index) => {
      const ms = (l) => row.arms.find((a) => a.label === l).ms;
      const mean = Object.fromEntries(variants.map(([l]) => [l, (ms(l) + ms(`${l} again`)) / 2]));
      const drift = Object.fromEntries(variants.map(([l]) => [l, ms(`${l} again`) / ms(l) - 1]));
      const ref = mean[variants[0][0]];
      const c = configs[index], seq = seqlensOf(c), parts = numSmPartsFor(backend.info.numSms, (c.s_q * c.h_q) / (c.h_kv ?? 1), c.h_kv ?? 1);
      const splits = Object.fromEntries(['flashmla', 'fill'].map((k) => {
        const ns = planSchedule(seq, parts, k).numSplits;
        return [k, Math.max(...Array.from(ns.subarray(1), (x, i) => x - ns[i]))];
      }));
      console.log(`ROW ${describe(c).padEnd(40)} ${variants.map(([l]) => `${l} ${mean[l].toFixed(4)} ms (${(mean[l] / ref).toFixed(3)})`).join('  ')}  [arms ${row.arms.map((a) => a.ms.toFixed(4)).join(' / ')}]  splits flashmla ${splits.flashmla} fill ${splits.fill}${row.check ? `  check (${row.arm}): ${JSON.stringify(row.check)}` : ''}`);
      rows.push({ ...row, mean_ms: mean, drift, pipelines: pipes, splits, num_sm_parts: parts });
      pipes = {};
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-combine-ab', device: backend.info.device, robustness: backend.info.details?.robustness, rows }, null, 1));
    },
  });
} finally {
  combineProgram.source = source;
  combineProgram.key = key;
  backend.dispose?.();
}

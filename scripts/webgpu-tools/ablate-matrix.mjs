#!/usr/bin/env node
// The v5 / v6 ablation round in one process (docs/notes/webgpu-matrix-kernel.md, "Next device call: ablating v5 and
// v6"): each config of --configs is timed with every version of --versions and every cut set of
// matrix-ablations.mjs (`ablationSets`), each an arm of the bench harness, so the page pool is filled once and each
// cut set compiles one pipeline. Results are wrong on purpose for every set but 'base' and 'numSms=264'. Runs the
// compiled tree ($FLASHMLA_DIST, default build/src: the staged tree's tsc output) with the matrix path forced.
//   node scripts/webgpu-tools/ablate-matrix.mjs --configs FILE.json [--versions 5,6] [--sets base,-pv-sync] \
//     [--reps 10] [--warmup 2] [--out FILE.json]
// Prints one line per arm (config, version, set, ms, ms / base of that version, µs per tile an SM part) and writes
// the rows (with `arms`) as JSON; each config's rows are written as soon as it finishes.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ablationSets, patchProgram } from './matrix-ablations.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);

const { values: v } = parseArgs({ options: {
  configs: { type: 'string' }, versions: { type: 'string', default: '5,6' }, sets: { type: 'string' },
  reps: { type: 'string', default: '10' }, warmup: { type: 'string', default: '2' }, 'warm-ms': { type: 'string', default: '200' },
  out: { type: 'string' },
} });
if (!v.configs) throw new Error('ablate-matrix: --configs FILE is required');
const versions = v.versions.split(',').map(Number);
if (versions.some((x) => x !== 5 && x !== 6)) throw new Error(`ablate-matrix: --versions takes 5 and 6, got ${v.versions}`);
const sets = v.sets ? v.sets.split(',').map((l) => ablationSets.find((s) => s.label === l) ?? (() => { throw new Error(`ablate-matrix: no set ${l}`); })()) : ablationSets;

const { createNodeWebGpuBackend } = await imp('backends/webgpu/node.js');
const { parseConfigs, runConfigs, seqlensOf, describe } = await imp('cli/harness.js');
const { median } = await imp('bench/stats.js');
const { decodeMatrix5Program } = await imp('backends/webgpu/kernels/decode-matrix5.js');
const { decodeMatrix6Program, matrix6Keys, matrix6Rows } = await imp('backends/webgpu/kernels/decode-matrix6.js');

const configs = parseConfigs(JSON.parse(readFileSync(v.configs, 'utf8')), v.configs);
let cut = [];
const unpatch = [patchProgram(decodeMatrix5Program, () => cut), patchProgram(decodeMatrix6Program, () => cut)];
// ABLATE_EMULATE=1: the emulated kernels (scalar products; v5 with 4 subgroups), for a dry run on lavapipe.
const matrix = process.env.ABLATE_EMULATE === '1' ? { version: 5, emulate: true, subgroups: 4 } : { version: 5 };
const backend = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix });
console.log(`device: ${backend.info.device}; versions ${versions.join(', ')}; ${sets.length} cut sets; ${configs.length} configs`);

// Tiles one SM part runs (approximately: whole tiles of nT keys per row block of R rows, spread over the parts).
const geometry = { 5: { keys: matrix.subgroups === 4 ? 16 : 32, rows: 16 }, 6: { keys: matrix6Keys, rows: matrix6Rows } };
const tilesPerPart = (c, version, parts) => {
  const g = geometry[version];
  const rows = (c.s_q * c.h_q) / (c.h_kv ?? 1);
  const keyTiles = Array.from(seqlensOf(c)).reduce((a, s) => a + Math.ceil(s / g.keys), 0);
  return (keyTiles * (c.h_kv ?? 1) * Math.ceil(rows / g.rows)) / parts;
};

const rows = [];
const started = performance.now();
// Each arm's median as soon as it is timed (the table at each config's end repeats it with ratios), so that a call
// stopped by its timeout keeps what it measured.
let current;
// The decode pipeline each arm ran (program and key, the cut included), so the log shows each arm ran what it names.
let pipeline = '';
const get = backend.programs.get.bind(backend.programs);
backend.programs.get = (p, spec) => { if (p.name.startsWith('mla_decode_matrix')) pipeline = `${p.name}:${p.key(spec)}`; return get(p, spec); };
const timeMs = backend.timeMs.bind(backend);
backend.timeMs = async (run, o) => {
  const times = await timeMs(run, o);
  if (current) console.log(`  ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s  ${describe(current.c)}  ${current.label}: ${median(times).toFixed(3)} ms  [${pipeline}]`);
  return times;
};
try {
  await runConfigs(backend, configs, {
    warmup: Number(v.warmup), reps: Number(v.reps), warmMs: Number(v['warm-ms']), idleWarmMs: 3000, check: 0, // 3 s after the pool fill, as the bench's default
    onProgress: (m) => { if (process.env.ABLATE_VERBOSE === '1') console.log(`  ${((performance.now() - started) / 1000).toFixed(1)} s ${m}`); },
    // Set by set, each on every version (a call cut short still compares the versions on the sets it reached).
    arms: (c) => sets
      .filter((s) => s.maxRows === undefined || (c.s_q * c.h_q) / (c.h_kv ?? 1) <= s.maxRows)
      .flatMap((s) => versions.map((version) => ({
        label: `v${version} ${s.label}`, numSms: s.numSms,
        // A new tuning object makes the backend resolve the kernel again (its cache compares it by identity).
        enter: () => { matrix.version = version; cut = s.cut; backend.decodeTuning = {}; current = { c, label: `v${version} ${s.label}` }; },
        exit: () => { matrix.version = 5; cut = []; backend.decodeTuning = {}; current = undefined; },
      }))),
    onRow: (row, index) => {
      const c = configs[index];
      const base = Object.fromEntries(row.arms.filter((a) => a.label.endsWith(' base')).map((a) => [a.label.split(' ')[0], a.ms]));
      const arms = row.arms.map((a) => {
        const version = Number(a.label.slice(1, 2));
        const ref = base[`v${version}`];
        const us = (a.ms * 1000) / tilesPerPart(c, version, a.num_sm_parts);
        console.log(`${describe(c).padEnd(32)} ${a.label.padEnd(20)} ${a.ms.toFixed(3).padStart(8)} ms  ${ref ? (a.ms / ref).toFixed(2) : '-'}x base  ${us.toFixed(2)} us/tile  (${a.num_sm_parts} parts)`);
        return { ...a, vs_base: ref ? a.ms / ref : undefined, us_per_tile: us };
      });
      rows.push({ ...row, arms });
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-matrix-ablation', device: backend.info.device, commit: process.env.FLASHMLA_COMMIT, versions, sets, rows }, null, 1));
    },
  });
} finally {
  for (const u of unpatch) u();
  backend.dispose?.();
}
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);

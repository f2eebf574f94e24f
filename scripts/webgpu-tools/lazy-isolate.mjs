#!/usr/bin/env node
// Why v5 lazy computed wrong results on the H200 (docs/notes/webgpu-matrix-kernel.md, "Session 10, round 2"), in one
// process: each variant below runs a few cases against the float64 reference (keys growing along the sequence, split
// and unsplit; ISO_RANDOM cases of the random matrix; the golden case decode_bf16_h16_sq1 where FLASHMLA_GOLDEN has it) and
// prints one CHECK line; then the variants that passed are timed against v5 (two rounds of arms a config, as
// ab-matrix5-lazy.mjs) and a DECISION line says what follows. Variants (the probes are spec fields of
// kernels/decode-matrix5.ts, set by patching the program as the ablation does; none is an option):
//   v5          the control (the shipped kernel, 8 subgroups)
//   lazy        the rebuilt lazy (flag in rowC[0]: exactly v5's 49 088 B of workgroup memory)
//   lazy-sg4    lazy with 4 subgroups (25 KiB, 8 carried result matrices a subgroup instead of 4)
//   scratch     lazy's factors, PV through the scratch as v5 (no carried result matrices)
//   every       lazy with the result matrices rescaled on every tile (no branch on the uniform flag)
//   pad4, pad64 v5 with 4 / 64 B more workgroup memory (49 092 B as the first lazy build; 49 152 B, the limit)
//   pad8, pad16, pad32  v5 with 8 / 16 / 32 B more (49 096, 49 104, 49 120 B: which multiple the driver needs)
//   late        v5 with the next tile's loads after the softmax (a speed probe: fewer registers live across QK)
//   lazy-late   lazy + late
// Runs the compiled tree ($FLASHMLA_DIST, default build/src; test helpers from build/test/support).
//   node scripts/webgpu-tools/lazy-isolate.mjs [--configs FILE.json] [--reps 10] [--out FILE.json]
// VARIANTS (comma-separated) picks; ISO_RANDOM (default 4) random cases a variant. ABLATE_EMULATE=1: a dry run on lavapipe
// (emulated products, 4 subgroups; the matrix forms then equal the emulation, so only the plumbing is checked).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);
const impTest = (p) => import(pathToFileURL(resolve(dist, '..', 'test', 'support', p)).href);
const { values: v } = parseArgs({ options: {
  configs: { type: 'string' }, reps: { type: 'string', default: '10' }, warmup: { type: 'string', default: '2' }, out: { type: 'string' },
} });
const emulate = process.env.ABLATE_EMULATE === '1';

const { createNodeWebGpuBackend } = await imp('backends/webgpu/node.js');
const { flashMlaWithKvcache } = await imp('index.js');
const { parseConfigs, runConfigs, describe } = await imp('cli/harness.js');
const { median } = await imp('bench/stats.js');
const { decodeMatrix5Program } = await imp('backends/webgpu/kernels/decode-matrix5.js');
const { caseMatrix, caseReference, makeCase, runCase, specName } = await impTest('random.js');
const { growingCase, matrixTol } = await impTest('webgpu-matrix.js');
const { compareOutputs } = await impTest('compare.js');
const { loadGolden, runGolden, goldenCaseNames } = await impTest('golden.js');

const shapes = [{ b: 128, s_k: 8192, h_q: 16, s_q: 1 }, { b: 128, s_k: 8192, h_q: 128, s_q: 1 }];
const configs = parseConfigs(v.configs ? JSON.parse(readFileSync(v.configs, 'utf8')) : shapes, v.configs ?? 'default shapes');

// label, subgroups (undefined: the device's default layout), lazy, probe fields
const all = [
  ['v5', undefined, false, {}],
  ['lazy', undefined, true, {}],
  ['lazy-sg4', 4, true, {}],
  ['scratch', undefined, 'scratch', {}],
  ['every', undefined, true, { every: true }],
  ['pad4', undefined, false, { pad: 4 }],
  ['pad64', undefined, false, { pad: 64 }],
  ['pad8', undefined, false, { pad: 8 }],
  ['pad16', undefined, false, { pad: 16 }],
  ['pad32', undefined, false, { pad: 32 }],
  ['late', undefined, false, { late: true }],
  ['lazy-late', undefined, true, { late: true }],
];
const pick = (process.env.VARIANTS ?? all.map((x) => x[0]).join(',')).split(',');
const variants = all.filter(([l]) => pick.includes(l) || l === 'v5');

const matrix = emulate ? { version: 5, emulate: true, subgroups: 4, lazy: false } : { version: 5, lazy: false };
const backend = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix });
console.log(`device: ${backend.info.device}; variants ${variants.map((x) => x[0]).join(', ')}`);
let probe = {}, pipeline = '';
const { source, key } = decodeMatrix5Program;
decodeMatrix5Program.source = (spec) => source.call(decodeMatrix5Program, { ...spec, ...probe });
decodeMatrix5Program.key = (spec) => key.call(decodeMatrix5Program, { ...spec, ...probe });
const get = backend.programs.get.bind(backend.programs);
backend.programs.get = (p, spec) => { if (p.name.startsWith('mla_decode_matrix')) pipeline = `${p.name}:${p.key(spec)}`; return get(p, spec); };
const enter = ([, sg, lz, pr]) => {
  matrix.lazy = lz; probe = pr;
  if (!emulate) { if (sg) matrix.subgroups = sg; else delete matrix.subgroups; }
  backend.decodeTuning = {}; // a new tuning object: the backend resolves its kernel again
};
const leave = () => enter(all[0]);

// ---- 1. correctness: a few cases a variant, each compared with the float64 reference (never throws).
const goldenName = (() => { try { return goldenCaseNames().includes('decode_bf16_h16_sq1') ? 'decode_bf16_h16_sq1' : undefined; } catch { return undefined; } })();
const nRandom = Number(process.env.ISO_RANDOM ?? 4);
// Made once, with their references, for every variant.
const cases = [
  ...[132, 1].map((numSms) => ({ name: `growing keys ${numSms} SMs`, dc: growingCase(), numSms })),
  ...caseMatrix(nRandom, 0x15a7e).map((s, i) => ({ name: specName(s, i), dc: makeCase(s, 7100 + i), numSms: 132 })),
].map((c) => ({ ...c, ref: caseReference(c.dc) }));
const golden = goldenName ? loadGolden(goldenName) : undefined;
const results = {};
for (const x of variants) {
  enter(x);
  const t0 = performance.now();
  const r = { pass: 0, fail: 0, cos: 0, lse: 0, first: '', pipeline: '' };
  const note = (name, rep) => {
    if (rep.ok) r.pass++; else { r.fail++; if (!r.first) r.first = `${name}: ${rep.failures[0] ?? rep.message}`; }
    r.cos = Math.max(r.cos, Number.isNaN(rep.cosDiff) ? Infinity : rep.cosDiff);
    r.lse = Math.max(r.lse, rep.maxLseErr);
  };
  try {
    for (const { name, dc, numSms, ref } of cases) {
      const got = await runCase(dc, backend, flashMlaWithKvcache, { numSms });
      note(name, compareOutputs(got.out, got.lse, ref, dc.dtype, { b: dc.b, sQ: dc.sQ, hQ: dc.hQ, qIndptr: dc.qIndptr }, matrixTol));
      r.pipeline = pipeline;
    }
    if (golden) {
      const g = golden, p = g.params;
      const got = await runGolden(g, backend);
      note(goldenName, compareOutputs(got.out, got.lse, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, matrixTol));
    }
  } catch (e) {
    r.fail++; r.first ||= `threw: ${String(e?.message ?? e).split('\n')[0]}`;
  }
  results[x[0]] = r;
  console.log(`CHECK ${x[0].padEnd(10)} ${r.fail ? 'FAIL' : 'pass'} ${r.pass}/${r.pass + r.fail}  worst cos ${r.cos.toExponential(2)}  lse ${r.lse.toExponential(2)}  ${((performance.now() - t0) / 1e3).toFixed(1)} s  [${r.pipeline}]${r.first ? `  first: ${r.first.slice(0, 220)}` : ''}`);
}
leave();

// ---- 2. timing: v5 and every variant that passed, two rounds of arms a config.
const timed = variants.filter(([l]) => l === 'v5' || results[l].fail === 0);
let current;
const timeMs = backend.timeMs.bind(backend);
backend.timeMs = async (run, o) => {
  const times = await timeMs(run, o);
  if (current) console.log(`  ${current}: ${median(times).toFixed(4)} ms  [${pipeline}]`);
  return times;
};
const rows = [];
const ratio = {};
try {
  await runConfigs(backend, configs, {
    warmup: Number(v.warmup), reps: Number(v.reps), warmMs: 100, idleWarmMs: 2000, check: 1,
    arms: (c) => [0, 1].flatMap((round) => timed.map((x) => ({
      label: `${x[0]}${round ? ' again' : ''}`,
      enter: () => { enter(x); current = `${describe(c)} ${x[0]}${round ? ' again' : ''}`; },
      exit: () => { leave(); current = undefined; },
    }))),
    onRow: (row, index) => {
      const ms = (l) => row.arms.find((a) => a.label === l).ms;
      const mean = Object.fromEntries(timed.map(([l]) => [l, (ms(l) + ms(`${l} again`)) / 2]));
      for (const [l] of timed) (ratio[l] ??= []).push(mean[l] / mean.v5);
      console.log(`TIME ${describe(configs[index]).padEnd(34)} ${timed.map(([l]) => `${l} ${mean[l].toFixed(4)} (${(mean[l] / mean.v5).toFixed(3)})`).join('  ')}${row.check ? `  check (${row.arm}): ${row.check.ok ? 'ok' : 'FAILED'}` : ''}`);
      rows.push({ ...row, mean_ms: mean });
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-matrix5-lazy-isolate', device: backend.info.device, checks: results, rows }, null, 1));
    },
  });
} finally {
  decodeMatrix5Program.source = source;
  decodeMatrix5Program.key = key;
  backend.dispose?.();
}

// ---- 3. what follows (the table in the note, "Session 10, round 2").
const ok = (l) => results[l] && results[l].fail === 0;
const geo = (l) => (ratio[l]?.length ? Math.exp(ratio[l].reduce((a, x) => a + Math.log(x), 0) / ratio[l].length) : NaN);
const says = [];
if (!ok('v5')) says.push('v5 itself FAILED: the harness or the device is at fault, nothing else here can be read');
else {
  if (results.lazy && ok('lazy')) says.push(geo('lazy') < 0.97 ? `SHIP lazy: correct here and ${geo('lazy').toFixed(3)}x v5 (geomean); run the GPU suite on it (FLASHMLA_MATRIX_TEST_LAZY=1, 100 random cases), then set matrix5LazyDefault = true` : `lazy correct but ${geo('lazy').toFixed(3)}x v5: not worth shipping`);
  if (results.pad4 && !ok('pad4')) says.push('pad4 FAILS: the driver needs the last bytes under the 48 KiB limit; no v5 variant may grow');
  if (results.pad4 && ok('pad4') && results.pad64 && !ok('pad64')) says.push('pad4 passes, pad64 fails: only the last bytes below the limit are unusable');
  if (results.pad4 && ok('pad4')) says.push('pad4 passes: the headroom hypothesis is wrong (the first build\'s extra u32 was not the cause)');
  if (results.lazy && !ok('lazy')) {
    says.push('lazy FAILS');
    if (results['lazy-sg4']) says.push(ok('lazy-sg4') ? 'lazy passes with 4 subgroups only: something of the 8-subgroup layout (its 48 KiB, two key blocks a tile)' : 'lazy fails with 4 subgroups too: not the 48 KiB layout');
    if (results.scratch) says.push(ok('scratch') ? 'scratch passes: the softmax side (reference, flag, uniform load) is right; the result matrices carried through the loop are at fault' : 'scratch FAILS too: the softmax side (reference, flag, workgroupUniformLoad) on this compiler');
    if (results.every) says.push(ok('every') ? 'every passes: the branch on the uniform flag around matrix stores and loads is at fault' : 'every fails: carrying result matrices through the loop is itself at fault');
  }
}
if (ok('late') && ratio.late) says.push(`late ${geo('late').toFixed(3)}x v5${geo('late') < 0.98 ? ': worth a default (run the suite on it)' : ''}`);
console.log(`DECISION: ${says.join('; ')}`);

#!/usr/bin/env node
// Session 11 (issue #13): the tile16 candidate of kernels/decode-matrix5.ts against the shipped v5 (lazy) in one
// process (docs/notes/webgpu-matrix-tile16.md). Each kernel variant runs a few cases against the float64 reference
// (keys growing along the sequence, split and unsplit; ISO_RANDOM random cases; the golden case decode_bf16_h16_sq1
// where FLASHMLA_GOLDEN has it): one CHECK line each. Then the arms that passed are timed, two rounds of arms a config
// (v5 first and last of each round), each arm planned for its own SM-part count: TIME lines (mean ms and the ratio to
// v5 at 132 parts), then a DECISION line. Arms (label: kernel probe, SM parts):
//   v5            the shipped kernel (8 subgroups, lazy), 132 parts        (the control)
//   v5-264        the same, planned for 264 parts                           (the session-10 2.66x, again)
//   t16           tile16 (16-key tiles, 8 contraction parts, ~29 KiB), 132 parts
//   t16-264       tile16, 264 parts (two workgroups' worth of items an SM)
//   t16-396       tile16, 396 parts
//   nopf-264      tile16 + noPrefetch (a tile's words loaded at its own iteration's top), 264 parts
//   nopf-396      the same, 396 parts
//   pair          v5 + pair (two tiles an iteration; the next pair's words and lookups issued together), 132 parts
//   pair-264      the same, 264 parts
//   t16pair       tile16 + pair, 132 parts
//   ahead         v5 + lookahead (each tile's block-table lookup issued an iteration earlier, into registers), 132 parts
//   trim          v5 + trim (session 12: the key maxima reset after the softmax, two barriers fewer a tile), 132 parts
//   tlate         trim + late (the next tile's loads after the softmax instead of after the conversion), 132 parts
//   tnopf         trim + noPrefetch (a tile's words loaded at its own top: 36 registers fewer live across QK/PV), 132
//   tlean         trim + lean (the words unpacked twice: no 72 f32 values held across the conversion's barrier), 132
//   tnl           trim + noPrefetch + lean, 132 parts
//   pmax          the default (trim, bounded) + packedMax (session 24: the key maxima from the words), 132 parts
//   dflt          the backend's default kernel as it is, 132 parts
//   nopm          the default without packedMax (the default before session 24), 132 parts
//   q1            the default + qOnce (a work item's q loaded once, all of a lane's words together), 132 parts
//   q2            the default + qRowLanes (the q prologue's lanes row-fastest), 132 parts
//   inf           the default + infSafe (session 20's infinite-input fixes), 132 parts
//   fill, inff, q2f, q2if   dflt / inf / q2 / q2 + infSafe on the 'fill' plan (core/scheduler.ts), 132 parts
//   seen, seenf   the default + infSafe 'seen' (the epilogue's third state alone), FlashMLA's / the 'fill' plan
//   old           the default kernel with the combine as before session 25 (a row whole)
//   c1s           the combine sliced ('auto'); (c1p, the combine in the decode's pass, ran in calls 2 of session 25)
//   sfc           seen + fill + c1s; all: sfc + q2
//   q2a           qRowLanes 'auto' (the backend picks it by the plan's mean keys a work item)
//   fl, auto      the default kernel on FlashMLA's / the 'auto' plan (with 'seen' where 'auto' cuts under the floor);
//   fillns        the 'fill' plan without 'seen' (what 'seen' costs there)
//   f16d          the default + f16Direct (session 27: an f16 cache's words into the tile as loaded; configs with "dtype": "f16")
//   b16d          the default + bf16Direct (session 40: bf16 tiles whose lanes pass a range test converted at scale 1)
//   nob16d        the default without bf16Direct (its default since session 40)
//   sg4-264       trim with 4 subgroups (16-key tiles, 25 KiB, 128 lanes), 264 parts: two workgroups an SM at 255
//                 registers (session 13's register slot, docs/notes/webgpu-matrix-trim.md)
// Runs the compiled tree ($FLASHMLA_DIST, default build/src; test helpers from build/test/support).
//   node scripts/webgpu-tools/tile16-ab.mjs [--configs FILE.json] [--reps 10] [--out FILE.json]
// ARMS (comma-separated) picks arms; ISO_RANDOM (default 4). ABLATE_EMULATE=1: a dry run on lavapipe (emulated
// products; v5 with 4 subgroups, tile16 with 8: checks the plumbing and the emulated arithmetic only).
import { readFileSync, writeFileSync } from 'node:fs';
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

// kernels: label -> probe fields (on top of the backend's spec)
const kernels = {
  v5: { trim: undefined }, // v5 lazy as session 11 shipped it (trim, the default since session 12, off)
  t16: { tile16: true, subgroups: 8 },
  nopf: { tile16: true, subgroups: 8, noPrefetch: true },
  pair: { pair: true },
  t16pair: { tile16: true, subgroups: 8, pair: true },
  ahead: { lookahead: true },
  trim: { trim: true },
  tlate: { trim: true, late: true },
  tnopf: { trim: true, noPrefetch: true },
  tlean: { trim: true, lean: true },
  tnl: { trim: true, noPrefetch: true, lean: true },
  sg4: { trim: true, subgroups: 4 },
  pmax: { packedMax: true }, // on top of the backend's default (trim, bounded, lazy)
  dflt: {}, // the backend's default as it is (packedMax on since session 24)
  nopm: { packedMax: false }, // the default before session 24
  q1: { qOnce: true }, // the default + qOnce (session 24)
  q2: { qOnce: true, qRowLanes: true }, // + the q prologue's lanes row-fastest (session 24)
  inf: { infSafe: true }, // the default + session 20's infinite-input fixes (session 25)
  q2i: { qOnce: true, qRowLanes: true, infSafe: true },
  seen: { infSafe: 'seen' },
  q2s: { qOnce: true, qRowLanes: true, infSafe: 'seen' },
  nos: { infSafe: false }, // no infSafe whatever the plan (the library takes 'seen' on plans cut under the floor)
  fe: { firstEarly: true }, // the default + a work item's first tile looked up and loaded in its q prologue (session 26)
  nofe: { firstEarly: false }, // the default without it (since session 26 the default takes it by the plan)
  fo: { freshO: true }, // the default + no rescale of O on a work item's first tile (session 26)
  f16d: { f16Direct: true }, // the default + an f16 cache's words into the tile as they are (session 27; f16 configs only)
  b16d: { bf16Direct: true }, // + bf16 tiles whose lanes pass a range test converted at scale 1 (session 40; the default since)
  nob16d: { bf16Direct: false }, // the default without bf16Direct (session 40)
};
// arms whose backend knobs (WebGpuBackendOptions.matrix) differ from the backend's: label -> knobs
// (onePass, the combine's dispatch in the decode's pass, ran in session 25 call 2 (1.00-1.01x) and was removed after it)
const c1s = { combineCols: 'auto' };
const knobsOf = { old: { combineCols: 1 }, c1s, sfc: c1s, all: c1s, q2a: { qRowLanes: 'auto' } };
// arms: label, kernel, SM parts
const allArms = [
  ['v5', 'v5', 132], ['v5-264', 'v5', 264], ['t16', 't16', 132], ['t16-264', 't16', 264], ['t16-396', 't16', 396],
  ['nopf-264', 'nopf', 264], ['nopf-396', 'nopf', 396], ['pair', 'pair', 132], ['pair-264', 'pair', 264], ['t16pair', 't16pair', 132],
  ['ahead', 'ahead', 132], ['trim', 'trim', 132], ['tlate', 'tlate', 132],
  ['tnopf', 'tnopf', 132], ['tlean', 'tlean', 132], ['tnl', 'tnl', 132], ['sg4-264', 'sg4', 264],
  ['pmax', 'pmax', 132], ['dflt', 'dflt', 132], ['nopm', 'nopm', 132], ['q1', 'q1', 132], ['q2', 'q2', 132],
  ['inf', 'inf', 132], ['fill', 'dflt', 132, 'fill'], ['inff', 'inf', 132, 'fill'], ['q2f', 'q2', 132, 'fill'], ['q2if', 'q2i', 132, 'fill'],
  ['seen', 'seen', 132], ['seenf', 'seen', 132, 'fill'], ['old', 'dflt', 132], ['c1s', 'dflt', 132],
  ['sfc', 'seen', 132, 'fill'], ['all', 'q2s', 132, 'fill'], ['q2a', 'dflt', 132],
  ['fl', 'dflt', 132, 'flashmla'], ['auto', 'dflt', 132, 'auto'], ['fillns', 'nos', 132, 'fill'],
  ['fe', 'fe', 132], ['nofe', 'nofe', 132], ['fo', 'fo', 132], ['f16d', 'f16d', 132], ['b16d', 'b16d', 132], ['nob16d', 'nob16d', 132],
];
const pick = (process.env.ARMS ?? allArms.map((x) => x[0]).join(',')).split(',');
const arms = allArms.filter(([l]) => l === 'v5' || pick.includes(l));
// kernels checked, each on the plans its arms use: [kernel, schedule]
const usedKernels = [...new Map(arms.map((a) => [`${a[1]}/${a[3] ?? ''}/${knobsOf[a[0]] ? a[0] : ''}`, [a[1], a[3], knobsOf[a[0]] ? a[0] : undefined]])).values()];
const checkKey = (k, schedule, label) => [k, schedule, label].filter(Boolean).join('/');

const matrix = emulate ? { version: 5, emulate: true, subgroups: 4, lazy: true } : { version: 5, lazy: true };
const backend = await createNodeWebGpuBackend({ decodePath: 'matrix', matrix });
console.log(`device: ${backend.info.device}; arms ${arms.map((x) => x[0]).join(', ')}`);
let probe = {}, pipeline = '';
const { source, key } = decodeMatrix5Program;
decodeMatrix5Program.source = (spec) => source.call(decodeMatrix5Program, { ...spec, ...probe });
decodeMatrix5Program.key = (spec) => key.call(decodeMatrix5Program, { ...spec, ...probe });
const get = backend.programs.get.bind(backend.programs);
backend.programs.get = (p, spec) => { if (p.name.startsWith('mla_decode_matrix')) pipeline = `${p.name}:${p.key(spec)}`; return get(p, spec); };
const baseMatrix = { ...backend.opts.matrix };
const enter = (k, label) => { // a new tuning object: the backend resolves its kernel again
  probe = kernels[k]; backend.decodeTuning = {};
  backend.opts.matrix = { ...baseMatrix, ...(knobsOf[label] ?? {}) };
};
const leave = () => enter('v5');

// ---- 1. correctness: a few cases a kernel, each compared with the float64 reference (never throws).
const goldenName = (() => { try { return goldenCaseNames().includes('decode_bf16_h16_sq1') ? 'decode_bf16_h16_sq1' : undefined; } catch { return undefined; } })();
const nRandom = Number(process.env.ISO_RANDOM ?? 4);
const cases = [
  ...[132, 264, 1].map((numSms) => ({ name: `growing keys ${numSms} SMs`, dc: growingCase(), numSms })),
  ...caseMatrix(nRandom, 0x16a7e).map((s, i) => ({ name: specName(s, i), dc: makeCase(s, 7200 + i), numSms: i % 2 ? 264 : 132 })),
].map((c) => ({ ...c, ref: caseReference(c.dc) }));
const golden = goldenName ? loadGolden(goldenName) : undefined;
const results = {};
async function checkAll() {
for (const [k, schedule, label] of usedKernels) {
  enter(k, label);
  const ck = checkKey(k, schedule, label);
  const t0 = performance.now();
  const r = { pass: 0, fail: 0, cos: 0, lse: 0, first: '', pipeline: '' };
  const note = (name, rep) => {
    if (rep.ok) r.pass++; else { r.fail++; if (!r.first) r.first = `${name}: ${rep.failures[0] ?? rep.message}`; }
    r.cos = Math.max(r.cos, Number.isNaN(rep.cosDiff) ? Infinity : rep.cosDiff);
    r.lse = Math.max(r.lse, rep.maxLseErr);
  };
  try {
    for (const { name, dc, numSms, ref } of cases) {
      const got = await runCase(dc, backend, flashMlaWithKvcache, { numSms, ...(schedule ? { schedule } : {}) });
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
  results[ck] = r;
  console.log(`CHECK ${ck.padEnd(6)} ${r.fail ? 'FAIL' : 'pass'} ${r.pass}/${r.pass + r.fail}  worst cos ${r.cos.toExponential(2)}  lse ${r.lse.toExponential(2)}  ${((performance.now() - t0) / 1e3).toFixed(1)} s  [${r.pipeline}]${r.first ? `  first: ${r.first.slice(0, 220)}` : ''}`);
}
leave();
}
// TIME_FIRST=1: time every arm first (the harness's own spot check still runs on bf16), then the checks; a kernel
// that hangs in a check then cannot cost the timing.
const timeFirst = process.env.TIME_FIRST === '1';
if (!timeFirst) await checkAll();

// ---- 2. timing: v5 and every arm whose kernel passed, two rounds of arms a config.
const timed = arms.filter(([l, k, , sc]) => timeFirst || results[checkKey(k, sc, knobsOf[l] ? l : undefined)]?.fail === 0);
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
    arms: (c) => [0, 1].flatMap((round) => timed.map(([l, k, n, sc]) => ({
      label: `${l}${round ? ' again' : ''}`, numSms: n, ...(sc ? { schedule: sc } : {}),
      enter: () => { enter(k, l); current = `${describe(c)} ${l}${round ? ' again' : ''} (${n} parts)`; },
      exit: () => { leave(); current = undefined; },
    }))),
    onRow: (row, index) => {
      const ms = (l) => row.arms.find((a) => a.label === l).ms;
      const mean = Object.fromEntries(timed.map(([l]) => [l, (ms(l) + ms(`${l} again`)) / 2]));
      for (const [l] of timed) (ratio[l] ??= []).push(mean[l] / mean.v5);
      console.log(`TIME ${describe(configs[index]).padEnd(34)} ${timed.map(([l]) => `${l} ${mean[l].toFixed(4)} (${(mean[l] / mean.v5).toFixed(3)})`).join('  ')}${row.check ? `  check (${row.arm}): ${row.check.ok ? 'ok' : 'FAILED'}` : ''}`);
      rows.push({ ...row, mean_ms: mean });
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-matrix5-tile16-ab', device: backend.info.device, checks: results, rows }, null, 1));
    },
  });
  if (timeFirst) await checkAll();
} finally {
  decodeMatrix5Program.source = source;
  decodeMatrix5Program.key = key;
  backend.dispose?.();
}

// ---- 3. what follows.
const geo = (l) => (ratio[l]?.length ? Math.exp(ratio[l].reduce((a, x) => a + Math.log(x), 0) / ratio[l].length) : NaN);
const says = [];
if (results.v5?.fail) says.push('v5 itself FAILED: the harness or the device is at fault, nothing else here can be read');
else {
  const cand = timed.filter(([l]) => l !== 'v5' && l !== 'v5-264').map(([l]) => [l, geo(l)]).sort((a, b) => a[1] - b[1]);
  for (const k of ['t16', 'nopf', 'pair', 't16pair', 'ahead', 'trim', 'tlate', 'tnopf', 'tlean', 'tnl', 'sg4', 'pmax', 'dflt', 'nopm', 'q1', 'q2', 'inf', 'q2i', 'dflt/fill', 'inf/fill', 'q2/fill', 'q2i/fill', 'seen', 'seen/fill', 'dflt/old', 'dflt/c1s', 'seen/fill/sfc', 'q2s/fill/all', 'dflt/q2a', 'dflt/flashmla', 'dflt/auto', 'nos/fill']) if (results[k]?.fail) says.push(`${k} FAILS its checks`);
  if (cand.length) {
    const [best, g] = cand[0];
    says.push(g < 0.9 ? `CANDIDATE ${best}: ${g.toFixed(3)}x v5 (geomean over the configs); run the GPU suite on it before any default` : `best ${best} ${g.toFixed(3)}x v5: no step`);
  }
  if (ratio['v5-264']) says.push(`v5 at 264 parts ${geo('v5-264').toFixed(3)}x`);
}
console.log(`DECISION: ${says.join('; ')}`);
// The kernel of the fastest candidate arm (geomean over the configs), for the round script's GPU-suite step.
const best = timed.filter(([l]) => l !== 'v5' && l !== 'v5-264').map(([l, k]) => [k, geo(l)]).sort((a, b) => a[1] - b[1])[0];
if (best) console.log(`BEST ${best[0]} ${best[1].toFixed(3)}`);

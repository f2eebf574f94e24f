#!/usr/bin/env node
// Session 24 (issue #13): where a v5 workgroup's fixed time goes (b = 1: ~20 µs a call beyond an empty pass). The default
// kernel's WGSL with parts cut out as text (results wrong on purpose: timing only, no checks), each an arm of the bench
// harness in one process, two rounds:
//   base     the default kernel
//   noepi    no epilogue (row sums, O through the scratch, out / partials, lse)
//   noq      no q prologue (q's maxima and its conversion into Qᵀ; the barriers stay)
//   notile   no tile (the tile loop runs no iteration; its first lookups and loads stay)
//   nofirst  no first lookups / loads before the loop either (with notile)
//   none     noepi + noq + notile + nofirst: the item loop's skeleton
//   noqatom / noqst / noqload   no atomics of the q prologue / no Qᵀ stores / no Qᵀ matrix loads (zero matrices)
//   noout / nolse               no out stores / no lse stores in the epilogue
// Runs the compiled tree ($FLASHMLA_DIST, default build/src).
//   node scripts/webgpu-tools/b1-ablate.mjs [--configs FILE.json] [--reps 30] [--out FILE.json]   (ARMS picks arms)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { keepBindings } from './matrix-ablations.mjs';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const imp = (p) => import(pathToFileURL(`${dist}/${p}`).href);
const { values: v } = parseArgs({ options: { configs: { type: 'string' }, reps: { type: 'string', default: '30' }, out: { type: 'string' } } });
const { createNodeWebGpuBackend } = await imp('backends/webgpu/node.js');
const { parseConfigs, runConfigs, describe } = await imp('cli/harness.js');
const { decodeMatrix5Program } = await imp('backends/webgpu/kernels/decode-matrix5.js');

const shapes = [{ b: 1, s_k: 1, h_q: 16, s_q: 1 }, { b: 1, s_k: 64, h_q: 16, s_q: 1 }, { b: 1, s_k: 32768, h_q: 16, s_q: 1 }];
const configs = parseConfigs(v.configs ? JSON.parse(readFileSync(v.configs, 'utf8')) : shapes, v.configs ?? 'b = 1 shapes');

/** text between the first `from` and the first `to` after it (both found, or the cut throws: the source moved). */
function cut(src, from, to, keep = '') {
  const a = src.indexOf(from), b = src.indexOf(to, a + from.length);
  if (a < 0 || b < 0) throw new Error(`b1-ablate: cut markers not found: ${JSON.stringify(from)} .. ${JSON.stringify(to)}`);
  return src.slice(0, a) + keep + src.slice(b);
}
const cuts = {
  noepi: (s) => cut(s, '  // Row sums, maxima and NaN flags', '\n }\n}\n', '  workgroupBarrier();'),
  noq: (s) => cut(s, "  // q: each row's largest finite magnitude", '  let qm0 = ', 'workgroupBarrier();\n  '),
  notile: (s) => s.replace(/for \(var k0 = kBegin; k0 < kEnd;/, 'for (var k0 = kEnd; k0 < kEnd;'),
  nofirst: (s) => cut(s, "  // The first tile's keys and words;", '  var par = 0u;', `  workgroupBarrier();\n  ${Array.from({ length: 9 }, (_, i) => `var w${i} = vec4<u32>(0u);`).join(' ')}\n`),
};
/** fn applied to the text between the first `from` and the first `to` after it only. */
function within(src, from, to, fn) {
  const a = src.indexOf(from), b = src.indexOf(to, a + from.length);
  if (a < 0 || b < 0) throw new Error(`b1-ablate: range markers not found: ${JSON.stringify(from)} .. ${JSON.stringify(to)}`);
  return src.slice(0, a) + fn(src.slice(a, b)) + src.slice(b);
}
const qPart = (fn) => (s) => within(s, "  // q: each row's largest finite magnitude", '  let qm0 = ', fn);
const epiPart = (fn) => (s) => within(s, '  // Row sums, maxima and NaN flags', '\n }\n}\n', fn);
const gone = (re) => (x) => { const y = x.replace(re, ''); if (y === x) throw new Error(`b1-ablate: nothing matched ${re}`); return y; };
// finer cuts (session 24, after qOnce): the q prologue's atomics, its Qᵀ stores, the Qᵀ matrix loads; the epilogue's out
// and lse stores
cuts.noqatom = qPart(gone(/atomicMax\(&qMax\[w \/ 72u\][^;]*;|if \(any\(isNan4\(a\) \| isNan4\(b\)\)\) \{ atomicOr\(&qNanF\[w \/ 72u\], 1u\); \}|if \(nan\) \{ atomicOr\(&qNanF\[w \/ 72u\], 1u\); \}/g));
cuts.noqst = qPart(gone(/Kt\[o \+ \d+u\] = h[ab]\.[xyzw];/g));
cuts.noqload = (s) => s.replace(/let (qm\d+) = subgroupMatrixLoad<(subgroup_matrix_right<f16, 16, 16>)>\([^;]*\);/g, 'let $1 = $2();');
cuts.noout = epiPart(gone(/out\[ob\] = [^;]*;/g));
cuts.nolse = epiPart(gone(/lse\[u\.lseOff[^;]*;/g));
const kernels = { base: [], noepi: ['noepi'], noq: ['noq'], notile: ['notile'], nofirst: ['notile', 'nofirst'], none: ['noepi', 'noq', 'notile', 'nofirst'],
  noqatom: ['noqatom'], noqst: ['noqst'], noqload: ['noqload'], noout: ['noout'], nolse: ['nolse'] };
const pick = (process.env.ARMS ?? Object.keys(kernels).join(',')).split(',');
const arms = Object.keys(kernels).filter((k) => k === 'base' || pick.includes(k));

const backend = await createNodeWebGpuBackend({ decodePath: 'matrix' });
console.log(`device: ${backend.info.device}; arms ${arms.join(', ')}`);
let cur = 'base', pipeline = '';
const { source, key } = decodeMatrix5Program;
// Every binding of the base stays statically used (keepBindings: a cut can remove the last use of one, and the auto
// layout would then lack it).
decodeMatrix5Program.source = (spec) => {
  const s = source.call(decodeMatrix5Program, spec);
  return cur === 'base' ? s : keepBindings(kernels[cur].reduce((x, c) => cuts[c](x), s));
};
decodeMatrix5Program.key = (spec) => `${key.call(decodeMatrix5Program, spec)}${cur === 'base' ? '' : `.cut-${cur}`}`;
const get = backend.programs.get.bind(backend.programs);
backend.programs.get = (p, spec) => { if (p.name.startsWith('mla_decode_matrix')) pipeline = `${p.name}:${p.key(spec)}`; return get(p, spec); };
const enter = (k) => { cur = k; backend.decodeTuning = {}; };
const rows = [];
try {
  await runConfigs(backend, configs, {
    warmup: 3, reps: Number(v.reps), warmMs: 100, idleWarmMs: 2000, check: 0,
    arms: () => [0, 1].flatMap((round) => arms.map((k) => ({ label: `${k}${round ? ' again' : ''}`, enter: () => enter(k), exit: () => enter('base') }))),
    onRow: (row, index) => {
      const ms = (l) => row.arms.find((a) => a.label === l).ms;
      const us = Object.fromEntries(arms.map((k) => [k, ((ms(k) + ms(`${k} again`)) / 2) * 1000]));
      console.log(`TIME ${describe(configs[index]).padEnd(26)} ${arms.map((k) => `${k} ${us[k].toFixed(1)} us`).join('  ')}  [${pipeline}]`);
      rows.push({ config: configs[index], us });
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-matrix5-b1-ablate', device: backend.info.device, rows }, null, 1));
    },
  });
} finally {
  decodeMatrix5Program.source = source;
  decodeMatrix5Program.key = key;
  backend.dispose?.();
}

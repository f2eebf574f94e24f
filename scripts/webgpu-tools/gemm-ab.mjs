#!/usr/bin/env node
// Session 46 (issue #13): dense decode's GEMM path (kernels/decode-gemm.ts, WebGpuBackendOptions.decodeGemm) against
// the default matrix kernel v5 in one process, on one backend whose decodeGemm is switched between arms.
// 1. Checks, GEMM path forced: random cases of many shapes (caseMatrix), keys growing along the sequence, FlashMLA's
//    golden decode_bf16_h16_sq1 where FLASHMLA_GOLDEN has it, and inputs past what f16 keeps (the fallback to v5):
//    one CHECK line each, against the float64 reference.
// 2. Timing: two rounds of the arms (v5, gemm) a config, each planned for 132 SM parts: TIME lines (mean ms, ratio to
//    v5, TFLOPS), then a geometric mean a rows-per-KV-head class.
// Runs the compiled tree ($FLASHMLA_DIST, default build/src; test helpers from build/test/support).
//   node scripts/webgpu-tools/gemm-ab.mjs [--configs FILE.json] [--reps 10] [--out FILE.json]
// ISO_RANDOM (default 24) random cases; GEMM_EMULATE=1 a dry run on lavapipe (products emulated).
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
const emulate = process.env.GEMM_EMULATE === '1';

const { createNodeWebGpuBackend } = await imp('backends/webgpu/node.js');
const { flashMlaWithKvcache } = await imp('index.js');
const { parseConfigs, runConfigs, describe } = await imp('cli/harness.js');
const { caseMatrix, caseReference, makeCase, runCase, specName } = await impTest('random.js');
const { growingCase, matrixTol, extremeCases, mixedBlockCase, ropeHeavyCase, nanRowsCase, infKeyCase, someHugeKeys } = await impTest('webgpu-matrix.js');
const { compareOutputs } = await impTest('compare.js');
const { loadGolden, runGolden, goldenCaseNames } = await impTest('golden.js');

const shapes = [{ b: 128, s_k: 8192, h_q: 128, s_q: 1 }, { b: 128, s_k: 8192, h_q: 64, s_q: 1 }];
const configs = parseConfigs(v.configs ? JSON.parse(readFileSync(v.configs, 'utf8')) : shapes, v.configs ?? 'default shapes');

const backend = await createNodeWebGpuBackend({ decodePath: 'matrix', ...(emulate ? { matrix: { emulate: true, subgroups: 4 } } : {}) });
console.log(`device: ${backend.info.device}`);
// arms: label -> [decodeGemm, decodeGemmProbe] (probes with `skip` time part of the path: results wrong)
const armDefs = {
  v5: [false, undefined], g0: [true, {}], gq: [true, { qStage: true }], gqp: [true, { qStage: true, pStage: true }],
  'g0-s': [true, { skip: ['softmax', 'pv'] }], 'g0-ss': [true, { skip: ['pv'] }],
  'gqp-s': [true, { qStage: true, pStage: true, skip: ['softmax', 'pv'] }], 'gqp-ss': [true, { qStage: true, pStage: true, skip: ['pv'] }],
};
const arms = ['v5', ...(process.env.ARMS ?? 'g0').split(',').filter((a) => a !== 'v5')];
for (const a of arms) if (!armDefs[a]) throw new Error(`unknown arm ${a}`);
const gemmRan = () => backend.opts.decodeGemm === true;
const enter = (arm) => { const [on, probe] = armDefs[arm]; backend.opts.decodeGemm = on; backend.opts.decodeGemmProbe = probe; };

// ---- 1. checks on the GEMM path, each arm of CHECK_ARMS (default g0)
const checks = {};
for (const armC of (process.env.CHECK_ARMS ?? 'g0').split(',')) {
enter(armC);
const nRandom = Number(process.env.ISO_RANDOM ?? 24);
const cases = [
  ...[132, 1].map((numSms) => ({ name: `growing keys ${numSms} SMs`, dc: growingCase(), numSms })),
  ...caseMatrix(nRandom, 0x6e33).map((s, i) => ({ name: specName(s, i), dc: makeCase(s, 4600 + i), numSms: 132 })),
  ...extremeCases().map(([name, mk]) => ({ name: `fallback: ${name}`, dc: mk(), numSms: 132 })),
  { name: 'fallback: mixed blocks', dc: mixedBlockCase(), numSms: 1 },
  { name: 'fallback: RoPE x 2^20', dc: ropeHeavyCase(20), numSms: 132 },
  { name: 'fallback: every 7th key x 2^20', dc: someHugeKeys({ name: 'h', dtype: 'bf16', hQ: 64, hKv: 1, pageBlockSize: 64, seqlens: [260, 90], sQ: 1, causal: false }, 0xb8, 7), numSms: 132 },
];
const r = { pass: 0, fail: 0, cos: 0, lse: 0, first: [] };
const t0 = performance.now();
for (const { name, dc, numSms } of cases) {
  try {
    const got = await runCase(dc, backend, flashMlaWithKvcache, { numSms });
    const rep = compareOutputs(got.out, got.lse, caseReference(dc), dc.dtype, { b: dc.b, sQ: dc.sQ, hQ: dc.hQ, qIndptr: dc.qIndptr }, matrixTol);
    if (rep.ok) r.pass++; else { r.fail++; r.first.push(`${name}: ${rep.failures[0] ?? rep.message}`); }
    if (!name.startsWith('fallback')) { r.cos = Math.max(r.cos, Number.isNaN(rep.cosDiff) ? Infinity : rep.cosDiff); r.lse = Math.max(r.lse, rep.maxLseErr); }
  } catch (e) { r.fail++; r.first.push(`${name}: threw ${String(e?.message ?? e).split('\n')[0]}`); }
}
try {
  if (goldenCaseNames().includes('decode_bf16_h16_sq1')) {
    const g = loadGolden('decode_bf16_h16_sq1'), p = g.params;
    const got = await runGolden(g, backend);
    const rep = compareOutputs(got.out, got.lse, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, matrixTol);
    if (rep.ok) r.pass++; else { r.fail++; r.first.push(`golden: ${rep.failures[0] ?? rep.message}`); }
  }
} catch (e) { console.log(`golden: ${String(e?.message ?? e).split('\n')[0]}`); }
console.log(`CHECK ${armC} ${r.fail ? 'FAIL' : 'pass'} ${r.pass}/${r.pass + r.fail}  worst cos ${r.cos.toExponential(2)}  lse ${r.lse.toExponential(2)}  ${((performance.now() - t0) / 1e3).toFixed(1)} s  gemm=${gemmRan()}`);
for (const f of r.first.slice(0, 8)) console.log(`  ${f.slice(0, 260)}`);
checks[armC] = r;
}

// ---- 2. timing
const rows = [];
const ratios = new Map();
const flops = (c) => {
  const lens = c.seqlens ?? Array(c.b).fill(c.s_k);
  return 2 * lens.reduce((a, x) => a + x, 0) * c.h_q * c.s_q * (576 + 512);
};
try {
  await runConfigs(backend, configs, {
    warmup: Number(v.warmup), reps: Number(v.reps), warmMs: 100, idleWarmMs: 2000, check: 1,
    arms: () => [0, 1].flatMap((round) => arms.map((a) => ({
      label: `${a}${round ? ' again' : ''}`, numSms: 132, enter: () => enter(a), exit: () => enter('v5'),
    }))),
    onRow: (row, index) => {
      const c = configs[index];
      const ms = (l) => row.arms.find((a) => a.label === l).ms;
      const mean = Object.fromEntries(arms.map((a) => [a, (ms(a) + ms(`${a} again`)) / 2]));
      const rows_ = c.s_q * c.h_q / (c.h_kv ?? 1);
      const ratio = Object.fromEntries(arms.map((a) => [a, mean[a] / mean.v5]));
      (ratios.get(rows_) ?? ratios.set(rows_, []).get(rows_)).push(ratio);
      console.log(`TIME ${describe(c).padEnd(36)} rows ${String(rows_).padStart(3)}  v5 ${mean.v5.toFixed(4)} ms  ${arms.slice(1).map((a) => `${a} ${mean[a].toFixed(4)} (${ratio[a].toFixed(3)}; ${(flops(c) / mean[a] / 1e9).toFixed(1)} TF)`).join('  ')}`);
      rows.push({ config: c, mean_ms: mean, ratio, check: row.check });
      if (v.out) writeFileSync(v.out, JSON.stringify({ kind: 'webgpu-gemm-ab', device: backend.info.device, checks, rows }, null, 1));
    },
  });
} finally { backend.dispose?.(); }
const geo = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
for (const [k, xs] of [...ratios.entries()].sort((a, b) => a[0] - b[0])) {
  console.log(`ROWS ${k}: ${arms.slice(1).map((a) => `${a} ${geo(xs.map((x) => x[a])).toFixed(3)}`).join('  ')} (time / v5, geomean over ${xs.length})`);
}

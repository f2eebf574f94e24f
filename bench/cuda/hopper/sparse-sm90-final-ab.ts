// A/B of sparse_sm90.cu builds on FlashMLA's 12 sparse shapes, in one process: one CUDA backend per kernel folder
// (the shipped dist/cuda and a copy per candidate with its sparse_sm90.fatbin swapped in), the inputs of a shape
// generated once on the host and uploaded to each backend, the backends timed in interleaved rounds so that clock
// and thermal drift fall on all of them alike. Ratios against FlashMLA's bench_sparse.py JSON of the same call.
//   node build/bench/cuda/hopper/sparse-sm90-final-ab.js FLASHMLA.json shipped=dist/cuda m1544=/tmp/sab-m1544 ...
//     [--reps N (10)] [--rounds N (2)] [--warmup N (3)] [--json FILE] [--shapes flashmla|m1items|v32h64|m1pair|m1h64|v32items|m1h64items|pair|m1pairv|v32pairm]
// --shapes m1items: the MODEL1 h_q 128 item probe instead of the 12 shapes (m1ItemShapes below: 32 tiles a part in 1, 2
// or 4 items, and FlashMLA's b 148 topk 16384 "peak" case); the JSON then also gives each shape's largest part
// (`sched`: items and 64-token tiles, from the host scheduler).
// Prints one line per build: `NAME geomean G over 12 | shape ratios...`, then the per-shape table in µs.
// Each shape's medians also go to stderr as soon as it is timed (`[+Ts] shape k/12 LABEL: NAME us ...`), and with --json
// the file is rewritten after every shape (`done` = shapes timed), so a run cut by its timeout still leaves them.
import { readFileSync, writeFileSync } from 'node:fs';
import { type CudaBackend, createCudaBackend } from '../../../src/backends/cuda/index.js';
import { type SparseShape, flashmlaSparseShapes } from '../../../src/cli/bench-sparse.js';
import { uploadFp8Cache } from '../../../src/core/sparse.js';
import { planSparseSchedule, sparseListLength, sparseNumSmParts, sparsePartWork } from '../../../src/core/sparse-scheduler.js';
import { flashMlaSparseWithKvcache } from '../../../src/core/sparse-api.js';
import { sparseHostInputs } from './sparse-host-inputs.js';
import type { Tensor } from '../../../src/core/tensor.js';

const args = process.argv.slice(2);
const num = (name: string, d: number) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : d; };
const reps = num('--reps', 10), rounds = num('--rounds', 2), warmup = num('--warmup', 3);
const jsonOut = args.indexOf('--json') >= 0 ? args[args.indexOf('--json') + 1] : undefined;
const shapeSet = args.indexOf('--shapes') >= 0 ? args[args.indexOf('--shapes') + 1] : 'flashmla';
/** MODEL1 single cache, h_q 128, s_q 2: the largest part holds 32 tiles as 1, 2 or 4 items; then FlashMLA's peak case. */
const m1ItemShapes: readonly SparseShape[] = [
  { label: 'MODEL1 items', format: 'model1', b: 33, hQ: 128, sQ: 2, sK: 16384, topk: 2048, blockSize: 64 },
  { label: 'MODEL1 items', format: 'model1', b: 66, hQ: 128, sQ: 2, sK: 16384, topk: 1024, blockSize: 64 },
  { label: 'MODEL1 items', format: 'model1', b: 128, hQ: 128, sQ: 2, sK: 16384, topk: 512, blockSize: 64 },
  { label: 'MODEL1 peak', format: 'model1', b: 148, hQ: 128, sQ: 2, sK: 32768, topk: 16384, blockSize: 64 },
];
/** --shapes v32h64: FlashMLA's four V3.2 shapes at h_q 64 (the one-CTA entries; DeepSeek-V3.2's 128 heads over two GPUs),
    timed by bench/cuda/hopper/flashmla_sparse_v32h64.py on FlashMLA's side. */
const v32h64Shapes: readonly SparseShape[] = flashmlaSparseShapes.filter((s) => s.format === 'v32').map((s) => ({ ...s, label: 'V3.2 h64', hQ: 64 }));
/** --shapes m1pair: FlashMLA's four MODEL1 shapes at h_q 128 (the MODEL1 pair entries), then its MODEL1 h_q 64 k1024 shape
    (a one-CTA entry: the same code in every build of a MODEL1-pair change, a noise guard); FlashMLA's column from
    bench_sparse.py. */
const m1PairShapes: readonly SparseShape[] = [
  ...flashmlaSparseShapes.filter((s) => s.format === 'model1' && s.hQ === 128),
  ...flashmlaSparseShapes.filter((s) => s.format === 'model1' && s.hQ === 64 && s.topk === 1024 && !s.extraTopk),
];
/** --shapes m1h64: FlashMLA's four MODEL1 h_q 64 shapes (the one-CTA MODEL1 entries), then its MODEL1 h_q 128 k512 shape (a
    pair entry: the same code in every build of a one-CTA MODEL1 change, a noise guard). */
const m1H64Shapes: readonly SparseShape[] = [
  ...flashmlaSparseShapes.filter((s) => s.format === 'model1' && s.hQ === 64),
  ...flashmlaSparseShapes.filter((s) => s.format === 'model1' && s.hQ === 128 && s.topk === 512 && !s.extraTopk),
];
/** --shapes v32items / m1h64items (session 19, h2 round 4): m1items' fit for the V3.2 pair entries (h_q 128, 33 parts) and the
    one-CTA MODEL1 entries (h_q 64, 66 parts): the largest part holds 32 tiles as 1, 2 or 4 items (s_k 8192: less host
    data to generate), then FlashMLA's b 148 topk 16384 peak case (s_k 32768, as its JSON's row); v32items then FlashMLA's
    V3.2 b 128 s_q 2 shape (its class shape: the gap split; m1h64's second shape is the one-CTA MODEL1 class's). */
const itemShapes = (format: 'v32' | 'model1', hQ: number, b: number): SparseShape[] => {
  const name = format === 'v32' ? 'V3.2' : 'MODEL1';
  return [
    ...[2048, 1024, 512].map((topk, i) => ({ label: `${name} items`, format, b: b << i, hQ, sQ: 2, sK: 8192, topk, blockSize: 64 })),
    { label: `${name} peak`, format, b: 148, hQ, sQ: 2, sK: 32768, topk: 16384, blockSize: 64 },
  ];
};
const v32ItemShapes = [...itemShapes('v32', 128, 33), flashmlaSparseShapes[1]], m1H64ItemShapes = itemShapes('model1', 64, 66);
/** --shapes pair (session 20, helper s20-l1): FlashMLA's four V3.2 shapes (h_q 128: the V3.2 pair entries), then m1pair's five
    (the four MODEL1 pair shapes and the one-CTA MODEL1 h_q 64 k1024 shape): a consumer change every entry shares. */
const pairShapes: readonly SparseShape[] = [...flashmlaSparseShapes.filter((s) => s.format === 'v32' && s.hQ === 128), ...m1PairShapes];
/** --shapes m1pairv (session 21, helper s3): the four MODEL1 pair shapes, then FlashMLA's two V3.2 b 64 shapes (s_q 2, 1: the
    V3.2 pair entries, the same code in every build of a MODEL1-pair change, the noise guards; the b 64 ones for their
    smaller host caches). */
const m1PairVShapes: readonly SparseShape[] = [
  ...m1PairShapes.filter((s) => s.hQ === 128), ...flashmlaSparseShapes.filter((s) => s.format === 'v32' && s.b === 64),
];
/** --shapes v32pairm (session 21, helper s4): FlashMLA's four V3.2 shapes (h_q 128: the V3.2 pair entries), then its MODEL1
    h_q 128 k512 and k1024 shapes (the MODEL1 pair entries, the same code in every build of a V3.2-pair change: the noise
    guards). */
const v32PairMShapes: readonly SparseShape[] = [
  ...flashmlaSparseShapes.filter((s) => s.format === 'v32' && s.hQ === 128), ...m1PairShapes.filter((s) => s.hQ === 128 && !s.extraTopk).slice(0, 2),
];
const shapeSets: Record<string, readonly SparseShape[]> = {
  flashmla: flashmlaSparseShapes, m1items: m1ItemShapes, v32h64: v32h64Shapes, m1pair: m1PairShapes, m1h64: m1H64Shapes,
  v32items: v32ItemShapes, m1h64items: m1H64ItemShapes, pair: pairShapes, m1pairv: m1PairVShapes,
  v32pairm: v32PairMShapes,
};
if (!(shapeSet in shapeSets)) throw new Error(`--shapes ${shapeSet}: ${Object.keys(shapeSets).join(', ')}`);
const shapes = shapeSets[shapeSet];
/** The largest part of a shape's schedule (most tiles, then most items), as the kernel walks it. */
const largestPart = (s: SparseShape, len?: Tensor) => {
  const inp = { b: s.b, topk: s.topk, extraTopk: s.extraTopk ?? 0, extraTopkLength: len ? (len.host() as Int32Array) : undefined };
  const parts = sparseNumSmParts(132, s.sQ, s.hQ), sch = planSparseSchedule(inp, parts);
  const blocks = (r: number) => Math.ceil(Math.max(sparseListLength(inp, r), 1) / 64);
  let tiles = 0, items = 0;
  for (let p = 0; p < parts; p++) {
    const w = sparsePartWork(sch.tileSchedulerMetadata, sch.numSplits, blocks, p), t = w.reduce((a, x) => a + x.blockEnd - x.blockBegin, 0);
    if (t > tiles || (t === tiles && w.length > items)) { tiles = t; items = w.length; }
  }
  return { parts, items, tiles };
};
const file = args.find((a) => a.endsWith('.json') && a !== jsonOut);
const builds = args.filter((a) => /^[\w.-]+=/.test(a)).map((a) => ({ name: a.slice(0, a.indexOf('=')), dir: a.slice(a.indexOf('=') + 1) }));
if (!file || builds.length === 0) throw new Error('usage: sparse-sm90-final-ab.js FLASHMLA.json NAME=KERNEL_DIR ... [--reps N] [--rounds N]');
type FRow = { kind: string; format?: string; b: number; h_q: number; s_q: number; topk: number; extra_topk?: number | null; extra_block_size?: number | null; us: number };
const theirs = (JSON.parse(readFileSync(file, 'utf8')).rows as FRow[]).filter((r) => r.kind === 'sparse_fp8');
const flashmla = (s: SparseShape) => theirs.find((r) => (r.format === undefined || r.format === (s.format === 'v32' ? 'V3.2' : 'MODEL1')) && r.b === s.b && r.h_q === s.hQ
  && r.s_q === s.sQ && r.topk === s.topk && (r.extra_topk ?? 0) === (s.extraTopk ?? 0) && (r.extra_block_size ?? 0) === (s.extraBlockSize ?? 0))?.us;

/** A shape's inputs on the host, as `flashmla bench --mode sparse` (runShape) makes them (same seeds). */
const hostInputs = sparseHostInputs;

/** The shape's tensors on one backend and a call that runs it; free() gives them back. */
function onBackend(be: CudaBackend, s: SparseShape, h: ReturnType<typeof hostInputs>) {
  const owned: Tensor[] = [];
  const up = (t: Tensor): Tensor => { const d = t.dtype === 'fp8_e4m3' ? uploadFp8Cache(be, t as Tensor<Uint8Array>) : be.upload(t as never); owned.push(d); return d; };
  const q = up(h.q), k = up(h.k), indices = up(h.indices), sink = up(h.sink);
  const xk = h.extra && up(h.extra.k), xi = h.extra && up(h.extra.indices);
  const out = be.empty('bf16', [s.b, s.sQ, s.hQ, 512]), lse = be.empty('f32', [s.b, s.hQ, s.sQ]);
  owned.push(out, lse);
  // extraTopkLength stays a host tensor, as in runShape (the scheduler reads it; the runner stages it once).
  const opts = { attnSink: sink, extraKCache: xk, extraIndices: xi, extraTopkLength: h.extra?.len, backend: be, out, lse };
  return { run: () => flashMlaSparseWithKvcache(q, k, indices, 512, h.meta, opts).then(() => undefined), free: () => { for (const t of owned) be.free(t); } };
}

const backends: CudaBackend[] = [];
for (const b of builds) backends.push(await createCudaBackend({ kernelDir: b.dir }));
const us: number[][] = builds.map(() => []);
const fm: (number | undefined)[] = [];
const t0 = performance.now();
const sched: ReturnType<typeof largestPart>[] = [];
const label = (s: SparseShape) => `${s.format === 'v32' ? 'V3.2' : 'M1'} b${s.b} h${s.hQ} s${s.sQ} k${s.topk}${s.extraTopk ? `+${s.extraTopk}${s.extraBlockSize === 2 ? '/2' : ''}${s.extraTopkLength ? 'L' : ''}` : ''}`;
const save = (result: unknown[], done: number) => {
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ flashmla: file, reps, rounds, warmup, done, shapeSet, shapes: shapes.slice(0, done).map(label), sched, flashmlaUs: fm, builds: result }, null, 1));
};
for (const [k, s] of shapes.entries()) {
  const h = hostInputs(s);
  sched.push(largestPart(s, h.extra?.len));
  const runs = backends.map((be) => onBackend(be, s, h));
  const times: number[][] = builds.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < backends.length; i++) {
      times[i].push(...(await backends[i].timeMs(runs[i].run, { warmup, reps })));
      await backends[i].synchronize();
    }
  }
  runs.forEach((x) => x.free());
  times.forEach((t, i) => { t.sort((a, b) => a - b); us[i].push(t[Math.floor(t.length / 2)] * 1e3); });
  fm.push(flashmla(s));
  process.stderr.write(`[+${((performance.now() - t0) / 1e3).toFixed(1)}s] shape ${k + 1}/${shapes.length} ${label(s)}: ${builds.map((b, i) => `${b.name} ${us[i][k].toFixed(1)}`).join(' ')} us\n`);
  save(builds.map((b, i) => ({ name: b.name, dir: b.dir, us: us[i] })), k + 1);
}
for (const be of backends) be.dispose();

const result = builds.map((b, i) => {
  const ratios = us[i].map((x, k) => (fm[k] ? fm[k]! / x : NaN));
  const ok = ratios.filter((x) => Number.isFinite(x));
  const geomean = ok.length ? Math.exp(ok.reduce((a, x) => a + Math.log(x), 0) / ok.length) : NaN;
  return { name: b.name, dir: b.dir, geomean, shapes: ok.length, us: us[i], ratios };
});
for (const r of result) {
  console.log(`${r.name} geomean ${r.geomean.toFixed(3)} over ${r.shapes} | ${r.ratios.map((x) => x.toFixed(3)).join(' ')}`);
}
console.log(['shape'.padEnd(26), 'FlashMLA', ...builds.map((b) => b.name.padStart(9))].join(' '));
shapes.forEach((s, k) => console.log([label(s).padEnd(26), (fm[k]?.toFixed(1) ?? '-').padStart(8), ...result.map((r) => r.us[k].toFixed(1).padStart(9))].join(' ')));
save(result, shapes.length);

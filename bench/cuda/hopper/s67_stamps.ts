// Session 67: where a MODEL1 pair item's time goes (measurement only). Times kernel folders in one process (interleaved
// rounds, CUDA events, medians), then runs the stamp build (sparse_sm90.cu with -DMLA_SPARSE_SM90_STAMP=1: in the MODEL1
// pair entries one thread of each role stores %clock stamps of every item, which warp 0 copies into the item's 64 lse
// words at the item's end; WRONG lse) once more and splits each unsplit item's time into phases.
//   node build/bench/cuda/hopper/s67_stamps.js ship=DIR stamp=DIR [--shapes k512,k1024,c2] [--reps 10] [--rounds 3] [--json FILE]
// Every folder named stamp* is read back. Slots (the kernel's MLA_STAMP calls): warpgroup 0 thread 0: 0 item start, 1 Q
// landed (barrier 4), 2 + 2t tile t's bytes complete (both CTAs' halves), 3 + 2t tile t's S done (t < 14), 30 the tile loop
// left, 31 the output factors ready (barrier 3), 32 the output read out (the item's end), 33 / 34 %globaltimer at 0 / 32;
// warpgroup 1 thread 128: 35 start, 36 Q landed, 37 loop left, 38 end; the producer's thread 0: 40 item start, 41 its
// itemOf read, 42 + t tile t's stage free (t < 10), 52 + t tile t stored and arrived.
import { writeFileSync } from 'node:fs';
import { type CudaBackend, createCudaBackend } from '../../../src/backends/cuda/index.js';
import { type SparseShape, flashmlaSparseShapes } from '../../../src/cli/bench-sparse.js';
import { flashMlaSparseWithKvcache } from '../../../src/core/sparse-api.js';
import { sparseListLength, sparsePartWork } from '../../../src/core/sparse-scheduler.js';
import { uploadFp8Cache } from '../../../src/core/sparse.js';
import type { Tensor } from '../../../src/core/tensor.js';
import { sparseHostInputs } from './sparse-host-inputs.js';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const reps = Number(opt('--reps') ?? 10), rounds = Number(opt('--rounds') ?? 3), warmup = 3;
const pick: Record<string, SparseShape | undefined> = {
  k512: flashmlaSparseShapes.find((s) => s.format === 'model1' && s.hQ === 128 && s.topk === 512 && !s.extraTopk),
  k1024: flashmlaSparseShapes.find((s) => s.format === 'model1' && s.hQ === 128 && s.topk === 1024 && !s.extraTopk),
  c2: flashmlaSparseShapes.find((s) => s.label === 'MODEL1 CONFIG2'),
  c4: flashmlaSparseShapes.find((s) => s.label === 'MODEL1 CONFIG4'),
};
const shapes = (opt('--shapes') ?? 'k512,k1024,c2').split(',').map((n) => {
  const s = pick[n];
  if (!s) throw new Error(`--shapes: ${n}: one of ${Object.keys(pick).join(', ')}`);
  return { name: n, s };
});
const builds = args.filter((a) => /^[\w.-]+=/.test(a)).map((a) => ({ name: a.slice(0, a.indexOf('=')), dir: a.slice(a.indexOf('=') + 1) }));
const stamped = builds.flatMap((x, i) => (x.name.startsWith('stamp') ? [i] : []));
if (stamped.length === 0) throw new Error('usage: s67_stamps.js NAME=DIR ... stampN=DIR [--shapes k512,...]');
const backends: CudaBackend[] = [];
for (const x of builds) backends.push(await createCudaBackend({ kernelDir: x.dir }));
console.log(`# ${backends[0].info.device}; ${builds.map((x) => `${x.name}=${x.dir}`).join(' ')}`);

const median = (t: number[]) => { const s = [...t].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const d32 = (a: number, z: number) => (z - a) | 0; // clock differences (u32 words, wrapping, signed)
const out: Record<string, unknown>[] = [];
const j = opt('--json');
for (const { name, s } of shapes) {
  const { q, k, indices, extra, sink, meta } = sparseHostInputs(s); // runShape's inputs (same seeds)
  const runs = backends.map((be) => {
    const owned: Tensor[] = [];
    const up = (t: Tensor): Tensor => { const d = t.dtype === 'fp8_e4m3' ? uploadFp8Cache(be, t as Tensor<Uint8Array>) : be.upload(t as never); owned.push(d); return d; };
    const qd = up(q), kd = up(k), id = up(indices), sd = up(sink);
    const xk = extra && up(extra.k), xi = extra && up(extra.indices);
    const o = be.empty('bf16', [s.b, s.sQ, s.hQ, 512]), lse = be.empty('f32', [s.b, s.hQ, s.sQ]);
    owned.push(o, lse);
    const opts = { attnSink: sd, extraKCache: xk, extraIndices: xi, extraTopkLength: extra?.len, backend: be, out: o, lse };
    return { run: () => flashMlaSparseWithKvcache(qd, kd, id, 512, meta, opts).then(() => undefined), lse, free: () => { for (const t of owned) be.free(t); } };
  });
  const times: number[][] = builds.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < backends.length; i++) {
      times[i].push(...(await backends[i].timeMs(runs[i].run, { warmup, reps })));
      await backends[i].synchronize();
    }
  }
  const us = times.map((t) => median(t) * 1e3);
  for (const si of stamped) {
  // the stamp build once more, then its lse words
  await runs[si].run();
  await backends[si].synchronize();
  const words = new Uint32Array(((await backends[si].download(runs[si].lse)).data as Float32Array).slice().buffer);
  const md = meta.tileSchedulerMetadata.host() as Int32Array, ns = meta.numSplits.host() as Int32Array;
  const parts = meta.tileSchedulerMetadata.shape[0];
  const blocks = (req: number) => Math.ceil(Math.max(sparseListLength({ b: s.b, topk: s.topk, extraTopk: s.extraTopk ?? 0, extraTopkLength: extra?.len?.host() as Int32Array | undefined }, req), 1) / 64);
  const w = (req: number, hb: number, jj: number, idx: number) => words[(req * s.hQ + 64 * hb + idx) * s.sQ + jj];
  // per-phase samples (cycles) over every unsplit item of every CTA
  const ph: Record<string, number[]> = {};
  const add = (key: string, v: number) => { if (Number.isFinite(v) && Math.abs(v) < 1e8) (ph[key] ??= []).push(v); };
  let cyc = 0, ns2 = 0, items = 0;
  for (let p = 0; p < parts; p++) {
    const work = sparsePartWork(md, ns, blocks, p);
    for (let jj = 0; jj < s.sQ; jj++) for (let hb = 0; hb < s.hQ / 64; hb++) {
      let prevEnd: number | undefined, prevPEnd: number | undefined;
      work.forEach((it, n) => {
        const nt = it.blockEnd - it.blockBegin;
        if (!it.noSplit || nt === 0) { prevEnd = undefined; prevPEnd = undefined; return; }
        items++;
        const W = (idx: number) => w(it.req, hb, jj, idx);
        const first = n === 0 ? 'first ' : '';
        const tc = Math.min(nt, 14), tp = Math.min(nt, 10);
        add(`${first}item (0 -> 32)`, d32(W(0), W(32)));
        if (prevEnd !== undefined) add('gap (prev 32 -> 0)', d32(prevEnd, W(0)));
        add(`${first}Q load (0 -> 1)`, d32(W(0), W(1)));
        add(`${first}tile 0 wait after Q (1 -> 2)`, d32(W(1), W(2)));
        add(`${first}tile 0 S (2 -> 3)`, d32(W(2), W(3)));
        for (let t = 1; t < tc; t++) {
          add('tile period (2+2t -> 2+2(t+1))', d32(W(2 + 2 * (t - 1)), W(2 + 2 * t)));
          add('tile S (2+2t -> 3+2t)', d32(W(2 + 2 * t), W(3 + 2 * t)));
        }
        if (nt <= 14) add('last tile (ready -> loop left)', d32(W(2 + 2 * (nt - 1)), W(30)));
        add('epilogue lse (30 -> 31)', d32(W(30), W(31)));
        add('epilogue store (31 -> 32)', d32(W(31), W(32)));
        add('wg1 Q wait (35 -> 36)', d32(W(35), W(36)));
        add('wg1 loop left after wg0 (30 -> 37)', d32(W(30), W(37)));
        add('wg1 end after wg0 end (32 -> 38)', d32(W(32), W(38)));
        add('wg1 loop left -> end (37 -> 38)', d32(W(37), W(38)));
        add('producer itemOf (40 -> 41)', d32(W(40), W(41)));
        add(`${first}producer tile 0 stage free (41 -> 42)`, d32(W(41), W(42)));
        add(`${first}producer tile 0 store (42 -> 52)`, d32(W(42), W(52)));
        for (let t = 1; t < tp; t++) {
          add('producer store (42+t -> 52+t)', d32(W(42 + t), W(52 + t)));
          add('producer stage wait (52+t-1 -> 42+t)', d32(W(52 + t - 1), W(42 + t)));
        }
        add(`${first}producer tile 0 arrive -> consumer Q landed (52 -> 1)`, d32(W(52), W(1)));
        add(`${first}consumer start -> producer tile 0 arrive (0 -> 52)`, d32(W(0), W(52)));
        if (prevPEnd !== undefined) add('producer: previous item last arrive -> this start (-> 40)', d32(prevPEnd, W(40)));
        if (nt <= 10) prevPEnd = W(52 + nt - 1); else prevPEnd = undefined;
        const dc = d32(W(0), W(32)), dn = d32(W(33), W(34));
        if (dn > 0) { cyc += dc; ns2 += dn; }
        prevEnd = W(32);
      });
    }
  }
  const ghz = ns2 > 0 ? cyc / ns2 : NaN;
  const rows = Object.entries(ph).map(([key, v]) => ({ key, n: v.length, median: median(v), mean: v.reduce((a, x) => a + x, 0) / v.length }));
  console.log(`\n## ${builds[si].name}: ${name} (${s.label} b${s.b} h${s.hQ} s${s.sQ} k${s.topk}${s.extraTopk ? `+${s.extraTopk}` : ''}): ${builds.map((b, i) => `${b.name} ${us[i].toFixed(1)} us`).join(', ')}; ${items} unsplit items stamped, clock ${ghz.toFixed(3)} GHz (cycles / globaltimer ns)`);
  for (const x of rows) console.log(`${x.key.padEnd(62)} n ${String(x.n).padStart(5)}  median ${(x.median / ghz / 1e3).toFixed(3).padStart(7)} us  mean ${(x.mean / ghz / 1e3).toFixed(3).padStart(7)} us  (${x.median} cyc)`);
  out.push({ name, build: builds[si].name, shape: s, us: Object.fromEntries(builds.map((b, i) => [b.name, us[i]])), items, ghz, phases: rows });
  if (j) writeFileSync(j, JSON.stringify({ reps, rounds, device: backends[0].info.device, shapes: out }, null, 1) + '\n');
  }
  runs.forEach((x) => x.free());
}
for (const be of backends) be.dispose();

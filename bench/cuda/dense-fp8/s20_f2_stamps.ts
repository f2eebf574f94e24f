// Session 20 (s20-f2): where dense_fp8_sm90.cu's fixed ~25 us goes (measurement only). Times kernel folders in one
// process (ab.ts's way: CUDA events around flashMlaWithKvcache, medians of reps x rounds, interleaved), then runs the
// stamp build (dense_fp8_sm90.cu with -DMLA_DFP8_STAMP=1: thread 0 of each part stores %clock / %globaltimer stamps of
// its first item into its request's 16 lse words; WRONG lse) once more and splits its time per part.
//   node build/bench/cuda/dense-fp8/s20_f2_stamps.js ship=DIR ship0=DIR stamp0=DIR [--shapes 8192x16x1,...]
//     [--reps 10] [--rounds 3] [--json FILE]
// The folder named stamp* is the one read back (the first such). Shapes s_k x h_q x s_q at b 128 (--b), causal, 64-token
// pages, h_q x s_q = 16 or 32 (the stamps need 16 lse words a request). docs/notes/cuda-dense-fp8.md, "Session 20, f2".
import { writeFileSync } from 'node:fs';
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { randomCache } from '../../../src/cli/bench-sparse.js';
import { uniform as rng } from '../../../src/cli/random.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../../src/core/api.js';
import { f32ToBf16 } from '../../../src/core/dtype.js';
import type { Backend } from '../../../src/core/problem.js';
import { fp8CacheTensor, uploadFp8Cache } from '../../../src/core/sparse.js';
import { type Tensor, fromArray } from '../../../src/core/tensor.js';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const reps = Number(opt('--reps') ?? 10), rounds = Number(opt('--rounds') ?? 3), warmup = 3, b = Number(opt('--b') ?? 128), B = 64;
const shapes = (opt('--shapes') ?? '8192x16x1,8192x32x1,64x16x1,1024x16x1,2048x16x1,4096x16x1').split(',').map((s) => {
  const [sK, hQ, sQ] = s.split('x').map(Number);
  if (!(sK > 0 && (hQ * sQ === 16 || hQ * sQ === 32))) throw new Error(`--shapes: ${s}: h_q x s_q must be 16 or 32`);
  return { sK, hQ, sQ, name: s };
});
const builds = args.filter((a) => /^[\w.-]+=/.test(a)).map((a) => ({ name: a.slice(0, a.indexOf('=')), dir: a.slice(a.indexOf('=') + 1) }));
const si = builds.findIndex((x) => x.name.startsWith('stamp'));
if (si < 0) throw new Error('usage: s20_f2_stamps.js NAME=DIR ... stampN=DIR [--shapes ...]');
const backends: Backend[] = [];
for (const x of builds) backends.push(await createCudaBackend({ kernelDir: x.dir }));
console.log(`# ${backends[0].info.device}; ${builds.map((x) => `${x.name}=${x.dir}`).join(' ')}`);

const median = (t: number[]) => { const s = [...t].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const q = (t: number[], f: number) => { const s = [...t].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))] : NaN; };
const d32 = (a: number, z: number) => (z - a) | 0; // clock / timer differences (u32 words, wrapping, signed)
const out: Record<string, unknown>[] = [];
const j = opt('--json');
const save = () => { if (j) writeFileSync(j, JSON.stringify({ b, reps, rounds, shapes: out }) + '\n'); }; // (after each shape: a timeout keeps what is done)
const f = (x: number) => x.toFixed(1);
for (const sK of [...new Set(shapes.map((s) => s.sK))]) {
  const pages = Math.ceil(sK / B), nb = b * pages, r = rng(sK + 11);
  const seqlens = new Int32Array(b).fill(sK);
  const hostK = fp8CacheTensor('v32', nb, B, randomCache('v32', nb, B, r));
  const per = backends.map((be) => ({ table: be.upload(fromArray('i32', [b, pages], Int32Array.from({ length: nb }, (_, i) => i))),
    lens: be.upload(fromArray('i32', [b], seqlens)), k: uploadFp8Cache(be, hostK) as Tensor }));
  // the bf16 dense path (decode_sm90.cu) on the first folder's backend, the same lengths (ab.ts's repeated random tile):
  // its time at one tile a part (64x16x1) and its slope say how much of the fixed part is the FP8 kernel's own
  const bf = new Uint16Array(nb * B * 576), tile = Math.min(bf.length, 64 * B * 576);
  for (let i = 0; i < tile; i++) bf[i] = f32ToBf16((r() - 0.5) * 0.2);
  for (let i = tile; i < bf.length; i += tile) bf.copyWithin(i, 0, Math.min(tile, bf.length - i));
  const kBf16 = backends[0].upload(fromArray('bf16', [nb, B, 1, 576], bf));
  for (const sh of shapes) {
    if (sh.sK !== sK) continue;
    const { hQ, sQ } = sh;
    const hostQ = fromArray('bf16', [b, sQ, hQ, 576], Uint16Array.from({ length: b * sQ * hQ * 576 }, () => f32ToBf16(r() * 2 - 1)));
    const md = getMlaMetadata(seqlens, sQ * hQ, 1, { backend: backends[0] });
    const ns = md.numSplits.host() as Int32Array, parts = md.tileSchedulerMetadata.shape[0];
    const runs = backends.map((be, i) => {
      const qq = be.upload(hostQ), o = be.empty('bf16', [b, sQ, hQ, 512]), lse = be.empty('f32', [b, hQ, sQ]);
      const run = () => flashMlaWithKvcache(qq, per[i].k, per[i].table, per[i].lens, 512, md.tileSchedulerMetadata, md.numSplits,
        { backend: be, out: o, lse, causal: true }).then(() => undefined);
      return { run, lse, free: () => { for (const x of [qq, o, lse]) be.free(x); } };
    });
    const qb = backends[0].upload(hostQ), ob = backends[0].empty('bf16', [b, sQ, hQ, 512]), lb = backends[0].empty('f32', [b, hQ, sQ]);
    const bfRun = () => flashMlaWithKvcache(qb, kBf16, per[0].table, per[0].lens, 512, md.tileSchedulerMetadata, md.numSplits,
      { backend: backends[0], out: ob, lse: lb, causal: true }).then(() => undefined);
    const times: number[][] = builds.map(() => []), bfTimes: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < backends.length; i++) {
        times[i].push(...(await backends[i].timeMs(runs[i].run, { warmup, reps })));
        await backends[i].synchronize();
      }
      bfTimes.push(...(await backends[0].timeMs(bfRun, { warmup, reps })));
      await backends[0].synchronize();
    }
    for (const x of [qb, ob, lb]) backends[0].free(x);
    const us = times.map((t) => median(t) * 1e3), bf16Us = median(bfTimes) * 1e3;
    // the stamp build once more, alone (its lse zeroed first), then its lse words
    await backends[si].synchronize();
    backends[si].write(runs[si].lse, fromArray('f32', [b, hQ, sQ], new Float32Array(b * hQ * sQ)));
    await runs[si].run();
    await backends[si].synchronize();
    const w = new Uint32Array(((await backends[si].download(runs[si].lse)).host() as Float32Array).slice().buffer);
    runs.forEach((x) => x.free());
    // (globaltimer: the low words relative to the first stamped part's entry, ns; the full value would lose bits in a double)
    const rowsPer = hQ * sQ, cta: { sm: number; g0: number; g1: number; c: number[]; tiles: number; cp: number }[] = [];
    let ref: number | undefined;
    for (let i = 0; i < b; i++) {
      const x = w.subarray(i * rowsPer, i * rowsPer + 16);
      if (x[14] === 0 || x[14] > 1 << 20) continue; // (no stamps: a request that is no part's first item keeps the zeros)
      ref ??= x[1];
      cta.push({ sm: x[0], g0: d32(ref, x[1]), g1: d32(ref, x[12]), c: Array.from(x.subarray(3, 12)), tiles: x[14], cp: x[15] });
    }
    console.log(`# ${sh.name}: splits ${ns[b]} for b ${b} (${ns[b] === b ? 'no split, no combine launch' : 'split: combine launched'}), ${parts} parts, stamped parts ${cta.length}; ` +
      builds.map((x, i) => `${x.name} ${f(us[i])}`).join(', ') + `, bf16 ${f(bf16Us)} us (events)`);
    if (cta.length === 0) { out.push({ shape: sh.name, us, bf16Us, stamped: 0 }); save(); continue; }
    // clock rate from each part's own pair (globaltimer ns, clock cycles), median over parts
    const ghz = median(cta.map((x) => d32(x.c[0], x.c[8]) / Math.max(1, x.g1 - x.g0)));
    const cu = (cyc: number) => cyc / ghz / 1e3; // cycles -> us
    const gMin = Math.min(...cta.map((x) => x.g0)), gEndMax = Math.max(...cta.map((x) => x.g1));
    const ph = (name: string, a: number, z: number) => ({ name, v: cta.map((x) => cu(d32(x.c[a], x.c[z]))) });
    const wgTiles = (t: number) => Math.ceil(t / (rowsPer === 16 ? 3 : 2)); // warpgroup 0's tiles (n16w3 3 warpgroups; n32 / n16: 2 — see the note)
    const phases = [
      ph('entry->Q^T filled', 0, 1), ph('entry->first page in', 0, 2), ph('wg0 first page in->its last page in', 2, 4),
      ph('wg0 last tile (in->done)', 4, 5), ph('wait for the other wgs', 5, 6),
      ph('merge', 6, 7), ph('stores + end sync', 7, 8), ph('entry->end (in-kernel)', 0, 8),
      { name: 'producer last copy issued->wg0 last page in', v: cta.map((x) => cu(d32(x.cp, x.c[4]))) },
    ];
    const starts = cta.map((x) => (x.g0 - gMin) / 1e3), ends = cta.map((x) => (x.g1 - gMin) / 1e3), span = (gEndMax - gMin) / 1e3;
    const tiles = median(cta.map((x) => x.tiles)), kt = wgTiles(tiles);
    const rate = median(cta.map((x) => cu(d32(x.c[2], x.c[4])) / Math.max(1, kt - 1))) / (rowsPer === 16 ? 3 : 2); // us a tile an SM, steady
    console.log(`#   clock ${ghz.toFixed(3)} GHz; tiles a part ${tiles}; steady ${rate.toFixed(3)} us a tile an SM (x ${tiles} = ${f(rate * tiles)}); ` +
      `kernel span (first entry -> last end, globaltimer) ${f(span)}; events - span ${f(us[si] - span)} (launch + gaps outside the parts' stamps)`);
    console.log(`#   part entry after the first: median ${f(median(starts))} max ${f(Math.max(...starts))}; part end: min ${f(Math.min(...ends))} median ${f(median(ends))} max ${f(Math.max(...ends))}`);
    for (const p of phases) console.log(`#   ${p.name.padEnd(44)} median ${p.v.length ? median(p.v).toFixed(2) : '-'} p10 ${q(p.v, 0.1).toFixed(2)} p90 ${q(p.v, 0.9).toFixed(2)} max ${Math.max(...p.v).toFixed(2)}`);
    const fixed = us[si] - rate * tiles;
    const split = {
      outsideParts: us[si] - span, entrySkew: median(starts), toFirstPage: median(phases[1].v),
      lastTile: median(phases[3].v), waitOthers: median(phases[4].v), merge: median(phases[5].v), stores: median(phases[6].v), endSkew: Math.max(...ends) - median(ends),
    };
    console.log(`#   split of the fixed part (events ${f(us[si])} - steady x tiles ${f(rate * tiles)} = ${f(fixed)} us): ` +
      Object.entries(split).map(([k, v]) => `${k} ${f(v)}`).join(', '));
    out.push({ shape: sh.name, builds: builds.map((x) => x.name), us, bf16Us, splits: ns[b], parts, ghz, tiles, rate, span, fixed, split,
      phases: Object.fromEntries(phases.map((p) => [p.name, { median: median(p.v), p10: q(p.v, 0.1), p90: q(p.v, 0.9), max: Math.max(...p.v) }])),
      starts: { median: median(starts), max: Math.max(...starts) }, ends: { min: Math.min(...ends), median: median(ends), max: Math.max(...ends) },
      sms: cta.map((x) => x.sm), raw: cta.map((x) => [x.sm, x.g0 - gMin, x.g1 - gMin, ...x.c.map((c) => d32(x.c[0], c)), x.tiles, d32(x.c[0], x.cp)]) }); // (ns from the first entry; cycles from the part's own entry)
    save();
  }
  per.forEach((x, i) => { for (const t of Object.values(x)) backends[i].free(t); });
  backends[0].free(kBf16);
}
for (const be of backends) be.dispose();

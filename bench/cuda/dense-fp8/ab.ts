// A/B of dense_fp8_sm90.cu builds (MLA_DENSE_FP8_VAR variants) in one process: one CUDA backend per kernel folder
// (the shipped dist/cuda and a copy per variant with its dense_fp8_sm90.fatbin swapped in), the inputs of a shape made
// once on the host and uploaded to each backend, the builds timed in interleaved rounds so that clock and thermal
// drift fall on all of them alike. The first build (the shipped one) also times the bf16 dense path (decode_sm90.cu)
// on a bf16 cache of the same lengths, so every build gets its ratio against bf16 too.
//   node build/bench/cuda/dense-fp8/ab.js shipped=dist/cuda v1=/tmp/dab-v1 ... [--reps N (10)] [--rounds N (3)]
//     [--warmup N (3)] [--shapes 8192x16x1,8192x32x1,...] [--no-bf16] [--abba] [--json FILE]
//     --abba: odd rounds time the builds in reverse order (A B C, C B A, ...), so that a build's place in a round
//     falls on each build alike.
//   node build/bench/cuda/dense-fp8/ab.js v4=/tmp/dab-v4 --ncu [--shapes 8192x16x1]: each build runs the first shape
//     4 times and nothing else (for ncu: --launch-skip 2 --launch-count 1 catches the third launch).
//   node --import tsx bench/cuda/dense-fp8/ab.ts a=x b=y --cpu --b 2 --shapes 256x16x1,128x8x4 --reps 1 --rounds 1: a dry run
//     of the script's flow on CPU backends (no GPU; the kernel folders are ignored).
// Shapes are s_k x h_q x s_q at b = 128 (--b), causal, 64-token pages, one KV head (time.ts's). Prints one line a build:
// `NAME: us per shape | vs shipped | vs bf16`, then a table.
import { writeFileSync } from 'node:fs';
import { createCpuBackend } from '../../../src/backends/cpu/index.js';
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
const reps = Number(opt('--reps') ?? 10), rounds = Number(opt('--rounds') ?? 3), warmup = Number(opt('--warmup') ?? 3);
const abba = args.includes('--abba');
const jsonOut = opt('--json'), ncu = args.includes('--ncu'), withBf16 = !args.includes('--no-bf16') && !ncu, cpu = args.includes('--cpu');
const shapes = (opt('--shapes') ?? '8192x16x1,8192x32x1,8192x16x2,1024x16x1,1024x32x1').split(',').map((s) => {
  const [sK, hQ, sQ] = s.split('x').map(Number);
  if (!(sK > 0 && hQ > 0 && sQ > 0) || sQ * hQ > 32) throw new Error(`--shapes: ${s} is not s_k x h_q x s_q with h_q * s_q <= 32`);
  return { sK, hQ, sQ };
});
const builds = args.filter((a) => /^[\w.-]+=/.test(a) && !a.startsWith('--')).map((a) => ({ name: a.slice(0, a.indexOf('=')), dir: a.slice(a.indexOf('=') + 1) }));
if (builds.length === 0) throw new Error('usage: ab.js NAME=KERNEL_DIR ... [--reps N] [--rounds N] [--shapes ...] [--ncu] [--json FILE]');

const backends: Backend[] = [];
for (const b of builds) backends.push(cpu ? await createCpuBackend() : await createCudaBackend({ kernelDir: b.dir }));
const device = backends[0].info.device;
console.log(`# ${device}; builds ${builds.map((b) => `${b.name}=${b.dir}`).join(' ')}`);
// (The backend's switch, set at creation: sm_90, the fatbin in the manifest, FLASHMLA_CUDA_DENSE_FP8 not 'mma'.)
const takesDenseFp8Sm90 = (be: Backend) => (be as unknown as { denseFp8Sm90?: boolean }).denseFp8Sm90 === true;

const b = Number(opt('--b') ?? 128), B = 64;
const us: number[][] = builds.map(() => shapes.map(() => NaN));
const bf16Us: number[] = shapes.map(() => NaN);
const median = (t: number[]) => { const s = [...t].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] * 1e3 : NaN; };
for (const [i, be] of backends.entries()) {
  if (!cpu && !takesDenseFp8Sm90(be)) console.log(`! ${builds[i].name}: the runner does not take dense_fp8_sm90.cu here (not an sm_90 build?)`);
}
// The caches of one s_k are made and uploaded once, for all its shapes.
for (const sK of [...new Set(shapes.map((s) => s.sK))]) {
  const pages = Math.ceil(sK / B), nb = b * pages, r = rng(sK + 11);
  const seqlens = new Int32Array(b).fill(sK);
  const hostK = fp8CacheTensor('v32', nb, B, randomCache('v32', nb, B, r));
  const per = backends.map((be) => ({ table: be.upload(fromArray('i32', [b, pages], Int32Array.from({ length: nb }, (_, i) => i))),
    lens: be.upload(fromArray('i32', [b], seqlens)), k: uploadFp8Cache(be, hostK) as Tensor }));
  let kBf16: Tensor | undefined;
  if (withBf16) { // the bf16 dense path on the shipped backend, the same lengths (a repeated random tile)
    const bf = new Uint16Array(nb * B * 576);
    const tile = Math.min(bf.length, 64 * B * 576);
    for (let i = 0; i < tile; i++) bf[i] = f32ToBf16((r() - 0.5) * 0.2);
    for (let i = tile; i < bf.length; i += tile) bf.copyWithin(i, 0, Math.min(tile, bf.length - i));
    kBf16 = backends[0].upload(fromArray('bf16', [nb, B, 1, 576], bf));
  }
  for (const [si, { hQ, sQ }] of shapes.entries()) {
    if (shapes[si].sK !== sK) continue;
    const hostQ = fromArray('bf16', [b, sQ, hQ, 576], Uint16Array.from({ length: b * sQ * hQ * 576 }, () => f32ToBf16(r() * 2 - 1)));
    const md = getMlaMetadata(seqlens, sQ * hQ, 1, { backend: backends[0] });
    const onBackend = (i: number, k: Tensor) => { // this shape's q and outputs on backend i, and a call
      const be = backends[i];
      const q = be.upload(hostQ), out = be.empty('bf16', [b, sQ, hQ, 512]), lse = be.empty('f32', [b, hQ, sQ]);
      const run = () => flashMlaWithKvcache(q, k, per[i].table, per[i].lens, 512, md.tileSchedulerMetadata, md.numSplits,
        { backend: be, out, lse, causal: true }).then(() => undefined);
      return { run, free: () => { for (const x of [q, out, lse]) be.free(x); } };
    };
    const runs = backends.map((_, i) => onBackend(i, per[i].k));
    if (ncu) {
      for (const [i, x] of runs.entries()) {
        for (let k = 0; k < 4; k++) await x.run();
        await backends[i].synchronize();
      }
      console.log(`ncu: ran s_k ${sK} h_q ${hQ} s_q ${sQ} 4 times on each build`);
      for (const be of backends) be.dispose();
      process.exit(0);
    }
    const bf16Run = kBf16 && onBackend(0, kBf16);
    const times: number[][] = builds.map(() => []), bf16Times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < backends.length; k++) {
        const i = abba && round % 2 === 1 ? backends.length - 1 - k : k;
        times[i].push(...(await backends[i].timeMs(runs[i].run, { warmup, reps })));
        await backends[i].synchronize();
      }
      if (bf16Run) {
        bf16Times.push(...(await backends[0].timeMs(bf16Run.run, { warmup, reps })));
        await backends[0].synchronize();
      }
    }
    runs.forEach((x) => x.free());
    bf16Run?.free();
    times.forEach((t, i) => { us[i][si] = median(t); });
    bf16Us[si] = median(bf16Times);
    console.log(`# ${shapes[si].sK}x${hQ}x${sQ}: ${builds.map((bd, i) => `${bd.name} ${us[i][si].toFixed(1)}`).join(', ')}, bf16 ${bf16Us[si].toFixed(1)} us`);
  }
  per.forEach((x, i) => { for (const t of Object.values(x)) backends[i].free(t); });
  if (kBf16) backends[0].free(kBf16);
}
for (const be of backends) be.dispose();

const label = (s: (typeof shapes)[number]) => `${s.sK}x${s.hQ}x${s.sQ}`;
const geo = (x: number[]) => { const ok = x.filter(Number.isFinite); return ok.length ? Math.exp(ok.reduce((a, v) => a + Math.log(v), 0) / ok.length) : NaN; };
const result = builds.map((bd, i) => {
  const vsShipped = us[i].map((x, k) => us[0][k] / x), vsBf16 = us[i].map((x, k) => bf16Us[k] / x);
  return { name: bd.name, dir: bd.dir, us: us[i], vs_shipped: vsShipped, vs_bf16: vsBf16, geomean_vs_shipped: geo(vsShipped), geomean_vs_bf16: geo(vsBf16) };
});
for (const x of result) {
  console.log(`${x.name}: ${x.us.map((v) => v.toFixed(1)).join(' ')} us | vs shipped ${x.vs_shipped.map((v) => v.toFixed(3)).join(' ')} ` +
    `(geomean ${x.geomean_vs_shipped.toFixed(3)}) | vs bf16 ${x.vs_bf16.map((v) => v.toFixed(2)).join(' ')}`);
}
console.log(['shape (s_k x h_q x s_q)'.padEnd(24), 'bf16'.padStart(8), ...builds.map((bd) => bd.name.padStart(9))].join(' '));
shapes.forEach((s, k) => console.log([label(s).padEnd(24), bf16Us[k].toFixed(1).padStart(8), ...result.map((x) => x.us[k].toFixed(1).padStart(9))].join(' ')));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ device, b, reps, rounds, warmup, shapes: shapes.map(label), bf16_us: bf16Us, builds: result }, null, 1) + '\n');

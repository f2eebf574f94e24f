// Dense decode over a V3.2 FP8 cache by its two routes, against the bf16 cache on the same lengths, on the CPU worker
// backend or WebGPU: "paged" (Backend.decodeDenseFp8 — the CPU's dense kernel reading FP8 pages by block table,
// backends/cpu/dense-fp8.ts; WebGPU's staged pages, WebGpuBackend.decodeDenseFp8) and "sparse" (core/dense-fp8.ts's route
// for a backend without that: host-built indices through the sparse kernels; forced here by a view of the backend that
// hides decodeDenseFp8). Same process, routes interleaved each round, the minimum of `reps` calls a row and round (wall
// clock to synchronize()).
//   node --import tsx bench/dense-fp8-route.ts [--backend cpu|webgpu [--full]] [--rounds 2] [--reps 5] [--workers 2] [--json out.json]
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createCpuBackend } from '../src/backends/cpu/index.js';
import { createNodeWebGpuBackend } from '../src/backends/webgpu/node.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../src/core/api.js';
import { f32ToBf16 } from '../src/core/dtype.js';
import { quantizeCache } from '../src/core/fp8.js';
import type { Backend } from '../src/core/problem.js';
import { fp8CacheTensor, uploadFp8Cache } from '../src/core/sparse.js';
import { type Tensor, fromArray } from '../src/core/tensor.js';
import { gitCommit } from '../src/cli/bench.js';

const { values: v } = parseArgs({ options: { backend: { type: 'string', default: 'cpu' }, rounds: { type: 'string', default: '2' }, reps: { type: 'string', default: '5' }, workers: { type: 'string', default: '2' }, full: { type: 'boolean' }, json: { type: 'string' } } });
// The CPU's shapes; on WebGPU (lavapipe runs it on the CPU) an eighth of the keys unless --full.
const cpuShapes = [
  { b: 4, sQ: 1, hQ: 16, lens: [4096, 4096, 4096, 4096] },
  { b: 4, sQ: 2, hQ: 16, lens: [4096, 4096, 4096, 4096] },
  { b: 4, sQ: 1, hQ: 128, lens: [2048, 2048, 2048, 2048] },
  { b: 4, sQ: 4, hQ: 16, lens: [4641, 45118, 1730, 1696] }, // the uneven batch of the GPU grids
  { b: 1, sQ: 1, hQ: 16, lens: [32768] },
];
const shapes = v.backend === 'webgpu' && !v.full ? cpuShapes.map((x) => ({ ...x, lens: x.lens.map((n) => Math.ceil(n / 8)) })) : cpuShapes;
const be: Backend = v.backend === 'webgpu' ? await createNodeWebGpuBackend() : await createCpuBackend({ workers: Number(v.workers) });
// The sparse route: the same backend with decodeDenseFp8 hidden (core/dense-fp8.ts then builds indices on the host).
const sparseRoute = Object.create(be, { decodeDenseFp8: { value: undefined } }) as Backend;
const rows: Record<string, unknown>[] = [];
let x = 12345;
const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24 - 0.5;
for (const s of shapes) {
  const B = 64, pages = s.lens.map((n) => Math.ceil(n / B)), maxBlocks = Math.max(...pages), numBlocks = pages.reduce((a, c) => a + c, 0);
  const table = new Int32Array(s.b * maxBlocks);
  for (let i = 0, n = 0; i < s.b; i++) for (let p = 0; p < pages[i]; p++) table[i * maxBlocks + p] = n++;
  const vals = Uint16Array.from({ length: numBlocks * B * 576 }, () => f32ToBf16(rand() * 0.5));
  const q = be.upload(fromArray('bf16', [s.b, s.sQ, s.hQ, 576], Uint16Array.from({ length: s.b * s.sQ * s.hQ * 576 }, () => f32ToBf16(rand() * 2))));
  const caches = { bf16: be.upload(fromArray('bf16', [numBlocks, B, 1, 576], vals)), fp8: uploadFp8Cache(be, fp8CacheTensor('v32', numBlocks, B, quantizeCache('v32', vals, B, numBlocks))) };
  const bt = fromArray('i32', [s.b, maxBlocks], table), lens = fromArray('i32', [s.b], Int32Array.from(s.lens));
  const md = getMlaMetadata(lens, s.sQ * s.hQ, 1, { backend: be });
  const call = async (k: Tensor, backend: Backend) => {
    await flashMlaWithKvcache(q, k, bt, lens, 512, md.tileSchedulerMetadata, md.numSplits, { backend, causal: true });
    await be.synchronize();
  };
  const time = async (k: Tensor, backend: Backend) => {
    await call(k, backend);
    let best = Infinity;
    for (let r = 0; r < Number(v.reps); r++) { const t0 = performance.now(); await call(k, backend); best = Math.min(best, performance.now() - t0); }
    return best;
  };
  const keys = s.lens.reduce((a, c) => a + c, 0), gflop = (2 * keys * s.sQ * s.hQ * 1088) / 1e9;
  for (let round = 0; round < Number(v.rounds); round++) {
    const load = loadavg()[0];
    const bf16 = await time(caches.bf16, be), paged = await time(caches.fp8, be), sparse = await time(caches.fp8, sparseRoute);
    const row = {
      b: s.b, s_q: s.sQ, h_q: s.hQ, lens: s.lens, round, load_before: load, bf16_ms: bf16, fp8_paged_ms: paged, fp8_sparse_route_ms: sparse,
      paged_vs_sparse_route: sparse / paged, paged_vs_bf16: bf16 / paged, bf16_gflops: gflop / bf16 * 1e3, paged_gflops: gflop / paged * 1e3,
    };
    rows.push(row);
    console.log(`b=${s.b} s_q=${s.sQ} h_q=${s.hQ} lens ${s.lens.join(',')} round ${round}: bf16 ${bf16.toFixed(2)} ms, FP8 paged ${paged.toFixed(2)} ms, `
      + `FP8 by the sparse route ${sparse.toFixed(2)} ms (sparse route / paged ${row.paged_vs_sparse_route.toFixed(2)}, bf16 / paged ${row.paged_vs_bf16.toFixed(2)})`);
  }
}
const result = {
  bench: 'dense-fp8-route', backend: be.kind, card: be.kind === 'cpu' ? `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores` : be.info.device, details: be.info.details, commit: gitCommit(), date: new Date().toISOString(),
  reps: Number(v.reps), rows,
};
be.dispose();
if (v.json) writeFileSync(v.json, `${JSON.stringify(result, null, 1)}\n`);

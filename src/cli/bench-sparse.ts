// `flashmla bench --mode sparse`: FlashMLA's sparse FP8 decode shapes (anchors/flashmla-sparse/bench_sparse.py's
// table) through flashMlaSparseWithKvcache, median kernel time, JSON rows with format, topk and ratio_vs_flashmla.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type HalfDType, f32ToBf16, f32ToF16 } from '../core/dtype.js';
import { type Fp8Format, fp8BlockStride, fp8Layouts, fp8TokenAddress } from '../core/fp8.js';
import type { Backend } from '../core/problem.js';
import { type SparsePrecision, fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } from '../core/sparse.js';
import { flashMlaSparseWithKvcache, sparseKernelFor } from '../core/sparse-api.js';
import { type Tensor, fromArray } from '../core/tensor.js';
import { UsageError, choiceArg, intArg, parse, stringArg } from './args.js';
import { type BackendChoice, backendChoices, openBackend } from './backend.js';
import { checkFlushMb, gitCommit } from './bench.js';
import { anchorDoBench, chainedMs, doBenchMs } from './do-bench.js';
import { fmt, progress, table } from './ui.js';
import { uniform as rng } from './random.js';

export interface SparseShape {
  label: string; format: Fp8Format; b: number; hQ: number; sQ: number; sK: number; topk: number; blockSize: number;
  extraSK?: number; extraTopk?: number; extraBlockSize?: number; extraTopkLength?: boolean;
}

/** FlashMLA's 12 sparse perf shapes (anchors/flashmla-sparse/README.md); attention sink on, as there. */
export const flashmlaSparseShapes: readonly SparseShape[] = [
  { label: 'V3.2', format: 'v32', b: 64, hQ: 128, sQ: 2, sK: 32768, topk: 2048, blockSize: 64 },
  { label: 'V3.2', format: 'v32', b: 128, hQ: 128, sQ: 2, sK: 32768, topk: 2048, blockSize: 64 },
  { label: 'V3.2', format: 'v32', b: 64, hQ: 128, sQ: 1, sK: 32768, topk: 2048, blockSize: 64 },
  { label: 'V3.2', format: 'v32', b: 128, hQ: 128, sQ: 1, sK: 32768, topk: 2048, blockSize: 64 },
  { label: 'MODEL1 single cache', format: 'model1', b: 128, hQ: 64, sQ: 2, sK: 16384, topk: 512, blockSize: 64 },
  { label: 'MODEL1 single cache', format: 'model1', b: 128, hQ: 64, sQ: 2, sK: 16384, topk: 1024, blockSize: 64 },
  { label: 'MODEL1 single cache', format: 'model1', b: 128, hQ: 128, sQ: 2, sK: 16384, topk: 512, blockSize: 64 },
  { label: 'MODEL1 single cache', format: 'model1', b: 128, hQ: 128, sQ: 2, sK: 16384, topk: 1024, blockSize: 64 },
  { label: 'MODEL1 CONFIG1', format: 'model1', b: 128, hQ: 64, sQ: 2, sK: 16384, topk: 128, blockSize: 256, extraSK: 16384, extraTopk: 512, extraBlockSize: 64 },
  { label: 'MODEL1 CONFIG2', format: 'model1', b: 128, hQ: 128, sQ: 2, sK: 16384, topk: 128, blockSize: 256, extraSK: 16384, extraTopk: 1024, extraBlockSize: 64 },
  { label: 'MODEL1 CONFIG3', format: 'model1', b: 128, hQ: 64, sQ: 2, sK: 16384, topk: 128, blockSize: 256, extraSK: 16384, extraTopk: 1024, extraBlockSize: 2, extraTopkLength: true },
  { label: 'MODEL1 CONFIG4', format: 'model1', b: 128, hQ: 128, sQ: 2, sK: 16384, topk: 128, blockSize: 256, extraSK: 16384, extraTopk: 1024, extraBlockSize: 2, extraTopkLength: true },
];

/**
 * The rest of bench_sparse.py's table (its full run, FlashMLA's own order): V3.2 s_q 2 at b = 2 and 74, MODEL1 CONFIG1-4
 * at b = 64, 2, 74, 148 and 256, and the four "peak" rows (b = 148, s_k 32768, top-k 16384, V3.2 and MODEL1 at 64 and
 * 128 heads). `--grid all` runs these after the 12.
 */
export const flashmlaSparseMoreShapes: readonly SparseShape[] = (() => {
  const out: SparseShape[] = [2, 74].map((b) => ({ label: 'V3.2', format: 'v32' as const, b, hQ: 128, sQ: 2, sK: 32768, topk: 2048, blockSize: 64 }));
  const m1 = flashmlaSparseShapes.filter((s) => s.label.startsWith('MODEL1 CONFIG'));
  for (const b of [64, 2, 74, 148, 256]) for (const s of m1) out.push({ ...s, b });
  for (const hQ of [64, 128]) for (const format of ['v32', 'model1'] as const) out.push({ label: 'peak', format, b: 148, hQ, sQ: 2, sK: 32768, topk: 16384, blockSize: 64 });
  return out;
})();

/**
 * `--grid cpu`: the CPU backend's sparse rows (b = 4, the dense CPU configs' batch), V3.2 at 16 and 128 heads and
 * MODEL1 at 64, s_q 1; the dense rows of that grid are b = 4, s_k = 4096 (bench/cpu-configs.json's first two).
 */
export const cpuSparseShapes: readonly SparseShape[] = [
  { label: 'V3.2', format: 'v32', b: 4, hQ: 16, sQ: 1, sK: 8192, topk: 2048, blockSize: 64 },
  { label: 'V3.2', format: 'v32', b: 4, hQ: 128, sQ: 1, sK: 8192, topk: 2048, blockSize: 64 },
  { label: 'MODEL1 single cache', format: 'model1', b: 4, hQ: 64, sQ: 1, sK: 8192, topk: 512, blockSize: 64 },
];

export const sparseBenchHelp = `Usage: flashmla bench --mode sparse [options]

Time token-sparse FP8 decode over FlashMLA's 12 sparse shapes (median of --reps after --warmup), attention sink
on. Every sequence holds s_k tokens (FlashMLA's generator draws varlen lengths); indices are distinct random
positions, shuffled pages.
  TFLOPS = 2 * h_q * attended * (d_qk + 512) / time,  attended = b * s_q * topk (+ extra; topk_length sums if given)
  GB/s   = (b * s_q * (topk + extra_topk) * bytes_per_token + q + out) / time   (an upper bound on what is read)
Then dense (page-table) decode over a V3.2 FP8 cache vs the bf16 cache, 16 and 32 query rows (dense rows of the JSON,
speedup_vs_bf16 = bf16 time / FP8 time, kernel = the FP8 kernel that ran where the backend names it).

Options:
  --backend NAME   best (default), cuda, webgpu or cpu
  --grid NAME      flashmla (the 12 shapes), all (the 12, then the other 26 rows of bench_sparse.py's full run:
                   b = 2 to 256, top-k 16384; geomean_by_set splits the ratios), or small (the 12 with b = 1; the
                   default on the CPU), or cpu (V3.2 b = 4 at h_q 16 and 128, MODEL1 b = 4 at h_q 64, s_q 1, top-k
                   2048 / 512; dense rows b = 4, s_k = 4096)
  --batches L      only the grid's rows whose b is in the comma-separated list L (e.g. 2,74)
  --heads L        each of those rows at each h_q of the comma-separated list L instead of its own (no FlashMLA ratio
                   where FlashMLA has no such row)
  --flashmla FILE  FlashMLA's results (anchors/flashmla-sparse/results-*.json): adds flashmla_us and
                   ratio_vs_flashmla (FlashMLA us / ours) to rows with the same format, b, h_q, s_q and top-k
  --rep-ms N       triton do_bench's loop (25 ms of calls, then flushed repetitions for about N ms, the median);
                   default 200 with --flush-mb and no --reps
  --flush-mb N     GPU: write N MB of a scratch buffer before every repetition, outside its timing (triton do_bench's
                   protocol: 256); ours is then compared with FlashMLA's us_do_bench, back to back (default) with its
                   us_b2b where the file has it (bench/cuda/flashmla_sparse_protocols.py), else with its us (kineto)
  --chain-calls N  WebGPU: each repetition N calls back to back in one submission (WebGpuBackend.batch), timed from
                   the first pass to the last, / N; compared with FlashMLA's us_graph (its calls replayed from a CUDA
                   graph, bench/cuda/flashmla_sparse_protocols.py --graph-calls) where the file has it; not with
                   --flush-mb or --rep-ms
  --precision P    fast (default: P rounded to bf16 before P.V, as FlashMLA), exact (P as hi + lo on Hopper),
                   or both (each shape twice; geomean_by_precision gives both geometric means)
  --dense-heads L  h_q of the dense rows, comma-separated (default 16,32; s_q 1; HxS for h_q H with s_q S, causal:
                   32x2; none: no dense rows); the block table is a device tensor, the lengths too below 64 rows (s_q * h_q) and from 64 a
                   host tensor (CUDA then plans the step on the host)
  --dense-device-lens  the lengths a device tensor at every h_q (CUDA plans steps of 64 heads and more on the device)
  --device-plan    CUDA: the sparse rows' metadata planned on the device by each call (getSparseMlaMetadata's onDevice;
                   the lengths on the device too), as a step captured into a CUDA graph runs; rows record plan
  --dense-only     only the dense rows
  --dense-format F the dense rows' FP8 format: v32 (default) or model1 (512 query dims; the 16-bit row keeps 576)
  --query-dtype T  the queries' dtype, bf16 (default) or f16 (no FlashMLA ratio: its sparse kernel takes bf16 only;
                   the dense rows' 16-bit cache is then f16 too, its time still in bf16_us)
  --cpu-kernel NAME CPU rung: auto (default), native, wasm or scalar (sparse runs the native kernel or scalar JS)
  --cpu-isa NAME   the native rung's instruction set: auto (default), avx512bf16, avx512 or avx2
  --reps N, --warmup N, --workers N, --out FILE, -q`;

/** The same shape (a row carries its shape's fields). */
function sameShape(a: SparseShape, b: SparseShape): boolean {
  return a.label === b.label && a.format === b.format && a.b === b.b && a.hQ === b.hQ && a.sQ === b.sQ && a.topk === b.topk && (a.extraTopk ?? 0) === (b.extraTopk ?? 0)
    && (a.extraBlockSize ?? 0) === (b.extraBlockSize ?? 0);
}

interface Row extends SparseShape {
  kind: 'sparse_fp8'; precision: SparsePrecision; dtype: HalfDType; d_qk: number; topk_total: number; us: number; TFLOPS: number; GBps: number; flop: number; bytes: number;
  flashmla_us?: number; ratio_vs_flashmla?: number; plan: 'host' | 'device';
}

/**
 * Random finite FP8 tokens (e4m3 bytes that are not NaN, scale 2^-8, small bf16 RoPE). Up to 64 distinct random
 * blocks, repeated over the rest of the cache: generating gigabytes byte by byte in JS would take minutes.
 */
export function randomCache(format: Fp8Format, numBlocks: number, B: number, r: () => number): Uint8Array {
  const L = fp8Layouts[format];
  const stride = fp8BlockStride(format, B);
  const bytes = new Uint8Array(numBlocks * stride);
  const distinct = Math.min(numBlocks, 64);
  for (let blk = 0; blk < distinct; blk++) {
    for (let s = 0; s < B; s++) {
      const a = fp8TokenAddress(format, B, blk, s);
      for (let d = 0; d < L.nope; d++) { const v = (r() * 256) | 0; bytes[a.nope + d] = (v & 0x7f) === 0x7f ? v & 0xf0 : v; }
      for (let j = 0; j < L.nope / L.tile; j++) {
        if (format === 'v32') new DataView(bytes.buffer).setFloat32(a.scales + 4 * j, 2 ** -8, true);
        else bytes[a.scales + j] = 127 - 8;
      }
      for (let d = 0; d < L.rope; d++) { const h = f32ToBf16((r() - 0.5) * 0.2); bytes[a.rope + 2 * d] = h & 0xff; bytes[a.rope + 2 * d + 1] = h >>> 8; }
    }
  }
  for (let blk = distinct; blk < numBlocks; blk += distinct) bytes.copyWithin(blk * stride, 0, Math.min(distinct, numBlocks - blk) * stride);
  return bytes;
}

/** indices [b, sQ, topk]: distinct random positions < sK of each request, mapped through a shuffled page table. */
export function randomIndices(b: number, sQ: number, sK: number, topk: number, B: number, r: () => number): Int32Array {
  const pagesPer = Math.ceil(sK / B);
  const perm = Array.from({ length: b * pagesPer }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  const ind = new Int32Array(b * sQ * topk);
  const pos = Int32Array.from({ length: sK }, (_, i) => i);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < sQ; j++) {
      for (let t = 0; t < Math.min(topk, sK); t++) { const k = t + Math.floor(r() * (sK - t)); const x = pos[k]; pos[k] = pos[t]; pos[t] = x; }
      for (let t = 0; t < topk; t++) {
        const p = t < sK ? pos[t] : -1;
        ind[(i * sQ + j) * topk + t] = p < 0 ? -1 : perm[i * pagesPer + Math.floor(p / B)] * B + (p % B);
      }
    }
  }
  return ind;
}

/**
 * How a sparse-bench row is timed: warmup + reps (back to back, or each flushed), do_bench's loop (doBench), or
 * chains of `chainCalls` calls in one submission a repetition (WebGPU's batch; the time is the chain's / chainCalls).
 */
export interface SparseTiming { warmup: number; reps: number; flushBytes?: number; doBench?: { warmMs: number; repMs: number }; chainCalls?: number }

/** The median time (ms) of one `run` under `t`. */
export async function medianMs(backend: Backend, run: () => Promise<void>, t: SparseTiming): Promise<number> {
  const flushBytes = t.flushBytes ?? 0;
  const n = t.chainCalls ?? 0;
  if (n > 0 && (flushBytes || t.doBench)) throw new UsageError('--chain-calls: not with --flush-mb or --rep-ms (a chain holds its calls back to back)');
  const times = n > 0 ? await chainedMs(backend, n, () => run(), { warmup: t.warmup, reps: t.reps }, '--chain-calls')
    : t.doBench ? (await doBenchMs(backend, run, { ...t.doBench, flushBytes })).times
    : await backend.timeMs(run, { warmup: t.warmup, reps: t.reps, flushBytes });
  await backend.synchronize();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** `dtype`: the queries' (and out's) dtype; FlashMLA's sparse kernel takes bf16 only. */
export async function runShape(backend: Backend, s: SparseShape, timing: SparseTiming, precision: SparsePrecision = 'fast', dtype: HalfDType = 'bf16', devicePlan = false): Promise<Row> {
  const r = rng(s.b * 1000 + s.hQ + s.topk);
  const L = fp8Layouts[s.format];
  const owned: Tensor[] = [];
  const dev = <T extends Tensor>(t: T): Tensor => { const d = t.dtype === 'fp8_e4m3' ? uploadFp8Cache(backend, t) : backend.upload(t as never); owned.push(d); return d; };
  const nb = s.b * Math.ceil(s.sK / s.blockSize);
  const enc = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  const q = dev(fromArray(dtype, [s.b, s.sQ, s.hQ, L.dQk], Uint16Array.from({ length: s.b * s.sQ * s.hQ * L.dQk }, () => enc(r() * 2 - 1))));
  const k = dev(fp8CacheTensor(s.format, nb, s.blockSize, randomCache(s.format, nb, s.blockSize, r)));
  // Index tensors live on the device, as in a model (a host tensor would add its copy to every timed call).
  const onDev = (t: Tensor): Tensor => (backend.kind === 'cpu' ? t : dev(t));
  const indices = onDev(fromArray('i32', [s.b, s.sQ, s.topk], randomIndices(s.b, s.sQ, s.sK, s.topk, s.blockSize, r)));
  let extra: { k: Tensor; indices: Tensor; len?: Tensor } | undefined;
  if (s.extraTopk) {
    const xb = s.b * Math.ceil(s.extraSK! / s.extraBlockSize!);
    extra = {
      k: dev(fp8CacheTensor(s.format, xb, s.extraBlockSize!, randomCache(s.format, xb, s.extraBlockSize!, r))),
      indices: onDev(fromArray('i32', [s.b, s.sQ, s.extraTopk], randomIndices(s.b, s.sQ, s.extraSK!, s.extraTopk, s.extraBlockSize!, r))),
      len: s.extraTopkLength ? fromArray('i32', [s.b], Int32Array.from({ length: s.b }, () => Math.floor(r() * (s.extraTopk! + 1)))) : undefined,
    };
  }
  // --device-plan: the lengths on the device too, the step planned there by each call (getSparseMlaMetadata's onDevice)
  const lenHost = extra?.len;
  if (devicePlan && extra?.len) extra.len = onDev(extra.len);
  const meta = getSparseMlaMetadata({
    b: s.b, sQ: s.sQ, hQ: s.hQ, topk: s.topk, extraTopk: s.extraTopk ?? 0, extraTopkLength: devicePlan ? extra?.len : lenHost, backend, ...(devicePlan ? { onDevice: true } : {}),
  });
  if (meta.tileSchedulerMetadata.device !== 'cpu') owned.push(meta.tileSchedulerMetadata, meta.numSplits);
  const sink = onDev(fromArray('f32', [s.hQ], Float32Array.from({ length: s.hQ }, () => r() * 2 - 1)));
  const out = backend.empty(dtype, [s.b, s.sQ, s.hQ, 512]), lse = backend.empty('f32', [s.b, s.hQ, s.sQ]);
  owned.push(out, lse);
  const opts = { attnSink: sink, extraKCache: extra?.k, extraIndices: extra?.indices, extraTopkLength: extra?.len, backend, out, lse, precision };
  const kernel = sparseKernelFor(q, k, indices, 512, meta, opts);
  const us = await medianMs(backend, () => flashMlaSparseWithKvcache(q, k, indices, 512, meta, opts).then(() => undefined), timing) * 1e3;
  for (const t of owned) backend.free(t);
  const extraAttended = extra ? (lenHost ? [...lenHost.host() as Int32Array].reduce((a, x) => a + x, 0) * s.sQ : s.b * s.sQ * s.extraTopk!) : 0;
  const attended = s.b * s.sQ * s.topk + extraAttended;
  const flop = 2 * s.hQ * attended * (L.dQk + 512);
  const bytes = s.b * s.sQ * (s.topk + (s.extraTopk ?? 0)) * L.bytesPerToken + s.b * s.sQ * s.hQ * (L.dQk + 512) * 2;
  return {
    ...s, kind: 'sparse_fp8', ...(kernel ? { kernel } : {}), plan: devicePlan ? 'device' : 'host', precision, dtype, d_qk: L.dQk, topk_total: s.topk + (s.extraTopk ?? 0), us, flop, bytes, TFLOPS: flop / us / 1e6, GBps: bytes / us / 1e3,
  };
}

/**
 * Dense (page-table) decode over a V3.2 (or MODEL1) FP8 cache against our 16-bit dense decode (576 dims, q's dtype) on
 * the same lengths, in the memory-bound configs (16 and 32 query rows a KV head). The FP8 path is the backend's
 * decodeDenseFp8 (CUDA's block-table kernels, the CPU's paged FP8 source, WebGPU's fused kernel or staged pages), else
 * the sparse route (src/core/dense-fp8.ts). `dtype`: the queries'; the 16-bit row's cache has the same dtype.
 */
export async function runDense(backend: Backend, b: number, sK: number, hQ: number, timing: SparseTiming, deviceLens = false, sQ = 1, format: Fp8Format = 'v32', dtype: HalfDType = 'bf16') {
  const { fp8BlockStride } = await import('../core/fp8.js');
  const { flashMlaWithKvcache, getMlaMetadata } = await import('../core/api.js');
  const r = rng(b * 7 + sK + hQ + (sQ - 1) * 1000), B = 64, pages = Math.ceil(sK / B), nb = b * pages;
  const seqlens = new Int32Array(b).fill(sK);
  // Index tensors on the device, as runShape keeps them: host tensors put their staging and checks into every timed
  // call, and the timer's start event is recorded before that host work. With host tensors this bench's bf16 row
  // took 612 us on the H200 where `flashmla bench` (device indices) takes 304 us on the same shape.
  // The FP8 row too where the backend reads an FP8 cache by block table from device index tensors (CUDA's
  // decodeDenseFp8); WebGPU's staged path lays its pages out from the host values and the sparse route builds indices
  // from them (dense-fp8.ts), so there that row keeps host tensors.
  const onDev = (t: Tensor): Tensor => (backend.kind === 'cpu' ? t : backend.upload(t as never));
  const tableHost = fromArray('i32', [b, pages], Int32Array.from({ length: nb }, (_, i) => i)), lensHost = fromArray('i32', [b], seqlens);
  const table = onDev(tableHost), lens = onDev(lensHost);
  // From 64 heads CUDA runs dense FP8 on its sparse kernel, whose step is planned from host lengths (sparse.ts
  // denseOnSparse): the lengths stay on the host there (the table on the device).
  // WebGPU's fused path (session 48) reads device index tensors as its bf16 decode does: it gets them where it takes the call.
  const md = getMlaMetadata(seqlens, sQ * hQ, 1, { backend });
  const enc = dtype === 'bf16' ? f32ToBf16 : f32ToF16, dQk = fp8Layouts[format].dQk;
  const q = backend.upload(fromArray(dtype, [b, sQ, hQ, 576], Uint16Array.from({ length: b * sQ * hQ * 576 }, () => enc(r() * 2 - 1))));
  const qFp8 = dQk === 576 ? q : backend.upload(fromArray(dtype, [b, sQ, hQ, dQk], Uint16Array.from({ length: b * sQ * hQ * dQk }, () => enc(r() * 2 - 1))));
  const kFp8 = uploadFp8Cache(backend, fp8CacheTensor(format, nb, B, randomCache(format, nb, B, r)));
  const out = backend.empty(dtype, [b, sQ, hQ, 512]), lse = backend.empty('f32', [b, hQ, sQ]);
  const kernelFor = (ix: { table: Tensor; lens: Tensor }) => backend.denseFp8Kernel?.({
    format, dtype, b, sQ, hQ, dQk, pageBlockSize: B, maxBlocksPerSeq: pages, numBlocks: nb, blockStride: fp8BlockStride(format, B),
    numSmParts: md.tileSchedulerMetadata.shape[0], causal: true, softmaxScale: dQk ** -0.5, q: qFp8, kCache: kFp8, blockTable: ix.table,
    cacheSeqlens: ix.lens, tileSchedulerMetadata: md.tileSchedulerMetadata, numSplits: md.numSplits, out, lse,
  });
  const fp8Index = backend.kind === 'cuda' && backend.decodeDenseFp8 ? { table, lens: sQ * hQ >= 64 && !deviceLens ? lensHost : lens }
    : backend.kind === 'webgpu' && kernelFor({ table, lens })?.startsWith('webgpu-fused') ? { table, lens } : { table: tableHost, lens: lensHost };
  const bf16 = new Uint16Array(nb * B * 576);
  const tile = Math.min(bf16.length, 64 * B * 576); // 64 distinct random pages, repeated
  for (let i = 0; i < tile; i++) bf16[i] = enc((r() - 0.5) * 0.2);
  for (let i = tile; i < bf16.length; i += tile) bf16.copyWithin(i, 0, Math.min(tile, bf16.length - i));
  const kBf16 = backend.upload(fromArray(dtype, [nb, B, 1, 576], bf16));
  const time = async (qx: Tensor, k: Tensor, table: Tensor, lens: Tensor) => await medianMs(backend, () => flashMlaWithKvcache(qx, k, table, lens, 512,
    md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }).then(() => undefined), timing) * 1e3;
  const kernel = kernelFor(fp8Index);
  const fp8Us = await time(qFp8, kFp8, fp8Index.table, fp8Index.lens), bf16Us = await time(q, kBf16, table, lens);
  for (const t of [q, ...(qFp8 === q ? [] : [qFp8]), kFp8, kBf16, out, lse, ...(backend.kind === 'cpu' ? [] : [table, lens])]) backend.free(t);
  const flopOf = (d: number) => 2 * b * sQ * hQ * sK * (d + 512); // (the 16-bit row always has 576 query dims)
  return {
    kind: 'dense_fp8', format, dtype, b, s_k: sK, h_q: hQ, s_q: sQ, ...(kernel ? { kernel } : {}), lens: fp8Index.lens.device === 'cpu' ? 'host' : 'device', us: fp8Us, bf16_us: bf16Us, speedup_vs_bf16: bf16Us / fp8Us,
    TFLOPS: flopOf(dQk) / fp8Us / 1e6, bf16_TFLOPS: flopOf(576) / bf16Us / 1e6,
  };
}

/**
 * A row of FlashMLA's sparse results: bench_sparse.py's `us` (FlashMLA's kernelkit kineto method: 8 GB zeroed before
 * each call, the mean) and `us_do_bench` (triton do_bench: 256 MB zeroed before each repetition, the median), and
 * bench/cuda/flashmla_sparse_protocols.py's `us_b2b` (this bench's protocol: back to back, the median).
 */
interface FlashMlaRow { kind: string; format: string; b: number; h_q: number; s_q: number; topk: number; extra_topk: number | null; extra_block_size: number | null; us: number; us_do_bench?: number; us_b2b?: number; us_graph?: number }

/**
 * Which of FlashMLA's times ours is compared with: the same protocol where the file has it (back to back: `us_b2b`;
 * --flush-mb: `us_do_bench`; --chain-calls: `us_graph`, its calls replayed from a CUDA graph), else `us_b2b` for a
 * chain or `us` (kineto), and whether the two protocols match.
 */
export function sparseProtocol(fm: readonly FlashMlaRow[], flushMb: number, chained = false): { field: 'us' | 'us_do_bench' | 'us_b2b' | 'us_graph'; flashmla: string; matched: boolean } {
  if (chained && fm.some((r) => typeof r.us_graph === 'number')) return { field: 'us_graph', flashmla: 'graph replay', matched: true };
  if (chained && fm.some((r) => typeof r.us_b2b === 'number')) return { field: 'us_b2b', flashmla: 'back-to-back', matched: false };
  if (flushMb > 0 && fm.some((r) => typeof r.us_do_bench === 'number')) return { field: 'us_do_bench', flashmla: 'do_bench', matched: true };
  if (flushMb === 0 && fm.some((r) => typeof r.us_b2b === 'number')) return { field: 'us_b2b', flashmla: 'back-to-back', matched: true };
  return { field: 'us', flashmla: 'kineto (8 GB zeroed before each call, mean)', matched: false };
}

export async function benchSparse(argv: string[]): Promise<void> {
  const { values: v, help } = parse('bench', argv, {
    backend: { type: 'string' }, grid: { type: 'string' }, flashmla: { type: 'string' }, out: { type: 'string' },
    reps: { type: 'string' }, warmup: { type: 'string' }, workers: { type: 'string' }, quiet: { type: 'boolean', short: 'q' },
    precision: { type: 'string' }, 'flush-mb': { type: 'string' }, 'rep-ms': { type: 'string' }, 'dense-heads': { type: 'string' },
    'dense-only': { type: 'boolean' }, 'dense-device-lens': { type: 'boolean' }, batches: { type: 'string' }, heads: { type: 'string' }, 'chain-calls': { type: 'string' },
    'cpu-kernel': { type: 'string' }, 'cpu-isa': { type: 'string' }, 'query-dtype': { type: 'string' }, 'dense-format': { type: 'string' },
    'device-plan': { type: 'boolean' },
  });
  if (help) { console.log(sparseBenchHelp); return; }
  const flushMb = intArg('flush-mb', v['flush-mb'], 0, 0, 1 << 16);
  const chainCalls = intArg('chain-calls', v['chain-calls'], 0, 0, 1000);
  if (chainCalls && flushMb) throw new UsageError('--flush-mb and --chain-calls: give one of them (a chain holds its calls back to back)');
  if (chainCalls && v['rep-ms'] !== undefined) throw new UsageError('--rep-ms and --chain-calls: give one of them (do_bench\'s loop times calls one by one)');
  const backendName = choiceArg<BackendChoice>('backend', v.backend, backendChoices, 'best');
  const workers = v.workers === undefined ? undefined : intArg('workers', v.workers, 1, 1, 256);
  const precArg = choiceArg('precision', v.precision, ['fast', 'exact', 'both'], 'fast');
  const precisions: SparsePrecision[] = precArg === 'both' ? ['fast', 'exact'] : [precArg];
  const qDtype = choiceArg<HalfDType>('query-dtype', v['query-dtype'], ['bf16', 'f16'], 'bf16');
  const denseFormat = choiceArg<Fp8Format>('dense-format', v['dense-format'], ['v32', 'model1'], 'v32');
  const p = progress(v.quiet === true);
  const cpuKernel = v['cpu-kernel'] === undefined ? undefined : choiceArg('cpu-kernel', v['cpu-kernel'], ['auto', 'native', 'wasm', 'scalar'], 'auto');
  const cpuIsa = v['cpu-isa'] === undefined ? undefined : choiceArg('cpu-isa', v['cpu-isa'], ['auto', 'avx512bf16', 'avx512', 'avx2'], 'auto');
  const { backend } = await openBackend(backendName, workers, cpuKernel, cpuIsa);
  try {
    const onCpu = backend.kind === 'cpu';
    const devicePlan = v['device-plan'] === true;
    if (devicePlan && !backend.sparseDevicePlan) throw new UsageError(`--device-plan: a backend that plans sparse steps on the device (CUDA; this run has the ${backend.kind} backend)`);
    checkFlushMb(flushMb, backend.kind);
    if (chainCalls && backend.kind !== 'webgpu') {
      throw new UsageError(`--chain-calls: the WebGPU backend's only (this run has the ${backend.kind} backend)`);
    }
    const grid = choiceArg('grid', v.grid, ['flashmla', 'all', 'small', 'cpu'], onCpu ? 'small' : 'flashmla');
    const gridShapes = grid === 'small' ? flashmlaSparseShapes.map((s) => ({ ...s, b: 1 })) : grid === 'all' ? [...flashmlaSparseShapes, ...flashmlaSparseMoreShapes]
      : grid === 'cpu' ? cpuSparseShapes : flashmlaSparseShapes;
    const batches = stringArg(v.batches)?.split(',').map((x) => intArg('batches', x.trim(), 1, 1, 1 << 20));
    const heads = stringArg(v.heads)?.split(',').map((x) => intArg('heads', x.trim(), 64, 1, 4096));
    const picked = batches ? gridShapes.filter((s) => batches.includes(s.b)) : gridShapes;
    const shapes = heads ? picked.flatMap((s) => heads.map((hQ) => ({ ...s, hQ }))) : picked;
    if (!shapes.length && !v['dense-only']) throw new UsageError(`--batches ${v.batches}: no row of grid ${grid} has one of these batch sizes`);
    const reps = intArg('reps', v.reps, onCpu ? 1 : 50, 1, 100000), warmup = intArg('warmup', v.warmup, onCpu ? 0 : 10, 0, 100000);
    // --flush-mb without --reps: do_bench's loop, as bench_sparse.py's us_do_bench (src/cli/do-bench.ts)
    const repMs = v['rep-ms'] !== undefined ? intArg('rep-ms', v['rep-ms'], anchorDoBench.repMs, 0, 600000) : flushMb > 0 && v.reps === undefined ? anchorDoBench.repMs : 0;
    const timing: SparseTiming = { warmup, reps, flushBytes: flushMb * 1e6, ...(repMs > 0 ? { doBench: { warmMs: anchorDoBench.warmMs, repMs } } : {}), ...(chainCalls ? { chainCalls } : {}) };
    let fm: FlashMlaRow[] | undefined;
    const fmFile = stringArg(v.flashmla);
    if (fmFile) {
      try { fm = (JSON.parse(readFileSync(fmFile, 'utf8')) as { rows: FlashMlaRow[] }).rows.filter((r) => r.kind === 'sparse_fp8'); } catch (e) { throw new UsageError(`--flashmla ${fmFile}: ${(e as Error).message}`); }
    }
    const proto = fm ? sparseProtocol(fm, flushMb, chainCalls > 0) : undefined;
    const ours = chainCalls ? `chained ${chainCalls} to a submission` : flushMb ? `with ${flushMb} MB written before each repetition` : 'back to back';
    if (proto && !proto.matched) p.done(`warning: FlashMLA's times are ${proto.flashmla}, ours ${ours}: the ratios mix two protocols (bench/cuda/flashmla_sparse_protocols.py adds FlashMLA back to back, and replayed from a CUDA graph with --graph-calls)`);
    // Session 45 (H200): the gathered path's MODEL1 rows back to back took 2-4x their time chained (one short call a
    // repetition leaves the GPU idle between calls; Dawn's first steps ran at the idle clock in session 42).
    if (backend.kind === 'webgpu' && !chainCalls && !flushMb) p.done('note: WebGPU back to back times one call a repetition; on the H200 short calls ran 2-4x slower that way than chained (--chain-calls 10, compared with FlashMLA\'s graph replay)');
    const rows: Row[] = [];
    const denseArg = stringArg(v['dense-heads']) ?? '16,32';
    if (denseArg === 'none' && v['dense-only']) throw new UsageError('--dense-heads none with --dense-only: no row left to run');
    const denseHeads = (denseArg === 'none' ? [] : denseArg.split(',')).map((x) => {
      const [h, sq] = x.trim().split('x');
      return { hQ: intArg('dense-heads', h, 16, 1, 4096), sQ: sq === undefined ? 1 : intArg('dense-heads', sq, 1, 1, 64) };
    });
    const runs = v['dense-only'] ? [] : precisions.flatMap((precision) => shapes.map((s) => ({ s, precision })));
    for (const [i, { s, precision }] of runs.entries()) {
      const tag = precisions.length > 1 ? ` ${precision}` : '';
      p.update(`[${i + 1}/${runs.length}] ${s.label} b=${s.b} h_q=${s.hQ} s_q=${s.sQ} topk=${s.topk}${s.extraTopk ? `+${s.extraTopk}` : ''}${tag}`);
      const row = await runShape(backend, s, timing, precision, qDtype, devicePlan);
      const f = qDtype !== 'bf16' ? undefined : fm?.find((x) => x.format === (s.format === 'v32' ? 'V3.2' : 'MODEL1') && x.b === s.b && x.h_q === s.hQ && x.s_q === s.sQ && x.topk === s.topk
        && (x.extra_topk ?? 0) === (s.extraTopk ?? 0) && (x.extra_block_size ?? 0) === (s.extraBlockSize ?? 0));
      const fu = f && proto ? f[proto.field] : undefined;
      if (typeof fu === 'number') { row.flashmla_us = fu; row.ratio_vs_flashmla = fu / row.us; }
      rows.push(row);
      p.done(`[${i + 1}/${runs.length}] ${s.label} b=${s.b} h_q=${s.hQ} s_q=${s.sQ} topk=${row.topk_total}${tag}: ${fmt(row.us)} us  ${fmt(row.TFLOPS)} TFLOPS${row.ratio_vs_flashmla !== undefined ? `  ${row.ratio_vs_flashmla.toFixed(3)}x FlashMLA` : ''}`);
    }
    const dense = [];
    for (const { hQ, sQ } of denseHeads) {
      const b = grid === 'small' ? 1 : grid === 'cpu' ? 4 : 128, sK = grid === 'small' ? 1024 : grid === 'cpu' ? 4096 : 8192;
      const sq = sQ > 1 ? ` s_q=${sQ}` : '';
      const fname = denseFormat === 'v32' ? 'V3.2' : 'MODEL1', dt = qDtype === 'bf16' ? '' : ` ${qDtype}`;
      p.update(`dense FP8 (${fname}) vs ${qDtype}, b=${b} s_k=${sK} h_q=${hQ}${sq}`);
      const d = await runDense(backend, b, sK, hQ, timing, v['dense-device-lens'] === true, sQ, denseFormat, qDtype);
      dense.push(d);
      p.done(`dense ${fname} FP8${dt} b=${b} s_k=${sK} h_q=${hQ}${sq}${d.kernel ? ` (${d.kernel})` : ''}: ${fmt(d.us)} us, ${qDtype} ${fmt(d.bf16_us)} us, ${d.speedup_vs_bf16.toFixed(2)}x`);
    }
    const geomeanOf = (precision: SparsePrecision, set?: readonly SparseShape[]) => {
      const ratios = rows.filter((r) => r.precision === precision && r.ratio_vs_flashmla !== undefined && (!set || set.some((x) => sameShape(x, r)))).map((r) => r.ratio_vs_flashmla!);
      return ratios.length ? Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length) : undefined;
    };
    // geomean_ratio_vs_flashmla: of the first precision run (the library's default, fast, unless --precision exact)
    const byPrecision = Object.fromEntries(precisions.map((x) => [x, geomeanOf(x)]));
    const geomean = byPrecision[precisions[0]];
    // --grid all: the first precision's geometric mean over FlashMLA's 12 shapes and over the other rows apart
    const bySet = grid === 'all' ? { flashmla12: geomeanOf(precisions[0], flashmlaSparseShapes), more: geomeanOf(precisions[0], flashmlaSparseMoreShapes) } : undefined;
    const result = {
      mode: 'sparse', backend: backend.kind, card: backend.info.device, ...(onCpu ? { cpu: backend.info.details } : {}), commit: gitCommit(), date: new Date().toISOString(), grid, reps, warmup,
      precision: precArg, geomean_ratio_vs_flashmla: geomean, geomean_by_precision: byPrecision, ...(bySet ? { geomean_by_set: bySet } : {}),
      protocol: chainCalls ? 'chained' : flushMb ? 'flush' : 'back-to-back', ...(flushMb ? { flush_mb: flushMb } : {}), ...(chainCalls ? { chain_calls: chainCalls } : {}), ...(timing.doBench ? { do_bench: { warm_ms: timing.doBench.warmMs, rep_ms: timing.doBench.repMs } } : {}),
      ...(proto ? { flashmla_protocol: proto.flashmla, protocol_matched: proto.matched && (proto.field !== 'us_do_bench' || timing.doBench !== undefined) } : {}), rows, dense,
    };
    const out = resolve(stringArg(v.out) ?? resolve('bench/results', `${backend.kind}-sparse-${grid}-${result.date.replace(/[:.]/g, '-')}.json`));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
    console.log(table([['shape', 'format', 'topk', 'precision', 'us', 'TFLOPS', 'GB/s', 'FlashMLA/ours'], ...rows.map((r) => [
      `${r.label} b=${r.b} h_q=${r.hQ} s_q=${r.sQ}`, r.format, String(r.topk_total), r.precision, fmt(r.us), fmt(r.TFLOPS), fmt(r.GBps),
      r.ratio_vs_flashmla === undefined ? '-' : `${r.ratio_vs_flashmla.toFixed(3)}x`,
    ])]));
    for (const x of precisions) if (byPrecision[x] !== undefined) console.log(`geometric mean vs FlashMLA (precision ${x}): ${byPrecision[x]!.toFixed(3)}x`);
    if (bySet?.flashmla12 !== undefined) console.log(`geometric mean vs FlashMLA over its 12 shapes: ${bySet.flashmla12.toFixed(3)}x; over the other rows: ${bySet.more?.toFixed(3) ?? '-'}x`);
    console.log(`wrote ${out}`);
  } finally {
    backend.dispose();
  }
}

// CUDA decode benchmark over FlashMLA's grid (run on the GPU host, compiled to JS with tsc):
//   node build/bench/cuda/bench.js run --emit-configs configs.json --out ours.json [--reps 100] [--only i,j]
//   python3 .gpu-host/anchors/bench_flashmla.py --configs configs.json --out flashmla.json --no-triton
//   node build/bench/cuda/bench.js merge --ours ours.json --flashmla flashmla.json --out result.json --svg chart.svg
// Kernel time from CUDA events around each rep (median), reps rotating among disjoint shuffled page sets so the
// L2 (50 MB on an H100) never holds the cache. Figures use FlashMLA's formulas over the actual seqlens
// (src/bench/formulas.ts); the median is src/bench/stats.ts's.
// `run` also measures the host time of one decode call (validation + launch) and a 61-layer step as a CUDA graph
// (src/bench/cuda-routines.ts; `flashmla bench --mode host|graphs` runs those two alone).
import { readFileSync, writeFileSync } from 'node:fs';
import { MlaDecoder } from '../../src/index.js';
import { Tensor, fromArray } from '../../src/core/tensor.js';
import { type CudaBackend, type DecodeVariant, createCudaBackend, decodeSmem, decodeVariants, variantTag } from '../../src/backends/cuda/index.js';
import { f32ToBf16 } from '../../src/core/dtype.js';
import { decodeBytes, decodeFlop } from '../../src/bench/formulas.js';
import { median } from '../../src/bench/stats.js';
import { graphSaving, hostOverhead } from '../../src/bench/cuda-routines.js';

export interface Config { b: number; s_k?: number; seqlens?: number[]; h_q: number; s_q: number; h_kv?: number }

export const configs: Config[] = [];
for (const s_k of [1024, 4096, 8192]) for (const h_q of [16, 32, 64, 128]) for (const s_q of [1, 2]) configs.push({ b: 128, s_k, h_q, s_q });
configs.push({ b: 1, s_k: 32768, h_q: 16, s_q: 1 });
configs.push({ b: 4, seqlens: [4641, 45118, 1730, 1696], h_q: 16, s_q: 4 });

const seqlensOf = (c: Config) => Int32Array.from(c.seqlens ?? new Array(c.b).fill(c.s_k));
const size = (c: Config, total: number, b: number) => ({ b, sQ: c.s_q, hQ: c.h_q, hKv: c.h_kv ?? 1, totalSeqlen: total });
const flopOf = (c: Config, total: number) => decodeFlop(size(c, total, 0));
const bytesOf = (c: Config, total: number, b: number) => decodeBytes(size(c, total, b));
const arg = (name: string, d?: string) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : d; };

/** xorshift-driven approximately normal bf16 values (sum of uniforms): fast, never zero-heavy. */
function randomBf16(n: number, seed: number): Uint16Array {
  const a = new Uint16Array(n);
  let x = seed >>> 0 || 1;
  const u = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
  for (let i = 0; i < n; i++) a[i] = f32ToBf16((u() + u() + u() + u() - 2) * 1.7);
  return a;
}

const rotateBytes = 200e6; // reps rotate among cache copies of at least this much in all: four times the L2
const cacheBytes = (c: Config) => seqlensOf(c).reduce((a, s) => a + Math.ceil(s / 64), 0) * 64 * 576 * 2;

/** One page pool for every config (room for its rotated copies), filled on the device from a 32 MB random block. */
async function pagePool(cuda: CudaBackend, list: readonly Config[]): Promise<Tensor> {
  const d = await (await import('../../src/backends/cuda/driver.js')).Driver.load();
  const poolBytes = Math.max(...list.map((c) => Math.max(cacheBytes(c), Math.min(8, Math.ceil(rotateBytes / cacheBytes(c))) * cacheBytes(c))));
  const pool = cuda.empty('bf16', [Math.ceil(poolBytes / (64 * 576 * 2)), 64, 1, 576]);
  const blockElems = 1 << 24;
  const block = cuda.upload(fromArray('bf16', [blockElems], randomBf16(blockElems, 12345)));
  const poolPtr = (pool.data as { ptr: bigint }).ptr, blockPtr = (block.data as { ptr: bigint }).ptr;
  for (let off = 0; off < pool.numel; off += blockElems) {
    d.copyDtoD(poolPtr + BigInt(off * 2), blockPtr, Math.min(blockElems, pool.numel - off) * 2, cuda.stream);
  }
  cuda.free(block);
  return pool;
}

/** A config's q and one planned decoder per cache copy: disjoint, shuffled page sets of the pool. */
function rotatedDecoders(cuda: CudaBackend, c: Config, poolPages: number) {
  const seqlens = seqlensOf(c), b = seqlens.length, total = seqlens.reduce((a, s) => a + s, 0);
  const pagesPer = Array.from(seqlens, (s) => Math.ceil(s / 64)), pages = pagesPer.reduce((a, x) => a + x, 0);
  const copies = Math.max(1, Math.min(8, Math.floor(poolPages / pages), Math.ceil(rotateBytes / cacheBytes(c))));
  const maxBlocks = Math.max(...pagesPer);
  const perm = Int32Array.from({ length: poolPages }, (_, i) => i);
  let x = 99 + b;
  for (let i = poolPages - 1; i > 0; i--) { x = (x * 1103515245 + 12345) >>> 0; const j = x % (i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  const q = cuda.upload(fromArray('bf16', [b, c.s_q, c.h_q, 576], randomBf16(b * c.s_q * c.h_q * 576, 7 + b)));
  const decoders: MlaDecoder[] = [];
  for (let k = 0, next = 0; k < copies; k++) {
    const t = new Int32Array(b * maxBlocks).fill(-1);
    for (let i = 0; i < b; i++) for (let j = 0; j < pagesPer[i]; j++) t[i * maxBlocks + j] = perm[next++];
    const dec = new MlaDecoder(cuda, { hQ: c.h_q, hKv: c.h_kv ?? 1, dtype: 'bf16' });
    dec.plan(seqlens, fromArray('i32', [b, maxBlocks], t), { sQ: c.s_q });
    decoders.push(dec);
  }
  return { seqlens, b, total, copies, q, decoders };
}

async function run(): Promise<void> {
  const cuda = await createCudaBackend();
  const reps = Number(arg('--reps', '100')), warmup = Number(arg('--warmup', '10'));
  const only = arg('--only')?.split(',').map(Number);
  const emit = arg('--emit-configs');
  const list = only ? only.map((i) => configs[i]) : configs;
  if (emit) writeFileSync(emit, JSON.stringify(list, null, 1));
  const pool = await pagePool(cuda, list), poolPages = pool.shape[0];
  console.log(`# ${cuda.info.device}: pool ${(pool.byteLength / 1e9).toFixed(2)} GB`);

  // Every variant that fits, on one config per row count (rows = sQ * hQ / hKv): data for launch.ts's choice.
  const variants: Record<string, unknown>[] = [];
  const maxSmem = cuda.info.details!.maxSharedMemoryPerBlock as number;
  // The winner of each row bucket (b = 128) then times the grid's configs of that bucket; launch.ts's table is
  // kept equal to these winners, so the grid measures what the library picks by itself.
  const winners = new Map<number, { v: DecodeVariant; ms: number }>();
  for (const c of [{ b: 128, s_k: 4096, h_q: 16, s_q: 1 }, { b: 128, s_k: 4096, h_q: 16, s_q: 2 }, { b: 128, s_k: 4096, h_q: 64, s_q: 1 },
    { b: 128, s_k: 4096, h_q: 128, s_q: 1 }, { b: 128, s_k: 4096, h_q: 128, s_q: 2 }, { b: 1, s_k: 32768, h_q: 16, s_q: 1 }]) {
    const seqlens = seqlensOf(c), b = seqlens.length, per = Math.ceil(c.s_k / 64);
    const t = Int32Array.from({ length: b * per }, (_, i) => (i * 7919) % poolPages);
    const dec = new MlaDecoder(cuda, { hQ: c.h_q, hKv: 1, dtype: 'bf16' });
    dec.plan(seqlens, fromArray('i32', [b, per], t), { sQ: c.s_q });
    const q = cuda.upload(fromArray('bf16', [b, c.s_q, c.h_q, 576], randomBf16(b * c.s_q * c.h_q * 576, 11)));
    for (const v of decodeVariants) {
      if (decodeSmem(v) > maxSmem) continue;
      cuda.setDecodeVariant(v);
      const ms = median(await cuda.timeMs(async () => { await dec.run(q, pool); }, { warmup: 5, reps: 40 }));
      const total = b * c.s_k;
      variants.push({ ...c, rows: c.s_q * c.h_q, variant: v, ms, GBps: bytesOf(c, total, b) / ms / 1e6, TFLOPS: flopOf(c, total) / ms / 1e9 });
      const w = winners.get(c.s_q * c.h_q);
      if (b === 128 && (!w || ms < w.ms)) winners.set(c.s_q * c.h_q, { v, ms });
      console.log(`# variant ${JSON.stringify(v)} b=${b} s_k=${c.s_k} h_q=${c.h_q} s_q=${c.s_q}: ${(ms * 1e3).toFixed(1)} us ${(bytesOf(c, total, b) / ms / 1e6).toFixed(0)} GB/s ${(flopOf(c, total) / ms / 1e9).toFixed(0)} TF`);
    }
    cuda.setDecodeVariant(undefined);
    dec.dispose();
    cuda.free(q);
  }

  const bucketOf = (rows: number) => [16, 32, 64, 128, 256].find((r) => r >= rows) ?? 256;
  console.log(`# winners: ${[...winners].map(([r, w]) => `rows ${r}: ${JSON.stringify(w.v)}`).join('; ')}`);

  const rows: Record<string, unknown>[] = [];
  for (const c of list) {
    const { seqlens, b, total, copies, q, decoders } = rotatedDecoders(cuda, c, poolPages);
    const chosen = winners.get(bucketOf((c.s_q * c.h_q) / (c.h_kv ?? 1)))?.v;
    cuda.setDecodeVariant(chosen);
    const times = await cuda.timeMs(async (rep) => { await decoders[rep % copies].run(q, pool); }, { warmup, reps });
    cuda.setDecodeVariant(undefined);
    const ms = median(times);
    const row = {
      b, ...(c.seqlens ? { seqlens: c.seqlens } : { s_k: c.s_k }), h_q: c.h_q, h_kv: c.h_kv ?? 1, s_q: c.s_q, total_seqlen: total,
      ms, GBps: bytesOf(c, total, b) / ms / 1e6, TFLOPS: flopOf(c, total) / ms / 1e9, copies,
      min_ms: Math.min(...times), variant: chosen,
    };
    rows.push(row);
    console.log(`b=${b} ${c.seqlens ? 'seqlens' : `s_k=${c.s_k}`} h_q=${c.h_q} s_q=${c.s_q}: ${(ms * 1e3).toFixed(1)} us ${row.GBps.toFixed(0)} GB/s ${row.TFLOPS.toFixed(0)} TFLOPS (${copies} copies)`);
    for (const dec of decoders) dec.dispose();
    cuda.free(q);
  }

  const host = await hostOverhead(cuda, pool);
  const graph = await graphSaving(cuda, pool);
  writeFileSync(arg('--out', 'ours.json')!, JSON.stringify({ card: cuda.info.device, details: cuda.info.details, rows, variants, host, graph }, null, 1));
  cuda.free(pool);
  cuda.dispose();
}

/**
 * Variant comparison on chosen grid configs (--only), each variant named in --variants (tags as in kernel names,
 * e.g. m32_n64_s2_w8_q16) or the library's own choice ('auto'), with the host-overhead measurement:
 *   node build/bench/cuda/bench.js sweep --only 1,2 --variants auto,m32_n64_s2_w8_q16 --out sweep.json [--emit-configs c.json]
 */
async function sweep(): Promise<void> {
  const cuda = await createCudaBackend();
  const reps = Number(arg('--reps', '60')), warmup = Number(arg('--warmup', '10'));
  const list = (arg('--only')?.split(',').map(Number) ?? configs.map((_, i) => i)).map((i) => configs[i]);
  const emit = arg('--emit-configs');
  if (emit) writeFileSync(emit, JSON.stringify(list, null, 1));
  const tags = (arg('--variants', 'auto')!).split(',');
  const pick = (tag: string) => tag === 'auto' ? undefined : decodeVariants.find((v) => variantTag(v) === tag);
  const pool = await pagePool(cuda, list), poolPages = pool.shape[0];
  const rows: Record<string, unknown>[] = [];
  for (const c of list) {
    const { seqlens, b, total, copies, q, decoders } = rotatedDecoders(cuda, c, poolPages);
    const byVariant: Record<string, number> = {};
    for (const tag of tags) {
      const v = pick(tag);
      if (tag !== 'auto' && (!v || decodeSmem(v) > (cuda.info.details!.maxSharedMemoryPerBlock as number))) continue;
      cuda.setDecodeVariant(v);
      byVariant[tag] = median(await cuda.timeMs(async (rep) => { await decoders[rep % copies].run(q, pool); }, { warmup, reps }));
    }
    cuda.setDecodeVariant(undefined);
    const best = Math.min(...Object.values(byVariant));
    const row = { b, ...(c.seqlens ? { seqlens: c.seqlens } : { s_k: c.s_k }), h_q: c.h_q, h_kv: c.h_kv ?? 1, s_q: c.s_q, total_seqlen: total, copies, ms: byVariant.auto ?? best, GBps: bytesOf(c, total, b) / (byVariant.auto ?? best) / 1e6, byVariant };
    rows.push(row);
    console.log(`b=${b} ${c.seqlens ? 'seqlens' : `s_k=${c.s_k}`} h_q=${c.h_q} s_q=${c.s_q}: ${Object.entries(byVariant).map(([t, ms]) => `${t} ${(ms * 1e3).toFixed(1)} us`).join(', ')}`);
    for (const dec of decoders) dec.dispose();
    cuda.free(q);
  }
  const host = arg('--no-host') ? undefined : await hostOverhead(cuda, pool);
  writeFileSync(arg('--out', 'sweep.json')!, JSON.stringify({ card: cuda.info.device, details: cuda.info.details, rows, host }, null, 1));
  cuda.free(pool);
  cuda.dispose();
}

function merge(): void {
  const ours = JSON.parse(readFileSync(arg('--ours')!, 'utf8'));
  const fm = JSON.parse(readFileSync(arg('--flashmla')!, 'utf8'));
  const key = (r: { b: number; h_q: number; s_q: number; h_kv?: number; total_seqlen: number }) => `${r.b}|${r.h_q}|${r.s_q}|${r.h_kv ?? 1}|${r.total_seqlen}`;
  const theirs = new Map<string, { ms: number; GBps: number; TFLOPS: number }>(fm.rows.map((r: { flashmla: { ms: number; GBps: number; TFLOPS: number } } & Parameters<typeof key>[0]) => [key(r), r.flashmla]));
  const rows = ours.rows.map((r: Parameters<typeof key>[0] & { ms: number }) => {
    const t = theirs.get(key(r));
    return { ...r, flashmla_ms: t?.ms, flashmla_GBps: t?.GBps, flashmla_TFLOPS: t?.TFLOPS, ratio_vs_flashmla: t ? t.ms / r.ms : undefined };
  });
  const result = {
    backend: 'cuda', card: ours.card, flashmla_card: fm.device, commit: arg('--commit', 'unknown'), date: arg('--date', new Date().toISOString().slice(0, 10)),
    method: 'CUDA events per rep, median of 100 after 10 warm-up, reps rotating among page-set copies (>= 200 MB); FlashMLA: triton do_bench median in the same device call',
    ceilings: fm.ceilings, host: ours.host, graph: ours.graph, variants: ours.variants, rows,
  };
  writeFileSync(arg('--out')!, JSON.stringify(result, null, 1));
  const svg = arg('--svg');
  if (svg) writeFileSync(svg, chart(rows, `${ours.card}: flashmla-ts CUDA vs FlashMLA (${result.date})`));
  for (const r of rows) {
    console.log(`b=${r.b} ${r.seqlens ? 'seqlens' : `s_k=${r.s_k}`} h_q=${r.h_q} s_q=${r.s_q}: ours ${(r.ms * 1e3).toFixed(1)} us ${r.GBps.toFixed(0)} GB/s ${r.TFLOPS.toFixed(0)} TF | FlashMLA ${r.flashmla_ms ? (r.flashmla_ms * 1e3).toFixed(1) : '-'} us ${r.flashmla_GBps?.toFixed(0) ?? '-'} GB/s | ratio ${r.ratio_vs_flashmla?.toFixed(2) ?? '-'}`);
  }
}

/** A bar chart of the ratio FlashMLA time / ours per config (1 = parity). */
function chart(rows: { b: number; s_k?: number; h_q: number; s_q: number; ratio_vs_flashmla?: number; GBps: number; flashmla_GBps?: number }[], title: string): string {
  const w = 40 + rows.length * 34, h = 360, base = 300, scale = 100; // 1.0x = 100 px
  const bars = rows.map((r, i) => {
    const x = 40 + i * 34, v = r.ratio_vs_flashmla ?? 0, bh = Math.min(280, v * scale);
    const label = `${r.b === 128 ? '' : `b${r.b} `}${r.s_k ? `${r.s_k / 1024}k` : 'var'} h${r.h_q} q${r.s_q}`;
    return `<rect x="${x}" y="${base - bh}" width="26" height="${bh}" fill="${v >= 1 ? '#3a7' : '#c63'}"><title>${label}: ${v.toFixed(2)}x (${r.GBps.toFixed(0)} vs ${r.flashmla_GBps?.toFixed(0) ?? '-'} GB/s)</title></rect>` +
      `<text x="${x + 13}" y="${base - bh - 3}" font-size="9" text-anchor="middle">${v.toFixed(2)}</text>` +
      `<text x="${x + 13}" y="${base + 8}" font-size="8" transform="rotate(60 ${x + 13} ${base + 8})">${label}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">` +
    `<text x="10" y="16" font-size="12">${title}: FlashMLA time / ours (above the line = faster)</text>` +
    `<line x1="30" x2="${w}" y1="${base - scale}" y2="${base - scale}" stroke="#888" stroke-dasharray="4 3"/>` +
    `<text x="4" y="${base - scale + 3}" font-size="9">1.0x</text><line x1="30" x2="${w}" y1="${base}" y2="${base}" stroke="#000"/>` +
    bars.join('') + '</svg>\n';
}

if (process.argv[2] === 'merge') merge();
else if (process.argv[2] === 'run') await run();
else if (process.argv[2] === 'sweep') await sweep();
else console.log('usage: bench.js run|sweep|merge ...');

// The browser demo: one decode on the visitor's GPU, a sample checked against the float64 reference, and the
// throughput. Imports only browser-safe modules (the core and the WebGPU backend).
// The same entry points a bundler resolves for 'flashmla-ts' and 'flashmla-ts/webgpu'.
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { bf16ToF32, f32ToBf16, flashMlaWithKvcache, fromArray, getMlaMetadata, referenceDecode } from '../../src/index.js';

export interface DemoResult {
  ok: boolean;
  adapter: string;
  b: number; hQ: number; seqlens: number[];
  cosDiff: number; maxLseErr: number; emptyRowOk: boolean;
  ms: number; GBps: number; TFLOPS: number;
  error?: string;
}

const log = (s: string) => { const el = document.getElementById('log'); if (el) el.textContent += `${s}\n`; };

/** A small seeded generator: the demo's inputs are the same on every visit. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = Math.imul(s ^ (s >>> 15), s | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

async function main(): Promise<DemoResult> {
  const params = new URLSearchParams(location.search);
  const b = Number(params.get('b') ?? 16), hQ = Number(params.get('hQ') ?? 16), sQ = 1, page = 64, d = 576;
  const r = rng(42);
  // Lengths up to 2048, one empty sequence (its row must come back as zeros with lse = +inf).
  const seqlens = Array.from({ length: b }, (_, i) => (i === 1 ? 0 : 1 + Math.floor(r() * 2048)));
  const pagesOf = seqlens.map((s) => Math.ceil(s / page));
  const maxBlocks = Math.max(1, ...pagesOf);
  const numBlocks = pagesOf.reduce((a, x) => a + x, 0) + 1;
  const perm = Array.from({ length: numBlocks }, (_, i) => i).sort(() => r() - 0.5);
  const blockTable = new Int32Array(b * maxBlocks).fill(-1);
  let next = 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < pagesOf[i]; j++) blockTable[i * maxBlocks + j] = perm[next++];
  const kCache = new Uint16Array(numBlocks * page * d);
  for (let i = 0; i < kCache.length; i++) kCache[i] = f32ToBf16((r() - 0.5) * 3.4);
  const q = new Uint16Array(b * sQ * hQ * d);
  for (let i = 0; i < q.length; i++) q[i] = f32ToBf16((r() - 0.5) * 3.4);

  const backend = await createWebGpuBackend();
  log(`adapter: ${backend.info.device}`);
  log(`features: shader-f16 ${backend.caps.f16}, subgroups ${backend.caps.subgroups} (min ${backend.caps.subgroupMinSize}), timestamps ${backend.caps.timestamps}`);
  const seq = fromArray('i32', [b], Int32Array.from(seqlens));
  const bt = fromArray('i32', [b, maxBlocks], blockTable);
  const md = getMlaMetadata(seq, (sQ * hQ) / 1, 1, { backend });
  const qT = backend.upload(fromArray('bf16', [b, sQ, hQ, d], q));
  const kT = backend.upload(fromArray('bf16', [numBlocks, page, 1, d], kCache));
  const { out, lse } = await flashMlaWithKvcache(qT, kT, bt, seq, 512, md.tileSchedulerMetadata, md.numSplits, { backend });
  const o = (await backend.download(out)).host() as Uint16Array;
  const l = (await backend.download(lse)).host() as Float32Array;

  // The sample: the first 3 sequences (one of them empty), in float64 on the CPU.
  const n = Math.min(3, b);
  const ref = referenceDecode({ q: q.subarray(0, n * sQ * hQ * d), kCache, blockTable: blockTable.subarray(0, n * maxBlocks), cacheSeqlens: Int32Array.from(seqlens.slice(0, n)), dtype: 'bf16', b: n, sQ, hQ, hKv: 1, pageBlockSize: page, maxBlocksPerSeq: maxBlocks });
  let dot = 0, xx = 0, yy = 0, maxLseErr = 0, emptyRowOk = true;
  for (let i = 0; i < ref.out.length; i++) { const x = bf16ToF32(o[i]), y = ref.out[i]; dot += x * y; xx += x * x; yy += y * y; if (Number.isNaN(x)) xx = NaN; }
  for (let i = 0; i < ref.lse.length; i++) {
    if (ref.lse[i] === Infinity) { if (l[i] !== Infinity) emptyRowOk = false; continue; }
    maxLseErr = Math.max(maxLseErr, Math.abs(l[i] - ref.lse[i]));
  }
  for (let i = 1 * hQ * 512; i < 2 * hQ * 512; i++) if (o[i] !== 0 && o[i] !== 0x8000) emptyRowOk = false;
  const cosDiff = 1 - (2 * dot) / (xx + yy);
  log(`check vs float64 reference (${n} sequences): cosine difference ${cosDiff.toExponential(2)}, max |lse error| ${maxLseErr.toExponential(2)}, empty sequence ${emptyRowOk ? 'ok' : 'WRONG'}`);

  const times = await backend.timeMs(() => flashMlaWithKvcache(qT, kT, bt, seq, 512, md.tileSchedulerMetadata, md.numSplits, { backend, out, lse }).then(() => {}), { warmup: 2, reps: 7 });
  const ms = [...times].sort((a, c) => a - c)[Math.floor(times.length / 2)];
  const total = seqlens.reduce((a, x) => a + x, 0);
  const bytes = 2 * (total * d + b * sQ * hQ * d + b * sQ * hQ * 512), flop = 2 * sQ * total * hQ * (d + 512);
  const GBps = bytes / ms / 1e6, TFLOPS = flop / ms / 1e9;
  log(`decode b=${b} hQ=${hQ} sum(seqlens)=${total}: ${ms.toFixed(3)} ms median (${backend.caps.timestamps ? 'timestamp queries' : 'wall clock'}), ${GBps.toFixed(1)} GB/s, ${(TFLOPS * 1e3).toFixed(1)} GFLOP/s`);
  backend.dispose();
  const ok = cosDiff < 1e-5 && maxLseErr < 1e-3 && emptyRowOk;
  return { ok, adapter: backend.info.device, b, hQ, seqlens, cosDiff, maxLseErr, emptyRowOk, ms, GBps, TFLOPS };
}

const w = window as unknown as { flashmlaResult?: DemoResult };
main().then((res) => {
  w.flashmlaResult = res;
  const s = document.getElementById('status')!;
  s.textContent = res.ok ? 'correct: matches the CPU reference' : 'MISMATCH against the CPU reference';
  s.className = res.ok ? 'ok' : 'bad';
}, (e: unknown) => {
  const msg = e instanceof Error ? `${e.message}` : String(e);
  log(`error: ${msg}`);
  w.flashmlaResult = { ok: false, error: msg } as DemoResult;
  const s = document.getElementById('status')!;
  s.textContent = `failed: ${msg}`;
  s.className = 'bad';
});

// Session 30: where a wide-kernel item's time goes, through the library. With a kernel folder built with
// -DMLA_SM90W_TRACE -DMLA_SM90W_LIB_TRACE (decode_sm90_wide.cu: the library's entries with kVarTrace), each decode
// leaves per-CTA stamps in the module's mlaSm90wTrace; this reads them after one warm call of each config and prints,
// per config, the medians over items of >= 3 pairs (SM cycles and us): keys (Q in -> first S issued), s0 (that S), pair0 (Q in -> first pair done), pair (a middle pair), last (the
// last pair), srbar (loop end -> row sums in), srst (-> the item's end: outputs stored), excess (body - pairs x pair),
// gap (an item's end -> the next item's Q in), pro (CTA start -> first Q in), tail (last item's end -> CTA end); and
// session 30's finer stamps: st.sts / st.fence+bar / st.bulk / st.ret (storeRows' staged path of an unsplit item: its
// shared stores, the proxy fence and barrier, the copies issued, back in the loop), st.split (the split path's stores),
// nx.readwait / nx.bar4 / nx.qwait / nx.qin (the next item's start: its copies read, barrier 4, Q's mbarrier, Q in),
// pr.* (the producer's boxes-0-3 thread: when it starts waiting for the stage of the next item's first tile, and when
// it has issued that tile, both from this item's loop end) and nx.firstS-loopend.
//   FLASHMLA_CUDA_KERNELS=<trace build> node build/bench/cuda/hopper/s30_trace.js [CONFIGS_JSON] > trace.txt
import { createCudaBackend, type CudaBackend } from '../../../src/backends/cuda/index.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../../src/core/api.js';
import { fromArray } from '../../../src/core/tensor.js';

type Cfg = { b: number; s_k: number; h_q: number; s_q: number };
const configs: Cfg[] = process.argv[2] ? JSON.parse(process.argv[2]) as Cfg[] : [
  { b: 128, s_k: 1024, h_q: 128, s_q: 2 }, { b: 128, s_k: 4096, h_q: 128, s_q: 2 }, { b: 128, s_k: 8192, h_q: 128, s_q: 2 },
  { b: 128, s_k: 1024, h_q: 128, s_q: 1 }, { b: 32, s_k: 4096, h_q: 128, s_q: 2 },
];
const kTraceWords = 216; // decode_sm90_wide.cu kTraceWords (session 30: 216)

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x; };
}
/** bf16 words of random sign and magnitude in [2^-7, 2). */
function randBf16(n: number, seed: number): Uint16Array {
  const r = lcg(seed), a = new Uint16Array(n);
  for (let i = 0; i < n; i++) { const v = r(); a[i] = (v & 0x8000) | (0x3c00 + ((v >>> 16) & 0x3ff)); } // exponent 120..127, 7 mantissa bits
  return a;
}

const med = (v: number[]): number => { if (!v.length) return NaN; const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function traceOne(be: CudaBackend, c: Cfg): Promise<void> {
  const rows = c.s_q * c.h_q, pages = Math.ceil(c.s_k / 64), numBlocks = c.b * pages;
  const qh = fromArray('bf16', [c.b, c.s_q, c.h_q, 576], randBf16(c.b * c.s_q * c.h_q * 576, 1));
  const kh = fromArray('bf16', [numBlocks, 64, 1, 576], randBf16(numBlocks * 64 * 576, 2));
  const bt = new Int32Array(c.b * pages);
  const perm = Array.from({ length: numBlocks }, (_, i) => i);
  const r = lcg(3);
  for (let i = numBlocks - 1; i > 0; i--) { const j = r() % (i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  for (let i = 0; i < bt.length; i++) bt[i] = perm[i];
  const seqlens = new Int32Array(c.b).fill(c.s_k);
  const md = getMlaMetadata(seqlens, rows, 1, { numSms: 132, schedule: 'auto', backend: be });
  const q = be.upload(qh), k = be.upload(kh);
  const btT = be.upload(fromArray('i32', [c.b, pages], bt)), sl = be.upload(fromArray('i32', [c.b], seqlens));
  const meta = be.upload(md.tileSchedulerMetadata), ns = be.upload(md.numSplits);
  for (let i = 0; i < 6; i++) await flashMlaWithKvcache(q, k, btT, sl, 512, meta, ns, { causal: true, backend: be });
  await be.synchronize();
  const kind = be.decodeKernel({ dtype: 'bf16', sQ: c.s_q, hQ: c.h_q, nGroups: c.h_q, hKv: 1, pageBlockSize: 64, varlen: false, numSmParts: md.tileSchedulerMetadata.shape[0], totalQ: c.b * c.s_q } as never);
  // the module's trace words
  const bi = be as unknown as { drv: { koffi: { load(n: string): { func(p: string): (...a: unknown[]) => number } }; copyDtoH(d: ArrayBufferView, s: bigint, n: number, st: bigint): void; api: { cuStreamSynchronize(s: bigint): number } }; stream: bigint; kernels: { h: { sm90WideModule: bigint } } };
  const getGlobal = bi.drv.koffi.load('libcuda.so.1').func('int cuModuleGetGlobal_v2(_Out_ void **dptr, _Out_ size_t *bytes, void *hmod, const char *name)');
  const dp: (bigint | null)[] = [null], nb: (number | bigint | null)[] = [null];
  const rc = getGlobal(dp, nb, bi.kernels.h.sm90WideModule, '_ZN3mla5sm90w13mlaSm90wTraceE'); // mla::sm90w::mlaSm90wTrace
  if (rc !== 0) throw new Error(`cuModuleGetGlobal rc ${rc} (not a trace build?)`);
  const parts = md.tileSchedulerMetadata.shape[0], ctas = Math.ceil(rows / 64) * parts;
  const words = new BigUint64Array(ctas * kTraceWords);
  bi.drv.copyDtoH(words, dp[0]!, words.byteLength, bi.stream);
  bi.drv.api.cuStreamSynchronize(bi.stream);
  for (const t of [q, k, btT, sl, meta, ns]) be.free(t);
  const W = (cta: number, i: number): number => Number(words[cta * kTraceWords + i]);
  /** Word b minus word a of a CTA's stamps, signed. */
  const D = (cta: number, a: number, b: number): number => Number(BigInt.asIntN(64, words[cta * kTraceWords + b] - words[cta * kTraceWords + a]));
  const acc: Record<string, number[]> = {};
  const add = (n: string, v: number) => { (acc[n] ??= []).push(v); };
  const mhz: number[] = [];
  let itemsSeen = 0;
  for (let cta = 0; cta < ctas; cta++) {
    if (W(cta, 7) !== 1) continue;
    const n = Math.min(W(cta, 6), 8);
    const dns = D(cta, 1, 3); if (dns > 0) mhz.push(D(cta, 2, 4) / dns * 1000);
    if (dns > 0) add('cta_ns', dns);
    if (n > 0) { add('pro', D(cta, 2, 96)); add('tail', D(cta, 104 + n - 1, 4)); }
    add('items', n);
    for (let j = 0; j < n; j++) {
      itemsSeen++;
      const nt = W(cta, 32 + j), pairs = Math.floor((nt + 1) / 2);
      const cy = (a: number, b: number) => D(cta, a + j, b + j); // item j's stamps
      if (j + 1 < n) add('gap', D(cta, 104 + j, 96 + j + 1));
      if (pairs < 3) continue;
      const pr = cy(56, 64) / (pairs - 2);
      add('keys', cy(96, 40)); add('s0', cy(40, 48)); add('pair0', cy(96, 56)); add('pair', pr); add('pairX', cy(96, 56) - pr);
      const lp = cy(64, 72); add('last', lp); add('lastX', lp - ((nt & 1) ? pr / 2 : pr));
      add('wg1', cy(72, 80)); add('srbar', cy(72, 88)); add('srst', cy(88, 104));
      const bd = cy(96, 104); add('body', bd); add('excess', bd - pr * ((nt & 1) ? pairs - 0.5 : pairs)); add('tiles', nt);
      // session 30's finer stamps: storeRows' staged path (unsplit items) or the split path, and the next item's start
      if (W(cta, 112 + j) === 0) { add('st.sts', cy(88, 144)); add('st.fence+bar', cy(144, 152)); add('st.bulk', cy(152, 160)); add('st.ret', cy(160, 104)); }
      else add('st.split', cy(88, 168));
      if (j + 1 < n) {
        const nx = (a: number, b: number) => D(cta, a + j + 1, b + j + 1); // the next item's stamps
        add('nx.readwait', D(cta, 104 + j, 176 + j + 1));
        add('nx.bar4', nx(176, 184)); add('nx.qwait', nx(184, 192)); add('nx.qin', nx(192, 96));
        // the producer's boxes-0-3 thread and the next item's first tile, against this item's loop end (word 72)
        const vsEnd = (w: number) => D(cta, 72 + j, w + j + 1);
        add('pr.waitstart-loopend', vsEnd(200)); add('pr.issued-loopend', vsEnd(208)); add('nx.firstS-loopend', vsEnd(40));
      }
    }
  }
  const f = 1 / med(mhz);
  const line = Object.entries(acc).map(([n, v]) => n === 'items' || n === 'tiles' ? `${n}=${med(v)}` : n === 'cta_ns' ? `cta_us=${(med(v) / 1000).toFixed(1)}/max ${(Math.max(...v) / 1000).toFixed(1)}` : `${n}=${med(v).toFixed(0)}/${(med(v) * f).toFixed(2)}`).join(' ');
  console.log(`trace b=${c.b} s_k=${c.s_k} h_q=${c.h_q} s_q=${c.s_q} lib ${kind} parts=${parts} ctas=${ctas} items_traced=${itemsSeen} mhz=${med(mhz).toFixed(0)} | ${line}`);
}

const be = await createCudaBackend();
try {
  for (const c of configs) await traceOne(be, c);
} finally { be.dispose(); }

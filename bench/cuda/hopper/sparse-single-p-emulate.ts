// How far a single bf16 P (FlashMLA's rounding, sparse_sm90.cu build-mode bit 5) stays from the CUDA tolerance, on the
// host, without a GPU: the suite's random sm90 cases (test/support/sparse-random.ts, V3.2 and MODEL1 at h_q 64/128)
// through an emulation of the kernel's arithmetic in float64 with three ways to form P·V:
//   hilo     P exact (what hi + lo gives to 2^-17): the shipped kernel;
//   single   P rounded to bf16 before P·V, the row sum l of the unrounded P (FlashMLA, bit 5);
//   single-l P rounded to bf16, l summed from the rounded P (the output an exact convex combination of V rows);
//   f16      P rounded to f16 (round to nearest even, subnormals below 2^-14) before P·V, l of the unrounded P: the
//            f16 key tile's P·V (session 14, h5), V and Q_nope exact in f16 (the tile's guard), so only P is rounded;
//   f16-l    P rounded to f16, l summed from the rounded P;
//   f16q     as f16, and Q's NoPE part rounded to f16 too (subnormals kept: absolute error <= 2^-25 an element, the
//            case where the item guard checks only |Q_nope| <= 65504, not exactness).
// 64-entry tiles of the request's list (the main list padded to 64 when there is an extra list) with the running
// maximum in base 2, as the kernel; splits and the f32 accumulation are not modelled (they add far less than 2^-9).
// Each case is compared with the float64 reference under tolerances.cuda, and single also under
// tolerances.cudaSparseFast (the bound of precision 'fast': + 2^-8 of the weighted mean of |V|, "single@fast"); prints
// the failures and the worst element ratios (1 = the bound) a variant.
//   node --import tsx bench/cuda/hopper/sparse-single-p-emulate.ts [CASES=100] [FIRST_SEED=72000]
import { InlineCpuBackend } from '../../../src/backends/cpu/inline.js';
import { bf16ToF32, decodeHalf, f16ToF32, f32ToBf16, f32ToF16 } from '../../../src/core/dtype.js';
import { dequantizeToken } from '../../../src/core/fp8.js';
import { referenceSparseDecode } from '../../../src/core/reference-sparse.js';
import type { SparseCall } from '../../../src/core/sparse.js';
import { compareOutputs, tolerances } from '../../../test/support/compare.js';
import { runRandomSparse } from '../../../test/support/sparse-random.js';

const cases = Number(process.argv[2] ?? 100), first = Number(process.argv[3] ?? 72000);
const variants = ['hilo', 'single', 'single-l', 'f16', 'f16-l', 'f16q'] as const;
type Variant = (typeof variants)[number];
const reports = [...variants, 'single@fast'] as const;
type Report = (typeof reports)[number];
const worst = Object.fromEntries(reports.map((v) => [v, [] as number[]])) as Record<Report, number[]>;
const failed = Object.fromEntries(reports.map((v) => [v, [] as string[]])) as Record<Report, string[]>;
const bf16 = (x: number) => bf16ToF32(f32ToBf16(x));
const f16 = (x: number) => f16ToF32(f32ToF16(x));
let seed = 0;

function emulate(l: SparseCall): void {
  const p = l.problem, { b, sQ, hQ, dQk, dV, topk, extraTopk } = p;
  if (p.cache.kind !== 'v32' && p.cache.kind !== 'model1') throw new Error('FP8 caches only');
  const bytes = (t: typeof l.kCache) => (t.data as Uint8Array).subarray(t.offset);
  const main = bytes(l.kCache), extra = l.extraKCache && bytes(l.extraKCache);
  const indices = l.indices.host() as Int32Array, xIndices = l.extraIndices?.host() as Int32Array | undefined;
  const len = l.host?.topkLength ?? (l.topkLength?.host() as Int32Array | undefined);
  const xLen = l.host?.extraTopkLength ?? (l.extraTopkLength?.host() as Int32Array | undefined);
  const sink = l.attnSink?.host() as Float32Array | undefined;
  const qBits = l.q.host() as Uint16Array, q = decodeHalf('bf16', qBits);
  const ref = referenceSparseDecode({
    q: qBits, dtype: 'bf16', b, sQ, hQ, dQk, dV, softmaxScale: p.softmaxScale, cache: { kind: p.cache.kind, data: main, pageBlockSize: p.cache.pageBlockSize },
    indices, topk, topkLength: len, attnSink: sink, extraCache: extra && { kind: p.extraCache!.kind, data: extra, pageBlockSize: p.extraCache!.pageBlockSize },
    extraIndices: xIndices, extraTopk, extraTopkLength: xLen,
  });
  const outs = Object.fromEntries(variants.map((v) => [v, { out: new Uint16Array(b * sQ * hQ * dV), lse: new Float32Array(b * hQ * sQ) }])) as Record<Variant, { out: Uint16Array; lse: Float32Array }>;
  const log2e = Math.LOG2E;
  for (let i = 0; i < b; i++) for (let s = 0; s < sQ; s++) {
    // The row's entries at their list positions (tile = position / 64), dequantized.
    const mainLen = Math.min(len ? len[i] : topk, topk), xl = xIndices ? Math.min(xLen ? xLen[i] : extraTopk, extraTopk) : 0;
    const mainRegion = xIndices ? Math.ceil(Math.max(mainLen, 1) / 64) * 64 : topk;
    const keys: { pos: number; k: Float64Array }[] = [];
    for (let t = 0; t < mainLen; t++) {
      const ph = indices[(i * sQ + s) * topk + t];
      if (ph < 0) continue;
      const k = new Float64Array(dQk), B = p.cache.pageBlockSize;
      dequantizeToken(p.cache.kind, main, B, Math.floor(ph / B), ph % B, k);
      keys.push({ pos: t, k });
    }
    for (let t = 0; t < xl; t++) {
      const ph = xIndices![(i * sQ + s) * extraTopk + t];
      if (ph < 0) continue;
      const k = new Float64Array(dQk), B = p.extraCache!.pageBlockSize;
      dequantizeToken(p.extraCache!.kind as 'v32' | 'model1', extra!, B, Math.floor(ph / B), ph % B, k);
      keys.push({ pos: mainRegion + t, k });
    }
    for (let h = 0; h < hQ; h++) {
      const qo = ((i * sQ + s) * hQ + h) * dQk, oo = ((i * sQ + s) * hQ + h) * dV, lo = (i * hQ + h) * sQ + s;
      const sc0 = keys.map(({ k }) => { let a = 0; for (let d = 0; d < dQk; d++) a += q[qo + d] * k[d]; return a * p.softmaxScale * log2e; });
      const nope = p.cache.kind === 'model1' ? 448 : 512;
      const sc16 = keys.map(({ k }) => { let a = 0; for (let d = 0; d < dQk; d++) a += (d < nope ? f16(q[qo + d]) : q[qo + d]) * k[d]; return a * p.softmaxScale * log2e; });
      for (const v of variants) {
        const sc = v === 'f16q' ? sc16 : sc0;
        const acc = new Float64Array(dV);
        let m = -Infinity, lsum = 0;
        for (let t0 = 0; t0 < keys.length;) {
          const tile = Math.floor(keys[t0].pos / 64);
          let t1 = t0;
          while (t1 < keys.length && Math.floor(keys[t1].pos / 64) === tile) t1++;
          let mt = m;
          for (let t = t0; t < t1; t++) mt = Math.max(mt, sc[t]);
          const f = m === -Infinity ? 0 : 2 ** (m - mt);
          for (let d = 0; d < dV; d++) acc[d] *= f;
          lsum *= f;
          for (let t = t0; t < t1; t++) {
            const x = 2 ** (sc[t] - mt), w = v === 'hilo' ? x : v.startsWith('f16') ? f16(x) : bf16(x);
            lsum += v.endsWith('-l') ? w : x;
            const k = keys[t].k;
            for (let d = 0; d < dV; d++) acc[d] += w * k[d];
          }
          m = mt;
          t0 = t1;
        }
        const o = outs[v];
        if (keys.length === 0) { o.lse[lo] = Infinity; continue; }
        const lse = (m + Math.log2(lsum)) / log2e;
        const fac = sink ? 1 / (1 + Math.exp(sink[h] - lse)) : 1;
        for (let d = 0; d < dV; d++) o.out[oo + d] = f32ToBf16((acc[d] / lsum) * fac);
        o.lse[lo] = lse;
      }
    }
  }
  for (const v of reports) {
    const fast = v === 'single@fast', o = outs[fast ? 'single' : v];
    const rep = compareOutputs(o.out, o.lse, ref, 'bf16', { b, sQ, hQ }, fast ? tolerances.cudaSparseFast : tolerances.cuda);
    worst[v].push(rep.worstRatio);
    if (!rep.ok) failed[v].push(`seed ${seed}: ${rep.failures[0]}`);
  }
  (l.out.host() as Uint16Array).set(outs.hilo.out);
  (l.lse.host() as Float32Array).set(outs.hilo.lse);
}

const be = new InlineCpuBackend();
(be as unknown as { decodeSparse: (l: SparseCall) => void }).decodeSparse = emulate;
const t0 = Date.now();
for (seed = first; seed < first + cases; seed++) {
  try {
    await runRandomSparse(seed, be, tolerances.cuda, ['v32', 'model1'], false, (r) => r.pick([64, 128]));
  } catch (e) {
    if (!String(e).includes(`seed ${seed}`)) throw e; // the hilo emulation against the suite's own check
  }
}
const pct = (a: number[], q: number) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))];
console.log(`${cases} random sm90 cases (seeds ${first}..${first + cases - 1}), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
for (const v of reports) {
  console.log(`${v.padEnd(11)} fail ${failed[v].length}/${cases}; worst element / bound: max ${Math.max(...worst[v]).toFixed(3)}, p99 ${pct(worst[v], 0.99).toFixed(3)}, median ${pct(worst[v], 0.5).toFixed(3)}`);
  for (const f of failed[v].slice(0, 3)) console.log(`  ${f}`);
}

// A JavaScript model of the subgroup-matrix decode kernel's arithmetic (kernels/decode-matrix.ts), loop for loop:
// 64-key tiles, 32-column chunks converted to f16 with the kernel's power-of-two scales (q per row
// and chunk, k per key and chunk, v per column and tile), products of f16 values summed in f32 into a fresh result
// and added into the scores times the scales, the exp2-domain online softmax in f32 with P rounded to f16, O
// rescaled and accumulated in f32, NaN rows. It checks the numerical scheme against the float64 reference in the
// fast suite (test/backends/webgpu-matrix.test.ts); the generated WGSL around the products runs on lavapipe in
// test/long/webgpu-matrix-emu.test.ts. One split per sequence (the split-KV combine is the shared WGSL kernel's).
import { type HalfDType, f16ToF32, f32Bits, halfToF32 } from '../../src/core/dtype.js';
import { f32ToF16 } from '../../src/core/dtype.js';
import type { DecodeCase } from './random.js';

const fr = Math.fround;
const NEG = -1e30;
const f16 = (x: number): number => f16ToF32(f32ToF16(x));

/**
 * 32 values as the kernel converts them: f16 values and the scale 2^(e-127) (NaN when a value is NaN).
 * `scaled: false` converts them as they are (scale 1): what the scales are there to avoid.
 */
export function convert32(xs: ArrayLike<number>, scaled = true): { h: Float64Array; scale: number } {
  let mb = 0, nan = false;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (Number.isNaN(x)) nan = true;
    else if (Number.isFinite(x)) mb = Math.max(mb, f32Bits(Math.abs(x)) >>> 0);
  }
  const e = scaled ? Math.min(Math.max(mb >>> 23, 1), 253) : 127;
  const down = 2 ** (127 - e);
  const h = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) h[i] = f16(fr(xs[i] * down));
  return { h, scale: nan ? NaN : 2 ** (e - 127) };
}

/**
 * out [b, sQ, hQ, 512] as the dtype's bits and lse [b, hQ, sQ], for a uniform-sQ case. `vBlock`: columns sharing one
 * V scale per tile (1: v3, kernels/decode-matrix.ts; 32: v4, kernels/decode-matrix4.ts, whose V block maxima come
 * from the k conversion's 32-column blocks).
 */
export function matrixModel(c: DecodeCase, scaled = true, vBlock: 1 | 32 = 1): { out: Uint16Array; lse: Float32Array } {
  if (c.qIndptr) throw new Error('matrixModel: uniform sQ only');
  const toF = halfToF32(c.dtype as HalfDType);
  const enc = c.dtype === 'bf16' ? (x: number) => bf16Rne(x) : (x: number) => f32ToF16(x);
  const nG = c.hQ / c.hKv, rows = c.sQ * nG;
  const out = new Uint16Array(c.b * c.sQ * c.hQ * 512), lse = new Float32Array(c.b * c.hQ * c.sQ);
  const scaleLog2 = fr(c.softmaxScale * Math.LOG2E);
  for (let bi = 0; bi < c.b; bi++) {
    const seqlen = c.cacheSeqlens[bi];
    const keyBase = (key: number, kvh: number) => ((c.blockTable[bi * c.maxBlocksPerSeq + Math.floor(key / c.pageBlockSize)] * c.pageBlockSize + (key % c.pageBlockSize)) * c.hKv + kvh) * 576;
    for (let kvh = 0; kvh < c.hKv; kvh++) {
      // The kernel takes 16 rows a workgroup; no row's arithmetic depends on which rows share its tile (scales are
      // per q row, per key and per v column), so the model takes all rows of the KV head at once.
      {
        const m0 = 0, R = rows;
        const qRow = (r: number) => { const m = m0 + r, j = Math.floor(m / nG), h = kvh * nG + (m % nG); return ((bi * c.sQ + j) * c.hQ + h) * 576; };
        const vis = Array.from({ length: R }, (_, r) => Math.min(c.causal ? seqlen - c.sQ + Math.floor((m0 + r) / nG) + 1 : seqlen, seqlen));
        const M = new Array<number>(R).fill(NEG), L = new Array<number>(R).fill(0), nanRow = new Array<boolean>(R).fill(false);
        const O = Array.from({ length: R }, () => new Float64Array(512));
        for (let k0 = 0; k0 < seqlen; k0 += 64) {
          const nk = Math.min(64, seqlen - k0);
          const S = Array.from({ length: R }, () => new Float64Array(nk));
          for (let ch = 0; ch < 18; ch++) {
            const qs = Array.from({ length: R }, (_, r) => convert32(Array.from({ length: 32 }, (_, i) => toF(c.q[qRow(r) + ch * 32 + i])), scaled));
            const ks = Array.from({ length: nk }, (_, kk) => convert32(Array.from({ length: 32 }, (_, i) => toF(c.kCache[keyBase(k0 + kk, kvh) + ch * 32 + i])), scaled));
            for (let r = 0; r < R; r++) {
              for (let kk = 0; kk < nk; kk++) {
                let x = 0;
                for (let i = 0; i < 32; i++) x = fr(x + qs[r].h[i] * ks[kk].h[i]); // f16 x f16 is exact in f32
                S[r][kk] = fr(S[r][kk] + fr(x * fr(qs[r].scale * ks[kk].scale)));
              }
            }
          }
          const alpha: number[] = [], P = Array.from({ length: R }, () => new Float64Array(nk));
          for (let r = 0; r < R; r++) {
            const xs = Array.from({ length: nk }, (_, kk) => (k0 + kk < vis[r] ? fr(S[r][kk] * scaleLog2) : NEG));
            let mx = NEG;
            for (const x of xs) { if (Number.isNaN(x)) nanRow[r] = true; else mx = Math.max(mx, x); }
            const mNew = Math.max(M[r], mx);
            let sum = 0;
            xs.forEach((x, kk) => { const p = !Number.isNaN(x) && x > NEG * 0.5 ? fr(2 ** (x - mNew)) : 0; P[r][kk] = f16(p); sum = fr(sum + p); });
            alpha[r] = fr(2 ** (M[r] - mNew));
            L[r] = fr(fr(L[r] * alpha[r]) + sum);
            M[r] = mNew;
          }
          const blockMax = new Array<number>(512 / vBlock).fill(0);
          for (let kk = 0; kk < nk; kk++) {
            for (let col = 0; col < 512; col++) {
              const v = toF(c.kCache[keyBase(k0 + kk, kvh) + col]);
              if (Number.isFinite(v)) blockMax[Math.floor(col / vBlock)] = Math.max(blockMax[Math.floor(col / vBlock)], f32Bits(Math.abs(v)) >>> 0);
            }
          }
          for (let col = 0; col < 512; col++) {
            const vs = Array.from({ length: nk }, (_, kk) => toF(c.kCache[keyBase(k0 + kk, kvh) + col]));
            const mb = blockMax[Math.floor(col / vBlock)];
            const e = scaled ? Math.min(Math.max(mb >>> 23, 1), 253) : 127, down = 2 ** (127 - e), up = 2 ** (e - 127);
            const vh = vs.map((v) => (Number.isNaN(v) ? 0 : f16(fr(v * down))));
            for (let r = 0; r < R; r++) {
              let x = 0;
              for (let kk = 0; kk < nk; kk++) x = fr(x + P[r][kk] * vh[kk]);
              O[r][col] = fr(fr(O[r][col] * alpha[r]) + fr(x * up));
            }
          }
        }
        for (let r = 0; r < R; r++) {
          const m = m0 + r, j = Math.floor(m / nG), h = kvh * nG + (m % nG);
          const inv = L[r] > 0 ? fr(1 / L[r]) : 0;
          for (let col = 0; col < 512; col++) out[((bi * c.sQ + j) * c.hQ + h) * 512 + col] = enc(nanRow[r] ? NaN : fr(O[r][col] * inv));
          lse[(bi * c.hQ + h) * c.sQ + j] = nanRow[r] ? NaN : L[r] > 0 ? (M[r] + Math.log2(L[r])) * Math.LN2 : Infinity;
        }
      }
    }
  }
  return { out, lse };
}

function bf16Rne(x: number): number {
  const b = f32Bits(x) >>> 0;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

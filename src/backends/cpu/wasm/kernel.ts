// The WebAssembly SIMD rung: the two products of each 64-key tile (Q K^T and P V, f32x4 with register blocks) run
// in WebAssembly; the key unpacking, the online softmax (float64, as the scalar rung) and the output writes stay
// in JavaScript. Browser-safe: no Node imports; the module bytes are embedded (module.ts).
//
// Memory of one instance (one per thread), byte offsets: K tile [64, 576] f32 | raw bf16 keys [64, 576] | S / P
// [rows, 64] | Q [rows, 576] | O [rows, 512] | rescale [rows]. Products and accumulators are f32 (like the native rung).
import { decodeHalf, f32ToHalf, halfToF32 } from '../../../core/dtype.js';
import { visibleKeys } from '../../../core/problem.js';
import { blockSizeN, dQk, dV } from '../../../core/constants.js';
import { type CpuKernel, forEachItem, itemFields, itemIndex as I } from '../item.js';
import { type CpuDecodeArgs, finishEmptyRow } from '../kernel.js';
import { wasmRelaxed, wasmSimd } from './module.js';

const DQK = dQk, DV = dV, BN = blockSizeN;
const rowChunk = 48; // query rows per pass over a key tile
const kBytes = BN * DQK * 4, rawOff = kBytes, sBase = rawOff + BN * DQK * 2;

interface Exports {
  memory: WebAssembly.Memory;
  qk(q: number, k: number, s: number, rows: number, n: number): void;
  pv(p: number, k: number, o: number, re: number, rows: number, n: number): void;
  bf16(src: number, dst: number, count: number): void;
}

function bytesOf(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return u;
}

/** Which variant this engine runs: relaxed-SIMD FMA, plain SIMD, or none (the reason). */
export function wasmSupport(): { bytes: Uint8Array<ArrayBuffer>; variant: string } | { reason: string } {
  if (typeof WebAssembly === 'undefined') return { reason: 'no WebAssembly in this engine' };
  const relaxed = bytesOf(wasmRelaxed);
  if (WebAssembly.validate(relaxed)) return { bytes: relaxed, variant: 'SIMD128 + relaxed-SIMD FMA' };
  const simd = bytesOf(wasmSimd);
  if (WebAssembly.validate(simd)) return { bytes: simd, variant: 'SIMD128 (no relaxed SIMD: mul + add)' };
  return { reason: 'this engine has no WebAssembly SIMD' };
}

/** Instantiate the kernel for this thread (modules are < 4 KB, so synchronous compilation is allowed everywhere). */
export function createWasmKernel(): CpuKernel | string {
  const sup = wasmSupport();
  if ('reason' in sup) return sup.reason;
  const ex = new WebAssembly.Instance(new WebAssembly.Module(sup.bytes), {}).exports as unknown as Exports;
  const prm = new Int32Array(itemFields.length);
  let rowMax = new Float64Array(0), rowSum = new Float64Array(0);
  let cap = 0; // rows the memory is laid out for
  let f32 = new Float32Array(ex.memory.buffer), u16 = new Uint16Array(ex.memory.buffer);
  let sOff = sBase, qOff = 0, oOff = 0, reOff = 0;

  function layout(rows: number): void {
    if (rows <= cap) return;
    sOff = sBase;
    qOff = sOff + rows * BN * 4;
    oOff = qOff + rows * DQK * 4;
    reOff = oOff + rows * DV * 4;
    const need = reOff + rows * 4, have = ex.memory.buffer.byteLength;
    if (need > have) ex.memory.grow(Math.ceil((need - have) / 65536));
    f32 = new Float32Array(ex.memory.buffer);
    u16 = new Uint16Array(ex.memory.buffer);
    rowMax = new Float64Array(rows);
    rowSum = new Float64Array(rows);
    cap = rows;
  }

  function item(a: CpuDecodeArgs, pr: Int32Array): void {
    const p = a.p, nGroups = p.nGroups, g = pr[I.kvHead], i = pr[I.batch];
    const qStart = pr[I.qStart], qLen = pr[I.qLen], seqlen = pr[I.seqlen], kEnd = pr[I.kEnd];
    const rows = qLen * nGroups;
    if (rows === 0) return;
    layout(rows);
    const toF = halfToF32(p.dtype), scale = p.softmaxScale;
    for (let r = 0; r < rows; r++) {
      const j = Math.floor(r / nGroups), h = g * nGroups + (r % nGroups);
      const src = ((qStart + j) * p.hQ + h) * DQK, dst = qOff / 4 + r * DQK;
      for (let d = 0; d < DQK; d++) f32[dst + d] = toF(a.q[src + d]) * scale;
    }
    f32.fill(0, oOff / 4, oOff / 4 + rows * DV);
    rowMax.fill(-Infinity, 0, rows);
    rowSum.fill(0, 0, rows);
    // A 16-bit cache: an FP8 one (p.kvFormat) never reaches this rung (item.ts denseUnitOf gives it the scalar kernel).
    const page = p.pageBlockSize, rowElems = p.hKv * DQK, bf16 = p.kvDtype === 'bf16', kCache = a.kCache as Uint16Array;
    for (let t0 = pr[I.kBegin]; t0 < kEnd; t0 += BN) {
      const n = Math.min(BN, kEnd - t0);
      const keysInTile = (r: number) => Math.max(0, Math.min(n, visibleKeys(seqlen, qLen, Math.floor(r / nGroups), p.causal) - t0));
      for (let t = 0; t < n; t++) {
        const key = t0 + t;
        const src = (a.blockTable[i * p.maxBlocksPerSeq + Math.floor(key / page)] * page + (key % page)) * rowElems + g * DQK;
        if (bf16) u16.set(kCache.subarray(src, src + DQK), rawOff / 2 + t * DQK); // unpacked below, in SIMD
        else decodeHalf(p.kvDtype, kCache.subarray(src, src + DQK), f32.subarray(t * DQK, (t + 1) * DQK));
      }
      if (bf16) ex.bf16(rawOff, 0, n * DQK);
      // Row chunks keep Q, O and P of the chunk plus the f32 key tile in L2 (as the native kernel does).
      for (let r0 = 0; r0 < rows; r0 += rowChunk) {
        const r1 = Math.min(rows, r0 + rowChunk);
        ex.qk(qOff + r0 * DQK * 4, 0, sOff + r0 * BN * 4, r1 - r0, n);
        for (let r = r0; r < r1; r++) {
          const s = sOff / 4 + r * BN;
          const nVis = keysInTile(r);
          const old = rowMax[r];
          let m = old;
          // A NaN score keeps m NaN (and so the whole row), as Math.max does in the float64 reference.
          for (let t = 0; t < nVis; t++) { const v = f32[s + t]; if (v > m || v !== v) m = v; }
          if (m === -Infinity) { f32.fill(0, s, s + n); f32[reOff / 4 + r] = 1; continue; }
          const rescale = Math.exp(old - m);
          let sum = rowSum[r] * rescale;
          for (let t = 0; t < nVis; t++) { const e = Math.exp(f32[s + t] - m); f32[s + t] = e; sum += e; }
          f32.fill(0, s + nVis, s + n); // masked keys: P = 0, and the P V pass below stops before them
          rowMax[r] = m;
          rowSum[r] = sum;
          f32[reOff / 4 + r] = rescale;
        }
        // A key a row may not see must stay out of its P V product, not just weigh 0: its V may be inf or NaN. Each
        // run of rows that sees the same keys of this tile gets its own pass (a single pass off the diagonal).
        for (let r = r0; r < r1;) {
          const nv = keysInTile(r), e0 = r;
          while (++r < r1 && keysInTile(r) === nv);
          ex.pv(sOff + e0 * BN * 4, 0, oOff + e0 * DV * 4, reOff + e0 * 4, r - e0, nv);
        }
      }
    }
    const enc = f32ToHalf(p.dtype);
    for (let r = 0; r < rows; r++) {
      const j = Math.floor(r / nGroups), h = g * nGroups + (r % nGroups);
      // No finite score (rowSum 0): finishEmptyRow for a whole sequence; a split keeps its 0 x V sums (NaN where V is inf).
      const empty = rowSum[r] === 0, inv = empty ? 1 : 1 / rowSum[r];
      const lse = rowMax[r] + Math.log(rowSum[r]), o = oOff / 4 + r * DV;
      if (pr[I.noSplit]) {
        const dst = ((qStart + j) * p.hQ + h) * DV;
        if (empty) { finishEmptyRow(a, i, h, j, dst); continue; }
        for (let d = 0; d < DV; d++) a.out[dst + d] = enc(f32[o + d] * inv);
        a.lse[i * p.lseStrideB + h * p.lseStrideH + (qStart + j) * p.lseStrideT] = lse;
      } else {
        const row = pr[I.splitSlot] * pr[I.rowsPerSplit] + j * p.hQ + h;
        for (let d = 0; d < DV; d++) a.oAccum[row * DV + d] = f32[o + d] * inv;
        a.lseAccum[row] = empty ? -Infinity : lse;
      }
    }
  }

  return {
    name: 'wasm',
    detail: `WebAssembly ${sup.variant}`,
    runDecodeUnit(a: CpuDecodeArgs, u: number): void { forEachItem(a, u, prm, (pr) => item(a, pr)); },
  };
}

// Session 20, helper s20-s1: do two sparse_sm90.cu builds write the same bytes? One process, one CUDA backend per kernel
// folder, the same host inputs uploaded to both; MODEL1 h_q 128 cases (the pair entries) in both precisions, with FP8
// caches whose scale bytes span UE8M0 0..134 (and, in every third page block, one scale byte of 135..150: the tiles that
// bit 4 hands back to the old conversions) and every finite e4m3 byte (subnormals and -0 too; 0x7f / 0xff, NaN, left out);
// `out` and `lse` compared byte for byte.
//   node build/bench/cuda/hopper/sparse-sm90-bitexact.js A=KERNEL_DIR B=KERNEL_DIR [--cases N (8)] [--pages B,B,..] [--extra]
// --pages (s20-s2, bit 6's division by the page block size): case c's page block size is the list's entry c mod its length
// (default 64); --extra: every other case (c odd) also reads an extra cache (page block size 2, 37, 64, 13 by turns,
// extraTopk 128 with a topkLength-style random extraTopkLength in cases 3 mod 4).
// --nan (s21-s3, bit 44's scale decode and NaN bytes): in every case, in the lists of batches 0, 4, 8, .. (s_q 0 only), 1 in
// 64 named tokens gets an e4m3 NaN byte (0x7f or 0xff) at a random NoPE position, 1 in 64 a UE8M0 scale byte 255 (NaN)
// and 1 in 64 a scale byte 0 (2^-127): both builds must write the same bytes, NaNs compared as NaN (any payload: the
// CPU backend's own two runs give NaN rows different payloads) and reported (`NaN out A / B`: bf16 NaNs in each out).
// --v32 (s21-s4, bit 10: bit 44's map in the V3.2 pair entries): V3.2 h_q 128 cases instead (d_qk 576): f32 scales 2^e over
// 2^-20..2^2, and in every third page block one token's scale is not a bf16 (low mantissa bits set: the per-slot f32
// multiply, dq4, the tile's vote hands back to); with --nan 1 in 64 named tokens gets an e4m3 NaN byte, 1 in 64 an f32 NaN
// scale and 1 in 64 a scale that is not a bf16.
// --items (s21-s5, bit 43: the pair producer's tiles as one stream over a part's items): many short items a part instead
// (b 40 / 64 / 88 at s_q 2 over the 33 pair parts: 2-6 items a part; topk 64, 192, 128, 320: 1-5 tiles an item), and in
// cases 2, 3 mod 4 a random topkLength (0..topk: items of one tile, some whose list is empty), so that item boundaries,
// one-tile items and split items meet the stream; s_k 512 (smaller host caches); with --extra as above.
// Prints one line a case (`case k: ... identical` or the first differing element) and last
// `bitexact: N of M identical`; exit status 0 only when all are.
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { uniform as rng } from '../../../src/cli/random.js';
import { randomCache, randomIndices } from '../../../src/cli/bench-sparse.js';
import { f32ToBf16 } from '../../../src/core/dtype.js';
import { fp8TokenAddress, fp8BlockStride } from '../../../src/core/fp8.js';
import { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } from '../../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../../src/core/sparse-api.js';
import { type Tensor, fromArray } from '../../../src/core/tensor.js';

const args = process.argv.slice(2);
const ci = args.indexOf('--cases'), nCases = ci >= 0 ? Number(args[ci + 1]) : 8;
const pi = args.indexOf('--pages'), pages = pi >= 0 ? args[pi + 1].split(',').map(Number) : [64], withExtra = args.includes('--extra');
const withNan = args.includes('--nan'), manyItems = args.includes('--items');
const fmt: 'v32' | 'model1' = args.includes('--v32') ? 'v32' : 'model1', dQk = fmt === 'v32' ? 576 : 512;
const builds = args.filter((a) => /^[\w.-]+=/.test(a)).map((a) => ({ name: a.slice(0, a.indexOf('=')), dir: a.slice(a.indexOf('=') + 1) }));
if (builds.length !== 2) throw new Error('usage: sparse-sm90-bitexact.js A=KERNEL_DIR B=KERNEL_DIR [--cases N]');

/** A MODEL1 page-block cache with randomCache's e4m3 bytes and scale bytes drawn over 0..134 (one of 135..150 a third block). */
function cache(nb: number, B: number, r: () => number): Uint8Array {
  if (fmt === 'v32') return cacheV32(nb, B, r);
  const bytes = randomCache('model1', nb, B, r);
  for (let blk = 0; blk < nb; blk++) {
    for (let s = 0; s < B; s++) {
      const a = fp8TokenAddress('model1', B, blk, s);
      for (let j = 0; j < 7; j++) { const u = r(); bytes[a.scales + j] = u < 0.6 ? 110 + Math.floor(r() * 25) : u < 0.8 ? Math.floor(r() * 20) : 20 + Math.floor(r() * 90); }
      if (blk % 3 === 1 && s === 5) bytes[a.scales + Math.floor(r() * 7)] = 135 + Math.floor(r() * 16);
    }
  }
  return bytes;
}

/** --v32: randomCache's V3.2 bytes with f32 scales 2^e, e in -20..2, and in every third block one token's scale not a bf16. */
function cacheV32(nb: number, B: number, r: () => number): Uint8Array {
  const bytes = randomCache('v32', nb, B, r), v = new DataView(bytes.buffer);
  for (let blk = 0; blk < Math.min(nb, 64); blk++) { // randomCache repeats its first 64 blocks; so do these scales
    for (let s = 0; s < B; s++) {
      const a = fp8TokenAddress('v32', B, blk, s);
      for (let j = 0; j < 4; j++) v.setFloat32(a.scales + 4 * j, 2 ** (Math.floor(r() * 23) - 20), true);
      if (blk % 3 === 1 && s === 5 % B) v.setFloat32(a.scales + 4 * Math.floor(r() * 4), 2 ** -8 * (1 + Math.floor(r() * 255 + 1) / 65536), true);
    }
  }
  const stride = fp8BlockStride('v32', B), distinct = Math.min(nb, 64);
  for (let blk = distinct; blk < nb; blk += distinct) bytes.copyWithin(blk * stride, 0, Math.min(distinct, nb - blk) * stride);
  return bytes;
}

/** bf16 NaNs in an output's bytes (exponent all ones, mantissa not 0). */
const nanCount = (u8: Uint8Array) => {
  let n = 0;
  for (let i = 0; i + 1 < u8.length; i += 2) if ((((u8[i + 1] << 8) | u8[i]) & 0x7fff) > 0x7f80) n++;
  return n;
};
/** --nan: every bf16 NaN of out as 0x7fff, every f32 NaN of lse as 0x7fffffff (in place). */
const canonNan = (out: Uint8Array, lse: Uint8Array) => {
  for (let i = 0; i + 1 < out.length; i += 2) if ((((out[i + 1] << 8) | out[i]) & 0x7fff) > 0x7f80) out[i] = 0xff, out[i + 1] = 0x7f;
  const v = new DataView(lse.buffer, lse.byteOffset, lse.byteLength);
  for (let i = 0; i + 3 < lse.length; i += 4) if (Number.isNaN(v.getFloat32(i, true))) v.setUint32(i, 0x7fffffff, true);
};
const backends = await Promise.all(builds.map((b) => createCudaBackend({ kernelDir: b.dir })));
let same = 0, total = 0;
for (let c = 0; c < nCases; c++) {
  const r = rng(9100 + c);
  const B = pages[c % pages.length], sQ = 2, hQ = 128, sK = manyItems ? 512 : 4096;
  const b = manyItems ? 40 + 24 * (c % 3) : 8 + 8 * (c % 3), topk = (manyItems ? [64, 192, 128, 320] : [512, 1024, 256, 2048])[c % 4];
  const precision = c % 2 ? 'exact' : 'fast';
  const nb = b * Math.ceil(sK / B);
  const q = fromArray('bf16', [b, sQ, hQ, dQk], Uint16Array.from({ length: b * sQ * hQ * dQk }, () => f32ToBf16(r() * 2 - 1)));
  const kBytes = cache(nb, B, r);
  const k = fp8CacheTensor(fmt, nb, B, kBytes);
  const ind = randomIndices(b, sQ, sK, topk, B, r);
  for (let i = 0; i < ind.length; i += 37) if (r() < 0.3) ind[i] = -1; // some invalid entries
  let poisoned = 0;
  if (withNan) { // tokens the lists name (a token's id is block * B + slot): NaN NoPE bytes, scale bytes 255 and 0
    for (let bi = 0; bi < b; bi += 4) {
      for (let e = 0; e < topk; e++) {
        const id = ind[bi * sQ * topk + e], u = r();
        if (id < 0 || u >= 3 / 64) continue;
        const a = fp8TokenAddress(fmt, B, Math.floor(id / B), id % B);
        if (u < 1 / 64) kBytes[a.nope + Math.floor(r() * (fmt === 'v32' ? 512 : 448))] = r() < 0.5 ? 0x7f : 0xff;
        else if (fmt === 'v32') new DataView(kBytes.buffer).setUint32(a.scales + 4 * Math.floor(r() * 4), u < 2 / 64 ? 0x7fc00000 : 0x3b800123, true);
        else kBytes[a.scales + Math.floor(r() * 7)] = u < 2 / 64 ? 255 : 0;
        poisoned++;
      }
    }
  }
  const indices = fromArray('i32', [b, sQ, topk], ind);
  const xB = [2, 37, 64, 13][(c >> 1) % 4], xTopk = withExtra && c % 2 ? 128 : 0, xSK = 1024, xnb = b * Math.ceil(xSK / xB);
  const xk = xTopk ? fp8CacheTensor(fmt, xnb, xB, cache(xnb, xB, r)) : undefined;
  const xind = xTopk ? randomIndices(b, sQ, xSK, xTopk, xB, r) : undefined;
  if (xind) for (let i = 0; i < xind.length; i += 29) if (r() < 0.3) xind[i] = -1;
  const xIndices = xind ? fromArray('i32', [b, sQ, xTopk], xind) : undefined;
  const xLen = xTopk && c % 4 === 3 ? fromArray('i32', [b], Int32Array.from({ length: b }, () => Math.floor(r() * (xTopk + 1)))) : undefined;
  const len = manyItems && c % 4 >= 2 ? fromArray('i32', [b], Int32Array.from({ length: b }, () => Math.floor(r() * (topk + 1)))) : undefined;
  const meta = getSparseMlaMetadata({ b, sQ, hQ, topk, topkLength: len, extraTopk: xTopk, extraTopkLength: xLen, numSms: 132 });
  const outs: Uint8Array[][] = [];
  for (const be of backends) {
    const owned: Tensor[] = [uploadFp8Cache(be, k), be.upload(q), be.upload(indices)];
    const extra = xk && xIndices ? { extraKCache: uploadFp8Cache(be, xk), extraIndices: be.upload(xIndices), extraTopkLength: xLen } : {};
    if (xk && xIndices) owned.push(extra.extraKCache!, extra.extraIndices!);
    const out = be.empty('bf16', [b, sQ, hQ, 512]), lse = be.empty('f32', [b, hQ, sQ]);
    await flashMlaSparseWithKvcache(owned[1], owned[0], owned[2], 512, meta, { backend: be, out, lse, precision, topkLength: len, ...extra });
    const bytes = async (t: Tensor) => { const h = (await be.download(t)).host(); return new Uint8Array(h.buffer.slice(h.byteOffset, h.byteOffset + h.byteLength)); };
    outs.push([await bytes(out), await bytes(lse)]);
    for (const t of [...owned, out, lse]) be.free(t);
  }
  total++;
  if (withNan) for (const o of outs) canonNan(o[0], o[1]);
  const diff = [0, 1].map((w) => outs[0][w].findIndex((x, i) => x !== outs[1][w][i]));
  const tag = `case ${c}: ${fmt} b ${b} topk ${topk} ${precision} page ${B} (block stride ${fp8BlockStride(fmt, B)})${xTopk ? ` extra ${xTopk} page ${xB}${xLen ? ' L' : ''}` : ''}`
    + (len ? ' topkLength' : '') + (withNan ? ` poisoned ${poisoned}, NaN out ${nanCount(outs[0][0])} / ${nanCount(outs[1][0])}` : '');
  if (diff[0] < 0 && diff[1] < 0 && outs[0][0].length === outs[1][0].length) { same++; console.log(`${tag}: identical`); }
  else console.log(`${tag}: DIFFERS (out byte ${diff[0]}, lse byte ${diff[1]})`);
}
for (const be of backends) be.dispose();
console.log(`bitexact: ${same} of ${total} identical`);
process.exit(same === total ? 0 : 1);

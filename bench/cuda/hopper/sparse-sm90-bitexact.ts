// Session 20, helper s20-s1: do two sparse_sm90.cu builds write the same bytes? One process, one CUDA backend per kernel
// folder, the same host inputs uploaded to both; MODEL1 h_q 128 cases (the pair entries) in both precisions, with FP8
// caches whose scale bytes span UE8M0 0..134 (and, in every third page block, one scale byte of 135..150: the tiles that
// bit 4 hands back to the old conversions) and every finite e4m3 byte (subnormals and -0 too; 0x7f / 0xff, NaN, left out);
// `out` and `lse` compared byte for byte.
//   node build/bench/cuda/hopper/sparse-sm90-bitexact.js A=KERNEL_DIR B=KERNEL_DIR [--cases N (8)]
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
const builds = args.filter((a) => /^[\w.-]+=/.test(a)).map((a) => ({ name: a.slice(0, a.indexOf('=')), dir: a.slice(a.indexOf('=') + 1) }));
if (builds.length !== 2) throw new Error('usage: sparse-sm90-bitexact.js A=KERNEL_DIR B=KERNEL_DIR [--cases N]');

/** A MODEL1 page-block cache with randomCache's e4m3 bytes and scale bytes drawn over 0..134 (one of 135..150 a third block). */
function cache(nb: number, B: number, r: () => number): Uint8Array {
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

const backends = await Promise.all(builds.map((b) => createCudaBackend({ kernelDir: b.dir })));
let same = 0, total = 0;
for (let c = 0; c < nCases; c++) {
  const r = rng(9100 + c);
  const B = 64, b = 8 + 8 * (c % 3), sQ = 2, hQ = 128, topk = [512, 1024, 256, 2048][c % 4], sK = 4096;
  const precision = c % 2 ? 'exact' : 'fast';
  const nb = b * Math.ceil(sK / B);
  const q = fromArray('bf16', [b, sQ, hQ, 512], Uint16Array.from({ length: b * sQ * hQ * 512 }, () => f32ToBf16(r() * 2 - 1)));
  const k = fp8CacheTensor('model1', nb, B, cache(nb, B, r));
  const ind = randomIndices(b, sQ, sK, topk, B, r);
  for (let i = 0; i < ind.length; i += 37) if (r() < 0.3) ind[i] = -1; // some invalid entries
  const indices = fromArray('i32', [b, sQ, topk], ind);
  const meta = getSparseMlaMetadata({ b, sQ, hQ, topk, extraTopk: 0, numSms: 132 });
  const outs: Uint8Array[][] = [];
  for (const be of backends) {
    const owned: Tensor[] = [uploadFp8Cache(be, k), be.upload(q), be.upload(indices)];
    const out = be.empty('bf16', [b, sQ, hQ, 512]), lse = be.empty('f32', [b, hQ, sQ]);
    await flashMlaSparseWithKvcache(owned[1], owned[0], owned[2], 512, meta, { backend: be, out, lse, precision });
    const bytes = async (t: Tensor) => { const h = (await be.download(t)).host(); return new Uint8Array(h.buffer.slice(h.byteOffset, h.byteOffset + h.byteLength)); };
    outs.push([await bytes(out), await bytes(lse)]);
    for (const t of [...owned, out, lse]) be.free(t);
  }
  total++;
  const diff = [0, 1].map((w) => outs[0][w].findIndex((x, i) => x !== outs[1][w][i]));
  const tag = `case ${c}: b ${b} topk ${topk} ${precision} (block stride ${fp8BlockStride('model1', B)})`;
  if (diff[0] < 0 && diff[1] < 0 && outs[0][0].length === outs[1][0].length) { same++; console.log(`${tag}: identical`); }
  else console.log(`${tag}: DIFFERS (out byte ${diff[0]}, lse byte ${diff[1]})`);
}
for (const be of backends) be.dispose();
console.log(`bitexact: ${same} of ${total} identical`);
process.exit(same === total ? 0 : 1);

// Times dense decode over a V3.2 FP8 cache on CUDA in one process: the bf16 dense path (decode_sm90.cu), the Hopper
// FP8 kernel (dense_fp8_sm90.cu) and the previous FP8 path (sparse_mma.cu, the runner's flag switched off), on
// b = 128 requests of s_k keys (the shapes of `flashmla bench --mode sparse`'s dense rows and a few more).
//   node build/bench/cuda/dense-fp8/time.js [reps=30] [out.json]
// Prints one line a shape: microseconds (median of reps), GB/s of FP8 cache bytes, and FP8/bf16 ratios.
import { writeFileSync } from 'node:fs';
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { randomCache } from '../../../src/cli/bench-sparse.js';
import { uniform as rng } from '../../../src/cli/random.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../../src/core/api.js';
import { f32ToBf16 } from '../../../src/core/dtype.js';
import { fp8CacheTensor, uploadFp8Cache } from '../../../src/core/sparse.js';
import { type Tensor, fromArray } from '../../../src/core/tensor.js';

const reps = Number(process.argv[2] ?? 30), outFile = process.argv[3];
const be = await createCudaBackend();
console.log(`# ${be.info.device}`);
const runnerHost = () => (be as unknown as { sparseMmaRunner?: { h: { denseFp8Sm90?: boolean; denseFp8Prefetch?: number } } }).sparseMmaRunner?.h;
const prefetches = (process.env.DENSE_FP8_PF ?? '').split(',').filter(Boolean).map(Number); // extra runs at these L2 prefetch distances
const b = 128, B = 64;
const rows: Record<string, unknown>[] = [];
for (const sK of [8192, 1024]) {
  const pages = Math.ceil(sK / B), nb = b * pages, r = rng(sK + 11);
  const seqlens = new Int32Array(b).fill(sK);
  const table = be.upload(fromArray('i32', [b, pages], Int32Array.from({ length: nb }, (_, i) => i)));
  const lens = be.upload(fromArray('i32', [b], seqlens));
  const kFp8 = uploadFp8Cache(be, fp8CacheTensor('v32', nb, B, randomCache('v32', nb, B, r)));
  const bf16 = new Uint16Array(nb * B * 576);
  const tile = Math.min(bf16.length, 64 * B * 576);
  for (let i = 0; i < tile; i++) bf16[i] = f32ToBf16((r() - 0.5) * 0.2);
  for (let i = tile; i < bf16.length; i += tile) bf16.copyWithin(i, 0, Math.min(tile, bf16.length - i));
  const kBf16 = be.upload(fromArray('bf16', [nb, B, 1, 576], bf16));
  for (const [hQ, sQ] of [[16, 1], [32, 1], [16, 2], [8, 4], [64, 1], [32, 2]]) {
    const md = getMlaMetadata(seqlens, sQ * hQ, 1, { backend: be });
    const q = be.upload(fromArray('bf16', [b, sQ, hQ, 576], Uint16Array.from({ length: b * sQ * hQ * 576 }, () => f32ToBf16(r() * 2 - 1))));
    const out = be.empty('bf16', [b, sQ, hQ, 512]), lse = be.empty('f32', [b, hQ, sQ]);
    const time = async (k: Tensor) => {
      const t = await be.timeMs(() => flashMlaWithKvcache(q, k, table, lens, 512, md.tileSchedulerMetadata, md.numSplits,
        { backend: be, out, lse, causal: true }).then(() => undefined), { warmup: 5, reps });
      await be.synchronize();
      t.sort((x, y) => x - y);
      return t[Math.floor(t.length / 2)] * 1e3;
    };
    const bf16Us = await time(kBf16);
    const newUs = await time(kFp8);
    const h = runnerHost();
    const pfUs: Record<string, number> = {};
    if (h && h.denseFp8Sm90 && sQ * hQ <= 32) {
      for (const pf of prefetches) { h.denseFp8Prefetch = pf; pfUs[pf] = await time(kFp8); }
      h.denseFp8Prefetch = undefined;
    }
    const had = h?.denseFp8Sm90;
    if (h) h.denseFp8Sm90 = false;
    const oldUs = await time(kFp8);
    if (h) h.denseFp8Sm90 = had;
    const gbs = (us: number) => (b * sK * 656) / us / 1e3;
    const row = { b, s_k: sK, h_q: hQ, s_q: sQ, rows: sQ * hQ, bf16_us: bf16Us, fp8_us: newUs, fp8_old_us: oldUs, fp8_gbs: gbs(newUs),
      ratio_vs_bf16: bf16Us / newUs, old_ratio_vs_bf16: bf16Us / oldUs, sm90: Boolean(had) && sQ * hQ <= 32, prefetch_us: pfUs };
    rows.push(row);
    console.log(`dense V3.2 FP8 b=${b} s_k=${sK} h_q=${hQ} s_q=${sQ}: fp8 ${newUs.toFixed(1)} us (${gbs(newUs).toFixed(0)} GB/s), ` +
      `bf16 ${bf16Us.toFixed(1)} us, ${(bf16Us / newUs).toFixed(2)}x; old fp8 ${oldUs.toFixed(1)} us, ${(bf16Us / oldUs).toFixed(2)}x${row.sm90 ? '' : ' (not the sm90 kernel)'}` +
      Object.entries(pfUs).map(([k, v]) => `; pf ${k}: ${v.toFixed(1)} us`).join(''));
    for (const t of [q, out, lse]) be.free(t);
  }
  for (const t of [table, lens, kFp8, kBf16]) be.free(t);
}
if (outFile) writeFileSync(outFile, JSON.stringify({ device: be.info.device, reps, rows }, null, 1) + '\n');
be.dispose();

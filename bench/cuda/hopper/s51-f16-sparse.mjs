// Session 51: sparse decode with f16 queries over FP8 caches, timed through one build's JS (`node s51-f16-sparse.mjs
// BUILD/src OUT.json`, BUILD a tsc output of the tree, e.g. the previous commit's, whose CUDA backend ran these on
// sparse.cu): FlashMLA's V3.2 s_q 1 top-k 2048 shape and a MODEL1 one at b = 128, h_q 16 and 128, do_bench's loop with
// 256 MB written before each repetition, the kernels of FLASHMLA_CUDA_KERNELS. Prints and writes one row a shape.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, outFile] = process.argv.slice(2);
const im = (p) => import(pathToFileURL(resolve(dir, p)).href);
const { createCudaBackend } = await im('backends/cuda/index.js');
const { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } = await im('core/sparse.js');
const { flashMlaSparseWithKvcache, sparseKernelFor } = await im('core/sparse-api.js');
const { fromArray } = await im('core/tensor.js');
const { f32ToF16 } = await im('core/dtype.js');
const { fp8Layouts } = await im('core/fp8.js');
const { medianMs, randomCache, randomIndices } = await im('cli/bench-sparse.js');
const { uniform } = await im('cli/random.js');
const be = await createCudaBackend();
const rows = [];
try {
  for (const [format, topk] of [['v32', 2048], ['model1', 512]]) {
    for (const hQ of [16, 128]) {
      const b = 128, sQ = 1, sK = 32768, B = 64, r = uniform(b * 1000 + hQ + topk), dQk = fp8Layouts[format].dQk, nb = b * (sK / B);
      const q = be.upload(fromArray('f16', [b, sQ, hQ, dQk], Uint16Array.from({ length: b * sQ * hQ * dQk }, () => f32ToF16(r() * 2 - 1))));
      const k = uploadFp8Cache(be, fp8CacheTensor(format, nb, B, randomCache(format, nb, B, r)));
      const ind = be.upload(fromArray('i32', [b, sQ, topk], randomIndices(b, sQ, sK, topk, B, r)));
      const sink = be.upload(fromArray('f32', [hQ], Float32Array.from({ length: hQ }, () => r() * 2 - 1)));
      const meta = getSparseMlaMetadata({ b, sQ, hQ, topk, extraTopk: 0, backend: be });
      const out = be.empty('f16', [b, sQ, hQ, 512]), lse = be.empty('f32', [b, hQ, sQ]);
      const opts = { attnSink: sink, backend: be, out, lse };
      const kernel = sparseKernelFor(q, k, ind, 512, meta, opts) ?? 'sparse.cu';
      const us = await medianMs(be, () => flashMlaSparseWithKvcache(q, k, ind, 512, meta, opts).then(() => undefined),
        { warmup: 0, reps: 1, flushBytes: 256e6, doBench: { warmMs: 25, repMs: 40 } }) * 1e3;
      for (const t of [q, k, ind, sink, out, lse]) be.free(t);
      rows.push({ format, b, hQ, sQ, topk, dtype: 'f16', kernel, us });
      console.log(`${format} b=${b} h_q=${hQ} s_q=${sQ} topk=${topk} f16: ${us.toFixed(1)} us (${kernel})`);
    }
  }
} finally {
  be.dispose();
}
writeFileSync(outFile, JSON.stringify({ card: be.info.device, build: dir, date: new Date().toISOString(), rows }, null, 1) + '\n');

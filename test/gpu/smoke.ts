// First contact with a GPU host: device info, kernels loaded, one golden case and one random case per variant.
//   FLASHMLA_GOLDEN=.golden node build/test/gpu/smoke.js
import { flashMlaWithKvcache } from '../../src/index.js';
import { fromArray } from '../../src/core/tensor.js';
import { createCudaBackend, decodeSmem, decodeVariants } from '../../src/backends/cuda/index.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { goldenCaseNames, loadGolden } from '../support/golden.js';
import { caseReference, makeCase, runCase } from '../support/random.js';

const t0 = performance.now();
const cuda = await createCudaBackend();
console.log(`backend up in ${(performance.now() - t0).toFixed(0)} ms:`, cuda.info.device, JSON.stringify(cuda.info.details));
const name = goldenCaseNames()[0];
const g = loadGolden(name);
const p = g.params;
const q = cuda.upload(fromArray(p.dtype, [p.batch, p.s_q, p.h_q, p.d], g.q));
const k = cuda.upload(fromArray(p.dtype, [p.num_blocks, p.page_block_size, p.h_kv, p.d], g.kcache));
const r = await flashMlaWithKvcache(q, k, fromArray('i32', [p.batch, g.maxBlocksPerSeq], g.blockTable), fromArray('i32', [p.batch], g.cacheSeqlens), p.dv,
  fromArray('i32', [g.tileSchedulerMetadata.length / 8, 8], g.tileSchedulerMetadata), fromArray('i32', [p.batch + 1], g.numSplits),
  { softmaxScale: p.softmax_scale, causal: p.causal, backend: cuda });
const o = (await cuda.download(r.out)).host() as Uint16Array, l = (await cuda.download(r.lse)).host() as Float32Array;
console.log(name, JSON.stringify(p).slice(0, 200), compareOutputs(o, l, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tolerances.cuda).message);
const c = makeCase({ name: 's', dtype: 'bf16', hQ: 16, hKv: 1, pageBlockSize: 64, seqlens: [0, 1, 65, 700], sQ: 2, causal: true }, 3);
const ref = caseReference(c);
for (const v of decodeVariants) {
  if (decodeSmem(v) > (cuda.info.details!.maxSharedMemoryPerBlock as number)) continue;
  const b = await createCudaBackend({ variant: v });
  for (const numSms of [132, 5]) {
    const got = await runCase(c, b, flashMlaWithKvcache, { numSms });
    console.log(JSON.stringify(v), numSms, compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda).message);
  }
  b.dispose();
}
const nb = await createCudaBackend({ kernel: 'naive' });
const got = await runCase(c, nb, flashMlaWithKvcache);
console.log('naive', compareOutputs(got.out, got.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda).message);
nb.dispose();
cuda.dispose();

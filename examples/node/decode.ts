// A decode step with the public API on the CPU: run with `node --import tsx examples/node/decode.ts`.
// 1. getMlaMetadata + flashMlaWithKvcache, FlashMLA's two calls; 2. KvCacheManager + MlaDecoder, which plans a
// step once and runs it for every layer.
import { KvCacheManager, MlaDecoder, f32ToBf16, flashMlaWithKvcache, fromArray, getMlaMetadata, referenceDecode } from '../../src/index.js';
import { createBestBackend } from '../../src/node.js';

const b = 2, hQ = 16, hKv = 1, page = 64, seqlens = [300, 129];
const rand = (n: number) => Uint16Array.from({ length: n }, () => f32ToBf16(Math.random() * 2 - 1));

// --- 1. FlashMLA's API on host tensors (the in-thread CPU backend runs them).
const maxBlocks = Math.ceil(Math.max(...seqlens) / page);
const kCache = fromArray('bf16', [b * maxBlocks, page, hKv, 576], rand(b * maxBlocks * page * hKv * 576));
const blockTable = fromArray('i32', [b, maxBlocks], Int32Array.from({ length: b * maxBlocks }, (_, i) => i));
const cacheSeqlens = fromArray('i32', [b], Int32Array.from(seqlens));
const q = fromArray('bf16', [b, 1, hQ, 576], rand(b * hQ * 576));
const { tileSchedulerMetadata, numSplits } = getMlaMetadata(cacheSeqlens, (1 * hQ) / hKv, hKv);
const { out, lse } = await flashMlaWithKvcache(q, kCache, blockTable, cacheSeqlens, 512, tileSchedulerMetadata, numSplits);
console.log(`out ${out.dtype} [${out.shape}], lse f32 [${lse.shape}], lse[0] = ${(lse.host() as Float32Array)[0].toFixed(4)}`);

const ref = referenceDecode({
  q: q.host() as Uint16Array, kCache: kCache.host() as Uint16Array, blockTable: blockTable.host() as Int32Array,
  cacheSeqlens: cacheSeqlens.host() as Int32Array, dtype: 'bf16', b, sQ: 1, hQ, hKv, pageBlockSize: page, maxBlocksPerSeq: maxBlocks,
});
console.log(`float64 reference lse[0] = ${ref.lse[0].toFixed(4)}`);

// --- 2. A paged cache and a decoder on the best backend here (CUDA, WebGPU, else CPU worker threads).
const backend = await createBestBackend();
const layers = 3;
const caches = Array.from({ length: layers }, () => new KvCacheManager({ backend, numBlocks: 16, pageBlockSize: page, hKv }));
const ids = caches.map((kv) => seqlens.map((s) => { const id = kv.addSequence(); kv.append(id, rand(s * hKv * 576)); return id; }));
const decoder = new MlaDecoder(backend, { hQ, hKv, dtype: 'bf16' });
// Every layer's manager made the same allocations, so one plan (block table + schedule) serves all layers.
const step = caches[0].batch(ids[0]);
decoder.plan(step.cacheSeqlens, step.blockTable);
const qDev = backend.upload(q);
for (let l = 0; l < layers; l++) {
  const r = await decoder.run(qDev, caches[l].kCache);
  const lseHost = (await backend.download(r.lse)).host() as Float32Array;
  console.log(`layer ${l}: lse[0] = ${lseHost[0].toFixed(4)} on ${backend.info.device}`);
}
decoder.dispose();
for (const kv of caches) kv.dispose();
backend.dispose();

// CUDA-only benchmark routines (flashmla bench --mode host | graphs): the
// host time of one decode call and its parts, and the saving of replaying a 61-layer step as one CUDA graph.
import type { CudaBackend } from '../backends/cuda/index.js';
import { MlaDecoder, flashMlaWithKvcache, getMlaMetadata } from '../core/api.js';
import { planDecode } from '../core/plan.js';
import { type Tensor, fromArray } from '../core/tensor.js';
import { validateDecode } from '../core/validate.js';
import { fillNormal } from '../cli/random.js';
import { median } from './stats.js';

/** A bf16 page pool [pages, 64, 1, 576] of normal values, written through the backend in 16M-element pieces. */
export function cudaPagePool(cuda: CudaBackend, pages: number, seed = 12345): Tensor {
  const pool = cuda.empty('bf16', [pages, 64, 1, 576]);
  const piece = Math.min(pool.numel, 1 << 24);
  const block = fromArray('bf16', [piece], fillNormal('bf16', seed, new Uint16Array(piece)));
  for (let off = 0; off < pool.numel; off += piece) {
    const n = Math.min(piece, pool.numel - off);
    cuda.write(pool, n === piece ? block : fromArray('bf16', [n], block.host().subarray(0, n)), off);
  }
  return pool;
}

/**
 * Host time of one call (no sync), b=1 seqlen 256 hQ=16: flashMlaWithKvcache with device index tensors (uploaded
 * once) and with host index tensors (the backend stages them with one copy; repeated identical contents skip the
 * copy, so a third form alternates two different index sets to time the copy too), MlaDecoder.run, and the parts.
 */
export async function hostOverhead(cuda: CudaBackend, pool: Tensor): Promise<Record<string, number>> {
  const b = 1, seqlens = new Int32Array([256]), hQ = 16;
  const q = cuda.upload(fromArray('bf16', [b, 1, hQ, 576], fillNormal('bf16', 3, new Uint16Array(hQ * 576))));
  const bt = fromArray('i32', [1, 4], new Int32Array([5, 6, 7, 8]));
  const bt2 = fromArray('i32', [1, 4], new Int32Array([9, 10, 11, 12]));
  const md = getMlaMetadata(seqlens, hQ, 1, { backend: cuda });
  const out = cuda.empty('bf16', [1, 1, hQ, 512]), lse = cuda.empty('f32', [1, hQ, 1]);
  const sl = fromArray('i32', [1], seqlens);
  const dec = new MlaDecoder(cuda, { hQ, hKv: 1, dtype: 'bf16' });
  dec.plan(seqlens, bt, { sQ: 1 });
  const measure = async (f: (i: number) => unknown) => {
    const ts: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const t0 = performance.now();
      await f(i);
      ts.push((performance.now() - t0) * 1000);
      if (i % 50 === 49) await cuda.synchronize(); // outside the timed region: the queue never fills
    }
    await cuda.synchronize();
    return median(ts.slice(1000));
  };
  const devIdx = { blockTable: cuda.upload(bt), cacheSeqlens: cuda.upload(sl), tileSchedulerMetadata: cuda.upload(md.tileSchedulerMetadata), numSplits: cuda.upload(md.numSplits) };
  const apiDevice = await measure(() => flashMlaWithKvcache(q, pool, devIdx.blockTable, devIdx.cacheSeqlens, 512, devIdx.tileSchedulerMetadata, devIdx.numSplits, { backend: cuda, out, lse }));
  const apiHost = await measure(() => flashMlaWithKvcache(q, pool, bt, sl, 512, md.tileSchedulerMetadata, md.numSplits, { backend: cuda, out, lse }));
  const apiHostChanging = await measure((i) => flashMlaWithKvcache(q, pool, i & 1 ? bt2 : bt, sl, 512, md.tileSchedulerMetadata, md.numSplits, { backend: cuda, out, lse }));
  const decoder = await measure(() => dec.run(q, pool));
  const inputs = { q, kCache: pool, blockTable: bt, cacheSeqlens: sl, headDimV: 512, tileSchedulerMetadata: md.tileSchedulerMetadata, numSplits: md.numSplits };
  const problem = validateDecode(inputs);
  const validateHost = await measure(() => validateDecode(inputs));
  const validateDevice = await measure(() => validateDecode({ ...inputs, ...devIdx }));
  const host = { cacheSeqlens: seqlens, tileSchedulerMetadata: md.tileSchedulerMetadata.host(), numSplits: md.numSplits.host() };
  const hostLaunch = { problem, q, kCache: pool, blockTable: bt, cacheSeqlens: sl, tileSchedulerMetadata: md.tileSchedulerMetadata, numSplits: md.numSplits, out, lse, host, plan: planDecode(problem, host.numSplits) };
  const decodeHostIdx = await measure(() => cuda.decode(hostLaunch));
  const hostLaunch2 = { ...hostLaunch, blockTable: bt2 };
  const decodeHostIdxChanging = await measure((i) => cuda.decode(i & 1 ? hostLaunch2 : hostLaunch));
  const devLaunch = { ...hostLaunch, ...devIdx };
  const decodeDevIdx = await measure(() => cuda.decode(devLaunch));
  // The driver calls alone, through the same binding: a launch of the same kernel, a 4 KiB pinned copy, an event.
  const { Driver } = await import('../backends/cuda/driver.js');
  const d = await Driver.load();
  const pinned = d.hostAlloc(4096), dst = d.alloc(4096), ev = d.createEvent();
  const copyOnly = await measure(() => d.copyHtoD(dst, pinned.ptr, 4096, cuda.stream));
  const copySmall = await measure(() => d.copyHtoD(dst, pinned.ptr, 64, cuda.stream));
  const recordOnly = await measure(() => d.record(ev, cuda.stream));
  const nothing = await measure(() => undefined);
  d.destroyEvent(ev); d.free(dst); d.hostFree(pinned.ptr);
  for (const t of Object.values(devIdx)) cuda.free(t);
  const r = {
    flashMlaWithKvcache_deviceIndex_us: apiDevice, flashMlaWithKvcache_hostIndex_us: apiHost, flashMlaWithKvcache_hostIndexChanging_us: apiHostChanging,
    decoderRun_us: decoder, validateDecode_hostIndex_us: validateHost, validateDecode_deviceIndex_us: validateDevice,
    backendDecode_hostIndex_us: decodeHostIdx, backendDecode_hostIndexChanging_us: decodeHostIdxChanging, backendDecode_deviceIndex_us: decodeDevIdx,
    cuMemcpyHtoDAsync_4KiB_us: copyOnly, cuMemcpyHtoDAsync_64B_us: copySmall, cuEventRecord_us: recordOnly, emptyAwait_us: nothing,
  };
  console.log(`# host time per call (median of 4000 calls after 1000, syncing every 50 outside the timing), b=1 seqlen 256 hQ=16: ${JSON.stringify(r)}`);
  dec.dispose();
  for (const t of [q, out, lse]) cuda.free(t);
  return r;
}

/** A 61-layer decode step (DeepSeek-V3's layer count) run directly vs replayed as one CUDA graph. */
export async function graphSaving(cuda: CudaBackend, pool: Tensor): Promise<Record<string, unknown>[]> {
  const res: Record<string, unknown>[] = [];
  for (const [b, sk] of [[1, 4096], [8, 2048], [128, 1024]]) {
    const hQ = 16, layers = 61, seqlens = new Int32Array(b).fill(sk);
    const per = Math.ceil(sk / 64);
    const t = new Int32Array(b * per);
    for (let i = 0; i < t.length; i++) t[i] = (i * 7919) % (pool.shape[0]);
    const dec = new MlaDecoder(cuda, { hQ, hKv: 1, dtype: 'bf16' });
    dec.plan(seqlens, fromArray('i32', [b, per], t), { sQ: 1, outputs: layers });
    const q = cuda.upload(fromArray('bf16', [b, 1, hQ, 576], fillNormal('bf16', 5, new Uint16Array(b * hQ * 576))));
    const step = async () => { for (let l = 0; l < layers; l++) await dec.run(q, pool); };
    const direct = median(await cuda.timeMs(step, { warmup: 3, reps: 30 }));
    const g = await cuda.captureGraph(step);
    const graphed = median(await cuda.timeMs(() => g.launch(), { warmup: 3, reps: 30 }));
    g.dispose();
    dec.dispose();
    cuda.free(q);
    res.push({ b, s_k: sk, h_q: hQ, layers, direct_ms: direct, graph_ms: graphed, saving_pct: 100 * (1 - graphed / direct) });
    console.log(`# ${layers}-layer step b=${b} s_k=${sk} h_q=${hQ}: direct ${(direct * 1e3).toFixed(0)} us, graph ${(graphed * 1e3).toFixed(0)} us (${(100 * (1 - graphed / direct)).toFixed(1)}% saved)`);
  }
  return res;
}

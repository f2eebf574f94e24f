// Session 58: MODEL1 CONFIG3 (b 128, 64 heads, s_q 2, top-k 128 + an extra cache of 1024 with lengths) took 1.04-1.06x
// the host plan's time with --device-plan, its decode kernel alone ~6 us longer under ncu (call 3). The same inputs as
// `flashmla bench --mode sparse` builds for that row; this reads back the plan the device wrote and compares it with
// the host scheduler's word for word, then times (do_bench's loop) host and device plan alternating, three rounds.
// The GPU host runs the tsc build:   node build/bench/cuda/hopper/s58_config3.js ['LABEL,LABEL']
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { flashmlaSparseShapes, medianMs, randomCache, randomIndices } from '../../../src/cli/bench-sparse.js';
import { f32ToBf16 } from '../../../src/core/dtype.js';
import { fp8Layouts } from '../../../src/core/fp8.js';
import { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } from '../../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../../src/core/sparse-api.js';
import { type Tensor, fromArray } from '../../../src/core/tensor.js';
import { uniform as rng } from '../../../src/cli/random.js';

const be = await createCudaBackend();
for (const label of (process.argv[2] ?? 'MODEL1 CONFIG3,MODEL1 CONFIG4').split(',')) {
  const s = flashmlaSparseShapes.find((x) => x.label === label)!;
  const r = rng(s.b * 1000 + s.hQ + s.topk), L = fp8Layouts[s.format];
  const nb = s.b * Math.ceil(s.sK / s.blockSize);
  const q = be.upload(fromArray('bf16', [s.b, s.sQ, s.hQ, L.dQk], Uint16Array.from({ length: s.b * s.sQ * s.hQ * L.dQk }, () => f32ToBf16(r() * 2 - 1))));
  const k = uploadFp8Cache(be, fp8CacheTensor(s.format, nb, s.blockSize, randomCache(s.format, nb, s.blockSize, r)));
  const indices = be.upload(fromArray('i32', [s.b, s.sQ, s.topk], randomIndices(s.b, s.sQ, s.sK, s.topk, s.blockSize, r)));
  const xb = s.b * Math.ceil(s.extraSK! / s.extraBlockSize!);
  const xk = uploadFp8Cache(be, fp8CacheTensor(s.format, xb, s.extraBlockSize!, randomCache(s.format, xb, s.extraBlockSize!, r)));
  const xi = be.upload(fromArray('i32', [s.b, s.sQ, s.extraTopk!], randomIndices(s.b, s.sQ, s.extraSK!, s.extraTopk!, s.extraBlockSize!, r)));
  const lenHost = fromArray('i32', [s.b], Int32Array.from({ length: s.b }, () => Math.floor(r() * (s.extraTopk! + 1))));
  const lenDev = be.upload(lenHost);
  const sink = be.upload(fromArray('f32', [s.hQ], Float32Array.from({ length: s.hQ }, () => r() * 2 - 1)));
  const out = be.empty('bf16', [s.b, s.sQ, s.hQ, 512]), lse = be.empty('f32', [s.b, s.hQ, s.sQ]);
  const key = { b: s.b, sQ: s.sQ, hQ: s.hQ, topk: s.topk, extraTopk: s.extraTopk!, backend: be };
  const host = getSparseMlaMetadata({ ...key, extraTopkLength: lenHost });
  const dev = getSparseMlaMetadata({ ...key, extraTopkLength: lenDev, onDevice: true });
  const opts = (len: Tensor) => ({ attnSink: sink, extraKCache: xk, extraIndices: xi, extraTopkLength: len, backend: be, out, lse, precision: 'fast' as const });
  await flashMlaSparseWithKvcache(q, k, indices, 512, dev, opts(lenDev));
  const dm = (await be.download(dev.tileSchedulerMetadata)).host() as Int32Array, dn = (await be.download(dev.numSplits)).host() as Int32Array;
  const hm = host.tileSchedulerMetadata.host() as Int32Array, hn = host.numSplits.host() as Int32Array;
  const diff = (a: Int32Array, b: Int32Array) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i; return -1; };
  console.log(`${label}: parts ${hm.length / 8}, metadata ${diff(dm, hm) < 0 ? 'SAME' : `DIFFER at word ${diff(dm, hm)}`}, numSplits ${diff(dn, hn) < 0 ? 'SAME' : `DIFFER at ${diff(dn, hn)}`}, split requests ${[...hn].slice(1).filter((x, i) => x - hn[i] > 1).length}`);
  const timing = { warmup: 3, reps: 0, flushBytes: 256 << 20, doBench: { warmMs: 25, repMs: 60 } };
  const arms: [string, () => Promise<void>][] = [
    ['host', () => flashMlaSparseWithKvcache(q, k, indices, 512, host, opts(lenHost)).then(() => undefined)],
    ['device', () => flashMlaSparseWithKvcache(q, k, indices, 512, dev, opts(lenDev)).then(() => undefined)],
  ];
  const times: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, run] of arms) (times[name] ??= []).push(await medianMs(be, run, timing) * 1e3);
  }
  console.log(`  ${Object.entries(times).map(([n, t]) => `${n} ${t.map((x) => x.toFixed(1)).join(' / ')} us`).join('; ')}`);
  for (const t of [q, k, indices, xk, xi, lenDev, sink, out, lse, dev.tileSchedulerMetadata, dev.numSplits, ...(dev.planState ? [dev.planState] : [])]) be.free(t);
}
be.dispose();

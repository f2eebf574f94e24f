// Session 58: MODEL1 CONFIG3 (b 128, 64 heads, s_q 2, top-k 128 + an extra cache of 1024 with lengths) took 1.04-1.06x
// the host plan's time with --device-plan, its decode kernel alone ~6 us longer under ncu (call 3). The same inputs as
// `flashmla bench --mode sparse` builds for that row; this reads back the plan the device wrote and compares it with
// the host scheduler's word for word, then times (do_bench's loop) host and device plan alternating, three rounds.
// With --arms (call 6) three more arms take the two apart: host lengths with onDevice metadata (planned on the device
// from the staged lengths: the metadata's own allocations, no length copy), and without lengths the host plan staged
// against the host-made plan in device tensors (onDevice without lengths: no plan CTA, the metadata's allocations).
// The GPU host runs the tsc build:   node build/bench/cuda/hopper/s58_config3.js ['LABEL,LABEL'] [--arms]
import { createCudaBackend } from '../../../src/backends/cuda/index.js';
import { flashmlaSparseShapes, medianMs, randomCache, randomIndices } from '../../../src/cli/bench-sparse.js';
import { f32ToBf16 } from '../../../src/core/dtype.js';
import { fp8Layouts } from '../../../src/core/fp8.js';
import { fp8CacheTensor, getSparseMlaMetadata, uploadFp8Cache } from '../../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../../src/core/sparse-api.js';
import { type Tensor, fromArray } from '../../../src/core/tensor.js';
import { uniform as rng } from '../../../src/cli/random.js';

const be = await createCudaBackend();
const labels = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'MODEL1 CONFIG3,MODEL1 CONFIG4';
for (const label of labels.split(',')) {
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
  const extraMeta: { tileSchedulerMetadata: Tensor; numSplits: Tensor; planState?: Tensor }[] = [];
  if (process.argv.includes('--arms')) {
    const hostLenDev = getSparseMlaMetadata({ ...key, extraTopkLength: lenHost, onDevice: true });
    const noLenHost = getSparseMlaMetadata({ ...key }), noLenDev = getSparseMlaMetadata({ ...key, onDevice: true });
    extraMeta.push(hostLenDev, noLenDev);
    const noLen = { ...opts(lenHost), extraTopkLength: undefined };
    arms.push(
      ['host lengths, device metadata', () => flashMlaSparseWithKvcache(q, k, indices, 512, hostLenDev, opts(lenHost)).then(() => undefined)],
      ['no lengths, host plan', () => flashMlaSparseWithKvcache(q, k, indices, 512, noLenHost, noLen).then(() => undefined)],
      ['no lengths, device tensors', () => flashMlaSparseWithKvcache(q, k, indices, 512, noLenDev, noLen).then(() => undefined)],
    );
  }
  const times: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, run] of arms) (times[name] ??= []).push(await medianMs(be, run, timing) * 1e3);
  }
  for (const [n, t] of Object.entries(times)) console.log(`  ${n}: ${t.map((x) => x.toFixed(1)).join(' / ')} us`);
  for (const m of [dev, ...extraMeta]) for (const t of [m.tileSchedulerMetadata, m.numSplits, ...(m.planState ? [m.planState] : [])]) be.free(t);
  for (const t of [q, k, indices, xk, xi, lenDev, sink, out, lse]) be.free(t);
}
be.dispose();

// Property/fuzz suite: randomly corrupted arguments to the public API (flashMlaWithKvcache, getMlaMetadata,
// MlaDecoder, fromArray, KvCacheManager, SafetensorsFile) on the CPU (in-thread and workers) and WebGPU (lavapipe).
// Every call must either throw a typed FlashMlaError or give the output of the float64 reference on the inputs it was
// actually given; never hang, crash, throw anything untyped, or return garbage. (Sparse and FP8 decode:
// fuzz-sparse.test.ts.)
//   FUZZ_SEED=n    another seed (default fixed); a failure prints the seed and the case number to replay it
//   FUZZ_CASES=n   scales the number of cases per backend (default 1)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/backend.js';
import { createNodeWebGpuBackend } from '../../src/backends/webgpu/node.js';
import { MlaDecoder, flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { type DType, type HalfDType, bf16ToF32 } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import { SafetensorsFile, writeSafetensors } from '../../src/core/mla/safetensors.js';
import type { Backend } from '../../src/core/problem.js';
import { referenceDecode } from '../../src/core/reference.js';
import { type HostTensor, Tensor, fromArray } from '../../src/core/tensor.js';
import { tolerances, ulpOf } from '../support/compare.js';
import { differsFromReference, hostile, hostileInts, otherArrays, outcome, slowest } from '../support/fuzz.js';
import { Rng, makeCase } from '../support/random.js';

const seed = Number(process.env.FUZZ_SEED ?? 0x10f022);
const scale = Number(process.env.FUZZ_CASES ?? 1);

let workers: Backend | undefined;
let webgpu: WebGpuBackend | undefined;
let webgpuWhy = '';
const inline = new InlineCpuBackend();
before(async () => {
  workers = await createCpuBackend({ workers: 2 });
  try { webgpu = await createNodeWebGpuBackend(); } catch (e) { webgpuWhy = `no WebGPU adapter (${(e as Error).message})`; }
});
after(() => { workers?.dispose(); webgpu?.dispose(); });

// ---------------------------------------------------------------- flashMlaWithKvcache with corrupted arguments

/** The arguments of one call, as host arrays the mutators may change (then turned into tensors). */
interface Args {
  dtype: HalfDType;
  q: { dtype: DType; shape: number[]; data: ArrayBufferView };
  kCache: { dtype: DType; shape: number[]; data: ArrayBufferView };
  blockTable: { dtype: DType; shape: number[]; data: ArrayBufferView };
  cacheSeqlens: { dtype: DType; shape: number[]; data: ArrayBufferView };
  meta: { dtype: DType; shape: number[]; data: ArrayBufferView };
  numSplits: { dtype: DType; shape: number[]; data: ArrayBufferView };
  qIndptr?: { dtype: DType; shape: number[]; data: ArrayBufferView };
  out?: { dtype: DType; shape: number[] };
  lse?: { dtype: DType; shape: number[] };
  headDimV: unknown;
  softmaxScale: unknown;
  causal: unknown;
  numSms: number;
}

type TensorKey = 'q' | 'kCache' | 'blockTable' | 'cacheSeqlens' | 'meta' | 'numSplits' | 'qIndptr';
const tensorKeys: TensorKey[] = ['q', 'kCache', 'blockTable', 'cacheSeqlens', 'meta', 'numSplits', 'qIndptr'];

function baseArgs(rng: Rng, tiny: boolean, numSms: number): Args {
  const hQ = rng.pick(tiny ? [1, 2] : [1, 2, 3, 4]);
  const hKv = hQ % 2 === 0 && rng.float() < 0.3 ? 2 : 1;
  const b = rng.int(1, 2);
  const varlen = rng.float() < 0.2;
  const c = makeCase({
    name: 'fuzz', dtype: rng.pick(['bf16', 'f16'] as const), hQ, hKv, pageBlockSize: rng.pick([16, 64, 5]),
    seqlens: Array.from({ length: b }, () => rng.int(0, tiny ? 30 : 70)), sQ: rng.int(1, 2),
    qLens: varlen ? Array.from({ length: b }, () => rng.int(1, 2)) : undefined, causal: rng.float() < 0.8,
  }, rng.u32());
  const md = getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv, { numSms });
  return {
    dtype: c.dtype,
    q: { dtype: c.dtype, shape: c.qShape, data: c.q },
    kCache: { dtype: c.dtype, shape: [c.numBlocks, c.pageBlockSize, c.hKv, 576], data: c.kCache },
    blockTable: { dtype: 'i32', shape: [c.b, c.maxBlocksPerSeq], data: c.blockTable },
    cacheSeqlens: { dtype: 'i32', shape: [c.b], data: c.cacheSeqlens },
    meta: { dtype: 'i32', shape: [...md.tileSchedulerMetadata.shape], data: md.tileSchedulerMetadata.host() },
    numSplits: { dtype: 'i32', shape: [c.b + 1], data: md.numSplits.host() },
    qIndptr: c.qIndptr && { dtype: 'i32', shape: [c.b + 1], data: c.qIndptr },
    headDimV: 512, softmaxScale: c.explicitScale ? c.softmaxScale : undefined, causal: c.causal, numSms,
  };
}

function i32Of(a: Args, k: TensorKey): Int32Array | undefined {
  const t = a[k];
  return t && t.data instanceof Int32Array ? t.data : undefined;
}

/** Recompute the schedule for the (possibly changed) seqlens, as a caller that plans again would. */
function replan(a: Args): void {
  const s = i32Of(a, 'cacheSeqlens');
  // Lengths near 2^31 are refused by the call anyway; planning them costs a loop over 2^25 blocks, so skip it.
  if (!s || s.some((x) => x < 0 || x > 2 ** 20)) return;
  const hQ = a.q.shape[a.q.shape.length - 2], hKv = a.kCache.shape[2], sQ = a.qIndptr ? 2 : a.q.shape[1];
  try {
    const md = getMlaMetadata(s, (sQ * hQ) / hKv, hKv, { numSms: a.numSms });
    a.meta = { dtype: 'i32', shape: [...md.tileSchedulerMetadata.shape], data: md.tileSchedulerMetadata.host() };
    a.numSplits = { dtype: 'i32', shape: [...md.numSplits.shape], data: md.numSplits.host() };
  } catch { /* a refused plan keeps the stale metadata: the call must then refuse too */ }
}


/** One random corruption of the arguments; returns what it did (printed on failure). */
function mutate(a: Args, rng: Rng, f32Kernel: boolean): string {
  const which = rng.int(0, 13);
  const key = () => rng.pick(tensorKeys.filter((k) => a[k]));
  switch (which) {
    case 0: { // a dimension of a tensor
      const k = key(), t = a[k]!, d = rng.int(0, t.shape.length - 1), v = rng.pick([0, 1, t.shape[d] + 1, t.shape[d] - 1, 2 ** 31, 2 ** 53, -1, 2.5]);
      t.shape = t.shape.slice(); t.shape[d] = v;
      return `${k}.shape[${d}] = ${v}`;
    }
    case 1: { // rank
      const k = key(), t = a[k]!;
      t.shape = rng.float() < 0.5 ? [...t.shape, 1] : t.shape.length > 1 ? [t.shape[0] * t.shape[1], ...t.shape.slice(2)] : [];
      return `${k}.shape = [${t.shape}]`;
    }
    case 2: { // dtype (same array) or array type (same dtype)
      const k = key(), t = a[k]!;
      if (rng.float() < 0.5) { t.dtype = rng.pick(['bf16', 'f16', 'f32', 'i32', 'fp8_e4m3', 'f64', 'bf17'] as DType[]); return `${k}.dtype = ${t.dtype}`; }
      const name = rng.pick(Object.keys(otherArrays));
      t.data = otherArrays[name]((t.data as Uint16Array).length);
      return `${k}.data = ${name}`;
    }
    case 3: { // a block id
      if (!i32Of(a, 'blockTable')) return 'blockTable is no longer i32 data';
      const bt = i32Of(a, 'blockTable')!, i = rng.int(0, bt.length - 1), v = rng.pick([...hostileInts, a.kCache.shape[0], a.kCache.shape[0] - 1]);
      bt[i] = v;
      return `blockTable[${i}] = ${v}`;
    }
    case 4: { // a sequence length, with the schedule replanned or stale
      if (!i32Of(a, 'cacheSeqlens')) return 'cacheSeqlens is no longer i32 data';
      const s = i32Of(a, 'cacheSeqlens')!, i = rng.int(0, s.length - 1), cap = a.blockTable.shape[1] * a.kCache.shape[1];
      const v = rng.pick([...hostileInts, s[i] + 1, s[i] - 1, cap, cap + 1, 0]);
      s[i] = v;
      const re = rng.float() < 0.6;
      if (re) replan(a);
      return `cacheSeqlens[${i}] = ${v} (${re ? 'replanned' : 'stale metadata'})`;
    }
    case 5: { // a metadata word
      if (!i32Of(a, 'meta')) return 'metadata is no longer i32 data';
      const m = i32Of(a, 'meta')!, i = rng.int(0, m.length - 1), v = rng.pick([...hostileInts, m[i] + 1, m[i] - 1]);
      m[i] = v;
      return `tileSchedulerMetadata[${i}] = ${v}`;
    }
    case 6: { // a numSplits word
      if (!i32Of(a, 'numSplits')) return 'numSplits is no longer i32 data';
      const n = i32Of(a, 'numSplits')!, i = rng.int(0, n.length - 1), v = rng.pick([...hostileInts, n[i] + 1, n[i] - 1]);
      n[i] = v;
      return `numSplits[${i}] = ${v}`;
    }
    case 7: { // softmax scale: valid and invalid
      a.softmaxScale = rng.pick([...hostile, 1e-6, 1e-3, 0.5, 2, 10, -0.1]);
      return `softmaxScale = ${String(a.softmaxScale)}`;
    }
    case 8: a.headDimV = rng.pick([...hostile, 511, 513, 576]); return `headDimV = ${String(a.headDimV)}`;
    case 9: a.causal = rng.pick([true, false, 1, 0, 'yes', null]); return `causal = ${String(a.causal)}`;
    case 10: { // qIndptr: added, removed or corrupted
      const b0 = a.cacheSeqlens.shape[0], b = Number.isSafeInteger(b0) && b0 >= 0 && b0 <= 64 ? b0 : 2; // shape may be mutated already
      if (!a.qIndptr || rng.float() < 0.3) {
        const d = Int32Array.from({ length: b + 1 }, (_, i) => i * rng.int(0, 2));
        a.qIndptr = { dtype: 'i32', shape: [b + 1], data: d };
        return `qIndptr = [${d}]`;
      }
      if (!(a.qIndptr.data instanceof Int32Array) || a.qIndptr.data.length === 0) return 'qIndptr is no longer i32 data';
      const d = a.qIndptr.data, i = rng.int(0, d.length - 1), v = rng.pick([...hostileInts, d[i] + 1, d[i] - 1]);
      d[i] = v;
      return `qIndptr[${i}] = ${v}`;
    }
    case 11: { // NaN / Inf / huge values in q or in a key the call reads
      // The largest finite value too, except where the kernel accumulates in f32 (WebGPU): its products overflow
      // f32 there (as FlashMLA's fp32 accumulation would), which the float64 reference does not model.
      const nan = a.dtype === 'bf16' ? 0x7fc0 : 0x7e00;
      const bits = a.dtype === 'bf16' ? [0x7f80, 0xff80, ...(f32Kernel ? [] : [nan, 0x7f7f])] : [0x7c00, 0xfc00, 0x7bff, ...(f32Kernel ? [] : [nan])];
      const v = rng.pick(bits);
      if (rng.float() < 0.5) { const q = a.q.data as Uint16Array, i = rng.int(0, q.length - 1); q[i] = v; return `q[${i}] = 0x${v.toString(16)}`; }
      const s = i32Of(a, 'cacheSeqlens'), bt = i32Of(a, 'blockTable');
      if (!s || !bt || s.length === 0 || !(a.kCache.data instanceof Uint16Array)) return 'no i32 index data to find a key';
      const i = rng.int(0, s.length - 1);
      if (!(s[i] > 0 && s[i] <= (bt.length / s.length) * a.kCache.shape[1])) return 'no key to poison';
      const t = rng.int(0, s[i] - 1), page = a.kCache.shape[1], row = a.kCache.shape[2] * 576;
      const blk = bt[i * a.blockTable.shape[1] + Math.floor(t / page)];
      const at = (blk * page + (t % page)) * row + rng.int(0, row - 1);
      (a.kCache.data as Uint16Array)[at] = v;
      return `kCache[seq ${i}, key ${t}] element = 0x${v.toString(16)}`;
    }
    case 12: { // preallocated outputs of the wrong shape or dtype
      const outShape = a.qIndptr ? [a.q.shape[0], a.q.shape[1], 512] : [a.q.shape[0], a.q.shape[1], a.q.shape[2], 512];
      if (rng.float() < 0.5) { a.out = { dtype: rng.pick([a.dtype, 'f32', a.dtype === 'bf16' ? 'f16' : 'bf16'] as DType[]), shape: rng.float() < 0.5 ? outShape : [...outShape.slice(0, -1), 576] }; return `out ${a.out.dtype} [${a.out.shape}]`; }
      const lseShape = a.qIndptr ? [a.q.shape[0], a.q.shape[1]] : [a.q.shape[0], a.q.shape[2], a.q.shape[1]];
      a.lse = { dtype: rng.pick(['f32', 'bf16', 'i32'] as DType[]), shape: rng.float() < 0.5 ? lseShape : [lseShape[0] + 1, ...lseShape.slice(1)] };
      return `lse ${a.lse.dtype} [${a.lse.shape}]`;
    }
    default: { // a size near 2^31 / 2^53 on a tensor
      const k = key(), t = a[k]!, v = rng.pick([2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53 + 2]);
      t.shape = [v, ...t.shape.slice(1)];
      return `${k}.shape[0] = ${v}`;
    }
  }
}

/** The reference for what the call was given (only reached when the library accepted every argument). */
function referenceOf(a: Args) {
  const bt = a.blockTable.data as Int32Array, s = a.cacheSeqlens.data as Int32Array;
  const varlen = !!a.qIndptr;
  return referenceDecode({
    q: a.q.data as Uint16Array, kCache: a.kCache.data as Uint16Array, blockTable: bt, cacheSeqlens: s, dtype: a.q.dtype as HalfDType,
    b: a.cacheSeqlens.shape[0], sQ: varlen ? 1 : a.q.shape[1], hQ: a.q.shape[a.q.shape.length - 2], hKv: a.kCache.shape[2],
    pageBlockSize: a.kCache.shape[1], maxBlocksPerSeq: a.blockTable.shape[1], softmaxScale: a.softmaxScale as number | undefined,
    causal: a.causal as boolean | undefined, qIndptr: a.qIndptr?.data as Int32Array | undefined,
  });
}

/** The reference check of an accepted call (the comparison itself: test/support/fuzz.ts). */
function checkAgainstReference(out: Uint16Array, lse: Float32Array, a: Args, tol: typeof tolerances.cpu): string | undefined {
  // Relative to |lse|: f64 arithmetic (scalar rung) leaves only the f32 store; f32 dot products of 576 terms more.
  return differsFromReference(out, lse, referenceOf(a), a.q.dtype as HalfDType, tol,
    { rowRel: tol === tolerances.webgpu ? 1e-3 : 0, lseRel: tol === tolerances.cpu ? 1e-6 : 1e-5 });
}

async function fuzzDecode(be: Backend, kind: string, n: number, tiny: boolean): Promise<{ typed: number; ran: number; codes: Record<string, number> }> {
  const stats = { typed: 0, ran: 0, codes: {} as Record<string, number> };
  for (let i = 0; i < n; i++) {
    const rng = new Rng((seed ^ Math.imul(i + 1, 0x9e3779b1) ^ kind.length * 0x1234567) >>> 0);
    const a = baseArgs(rng, tiny, rng.pick([be.info.numSms, 1, 3, 132]));
    const steps = [mutate(a, rng, kind === 'webgpu')];
    if (rng.float() < 0.3) steps.push(mutate(a, rng, kind === 'webgpu'));
    const where = `FUZZ_SEED=${seed} ${kind} case ${i}: ${steps.join('; ')}`;
    const host: Partial<Record<TensorKey, HostTensor>> = {};
    const r = await outcome(where, async () => {
      for (const k of tensorKeys) { const t = a[k]; if (t) host[k] = new Tensor(t.dtype, t.shape, t.data as Uint16Array); }
      const q = be.upload(host.q!), k = be.upload(host.kCache!);
      const out = a.out && be.empty(a.out.dtype, a.out.shape), lse = a.lse && be.empty(a.lse.dtype, a.lse.shape);
      try {
        const res = await flashMlaWithKvcache(q, k, host.blockTable!, host.cacheSeqlens!, a.headDimV as number, host.meta!, host.numSplits!, {
          softmaxScale: a.softmaxScale as number | undefined, causal: a.causal as boolean | undefined, qIndptr: host.qIndptr, backend: be, out, lse,
        });
        await be.synchronize();
        return { out: Uint16Array.from((await be.download(res.out)).host() as Uint16Array), lse: Float32Array.from((await be.download(res.lse)).host() as Float32Array) };
      } finally {
        if (q !== host.q) be.free(q);
        if (k !== host.kCache) be.free(k);
      }
    });
    if (r.ok) {
      stats.ran++;
      // The vector CPU rungs (native, wasm) compute in f32, the scalar rung in float64.
      const f32Rung = kind !== 'webgpu' && be.info.details?.kernel !== undefined && be.info.details.kernel !== 'scalar';
      const bad = checkAgainstReference(r.value.out, r.value.lse, a, kind === 'webgpu' ? tolerances.webgpu : f32Rung ? tolerances.cpuF32 : tolerances.cpu);
      assert.equal(bad, undefined, `${where}: accepted, but the output differs from the reference: ${bad}`);
    } else {
      stats.typed++;
      stats.codes[r.error.code] = (stats.codes[r.error.code] ?? 0) + 1;
    }
  }
  return stats;
}

describe('fuzz: flashMlaWithKvcache with corrupted arguments', () => {
  const plans: [string, () => Backend | undefined, number, boolean][] = [
    ['inline', () => inline, 120, false], ['workers', () => workers, 50, false], ['webgpu', () => webgpu, 25, true],
  ];
  for (const [kind, get, n, tiny] of plans) {
    test(`${kind}: ${Math.round(n * scale)} cases, seed ${seed}`, async (t) => {
      const be = get();
      if (!be) {
        if (process.env.CI) assert.fail(`WebGPU fuzz cannot run in CI: ${webgpuWhy}`);
        t.skip(webgpuWhy);
        return;
      }
      const s = await fuzzDecode(be, kind, Math.round(n * scale), tiny);
      t.diagnostic(`${kind}: ${s.ran} accepted and equal to the reference, ${s.typed} typed errors ${JSON.stringify(s.codes)}`);
      assert.ok(s.ran > 0 && s.typed > 0, 'the corruptions must produce both outcomes');
    });
  }
});

// ---------------------------------------------------------------- the other entry points

describe('fuzz: getMlaMetadata, fromArray, MlaDecoder, KvCacheManager with hostile values', () => {
  test(`seed ${seed}`, async (t) => {
    const rng = new Rng(seed ^ 0xabcdef);
    const pick = () => rng.pick(hostile);
    let typed = 0, ok = 0;
    const count = (r: { ok: boolean }) => { if (r.ok) ok++; else typed++; };
    for (let i = 0; i < Math.round(150 * scale); i++) {
      const where = `FUZZ_SEED=${seed} api case ${i}`;
      const b = rng.int(1, 3), seqlens = Int32Array.from({ length: b }, () => rng.pick([...hostileInts.filter((x) => x < 2 ** 20), 10, 100]));
      // getMlaMetadata
      const gm = await outcome(`${where} getMlaMetadata`, () => getMlaMetadata(rng.float() < 0.8 ? seqlens : (pick() as Int32Array),
        rng.float() < 0.5 ? 16 : (pick() as number), rng.float() < 0.5 ? 1 : (pick() as number), { numSms: rng.float() < 0.7 ? undefined : (pick() as number) }));
      count(gm);
      if (gm.ok) {
        assert.equal(gm.value.numSplits.numel, b + 1, where);
        assert.ok(seqlens.every((x) => x >= 0), `${where}: negative seqlens accepted`);
      }
      // fromArray
      const n = rng.int(0, 8);
      count(await outcome(`${where} fromArray`, () => fromArray(rng.pick(['bf16', 'f16', 'f32', 'i32', 'fp8_e4m3', 'f64', 'x']) as DType,
        rng.float() < 0.5 ? [n] : [pick() as number, n], otherArrays[rng.pick(Object.keys(otherArrays))](n) as Uint16Array)));
      // MlaDecoder
      count(await outcome(`${where} MlaDecoder`, async () => {
        const dec = new MlaDecoder(inline, { hQ: rng.float() < 0.5 ? 2 : (pick() as number), hKv: rng.float() < 0.7 ? 1 : (pick() as number) });
        const c = makeCase({ name: 'dec', dtype: 'bf16', hQ: dec.hQ <= 4 ? dec.hQ : 2, hKv: 1, pageBlockSize: 16, seqlens: [rng.int(0, 30)], sQ: 1, causal: true }, i);
        const bt = rng.float() < 0.8 ? fromArray('i32', [1, c.maxBlocksPerSeq], c.blockTable) : fromArray('i32', [1, 1], Int32Array.of(rng.pick(hostileInts)));
        const lens = rng.float() < 0.8 ? c.cacheSeqlens : seqlens.subarray(0, 1);
        dec.plan(lens, bt, { sQ: rng.float() < 0.8 ? 1 : (pick() as number), outputs: rng.float() < 0.8 ? 1 : (pick() as number) });
        const qData = rng.float() < 0.8 ? c.q : new Uint16Array(3 * 576);
        const r = await dec.run(fromArray('bf16', rng.float() < 0.8 ? c.qShape : [1, 1, 3, 576], qData), fromArray('bf16', [c.numBlocks, 16, 1, 576], c.kCache));
        if (dec.hQ === c.hQ) {
          // What was planned and run (the decoder accepted it): the reference of exactly that.
          const ref = referenceDecode({ q: qData, kCache: c.kCache, blockTable: bt.host(), cacheSeqlens: lens, dtype: 'bf16', b: 1, sQ: 1, hQ: c.hQ, hKv: 1, pageBlockSize: 16, maxBlocksPerSeq: bt.shape[1] });
          const out = r.out.host() as Uint16Array;
          for (let e = 0; e < out.length; e++) {
            const x = bf16ToF32(out[e]), y = ref.out[e];
            assert.ok(Number.isNaN(x) === Number.isNaN(y) && (Number.isNaN(y) || Math.abs(x - y) <= ulpOf('bf16', y) + 1e-6), `${where}: decoder output ${e}: ${x} vs ${y}`);
          }
        }
      }));
      // KvCacheManager
      count(await outcome(`${where} KvCacheManager`, () => {
        const m = new KvCacheManager({
          backend: inline, numBlocks: rng.float() < 0.6 ? rng.int(1, 4) : (pick() as number), pageBlockSize: rng.float() < 0.6 ? 16 : (pick() as number),
          hKv: rng.float() < 0.8 ? 1 : (pick() as number), dtype: rng.float() < 0.9 ? 'bf16' : (pick() as 'bf16'),
        });
        const id = m.addSequence();
        const tokens = rng.int(0, 40);
        m.append(rng.float() < 0.9 ? id : (pick() as number), rng.float() < 0.8 ? new Float32Array(tokens * m.tokenElements).fill(0.5) : (otherArrays[rng.pick(Object.keys(otherArrays))](576) as Uint16Array));
        const batch = m.batch(rng.float() < 0.9 ? [id] : [pick() as number], { maxBlocksPerSeq: rng.float() < 0.8 ? undefined : (pick() as number) });
        assert.equal(batch.cacheSeqlens[0], m.seqlen(id), where);
        m.freeSequence(rng.float() < 0.8 ? id : (pick() as number));
        m.dispose();
      }));
    }
    t.diagnostic(`${ok} accepted, ${typed} typed errors; slowest call ${slowest.ms.toFixed(0)} ms: ${slowest.what}`);
    assert.ok(ok > 0 && typed > 0);
  });
});

describe('fuzz: SafetensorsFile with damaged files', () => {
  test(`seed ${seed}`, async (t) => {
    const rng = new Rng(seed ^ 0x5afe);
    let typed = 0, ok = 0;
    const enc = new TextEncoder(), dec = new TextDecoder();
    const values: unknown[] = [...hostile, -5, 1e300, 'F32', 'BF16', [0, 4], [4, 0], [0, 2 ** 53], [[1]], { a: 1 }, true];
    for (let i = 0; i < Math.round(300 * scale); i++) {
      const where = `FUZZ_SEED=${seed} safetensors case ${i}`;
      const file = writeSafetensors({
        'a.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, k) => k) },
        'b.weight': { dtype: rng.pick(['BF16', 'F16'] as const), shape: [4], data: Uint16Array.of(0x3f80, 0x4000, 0, 0x7fc0) },
      });
      const n = Number(new DataView(file.buffer).getBigUint64(0, true));
      let bytes: Uint8Array = file, what = 'valid';
      const r = rng.int(0, 5);
      if (r === 0) { // a value of the header replaced
        const h = JSON.parse(dec.decode(file.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
        const name = rng.pick([...Object.keys(h), '__metadata__']), field = rng.pick(['dtype', 'shape', 'data_offsets', 'whole']);
        const v = rng.pick(values);
        if (field === 'whole') h[name] = v as Record<string, unknown>; else (h[name] ??= {})[field] = v;
        const json = enc.encode(JSON.stringify(h));
        bytes = new Uint8Array(8 + json.length + (file.length - 8 - n));
        new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
        bytes.set(json, 8); bytes.set(file.subarray(8 + n), 8 + json.length);
        what = `${name}.${field} = ${JSON.stringify(v)}`;
      } else if (r === 1) { // the whole header another JSON value
        const json = enc.encode(JSON.stringify(rng.pick(values)) ?? 'undefined');
        bytes = new Uint8Array(8 + json.length);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
        bytes.set(json, 8);
        what = `header ${dec.decode(json)}`;
      } else if (r === 2) { // the header length
        const v = rng.pick([0n, 1n, BigInt(n - 1), BigInt(n + 1), BigInt(file.length), 2n ** 63n, 2n ** 64n - 1n]);
        bytes = file.slice();
        new DataView(bytes.buffer).setBigUint64(0, v, true);
        what = `header length ${v}`;
      } else if (r === 3) { // cut short
        bytes = file.subarray(0, rng.int(0, file.length - 1));
        what = `${bytes.length} of ${file.length} bytes`;
      } else if (r === 4) { // a random header byte
        bytes = file.slice();
        const at = rng.int(8, 8 + n - 1);
        bytes[at] = rng.int(0, 255);
        what = `header byte ${at} = ${bytes[at]}`;
      }
      const res = await outcome(`${where}: ${what}`, () => {
        const f = new SafetensorsFile(bytes);
        // Every tensor the file lists: typed error, or exactly as many values as its shape.
        for (const [name, e] of f.entries) {
          const got = outcomeSync(() => f.f32(name));
          if (got instanceof Float32Array) assert.equal(got.length, e.shape.reduce((x, y) => x * y, 1), `${where}: ${what}: ${name}`);
        }
        return f;
      });
      if (res.ok) ok++; else typed++;
      if (res.ok && r === 5) assert.deepEqual(Array.from(res.value.f32('a.weight')), [0, 1, 2, 3, 4, 5], where);
    }
    t.diagnostic(`${ok} accepted, ${typed} typed errors`);
    assert.ok(ok > 0 && typed > 0);
  });
});

/** f() or its typed error (anything else is rethrown: the caller's outcome() fails on it). */
function outcomeSync<T>(f: () => T): T | FlashMlaError {
  try { return f(); } catch (e) { if (e instanceof FlashMlaError) return e; throw e; }
}

describe('NaN through the WebGPU kernel (more cases: test/webgpu-nan.test.ts)', () => {
  test('webgpu: NaN in q makes the row NaN, not an empty row (out 0, lse +Infinity)', async (t) => {
    if (!webgpu) { t.skip(webgpuWhy); return; }
    const c = makeCase({ name: 'nan q', dtype: 'bf16', hQ: 1, hKv: 1, pageBlockSize: 16, seqlens: [20], sQ: 1, causal: true }, 5);
    c.q[3] = 0x7fc0;
    const { runCase } = await import('../support/random.js');
    const got = await runCase(c, webgpu, flashMlaWithKvcache);
    assert.ok(Number.isNaN(got.lse[0]), `lse ${got.lse[0]} (the reference is NaN)`);
    assert.ok(Array.from(got.out.subarray(0, 512)).every((x) => (x & 0x7fff) > 0x7f80), 'every out element NaN');
  });
  test('webgpu: NaN in a key the row reads makes the row NaN (was FUZZ_SEED=99 webgpu case 1)', async (t) => {
    if (!webgpu) { t.skip(webgpuWhy); return; }
    const c = makeCase({ name: 'nan k', dtype: 'f16', hQ: 1, hKv: 1, pageBlockSize: 16, seqlens: [20], sQ: 1, causal: true }, 6);
    c.kCache[c.blockTable[0] * 16 * 576 + 7 * 576 + 3] = 0x7e00; // key 7 of sequence 0
    const { runCase } = await import('../support/random.js');
    const got = await runCase(c, webgpu, flashMlaWithKvcache);
    assert.ok(Number.isNaN(got.lse[0]), `lse ${got.lse[0]} (the reference is NaN)`);
    assert.ok(Array.from(got.out.subarray(0, 512)).every((x) => (x & 0x7fff) > 0x7c00), 'every out element NaN');
  });
});

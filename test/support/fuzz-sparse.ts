// The fuzz of the FP8 and token-sparse entry points: flashMlaSparseWithKvcache (FP8 V3.2 / MODEL1 and 16-bit caches,
// topkLength, attnSink, an extra cache) and flashMlaWithKvcache over an FP8 cache (dense decode by block table), with
// randomly corrupted arguments. Every call must either throw a typed FlashMlaError or give the float64 reference's output
// on the inputs it was actually given (the schedule it was handed included). Run by test/unit/fuzz.test.ts (CPU,
// WebGPU on lavapipe) and test/gpu/fuzz.test.ts (CUDA, WebGPU on the GPU host).
import assert from 'node:assert/strict';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/core/api.js';
import { type DType, type HalfDType, f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { type Fp8Format, dequantizeToken, fp8Layouts, fp8TokenAddress, isFp8Format, quantizeCache } from '../../src/core/fp8.js';
import type { Backend } from '../../src/core/problem.js';
import { type ReferenceSparseCache, referenceSparseDecode } from '../../src/core/reference-sparse.js';
import { type SparseCacheKind, type SparseMetadataInputs, getSparseMlaMetadata, uploadFp8Cache } from '../../src/core/sparse.js';
import { flashMlaSparseWithKvcache } from '../../src/core/sparse-api.js';
import { Tensor } from '../../src/core/tensor.js';
import { type Arith, arithOf, causalBandKernel, causalBandNaN, differsFromReference, fuzzCases, fuzzSlack, fuzzTolerance, hostile, hostileInts, hostileScale, otherArrays, outcome } from './fuzz.js';
import type { FuzzStats } from './fuzz-dense.js';
import { Rng } from './random.js';

/** A tensor argument as host data the mutators may change (turned into a Tensor inside the fuzzed call). */
interface Arg { dtype: DType; shape: number[]; data: ArrayBufferView }
const nanBf16 = 0x7fc0;

/** A cache of `tokens` tokens whose tokens outside `used` are NaN (FP8: NaN bytes and scales), in `kind`'s layout. */
function makeCache(rng: Rng, kind: SparseCacheKind, dQk: number, numBlocks: number, B: number, used: Set<number>): Arg {
  const vals = new Uint16Array(numBlocks * B * dQk);
  const enc = kind === 'f16' ? f32ToF16 : f32ToBf16;
  for (let t = 0; t < numBlocks * B; t++) {
    for (let d = 0; d < dQk; d++) vals[t * dQk + d] = used.has(t) ? enc(rng.normal() * (d % 61 === 0 ? 3 : 0.3)) : kind === 'f16' ? 0x7e00 : nanBf16;
  }
  if (isFp8Format(kind)) return { dtype: 'fp8_e4m3', shape: [numBlocks, B, 1, fp8Layouts[kind].bytesPerToken], data: quantizeCache(kind, vals, B, numBlocks) };
  return { dtype: kind, shape: [numBlocks, B, 1, dQk], data: vals };
}

/** Poison one element (or FP8 byte / scale) of a token the call reads: the reference then has NaN or inf there. */
function poisonToken(c: Arg, kind: SparseCacheKind, dQk: number, token: number, rng: Rng, arith: Arith): string {
  const B = c.shape[1];
  if (!isFp8Format(kind)) {
    const bits = kind === 'bf16' ? [0x7f80, 0xff80, 0x7fc0, ...(arith === 'f64' ? [0x7f7f] : [])] : [0x7c00, 0xfc00, 0x7bff, 0x7e00];
    const v = rng.pick(bits), at = token * dQk + rng.int(0, dQk - 1);
    (c.data as Uint16Array)[at] = v;
    return `kCache token ${token} element = 0x${v.toString(16)}`;
  }
  const a = fp8TokenAddress(kind, B, Math.floor(token / B), token % B), L = fp8Layouts[kind], bytes = c.data as Uint8Array;
  const r = rng.int(0, 2);
  if (r === 0) { const d = rng.int(0, L.nope - 1); bytes[a.nope + d] = rng.pick([0x7f, 0xff]); return `kCache token ${token} e4m3 byte ${d} = NaN`; }
  if (r === 1) { const d = rng.int(0, L.rope - 1); bytes[a.rope + 2 * d] = 0x80; bytes[a.rope + 2 * d + 1] = rng.pick([0x7f, 0xff]); return `kCache token ${token} RoPE ${d} = inf`; }
  const j = rng.int(0, L.nope / L.tile - 1);
  if (kind === 'model1') { bytes[a.scales + j] = 0xff; return `kCache token ${token} UE8M0 scale ${j} = NaN`; }
  const v = rng.pick([NaN, Infinity]);
  new DataView(bytes.buffer, bytes.byteOffset).setFloat32(a.scales + 4 * j, v, true);
  return `kCache token ${token} f32 scale ${j} = ${v}`;
}

/** A dimension as a mutator may use it to size new data (a mutated shape may hold 2^53 or -1 there). */
const small = (x: number | undefined) => (Number.isSafeInteger(x) && x! >= 0 && x! <= 64 ? x! : 2);

function i32(t: Arg | undefined): Int32Array | undefined { return t && t.data instanceof Int32Array ? t.data : undefined; }

/** The reference's view of a cache argument (only reached when the call accepted it). */
function refCache(c: Arg, dQk: number): ReferenceSparseCache {
  const kind: SparseCacheKind = c.dtype === 'fp8_e4m3' ? (dQk === 576 ? 'v32' : 'model1') : (c.dtype as HalfDType);
  return { kind, data: c.data as Uint8Array | Uint16Array, pageBlockSize: c.shape[1] };
}

/** q / keys poisoned, an FP8 cache's size or format changed, outputs of a wrong shape: shared by both call kinds. */
function mutateTensor(t: Arg, rng: Rng, what: string): string {
  switch (rng.int(0, 3)) {
    case 0: { // a dimension
      const d = rng.int(0, t.shape.length - 1), v = rng.pick([0, 1, t.shape[d] + 1, t.shape[d] - 1, 2 ** 31, 2 ** 53, -1, 2.5]);
      t.shape = t.shape.slice(); t.shape[d] = v;
      return `${what}.shape[${d}] = ${v}`;
    }
    case 1: // rank
      t.shape = rng.float() < 0.5 ? [...t.shape, 1] : t.shape.length > 1 ? [t.shape[0] * t.shape[1], ...t.shape.slice(2)] : [];
      return `${what}.shape = [${t.shape}]`;
    case 2: { // dtype (same array) or array type (same dtype)
      if (rng.float() < 0.5) { t.dtype = rng.pick(['bf16', 'f16', 'f32', 'i32', 'fp8_e4m3', 'f64', 'bf17'] as DType[]); return `${what}.dtype = ${t.dtype}`; }
      const name = rng.pick(Object.keys(otherArrays));
      t.data = otherArrays[name]((t.data as Uint16Array).length);
      return `${what}.data = ${name}`;
    }
    default: { // a size near 2^31 / 2^53
      const v = rng.pick([2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53 + 2]);
      t.shape = [v, ...t.shape.slice(1)];
      return `${what}.shape[0] = ${v}`;
    }
  }
}

/** An FP8 cache's bytes per token swapped to the other format's, or its storage cut short (a MODEL1 block's padding). */
function mutateFp8Bytes(c: Arg, rng: Rng, what: string): string {
  if (c.dtype !== 'fp8_e4m3' || c.shape.length !== 4) return `${what} is not an FP8 cache`;
  if (rng.float() < 0.5) {
    const v = rng.pick([656, 584, 576, 512, 655]);
    c.shape = [c.shape[0], c.shape[1], c.shape[2], v];
    return `${what}.shape[3] = ${v}`;
  }
  const bytes = c.data as Uint8Array, cut = rng.int(1, Math.min(bytes.length, 600));
  c.data = bytes.subarray(0, bytes.length - cut);
  return `${what} storage ${cut} bytes short`;
}

/** The tensor arguments a case holds, as host tensors (inside the fuzzed call: a Tensor of a bad shape throws, typed). */
function hostTensors<K extends string>(a: Partial<Record<K, Arg>>, keys: readonly K[]): Partial<Record<K, Tensor>> {
  const host: Partial<Record<K, Tensor>> = {};
  for (const k of keys) { const t = a[k]; if (t) host[k] = new Tensor(t.dtype, t.shape, t.data as Uint16Array); }
  return host;
}

/**
 * One fuzzed call on `be`: `run` gets an uploader (a host tensor to the backend's; FP8 bytes by uploadFp8Cache unless
 * told otherwise) and the preallocated outputs the case asks for; what it returns is downloaded, and everything made on
 * the backend is freed. The outcome: a typed error, or the outputs as host arrays.
 */
function fuzzCall(be: Backend, where: string, outs: { out?: { dtype: DType; shape: number[] }; lse?: { dtype: DType; shape: number[] } },
  run: (dev: (t: Tensor, fp8?: boolean) => Tensor, out?: Tensor, lse?: Tensor, own?: (t: Tensor) => void) => Promise<{ out: Tensor; lse: Tensor }>) {
  const owned: Tensor[] = [];
  return outcome(where, async () => {
    try {
      const dev = (t: Tensor, fp8 = t.dtype === 'fp8_e4m3') => {
        const d = fp8 ? uploadFp8Cache(be, t) : be.upload(t as Tensor<Uint16Array>);
        if (d !== t) owned.push(d);
        return d;
      };
      const out = outs.out && be.empty(outs.out.dtype, outs.out.shape), lse = outs.lse && be.empty(outs.lse.dtype, outs.lse.shape);
      for (const t of [out, lse]) if (t) owned.push(t);
      const res = await run(dev, out, lse, (t) => { if (t.device !== 'cpu') owned.push(t); });
      for (const t of [res.out, res.lse]) if (!owned.includes(t)) owned.push(t);
      await be.synchronize();
      return { out: Uint16Array.from((await be.download(res.out)).host() as Uint16Array), lse: Float32Array.from((await be.download(res.lse)).host() as Float32Array) };
    } finally {
      if (be.kind !== 'cpu') for (const t of owned) be.free(t);
    }
  });
}

// ---------------------------------------------------------------- flashMlaSparseWithKvcache

interface SparseArgs {
  q: Arg; kCache: Arg; indices: Arg;
  topkLength?: Arg; attnSink?: Arg; extraKCache?: Arg; extraIndices?: Arg; extraTopkLength?: Arg;
  /** What the schedule is planned for (a caller may plan for other values than it passes). */
  plan: SparseMetadataInputs;
  /** A word of the planned metadata overwritten after planning. */
  patch?: { field: 'tileSchedulerMetadata' | 'numSplits'; i: number; v: number };
  out?: { dtype: DType; shape: number[] }; lse?: { dtype: DType; shape: number[] };
  headDimV: unknown; softmaxScale: unknown; precision: unknown;
  kind: SparseCacheKind; dQk: number;
}
type SparseKey = 'q' | 'kCache' | 'indices' | 'topkLength' | 'attnSink' | 'extraKCache' | 'extraIndices' | 'extraTopkLength';
const sparseKeys: SparseKey[] = ['q', 'kCache', 'indices', 'topkLength', 'attnSink', 'extraKCache', 'extraIndices', 'extraTopkLength'];

/** Indices [b, sQ, topk] into `tokens` tokens (some -1), the tokens they reach within each row's length added to `used`. */
function makeIndices(rng: Rng, b: number, sQ: number, topk: number, tokens: number, len: Int32Array | undefined, used: Set<number>): Int32Array {
  const ix = new Int32Array(b * sQ * topk);
  for (let i = 0; i < ix.length; i++) {
    const row = Math.floor(i / topk), pos = i % topk;
    ix[i] = rng.float() < 0.15 ? -1 : rng.int(0, tokens - 1);
    if (ix[i] >= 0 && (!len || pos < len[Math.floor(row / sQ)])) used.add(ix[i]);
  }
  return ix;
}

function baseSparse(rng: Rng, numSms: number): SparseArgs {
  const kind = rng.pick(['v32', 'model1', 'v32', 'model1', 'bf16', 'f16'] as SparseCacheKind[]);
  const dtype: HalfDType = kind === 'f16' ? 'f16' : kind === 'bf16' ? 'bf16' : rng.float() < 0.8 ? 'bf16' : 'f16';
  const dQk = kind === 'v32' ? 576 : kind === 'model1' ? 512 : rng.pick([512, 576]);
  const b = rng.int(1, 2), sQ = rng.int(1, 2), hQ = rng.pick([1, 2, 3]), topk = rng.pick([1, 5, 16, 33]), B = rng.pick([1, 2, 16]);
  const numBlocks = rng.int(1, Math.ceil(40 / B));
  const used = new Set<number>();
  const len = rng.float() < 0.4 ? Int32Array.from({ length: b }, () => rng.int(0, topk)) : undefined;
  const indices = makeIndices(rng, b, sQ, topk, numBlocks * B, len, used);
  const a: SparseArgs = {
    kind, dQk,
    q: { dtype, shape: [b, sQ, hQ, dQk], data: Uint16Array.from({ length: b * sQ * hQ * dQk }, () => (dtype === 'bf16' ? f32ToBf16 : f32ToF16)(rng.normal() * 0.5)) },
    kCache: undefined as unknown as Arg, indices: { dtype: 'i32', shape: [b, sQ, topk], data: indices },
    topkLength: len && { dtype: 'i32', shape: [b], data: len },
    attnSink: rng.float() < 0.3 ? { dtype: 'f32', shape: [hQ], data: Float32Array.from({ length: hQ }, () => rng.pick([rng.normal() * 3, Infinity, -Infinity, 5])) } : undefined,
    plan: { b, sQ, hQ, topk, topkLength: len && Int32Array.from(len), numSms },
    headDimV: 512, softmaxScale: rng.float() < 0.5 ? undefined : dQk ** -0.55, precision: rng.pick([undefined, 'fast', 'exact']),
  };
  if (rng.float() < 0.3) {
    const xTopk = rng.pick([1, 4]), xB = rng.pick([2, 16]), xBlocks = rng.int(1, 3), xUsed = new Set<number>();
    const xLen = rng.float() < 0.5 ? Int32Array.from({ length: b }, () => rng.int(0, xTopk)) : undefined;
    a.extraIndices = { dtype: 'i32', shape: [b, sQ, xTopk], data: makeIndices(rng, b, sQ, xTopk, xBlocks * xB, xLen, xUsed) };
    a.extraTopkLength = xLen && { dtype: 'i32', shape: [b], data: xLen };
    a.extraKCache = makeCache(rng, kind, dQk, xBlocks, xB, xUsed);
    a.plan.extraTopk = xTopk; a.plan.extraTopkLength = xLen && Int32Array.from(xLen);
  }
  a.kCache = makeCache(rng, kind, dQk, numBlocks, B, used);
  return a;
}

/** Plan again for what the (possibly changed) arguments say, as a caller that replans would. */
function replanSparse(a: SparseArgs): void {
  const [b, sQ, hQ] = a.q.shape;
  a.plan = {
    b, sQ, hQ, topk: a.indices.shape[2], topkLength: i32(a.topkLength) && Int32Array.from(i32(a.topkLength)!),
    extraTopk: a.extraIndices?.shape[2], extraTopkLength: i32(a.extraTopkLength) && Int32Array.from(i32(a.extraTopkLength)!), numSms: a.plan.numSms,
  };
}

function mutateSparse(a: SparseArgs, rng: Rng, arith: Arith): string {
  const key = () => rng.pick(sparseKeys.filter((k) => a[k]));
  switch (rng.int(0, 13)) {
    case 0: case 1: { const k = key(), s = mutateTensor(a[k]!, rng, k); if (rng.float() < 0.5) { replanSparse(a); return `${s} (replanned)`; } return s; }
    case 2: { // an index value
      const which = a.extraIndices && rng.float() < 0.3 ? 'extraIndices' : 'indices', t = i32(a[which]);
      if (!t || t.length === 0) return `${which} is no longer i32 data`;
      const c = which === 'indices' ? a.kCache : a.extraKCache;
      if (!c) return 'extraKCache was removed';
      const tokens = c.shape[0] * c.shape[1], i = rng.int(0, t.length - 1);
      t[i] = rng.pick([...hostileInts, tokens, tokens - 1, -2, 0]);
      return `${which}[${i}] = ${t[i]}`;
    }
    case 3: { // a length value (or a length tensor added), the schedule replanned or stale
      const which = a.extraIndices && rng.float() < 0.3 ? 'extraTopkLength' : 'topkLength', b = small(a.q.shape[0]);
      const width = small((which === 'topkLength' ? a.indices : a.extraIndices!).shape[2]);
      if (!a[which]) a[which] = { dtype: 'i32', shape: [b], data: Int32Array.from({ length: b }, () => rng.int(0, width)) };
      const t = i32(a[which]);
      if (!t || t.length === 0) return `${which} is no longer i32 data`;
      const i = rng.int(0, t.length - 1);
      t[i] = rng.pick([...hostileInts, width, width + 1, 0, t[i] - 1]);
      const re = rng.float() < 0.6;
      if (re) replanSparse(a);
      return `${which}[${i}] = ${t[i]} (${re ? 'replanned' : 'stale metadata'})`;
    }
    case 4: case 5: { // a word of the metadata, after planning
      const field = rng.float() < 0.6 ? 'tileSchedulerMetadata' : 'numSplits';
      const n = field === 'numSplits' ? (a.plan.b as number) + 1 : 8, i = rng.int(0, n - 1);
      a.patch = { field, i, v: rng.pick([...hostileInts, 0, 1, 2, 3, 5, 33]) };
      return `metadata.${field}[${i}] = ${a.patch.v} (after planning)`;
    }
    case 6: a.softmaxScale = hostileScale(rng, arith); return `softmaxScale = ${String(a.softmaxScale)}`;
    case 7: a.headDimV = rng.pick([...hostile, 511, 513, 576]); return `headDimV = ${String(a.headDimV)}`;
    case 8: a.precision = rng.pick(['fast', 'exact', 'x', 1, null, '']); return `precision = ${String(a.precision)}`;
    case 9: { // the sink: added, removed, other length, special values
      const hQ = small(a.q.shape[2]);
      const r = rng.int(0, 2);
      if (r === 0) { a.attnSink = undefined; return 'attnSink removed'; }
      const n = r === 1 ? hQ : rng.pick([hQ + 1, Math.max(0, hQ - 1), 1]);
      a.attnSink = { dtype: rng.float() < 0.8 ? 'f32' : 'bf16', shape: [n], data: Float32Array.from({ length: n }, () => rng.pick([0, -Infinity, Infinity, 88, -88, arith === 'f32' || arith === 'f64' ? NaN : 1])) };
      return `attnSink ${a.attnSink.dtype} [${n}] = [${Array.from(a.attnSink.data as Float32Array)}]`;
    }
    case 10: { // the extra cache's parts: one without the others, or the other format
      const r = rng.int(0, 3);
      if (r === 0) { a.extraKCache = undefined; return 'extraKCache removed'; }
      if (r === 1) { a.extraIndices = undefined; return 'extraIndices removed'; }
      const b = small(a.q.shape[0]), sQ = small(a.q.shape[1]);
      if (r === 2) { a.extraTopkLength = { dtype: 'i32', shape: [b], data: new Int32Array(b) }; return 'extraTopkLength = 0s'; }
      const other: SparseCacheKind = a.kind === 'v32' ? 'model1' : a.kind === 'model1' ? 'v32' : a.kind === 'bf16' ? 'f16' : 'bf16';
      const dQk = isFp8Format(other) ? fp8Layouts[other].dQk : a.dQk;
      a.extraKCache = makeCache(rng, other, dQk, 1, 2, new Set([0, 1]));
      if (!a.extraIndices) a.extraIndices = { dtype: 'i32', shape: [b, sQ, 1], data: new Int32Array(b * sQ) };
      return `extraKCache in ${other}`;
    }
    case 11: { // NaN / inf in q or in a token the call reads (not on an f32 WGSL kernel: WGSL need not keep NaN)
      if (arith === 'wgsl' || arith === 'gpu') return `no special values (${arith})`;
      if (rng.float() < 0.4) {
        const q = a.q.data as Uint16Array, i = rng.int(0, q.length - 1), v = rng.pick(a.q.dtype === 'f16' ? [0x7c00, 0xfc00, 0x7e00] : [0x7f80, 0xff80, 0x7fc0]);
        q[i] = v;
        return `q[${i}] = 0x${v.toString(16)}`;
      }
      const ix = i32(a.indices), len = i32(a.topkLength);
      if (!ix || !(a.kCache.data instanceof Uint8Array || a.kCache.data instanceof Uint16Array)) return 'no token to poison';
      const topk = a.indices.shape[2], reads = Array.from(ix.keys()).filter((i) => ix[i] >= 0 && (!len || i % topk < len[Math.floor(i / topk / a.q.shape[1])]));
      if (reads.length === 0) return 'no token read';
      return poisonToken(a.kCache, a.kind, a.dQk, ix[rng.pick(reads)], rng, arith);
    }
    case 12: { // preallocated outputs of the wrong shape or dtype
      const [b, sQ, hQ] = a.q.shape;
      if (rng.float() < 0.5) { a.out = { dtype: rng.pick([a.q.dtype, 'f32', a.q.dtype === 'bf16' ? 'f16' : 'bf16'] as DType[]), shape: rng.float() < 0.5 ? [b, sQ, hQ, 512] : [b, sQ, hQ, 576] }; return `out ${a.out.dtype} [${a.out.shape}]`; }
      a.lse = { dtype: rng.pick(['f32', 'bf16', 'i32'] as DType[]), shape: rng.float() < 0.5 ? [b, hQ, sQ] : [b, sQ, hQ + 1] };
      return `lse ${a.lse.dtype} [${a.lse.shape}]`;
    }
    default: { // the cache's format: bytes per token or storage; or a plan for another shape
      if (rng.float() < 0.5) return mutateFp8Bytes(rng.float() < 0.7 || !a.extraKCache ? a.kCache : a.extraKCache, rng, 'kCache');
      const f = rng.pick(['b', 'sQ', 'hQ', 'topk', 'numSms'] as const);
      a.plan = { ...a.plan, [f]: (a.plan[f] as number) + 1 };
      return `planned for ${f} + 1`;
    }
  }
}

/**
 * n cases of flashMlaSparseWithKvcache with corrupted arguments on `be` (kind: inline, workers, webgpu or cuda; it seeds
 * the cases and picks the arithmetic, arithOf); `only`: case `only` alone (a replay). A failure names FUZZ_SEED and the case.
 */
export async function fuzzSparse(be: Backend, kind: string, n: number, seed: number, only?: number): Promise<FuzzStats> {
  const stats: FuzzStats = { typed: 0, ran: 0, codes: {} };
  const arith = arithOf(be, kind);
  for (const i of fuzzCases(n, only)) {
    const rng = new Rng((seed ^ Math.imul(i + 1, 0x9e3779b1) ^ kind.length * 0x7654321) >>> 0);
    const a = baseSparse(rng, rng.pick([be.info.numSms, 1, 3, 132]));
    const steps = [mutateSparse(a, rng, arith)];
    if (rng.float() < 0.3) steps.push(mutateSparse(a, rng, arith));
    // A third of the GPU cases keep indices / extraIndices on the device: never read back, so an id outside the cache
    // (case 2) is accepted there and must count as -1 (the reference is given it so); lengths stay on the host.
    const onDevice = be.kind !== 'cpu' && rng.float() < 0.3;
    if (onDevice) steps.push('indices on the device');
    // Session 56: on a backend that plans sparse steps on the device, about 30 % of the cases (a generator of their own, so
    // that every other draw of a seed stays what it was) plan there with the lengths on the device too: never read back,
    // so a length outside 0..topk is accepted and counts clamped (as the reference reads it).
    const devicePlan = be.sparseDevicePlan === true && !a.patch && new Rng((seed * 977 + i * 131 + kind.length) >>> 0).float() < 0.3;
    if (devicePlan) steps.push('planned on the device, lengths there');
    const where = `FUZZ_SEED=${seed} ${kind} sparse case ${i}: ${steps.join('; ')}`;
    const r = await fuzzCall(be, where, a, async (dev, out, lse, own) => {
      const host = hostTensors(a, sparseKeys);
      if (onDevice) for (const k of ['indices', 'extraIndices'] as const) if (host[k]) host[k] = dev(host[k]!);
      if (devicePlan) for (const k of ['topkLength', 'extraTopkLength'] as const) if (host[k]) host[k] = dev(host[k]!);
      const x = host.extraKCache && dev(host.extraKCache);
      const meta = devicePlan
        ? getSparseMlaMetadata({ ...a.plan, topkLength: host.topkLength, extraTopkLength: host.extraTopkLength, backend: be, onDevice: true })
        : getSparseMlaMetadata(a.plan);
      for (const t of [meta.tileSchedulerMetadata, meta.numSplits, meta.planState]) if (t) own!(t);
      if (a.patch) (meta[a.patch.field].data as Int32Array)[a.patch.i] = a.patch.v;
      return flashMlaSparseWithKvcache(dev(host.q!), dev(host.kCache!), host.indices!, a.headDimV as number, meta, {
        softmaxScale: a.softmaxScale as number | undefined, precision: a.precision as 'fast' | undefined, topkLength: host.topkLength,
        attnSink: host.attnSink, extraKCache: x, extraIndices: host.extraIndices, extraTopkLength: host.extraTopkLength, backend: be, out, lse,
      });
    });
    if (!r.ok) { stats.typed++; stats.codes[r.error.code] = (stats.codes[r.error.code] ?? 0) + 1; continue; }
    stats.ran++;
    if (devicePlan) stats.devicePlanned = (stats.devicePlanned ?? 0) + 1;
    assert.equal(badScalar(a), undefined, `${where}: accepted`);
    const [b, sQ, hQ, dQk] = a.q.shape;
    const ref = referenceSparseDecode({
      q: a.q.data as Uint16Array, dtype: a.q.dtype as HalfDType, b, sQ, hQ, dQk, softmaxScale: a.softmaxScale as number | undefined,
      cache: refCache(a.kCache, dQk), indices: inCache(i32(a.indices)!, a.kCache), topk: a.indices.shape[2], topkLength: i32(a.topkLength),
      attnSink: a.attnSink?.data as Float32Array | undefined, extraCache: a.extraKCache && refCache(a.extraKCache, dQk),
      extraIndices: a.extraKCache && i32(a.extraIndices) && inCache(i32(a.extraIndices)!, a.extraKCache), extraTopk: a.extraIndices?.shape[2], extraTopkLength: i32(a.extraTopkLength),
    });
    const bad = differsFromReference(r.value.out, r.value.lse, ref, a.q.dtype as HalfDType, fuzzTolerance(arith, true), fuzzSlack(arith));
    assert.equal(bad, undefined, `${where}: accepted, but the output differs from the reference: ${bad}`);
  }
  return stats;
}

/** Indices as a backend reads them: an id outside the cache's tokens counts as -1 (accepted only on the device). */
function inCache(ix: Int32Array, cache: Arg): Int32Array {
  const tokens = cache.shape[0] * cache.shape[1];
  return ix.map((x) => (x >= 0 && x < tokens ? x : -1));
}

/** A scalar argument every call must refuse (whatever else it was given), or undefined. null is an option left out. */
function badScalar(a: { headDimV: unknown; softmaxScale: unknown; precision?: unknown; causal?: unknown }): string | undefined {
  if (a.headDimV !== 512) return `headDimV ${String(a.headDimV)}`;
  if (a.softmaxScale != null && !(typeof a.softmaxScale === 'number' && Number.isFinite(a.softmaxScale) && a.softmaxScale > 0)) return `softmaxScale ${String(a.softmaxScale)}`;
  if (a.precision != null && a.precision !== 'fast' && a.precision !== 'exact') return `precision ${String(a.precision)}`;
  if (a.causal != null && typeof a.causal !== 'boolean') return `causal ${String(a.causal)}`;
  return undefined;
}


// ---------------------------------------------------------------- flashMlaWithKvcache over an FP8 cache

interface DenseFp8Args {
  format: Fp8Format;
  q: Arg; kCache: Arg; blockTable: Arg; cacheSeqlens: Arg; meta: Arg; numSplits: Arg; qIndptr?: Arg;
  out?: { dtype: DType; shape: number[] }; lse?: { dtype: DType; shape: number[] };
  headDimV: unknown; softmaxScale: unknown; causal: unknown; numSms: number;
}
type DenseKey = 'q' | 'kCache' | 'blockTable' | 'cacheSeqlens' | 'meta' | 'numSplits' | 'qIndptr';
const denseKeys: DenseKey[] = ['q', 'kCache', 'blockTable', 'cacheSeqlens', 'meta', 'numSplits', 'qIndptr'];

/** The keys row j of sequence i sees: 0 .. n - 1 (the contract: causal queries see keys 0 .. seqlen - sQ + j). */
function visible(seqlen: number, sQ: number, j: number, causal: boolean): number {
  return Math.max(0, causal ? seqlen - sQ + j + 1 : seqlen);
}

function baseDenseFp8(rng: Rng, numSms: number): DenseFp8Args {
  const format = rng.pick(['v32', 'model1'] as const), dQk = fp8Layouts[format].dQk;
  const dtype: HalfDType = rng.float() < 0.8 ? 'bf16' : 'f16';
  const b = rng.int(1, 2), sQ = rng.int(1, 2), hQ = rng.pick([1, 2, 3]), B = rng.pick([1, 2, 16, 64]), causal = rng.float() < 0.7;
  const seqlens = Int32Array.from({ length: b }, () => rng.pick([0, 1, rng.int(1, 40)]));
  const maxBlocksPerSeq = Math.max(1, ...Array.from(seqlens, (s) => Math.ceil(s / B))) + rng.int(0, 1);
  const numBlocks = b * maxBlocksPerSeq + rng.int(0, 1);
  const pages = rng.shuffle(Array.from({ length: numBlocks }, (_, i) => i));
  // Junk past each row's pages: the call must not read it (hostile page ids are there too).
  const table = Int32Array.from({ length: b * maxBlocksPerSeq }, () => rng.pick([-1, numBlocks, 2 ** 30]));
  const used = new Set<number>();
  for (let i = 0; i < b; i++) {
    for (let p = 0; p < Math.ceil(seqlens[i] / B); p++) table[i * maxBlocksPerSeq + p] = pages[i * maxBlocksPerSeq + p];
    for (let t = 0; t < seqlens[i]; t++) used.add(table[i * maxBlocksPerSeq + Math.floor(t / B)] * B + (t % B));
  }
  const md = getMlaMetadata(seqlens, sQ * hQ, 1, { numSms });
  return {
    format,
    q: { dtype, shape: [b, sQ, hQ, dQk], data: Uint16Array.from({ length: b * sQ * hQ * dQk }, () => (dtype === 'bf16' ? f32ToBf16 : f32ToF16)(rng.normal() * 0.5)) },
    kCache: makeCache(rng, format, dQk, numBlocks, B, used),
    blockTable: { dtype: 'i32', shape: [b, maxBlocksPerSeq], data: table },
    cacheSeqlens: { dtype: 'i32', shape: [b], data: seqlens },
    meta: { dtype: 'i32', shape: [...md.tileSchedulerMetadata.shape], data: md.tileSchedulerMetadata.host() },
    numSplits: { dtype: 'i32', shape: [b + 1], data: md.numSplits.host() },
    headDimV: 512, softmaxScale: rng.float() < 0.5 ? undefined : 0.05 + rng.float() * 0.1, causal, numSms,
  };
}

function replanDense(a: DenseFp8Args): void {
  const s = i32(a.cacheSeqlens);
  if (!s || s.some((x) => x < 0 || x > 2 ** 20)) return; // (refused by the call anyway; planning them is slow)
  try {
    const md = getMlaMetadata(s, a.q.shape[1] * a.q.shape[2], 1, { numSms: a.numSms });
    a.meta = { dtype: 'i32', shape: [...md.tileSchedulerMetadata.shape], data: md.tileSchedulerMetadata.host() };
    a.numSplits = { dtype: 'i32', shape: [...md.numSplits.shape], data: md.numSplits.host() };
  } catch { /* a refused plan keeps the stale metadata: the call must then refuse too */ }
}

function mutateDenseFp8(a: DenseFp8Args, rng: Rng, arith: Arith): string {
  const key = () => rng.pick(denseKeys.filter((k) => a[k]));
  switch (rng.int(0, 11)) {
    case 0: case 1: { const k = key(); return mutateTensor(a[k]!, rng, k); }
    case 2: { // a page id
      const bt = i32(a.blockTable);
      if (!bt || bt.length === 0) return 'blockTable is no longer i32 data';
      const i = rng.int(0, bt.length - 1);
      bt[i] = rng.pick([...hostileInts, a.kCache.shape[0], a.kCache.shape[0] - 1]);
      return `blockTable[${i}] = ${bt[i]}`;
    }
    case 3: { // a length, replanned or stale
      const s = i32(a.cacheSeqlens);
      if (!s || s.length === 0) return 'cacheSeqlens is no longer i32 data';
      const i = rng.int(0, s.length - 1), cap = a.blockTable.shape[1] * a.kCache.shape[1];
      s[i] = rng.pick([...hostileInts, s[i] + 1, s[i] - 1, cap, cap + 1, 0]);
      const re = rng.float() < 0.6;
      if (re) replanDense(a);
      return `cacheSeqlens[${i}] = ${s[i]} (${re ? 'replanned' : 'stale metadata'})`;
    }
    case 4: { // a metadata word
      const which = rng.float() < 0.6 ? 'meta' : 'numSplits', m = i32(a[which]);
      if (!m || m.length === 0) return `${which} is no longer i32 data`;
      const i = rng.int(0, m.length - 1);
      m[i] = rng.pick([...hostileInts, m[i] + 1, m[i] - 1]);
      return `${which}[${i}] = ${m[i]}`;
    }
    case 5: a.softmaxScale = hostileScale(rng, arith); return `softmaxScale = ${String(a.softmaxScale)}`;
    case 6: a.headDimV = rng.pick([...hostile, 511, 513, 576]); return `headDimV = ${String(a.headDimV)}`;
    case 7: a.causal = rng.pick([true, false, 1, 0, 'yes', null]); return `causal = ${String(a.causal)}`;
    case 8: { // per-request query lengths: not with an FP8 cache
      const b = small(a.q.shape[0]);
      a.qIndptr = { dtype: 'i32', shape: [b + 1], data: Int32Array.from({ length: b + 1 }, (_, i) => i) };
      return 'qIndptr given';
    }
    case 9: { // NaN / inf in q or in a key a row reads
      if (arith === 'wgsl' || arith === 'gpu') return `no special values (${arith})`;
      if (rng.float() < 0.4) {
        const q = a.q.data as Uint16Array, i = rng.int(0, q.length - 1);
        q[i] = rng.pick(a.q.dtype === 'f16' ? [0x7c00, 0xfc00, 0x7e00] : [0x7f80, 0xff80, 0x7fc0]);
        return `q[${i}] = 0x${q[i].toString(16)}`;
      }
      const s = i32(a.cacheSeqlens), bt = i32(a.blockTable);
      if (!s || !bt || !(a.kCache.data instanceof Uint8Array)) return 'no token to poison';
      const i = rng.int(0, s.length - 1), B = a.kCache.shape[1];
      if (!(s[i] > 0 && s[i] <= a.blockTable.shape[1] * B)) return 'no key to poison';
      const t = rng.int(0, s[i] - 1), blk = bt[i * a.blockTable.shape[1] + Math.floor(t / B)];
      if (!(blk >= 0 && blk < a.kCache.shape[0])) return 'no key to poison';
      return poisonToken(a.kCache, a.format, fp8Layouts[a.format].dQk, blk * B + (t % B), rng, arith);
    }
    case 10: { // preallocated outputs of the wrong shape or dtype
      const [b, sQ, hQ] = a.q.shape;
      if (rng.float() < 0.5) { a.out = { dtype: rng.pick([a.q.dtype, 'f32'] as DType[]), shape: rng.float() < 0.5 ? [b, sQ, hQ, 512] : [b, sQ, hQ, 576] }; return `out ${a.out.dtype} [${a.out.shape}]`; }
      a.lse = { dtype: rng.pick(['f32', 'i32'] as DType[]), shape: rng.float() < 0.5 ? [b, hQ, sQ] : [b, sQ, hQ + 1] };
      return `lse ${a.lse.dtype} [${a.lse.shape}]`;
    }
    default: return mutateFp8Bytes(a.kCache, rng, 'kCache');
  }
}

/** n cases of flashMlaWithKvcache over an FP8 cache with corrupted arguments; as fuzzSparse. */
export async function fuzzDenseFp8(be: Backend, kind: string, n: number, seed: number, only?: number): Promise<FuzzStats> {
  const stats: FuzzStats = { typed: 0, ran: 0, codes: {} };
  const arith = arithOf(be, kind);
  for (const i of fuzzCases(n, only)) {
    const rng = new Rng((seed ^ Math.imul(i + 1, 0x85ebca6b) ^ kind.length * 0x1234567) >>> 0);
    const a = baseDenseFp8(rng, rng.pick([be.info.numSms, 1, 3, 132]));
    const steps = [mutateDenseFp8(a, rng, arith)];
    if (rng.float() < 0.3) steps.push(mutateDenseFp8(a, rng, arith));
    const where = `FUZZ_SEED=${seed} ${kind} dense FP8 case ${i}: ${steps.join('; ')}`;
    const r = await fuzzCall(be, where, a, async (dev, out, lse) => {
      const host = hostTensors(a, denseKeys);
      return flashMlaWithKvcache(dev(host.q!, false), dev(host.kCache!), host.blockTable!, host.cacheSeqlens!, a.headDimV as number, host.meta!, host.numSplits!, {
        softmaxScale: a.softmaxScale as number | undefined, causal: a.causal as boolean | undefined, qIndptr: host.qIndptr, backend: be, out, lse,
      });
    });
    if (!r.ok) { stats.typed++; stats.codes[r.error.code] = (stats.codes[r.error.code] ?? 0) + 1; continue; }
    stats.ran++;
    assert.equal(badScalar(a), undefined, `${where}: accepted`);
    // The reference: every key a row sees, by the block table, as a sparse list (built here, not by the library).
    const [b, sQ, hQ, dQk] = a.q.shape, B = a.kCache.shape[1], width = a.blockTable.shape[1];
    const s = a.cacheSeqlens.data as Int32Array, bt = a.blockTable.data as Int32Array, causal = (a.causal as boolean | undefined) ?? true;
    const topk = Math.max(1, ...Array.from(s));
    const indices = new Int32Array(b * sQ * topk).fill(-1);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < sQ; j++) {
        for (let t = 0; t < visible(s[i], sQ, j, causal); t++) indices[(i * sQ + j) * topk + t] = bt[i * width + Math.floor(t / B)] * B + (t % B);
      }
    }
    const ref = referenceSparseDecode({
      q: a.q.data as Uint16Array, dtype: a.q.dtype as HalfDType, b, sQ, hQ, dQk, softmaxScale: a.softmaxScale as number | undefined,
      cache: refCache(a.kCache, dQk), indices, topk,
    });
    // (a length or page mutation may put NaN-poisoned tokens in a causal band: causalBandNaN)
    const fmt = a.format, tok = new Float64Array(dQk);
    const band = causalBandKernel(be, arith) ? causalBandNaN({
      b, hQ, causal, seqlen: (i) => s[i], qStart: (i) => i * sQ, qLen: () => sQ,
      vOf: (i, t) => {
        const blk = bt[i * width + Math.floor(t / B)];
        if (!(blk >= 0 && blk < a.kCache.shape[0])) return undefined;
        dequantizeToken(fmt, a.kCache.data as Uint8Array, B, blk, t % B, tok);
        return tok;
      },
    }, r.value.out.length / 512) : undefined;
    const bad = differsFromReference(r.value.out, r.value.lse, ref, a.q.dtype as HalfDType, fuzzTolerance(arith, true), fuzzSlack(arith), 512, band);
    assert.equal(bad, undefined, `${where}: accepted, but the output differs from the reference: ${bad}`);
  }
  return stats;
}


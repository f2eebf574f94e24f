// Token-sparse MLA decode: FlashMLA's sparse flash_mla_with_kvcache (indices, topk_length, attn_sink, extra cache)
// in camelCase, over an FP8 cache in either of FlashMLA's formats or over a bf16/f16 cache. Validation runs
// on shapes and host values before any work is queued; the scheduler metadata records what it was planned for.
import { dV, defaultNumSms } from './constants.js';
import { type HalfDType } from './dtype.js';
import { FlashMlaError, fmtShape, invalidArgument } from './errors.js';
import { type Fp8Format, checkFp8Format, fp8BlockStride, fp8FormatForBytes, fp8FormatForDqk, fp8Layouts } from './fp8.js';
import type { Backend } from './problem.js';
import { planSparseSchedule, sparseNumSmParts } from './sparse-scheduler.js';
import { type DeviceStorage, Tensor, fromArray, isHostArray } from './tensor.js';
import { checkDtype, checkPositiveInt, checkRank, checkShape, hostI32 } from './validate.js';

/** How a cache stores its tokens: one of FlashMLA's FP8 formats, or plain 16-bit floats. */
export type SparseCacheKind = Fp8Format | HalfDType;

export interface SparseCacheDesc {
  kind: SparseCacheKind;
  numBlocks: number;
  pageBlockSize: number;
  /** FP8: bytes from one page block to the next; bf16/f16: elements (pageBlockSize * dQk). */
  blockStride: number;
}

/** One validated sparse decode call. Names follow FlashMLA. */
export interface SparseProblem {
  b: number;
  sQ: number;
  hQ: number;
  dQk: number;
  dV: number;
  topk: number;
  /** 0 without an extra cache. */
  extraTopk: number;
  /** q's dtype, and out's. */
  dtype: HalfDType;
  softmaxScale: number;
  numSmParts: number;
  cache: SparseCacheDesc;
  extraCache?: SparseCacheDesc;
  hasTopkLength: boolean;
  hasExtraTopkLength: boolean;
  hasAttnSink: boolean;
  /** How the softmax weights enter P·V: SparseDecodeOptions.precision, 'fast' unless asked otherwise. */
  precision: SparsePrecision;
  /** The metadata is planned on the device by the call itself (getSparseMlaMetadata's onDevice with lengths). */
  devicePlan: boolean;
}

/** Everything a backend needs for one sparse decode; tensors live on the backend's device (index tensors may be host). */
export interface SparseCall {
  problem: SparseProblem;
  q: Tensor; // [b, sQ, hQ, dQk]
  kCache: Tensor; // [numBlocks, pageBlockSize, 1, bytesPerToken] fp8_e4m3 bytes, or [.., dQk] bf16/f16
  indices: Tensor; // [b, sQ, topk] i32, physical token ids, -1 invalid
  topkLength?: Tensor; // [b] i32
  attnSink?: Tensor; // [hQ] f32
  extraKCache?: Tensor;
  extraIndices?: Tensor; // [b, sQ, extraTopk] i32
  extraTopkLength?: Tensor; // [b] i32
  tileSchedulerMetadata: Tensor; // [numSmParts, 8] i32
  numSplits: Tensor; // [b + 1] i32
  out: Tensor; // [b, sQ, hQ, dV] q's dtype
  lse: Tensor; // [b, hQ, sQ] f32
  /** Host copies where they exist; the metadata's only where the host planned the step (not problem.devicePlan). */
  host?: { topkLength?: Int32Array; extraTopkLength?: Int32Array; tileSchedulerMetadata?: Int32Array; numSplits?: Int32Array };
  /** problem.devicePlan: SparseMlaMetadata.planState, where the metadata has one. */
  planState?: Tensor;
}

/** What a sparse schedule was planned for; a call with other values is refused ('metadata_mismatch'). */
export interface SparsePlanKey {
  b: number;
  sQ: number;
  hQ: number;
  topk: number;
  extraTopk: number;
  topkLength?: Int32Array;
  extraTopkLength?: Int32Array;
  numSms: number;
  /**
   * getSparseMlaMetadata's onDevice: the tensors are the backend's, topkLength / extraTopkLength are absent, and
   * hasTopkLength / hasExtraTopkLength say whether a call passes them (with either, each call plans on the device from
   * its own lengths; with neither, the host planned once).
   */
  onDevice?: boolean;
  hasTopkLength?: boolean;
  hasExtraTopkLength?: boolean;
}

export interface SparseMlaMetadata {
  /** [numSmParts, 8] i32: FlashMLA's DecodingSchedMeta rows (field 7, padding, is 0). On the backend's device where
      planned onDevice (each call writes its plan there before its decode reads it). */
  tileSchedulerMetadata: Tensor<Int32Array>;
  /** [b + 1] i32 cumulative split counts (on the device where planned onDevice). */
  numSplits: Tensor<Int32Array>;
  plannedFor: SparsePlanKey;
  /** onDevice with lengths: [4 + b] i32 on the device, the record of the plan in the tensors (1, b, parts, 0, then each
      request's 64-entry blocks as last planned; a call whose lengths give the same blocks, e.g. a step's later layers,
      skips the walk); the backend's to read and write. */
  planState?: Tensor<Int32Array>;
  /** onDevice without lengths: the plan's words as the host made them (they were written to the device tensors once). */
  planned?: { tileSchedulerMetadata: Int32Array; numSplits: Int32Array };
}

export interface SparseMetadataInputs {
  b: number;
  sQ: number;
  hQ: number;
  /** indices.shape[2]. */
  topk: number;
  topkLength?: Tensor | Int32Array;
  /** extraIndices.shape[2]; 0 or absent without an extra cache. */
  extraTopk?: number;
  extraTopkLength?: Tensor | Int32Array;
  /** Default: backend.info.numSms, else 132 (an H100/H200). */
  numSms?: number;
  backend?: Backend;
  /**
   * Metadata on the device (CUDA: Backend.sparseDevicePlan), its tensors allocated on `backend` (freeSparseMlaMetadata
   * frees them). With lengths, each decode that uses it first writes FlashMLA's plan for the lengths it is given into
   * them, by a kernel queued before its decode (its walk skipped where the lengths are those planned last); without, the
   * plan depends on the shapes alone and is written once, here. Lengths may then be device tensors, values unread by the
   * host, and the metadata serves every step of the same b, sQ, hQ, topk and extraTopk (and the same presence of
   * topkLength / extraTopkLength), so a step can be captured into a CUDA graph and replayed with new lengths and
   * indices. Default: true where a length given here is a device tensor, else false.
   */
  onDevice?: boolean;
}

function lengths(name: string, t: Tensor | Int32Array | undefined, b: number, max: number): Int32Array | undefined {
  if (t === undefined) return undefined;
  if (!(t instanceof Int32Array)) {
    checkDtype(name, t, ['i32']);
    checkShape(name, t, [b], '[b]');
  }
  const v = hostI32(t);
  if (!v) throw invalidArgument(name, 'a host tensor (the host scheduler reads its values; onDevice plans on the device)', `a ${(t as Tensor).device} tensor`);
  if (v.length !== b) throw invalidArgument(name, `${b} values ([b])`, String(v.length));
  for (let i = 0; i < b; i++) {
    if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] > max) throw invalidArgument(`${name}[${i}]`, `an integer in 0..${max} (at most the top-k width)`, String(v[i]));
  }
  return Int32Array.from(v);
}

/**
 * Plan a sparse decode step exactly as FlashMLA's scheduler does (same rows and numSplits for the same SM
 * count). FlashMLA's get_mla_metadata() plans inside the first call; here the plan is explicit and reusable for
 * every layer with the same b, sQ, hQ, topk and length values.
 */
export function getSparseMlaMetadata(m: SparseMetadataInputs): SparseMlaMetadata {
  checkPositiveInt('b', m.b);
  checkPositiveInt('sQ', m.sQ);
  checkPositiveInt('hQ', m.hQ);
  checkPositiveInt('topk', m.topk);
  const extraTopk = m.extraTopk ?? 0;
  if (extraTopk !== 0) checkPositiveInt('extraTopk', extraTopk);
  if (m.extraTopkLength !== undefined && extraTopk === 0) throw invalidArgument('extraTopkLength', 'no value without an extra cache (extraTopk = 0)', 'a tensor');
  const numSms = m.numSms ?? m.backend?.info.numSms ?? defaultNumSms;
  checkPositiveInt('numSms', numSms);
  const onDeviceLengths = [m.topkLength, m.extraTopkLength].some((t) => t instanceof Tensor && t.device !== 'cpu');
  if (m.onDevice ?? onDeviceLengths) return deviceSparseMetadata(m, extraTopk, numSms);
  const topkLength = lengths('topkLength', m.topkLength, m.b, m.topk);
  const extraTopkLength = lengths('extraTopkLength', m.extraTopkLength, m.b, extraTopk);
  const s = planSparseSchedule({ b: m.b, topk: m.topk, topkLength, extraTopk, extraTopkLength }, sparseNumSmParts(numSms, m.sQ, m.hQ));
  return {
    tileSchedulerMetadata: fromArray('i32', [s.numSmParts, 8], s.tileSchedulerMetadata),
    numSplits: fromArray('i32', [m.b + 1], s.numSplits),
    plannedFor: { b: m.b, sQ: m.sQ, hQ: m.hQ, topk: m.topk, extraTopk, topkLength, extraTopkLength, numSms },
  };
}

/**
 * getSparseMlaMetadata's onDevice form: the key and the two tensors on the backend. With lengths, no plan yet (each call
 * writes the plan for its lengths) and a plan record (planState) marked "none"; without, the plan depends on the shapes
 * alone: made here on the host and written to the tensors once.
 */
function deviceSparseMetadata(m: SparseMetadataInputs, extraTopk: number, numSms: number): SparseMlaMetadata {
  const be = m.backend;
  if (!be?.sparseDevicePlan) {
    throw invalidArgument('backend', 'a backend that plans sparse steps on the device (CUDA) for onDevice metadata or device length tensors',
      be ? `the ${be.kind} backend (it plans on the host: pass host lengths)` : 'none');
  }
  for (const [name, t, max] of [['topkLength', m.topkLength, m.topk], ['extraTopkLength', m.extraTopkLength, extraTopk]] as const) {
    if (t === undefined) continue;
    if (t instanceof Tensor && t.device !== 'cpu') {
      checkDtype(name, t, ['i32']);
      checkShape(name, t, [m.b], '[b]');
      if (t.device !== be.kind) throw invalidArgument(name, `a tensor on ${be.kind} or the host`, t.device);
    } else lengths(name, t, m.b, max); // (host values: checked as for a host plan, not kept)
  }
  const numSmParts = sparseNumSmParts(numSms, m.sQ, m.hQ), withLengths = m.topkLength !== undefined || m.extraTopkLength !== undefined;
  const owned: Tensor[] = [];
  const alloc = (shape: number[]) => { const t = be.empty('i32', shape) as Tensor<Int32Array>; owned.push(t); return t; };
  try {
    const tileSchedulerMetadata = alloc([numSmParts, 8]), numSplits = alloc([m.b + 1]);
    const plannedFor: SparsePlanKey = {
      b: m.b, sQ: m.sQ, hQ: m.hQ, topk: m.topk, extraTopk, numSms, onDevice: true,
      hasTopkLength: m.topkLength !== undefined, hasExtraTopkLength: m.extraTopkLength !== undefined,
    };
    if (withLengths) {
      const planState = alloc([4 + m.b]);
      be.write(planState, fromArray('i32', [4 + m.b], new Int32Array(4 + m.b))); // (word 0 = 0: not planned yet)
      return { tileSchedulerMetadata, numSplits, planState, plannedFor };
    }
    const s = planSparseSchedule({ b: m.b, topk: m.topk, extraTopk }, numSmParts);
    be.write(tileSchedulerMetadata, fromArray('i32', [numSmParts, 8], s.tileSchedulerMetadata));
    be.write(numSplits, fromArray('i32', [m.b + 1], s.numSplits));
    return { tileSchedulerMetadata, numSplits, plannedFor, planned: { tileSchedulerMetadata: s.tileSchedulerMetadata, numSplits: s.numSplits } };
  } catch (e) {
    for (const t of owned) be.free(t);
    throw e;
  }
}

/** Free the device tensors of metadata made with onDevice (host metadata: nothing to free). */
export function freeSparseMlaMetadata(meta: SparseMlaMetadata, backend: Backend): void {
  for (const t of [meta.tileSchedulerMetadata, meta.numSplits, meta.planState]) if (t && t.device !== 'cpu') backend.free(t);
}

/** A host FP8 cache tensor [numBlocks, pageBlockSize, 1, bytesPerToken] over numBlocks * blockStride bytes. */
export function fp8CacheTensor(format: Fp8Format, numBlocks: number, pageBlockSize: number, bytes?: Uint8Array): Tensor<Uint8Array> {
  checkFp8Format('format', format);
  checkPositiveInt('numBlocks', numBlocks);
  checkPositiveInt('pageBlockSize', pageBlockSize);
  const need = numBlocks * fp8BlockStride(format, pageBlockSize);
  const data = bytes ?? new Uint8Array(need);
  if (data.length < need) throw invalidArgument('bytes', `at least ${need} bytes (${numBlocks} blocks of ${fp8BlockStride(format, pageBlockSize)})`, String(data.length));
  return new Tensor('fp8_e4m3', [numBlocks, pageBlockSize, 1, fp8Layouts[format].bytesPerToken], data);
}

/**
 * Copy a host FP8 cache to a backend. backend.upload() copies only the elements the shape counts, and a MODEL1
 * block is longer than pageBlockSize * 584 bytes: this copies every block's full stride and keeps the view.
 */
export function uploadFp8Cache(backend: Backend, t: Tensor): Tensor {
  const format = fp8FormatForBytes(t.shape[3]);
  if (t.dtype !== 'fp8_e4m3' || t.shape.length !== 4 || !format) {
    throw invalidArgument('kCache', 'an fp8_e4m3 tensor [numBlocks, pageBlockSize, 1, 656 | 584]', `${t.dtype} ${fmtShape(t.shape)}`);
  }
  const bytes = t.shape[0] * fp8BlockStride(format, t.shape[1]);
  const src = t.host() as Uint8Array;
  const all = (t.data as Uint8Array).subarray(t.offset, t.offset + bytes);
  if (all.length < bytes) throw invalidArgument('kCache', `storage of ${bytes} bytes`, String(src.length));
  // (uploaded as [numBlocks, stride]: a backend that splits a large tensor between outer rows then splits it between blocks)
  const d = backend.upload(fromArray('fp8_e4m3', [t.shape[0], bytes / t.shape[0]], all));
  return new Tensor('fp8_e4m3', t.shape, d.data, d.offset);
}

function storageBytes(t: Tensor): number {
  return isHostArray(t.data) ? t.data.byteLength : (t.data as DeviceStorage).byteLength;
}

/**
 * Check a cache tensor of a sparse call (or of a dense call over an FP8 cache, core/dense-fp8.ts): rank, hKv = 1, q's
 * device, bytes per token or dQk, and that its storage holds every block's full stride; returns what it describes.
 */
export function describeCache(name: string, t: Tensor, q: Tensor, dQk: number): SparseCacheDesc {
  checkRank(name, t, 4, '[numBlocks, pageBlockSize, hKv, bytesPerToken or dQk]');
  const [numBlocks, pageBlockSize, hKv, last] = t.shape;
  if (numBlocks < 1) throw invalidArgument(name, 'at least one page block', fmtShape(t.shape));
  checkPositiveInt(`${name}.shape[1] (pageBlockSize)`, pageBlockSize);
  if (hKv !== 1) throw invalidArgument(name, 'hKv = 1 (shape[2]; sparse decode is MQA, as in FlashMLA)', String(hKv));
  if (t.device !== q.device) throw invalidArgument(name, `a tensor on ${q.device} (where q is)`, t.device);
  if (t.dtype === 'fp8_e4m3') {
    const format = fp8FormatForDqk(dQk);
    if (!format) throw invalidArgument('q', 'dQk 576 (V3.2 FP8 cache) or 512 (MODEL1 FP8 cache)', String(dQk));
    const L = fp8Layouts[format];
    if (last !== L.bytesPerToken) {
      throw invalidArgument(name, `${L.bytesPerToken} bytes per token (shape[3]; the ${format === 'v32' ? 'V3.2' : 'MODEL1'} format that dQk = ${dQk} selects)`,
        `${last}${fp8FormatForBytes(last) ? ` (the ${fp8FormatForBytes(last) === 'v32' ? 'V3.2' : 'MODEL1'} size)` : ''}`);
    }
    const blockStride = fp8BlockStride(format, pageBlockSize);
    const need = t.byteOffset + numBlocks * blockStride;
    if (storageBytes(t) < need) {
      throw invalidArgument(name, `storage of ${need} bytes (${numBlocks} blocks of ${blockStride}${format === 'model1' ? ', MODEL1 pads a block to a multiple of 576' : ''})`, `${storageBytes(t)}`);
    }
    return { kind: format, numBlocks, pageBlockSize, blockStride };
  }
  if (t.dtype !== 'bf16' && t.dtype !== 'f16') throw invalidArgument(name, 'dtype fp8_e4m3 (FP8 bytes), bf16 or f16', t.dtype);
  if (t.dtype !== q.dtype) throw invalidArgument(name, `dtype ${q.dtype} (q's dtype) for a 16-bit cache`, t.dtype);
  if (last !== dQk) throw invalidArgument(name, `shape[3] = dQk = ${dQk} (q's head dimension)`, String(last));
  return { kind: t.dtype, numBlocks, pageBlockSize, blockStride: pageBlockSize * dQk };
}

/**
 * The token counts the GPU kernels bound sparse indices by (numBlocks * pageBlockSize of each cache; 0 without an extra
 * cache). Index tensors left on the device are never read back for checking (checkIndexValues sees host ones only), so
 * the CUDA and WebGPU kernels count an id outside 0..count-1 as -1: whatever the caller's indices hold, nothing outside
 * the caches is read.
 */
export function sparseTokenCounts(p: { cache: Pick<SparseCacheDesc, 'numBlocks' | 'pageBlockSize'>; extraCache?: Pick<SparseCacheDesc, 'numBlocks' | 'pageBlockSize'> }): { numTokens: number; extraNumTokens: number } {
  const count = (c: Pick<SparseCacheDesc, 'numBlocks' | 'pageBlockSize'>) => Math.min(c.numBlocks * c.pageBlockSize, 0x7fffffff);
  return { numTokens: count(p.cache), extraNumTokens: p.extraCache ? count(p.extraCache) : 0 };
}

/**
 * Division by a page block size b (1 <= b < 2^31) as a multiply-high, for kernels that form a token's page from its id:
 * with s = ceil(log2 b) and m = ceil(2^(31 + s) / b) (below 2^32), floor(x / b) = floor(2x m / 2^32) >> s for every
 * 0 <= x < 2^31. (x m / 2^(31 + s) exceeds x / b by x e / (b 2^(31 + s)) with e = m b - 2^(31 + s) < b: less than
 * 2^-s <= 1 / b, too little to reach the next integer.) magic is m's bit pattern as an int32.
 */
export function pageBlockDivisor(b: number): { magic: number; shift: number } {
  if (!Number.isInteger(b) || b < 1 || b > 0x7fffffff) throw new RangeError(`pageBlockDivisor: b must be an integer in 1..2^31-1, got ${b}`);
  const shift = b > 1 ? 32 - Math.clz32(b - 1) : 0;
  const big = BigInt(b);
  const m = ((1n << BigInt(31 + shift)) + big - 1n) / big;
  return { magic: Number(BigInt.asIntN(32, m)), shift };
}

/** The page-size division constants of both caches, as the CUDA sparse parameter block names them (pageBlockDivisor). */
export function pageBlockDivisors(p: { cache: Pick<SparseCacheDesc, 'pageBlockSize'>; extraCache?: Pick<SparseCacheDesc, 'pageBlockSize'> }): {
  pageBlockMagic: number; pageBlockShift: number; extraPageBlockMagic: number; extraPageBlockShift: number;
} {
  const d = pageBlockDivisor(p.cache.pageBlockSize), x = pageBlockDivisor(p.extraCache?.pageBlockSize ?? 1);
  return { pageBlockMagic: d.magic, pageBlockShift: d.shift, extraPageBlockMagic: x.magic, extraPageBlockShift: x.shift };
}

function checkIndexValues(name: string, t: Tensor, tokens: number): void {
  const v = hostI32(t);
  if (!v) return; // device indices are not read back: the kernels count an id outside the cache as -1 (sparseTokenCounts)
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < -1 || x >= tokens) {
      const last = t.shape[2], row = Math.floor(i / last);
      throw invalidArgument(`${name}[${Math.floor(row / t.shape[1])}, ${row % t.shape[1]}, ${i % last}]`,
        `-1 (invalid) or a physical token id in 0..${tokens - 1} (numBlocks * pageBlockSize)`, String(x));
    }
  }
}

function sameLengths(a?: Int32Array, b?: Int32Array): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * How the softmax weights P enter the P·V product of sparse decode.
 * - 'fast' (the default): a backend may round each weight to the query dtype first, as FlashMLA does. On bf16 that moves
 *   a weight by at most 2^-8 of itself, so an output element by at most 2^-8 · Σ p|v| / Σ p (the weighted mean of the
 *   |values| it averages) beyond the f32 accumulation. The Hopper CUDA kernel (sparse_sm90) does this.
 * - 'exact': weights kept to 2^-16 or better (the Hopper kernel passes each as two bf16 parts, hi + lo: one more P·V
 *   product, about 7 % more time on the H200). Worth it where a few tokens with large values carry most of the mass
 *   and the output is a small difference of them.
 * CPU, WebGPU's direct kernel and the CUDA kernels before sm_90 always compute at least as precisely as 'exact'. WebGPU's
 * gathered path (the default for 'fast' on devices with subgroup matrices: kernels/sparse-gather.ts) rounds P to f16
 * (2^-11) and holds FP8 keys and values as bf16; 'exact' runs the direct kernel there.
 */
export type SparsePrecision = 'fast' | 'exact';

export interface SparseDecodeOptions {
  /** Default dQk^-0.5 (FlashMLA's default). */
  softmaxScale?: number;
  /** 'fast' (default, FlashMLA's rounding of P) or 'exact'; see SparsePrecision. */
  precision?: SparsePrecision;
  /** [b] i32: only indices[i, :, :topkLength[i]] count. */
  topkLength?: Tensor;
  /** [hQ] f32: out *= 1 / (1 + exp(sink - lse)); lse unchanged; +Infinity gives out 0. */
  attnSink?: Tensor;
  /** A second cache of the same format (its own page size), attended jointly with the main one. */
  extraKCache?: Tensor;
  /** [b, sQ, extraTopk] i32 into extraKCache. */
  extraIndices?: Tensor;
  /** [b] i32 for the extra cache. */
  extraTopkLength?: Tensor;
  backend?: Backend;
  out?: Tensor;
  lse?: Tensor;
}

export interface SparseInputs extends SparseDecodeOptions {
  q: Tensor;
  kCache: Tensor;
  indices: Tensor;
  headDimV: number;
  metadata: SparseMlaMetadata;
}

/** Check a sparse decode call (dtypes, then shapes, then host values, then the plan) and describe it. */
export function validateSparseDecode(a: SparseInputs): SparseProblem {
  const { q, kCache, indices } = a;
  checkDtype('q', q, ['bf16', 'f16']);
  checkDtype('indices', indices, ['i32']);
  if (a.topkLength) checkDtype('topkLength', a.topkLength, ['i32']);
  if (a.attnSink) checkDtype('attnSink', a.attnSink, ['f32']);
  if (a.extraIndices) checkDtype('extraIndices', a.extraIndices, ['i32']);
  if (a.extraTopkLength) checkDtype('extraTopkLength', a.extraTopkLength, ['i32']);
  checkRank('q', q, 4, '[b, sQ, hQ, dQk]');
  const [b, sQ, hQ, dQk] = q.shape;
  checkPositiveInt('q.shape[0] (b)', b);
  checkPositiveInt('q.shape[1] (sQ)', sQ);
  checkPositiveInt('q.shape[2] (hQ)', hQ);
  if (a.headDimV !== dV) throw invalidArgument('headDimV', String(dV), String(a.headDimV));
  if (dQk < a.headDimV) throw invalidArgument('q', `dQk >= headDimV = ${a.headDimV}`, String(dQk));
  const cache = describeCache('kCache', kCache, q, dQk);
  let extraCache: SparseCacheDesc | undefined;
  if (a.extraKCache) {
    if (a.extraKCache.dtype !== kCache.dtype || a.extraKCache.shape[3] !== kCache.shape[3]) {
      throw invalidArgument('extraKCache', `the format of kCache (dtype ${kCache.dtype}, ${kCache.shape[3]} per token)`,
        `dtype ${a.extraKCache.dtype}, ${a.extraKCache.shape[3]} per token`, 'both caches must share one format');
    }
    extraCache = describeCache('extraKCache', a.extraKCache, q, dQk);
    if (!a.extraIndices) throw invalidArgument('extraIndices', 'a [b, sQ, extraTopk] i32 tensor (extraKCache is given)', 'none');
  } else {
    if (a.extraIndices) throw invalidArgument('extraIndices', 'none (no extraKCache is given)', 'a tensor');
    if (a.extraTopkLength) throw invalidArgument('extraTopkLength', 'none (no extraKCache is given)', 'a tensor');
  }
  checkRank('indices', indices, 3, '[b, sQ, topk]');
  const topk = indices.shape[2];
  checkPositiveInt('indices.shape[2] (topk)', topk);
  checkShape('indices', indices, [b, sQ, topk], '[b, sQ, topk]');
  let extraTopk = 0;
  if (a.extraIndices) {
    checkRank('extraIndices', a.extraIndices, 3, '[b, sQ, extraTopk]');
    extraTopk = a.extraIndices.shape[2];
    checkPositiveInt('extraIndices.shape[2] (extraTopk)', extraTopk);
    checkShape('extraIndices', a.extraIndices, [b, sQ, extraTopk], '[b, sQ, extraTopk]');
  }
  if (a.topkLength) checkShape('topkLength', a.topkLength, [b], '[b]');
  if (a.extraTopkLength) checkShape('extraTopkLength', a.extraTopkLength, [b], '[b]');
  if (a.attnSink) checkShape('attnSink', a.attnSink, [hQ], '[hQ]');
  for (const [name, t] of [['indices', indices], ['topkLength', a.topkLength], ['attnSink', a.attnSink], ['extraIndices', a.extraIndices], ['extraTopkLength', a.extraTopkLength]] as const) {
    if (t && t.device !== 'cpu' && t.device !== q.device) throw invalidArgument(name, `a tensor on ${q.device} or the host`, t.device);
  }
  // Values, where they are on the host.
  checkIndexValues('indices', indices, cache.numBlocks * cache.pageBlockSize);
  if (a.extraIndices && extraCache) checkIndexValues('extraIndices', a.extraIndices, extraCache.numBlocks * extraCache.pageBlockSize);
  // Device length tensors: the plan holds their values (checked when it was made).
  const tl = a.topkLength && hostI32(a.topkLength) ? lengths('topkLength', a.topkLength, b, topk) : undefined;
  const etl = a.extraTopkLength && hostI32(a.extraTopkLength) ? lengths('extraTopkLength', a.extraTopkLength, b, extraTopk) : undefined;
  const softmaxScale = a.softmaxScale ?? dQk ** -0.5;
  if (!(Number.isFinite(softmaxScale) && softmaxScale > 0)) throw invalidArgument('softmaxScale', 'a finite number > 0', String(softmaxScale));
  const precision = a.precision ?? 'fast';
  if (precision !== 'fast' && precision !== 'exact') throw invalidArgument('precision', "'fast' or 'exact'", String(a.precision));

  // The plan: FlashMLA caches its schedule in the metadata object and trusts the caller to reuse it only for the
  // same shapes and lengths; here a mismatch is refused.
  const m = a.metadata;
  if (!m || !m.plannedFor || !(m.tileSchedulerMetadata instanceof Tensor)) {
    throw invalidArgument('metadata', 'a SparseMlaMetadata from getSparseMlaMetadata', String(m));
  }
  const k = m.plannedFor;
  const mismatch = (what: string, planned: unknown, got: unknown) =>
    new FlashMlaError('metadata_mismatch', `metadata: planned for ${what} = ${planned}, got ${got}; call getSparseMlaMetadata for this step`, 'metadata', String(planned), String(got));
  if (k.b !== b) throw mismatch('b', k.b, b);
  if (k.sQ !== sQ) throw mismatch('sQ', k.sQ, sQ);
  if (k.hQ !== hQ) throw mismatch('hQ', k.hQ, hQ);
  if (k.topk !== topk) throw mismatch('topk', k.topk, topk);
  if (k.extraTopk !== extraTopk) throw mismatch('extraTopk', k.extraTopk, extraTopk);
  let numSmParts: number;
  if (k.onDevice) {
    // Planned by this call on the device from the lengths it passes (or, with none, once when it was made): only their
    // presence must match the key.
    const has = (x: unknown) => (x ? 'a tensor' : 'none');
    if (!!a.topkLength !== !!k.hasTopkLength) throw mismatch('topkLength', has(k.hasTopkLength), has(a.topkLength));
    if (!!a.extraTopkLength !== !!k.hasExtraTopkLength) throw mismatch('extraTopkLength', has(k.hasExtraTopkLength), has(a.extraTopkLength));
    numSmParts = sparseNumSmParts(k.numSms, sQ, hQ);
    checkDtype('metadata.tileSchedulerMetadata', m.tileSchedulerMetadata, ['i32']);
    checkDtype('metadata.numSplits', m.numSplits, ['i32']);
  } else {
    if (a.topkLength && !tl) {
      if (!k.topkLength) throw mismatch('topkLength', 'none', 'a device tensor');
    } else if (!sameLengths(k.topkLength, tl)) throw mismatch('topkLength', k.topkLength ? `[${k.topkLength}]` : 'none', tl ? `[${tl}]` : 'none');
    if (a.extraTopkLength && !etl) {
      if (!k.extraTopkLength) throw mismatch('extraTopkLength', 'none', 'a device tensor');
    } else if (!sameLengths(k.extraTopkLength, etl)) throw mismatch('extraTopkLength', k.extraTopkLength ? `[${k.extraTopkLength}]` : 'none', etl ? `[${etl}]` : 'none');
    numSmParts = m.tileSchedulerMetadata.shape[0];
  }
  checkShape('metadata.tileSchedulerMetadata', m.tileSchedulerMetadata, [numSmParts, 8], '[numSmParts, 8]');
  checkShape('metadata.numSplits', m.numSplits, [b + 1], '[b + 1]');
  if (k.onDevice) {
    for (const [name, t] of [['metadata.tileSchedulerMetadata', m.tileSchedulerMetadata], ['metadata.numSplits', m.numSplits]] as const) {
      if (t.device !== q.device) throw invalidArgument(name, `a tensor on ${q.device} (onDevice metadata is planned by the backend of q)`, t.device);
    }
  } else checkSparseMetadataWords(m, numSmParts);

  return {
    b, sQ, hQ, dQk, dV: a.headDimV, topk, extraTopk, dtype: q.dtype as HalfDType, softmaxScale, numSmParts, cache, extraCache,
    hasTopkLength: !!a.topkLength, hasExtraTopkLength: !!a.extraTopkLength, hasAttnSink: !!a.attnSink, precision,
    // (onDevice without lengths: the plan depends on the shapes alone and was written once, when the metadata was made)
    devicePlan: !!(k.onDevice && (k.hasTopkLength || k.hasExtraTopkLength)),
  };
}

/**
 * The schedule's words must be what the scheduler plans for what the metadata says it was planned for: every kernel
 * walks its split items by them, and a changed word (a caller's edit, words copied from another step) would skip keys
 * or read past an index list. Replaying the plan costs O(b + numSmParts); a step's metadata is remembered with the
 * values it was verified as, so the layers after the first compare words instead (no allocation).
 */
function checkSparseMetadataWords(m: SparseMlaMetadata, numSmParts: number): void {
  const words = hostI32(m.tileSchedulerMetadata), splits = hostI32(m.numSplits);
  if (!words || !splits) return; // device metadata: the caller vouches for it (it is not read back)
  const k = m.plannedFor, seen = verifiedSparse.get(words);
  if (seen && seen.key === k && sameWords(seen.words, words) && sameWords(seen.splits, splits) && sameKey(seen.keyCopy, k)) return;
  if (!Number.isInteger(k.numSms) || k.numSms < 1) throw invalidArgument('metadata.plannedFor.numSms', 'a positive integer', String(k.numSms));
  const want = planSparseSchedule(k, sparseNumSmParts(k.numSms, k.sQ, k.hQ));
  const fail = (what: string, i: number, planned: number, got: number) => new FlashMlaError('metadata_mismatch',
    `metadata.${what}[${i}] is ${got}, but the plan it records (b ${k.b}, sQ ${k.sQ}, hQ ${k.hQ}, topk ${k.topk}, numSms ${k.numSms}) gives ${planned}; `
    + 'the words were changed after planning: call getSparseMlaMetadata for this step', `metadata.${what}`, String(planned), String(got));
  if (want.numSmParts !== numSmParts) throw fail('tileSchedulerMetadata.shape', 0, want.numSmParts, numSmParts);
  for (let i = 0; i < want.numSplits.length; i++) if (want.numSplits[i] !== splits[i]) throw fail('numSplits', i, want.numSplits[i], splits[i]);
  // Fields 0..6 of each row (FlashMLA's DecodingSchedMeta); field 7 is padding.
  for (let p = 0; p < numSmParts; p++) {
    for (let f = 0; f < 7; f++) if (want.tileSchedulerMetadata[p * 8 + f] !== words[p * 8 + f]) throw fail('tileSchedulerMetadata', p * 8 + f, want.tileSchedulerMetadata[p * 8 + f], words[p * 8 + f]);
  }
  verifiedSparse.set(words, { key: k, keyCopy: { ...k, topkLength: k.topkLength?.slice(), extraTopkLength: k.extraTopkLength?.slice() }, words: words.slice(), splits: splits.slice() });
}

const verifiedSparse = new WeakMap<Int32Array, { key: SparsePlanKey; keyCopy: SparsePlanKey; words: Int32Array; splits: Int32Array }>();

function sameWords(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameKey(a: SparsePlanKey, b: SparsePlanKey): boolean {
  return a.b === b.b && a.sQ === b.sQ && a.hQ === b.hQ && a.topk === b.topk && a.extraTopk === b.extraTopk && a.numSms === b.numSms
    && sameLengths(a.topkLength, b.topkLength) && sameLengths(a.extraTopkLength, b.extraTopkLength);
}

export function checkSparseOutputs(p: SparseProblem, out: Tensor, lse: Tensor, device: string): void {
  checkDtype('out', out, [p.dtype]);
  checkShape('out', out, [p.b, p.sQ, p.hQ, p.dV], '[b, sQ, hQ, dV]');
  checkDtype('lse', lse, ['f32']);
  checkShape('lse', lse, [p.b, p.hQ, p.sQ], '[b, hQ, sQ]');
  if (out.device !== device) throw invalidArgument('out', `a tensor on ${device}`, out.device);
  if (lse.device !== device) throw invalidArgument('lse', `a tensor on ${device}`, lse.device);
}

/** Backends that run sparse decode implement this (Backend.decodeSparse). */
export type SparseDecodeFn = (launch: SparseCall) => void | Promise<void>;

// The random decode cases every backend suite runs: seeded (no Math.random), hostile by default. Unused cache
// slots and spare pages hold NaN, block tables are shuffled permutations with spare pages, and table slots past a
// sequence's pages point out of range, so a kernel that reads a key it should not see fails loudly.
import { getMlaMetadata, type MlaMetadata } from '../../src/index.js';
import { type HalfDType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import type { Backend } from '../../src/core/problem.js';
import { type ScheduleKind, scheduleKinds } from '../../src/core/scheduler.js';
import { type ReferenceInputs, type ReferenceOutput, referenceDecode } from '../../src/core/reference.js';
import { type HostTensor, Tensor, fromArray } from '../../src/core/tensor.js';

// ---------------------------------------------------------------- seeded randomness

/** xoshiro128**: small, fast, and good enough for test data; the seed is spread by splitmix32. */
export class Rng {
  private s0: number; private s1: number; private s2: number; private s3: number;
  private spare: number | undefined;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t; this.s3 = rotl(this.s3, 11);
    return r;
  }
  /** Uniform in [0, 1). */
  float(): number { return this.u32() / 4294967296; }
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number { return lo + Math.floor(this.float() * (hi - lo + 1)); }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.float() * xs.length)]; }
  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) { const s = this.spare; this.spare = undefined; return s; }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float(), r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Fisher-Yates, in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

function rotl(x: number, k: number): number { return (x << k) | (x >>> (32 - k)); }

// ---------------------------------------------------------------- case description

/** One decode problem, as data. Shapes follow FlashMLA's names. */
export interface CaseSpec {
  /** For messages: which case failed. */
  name: string;
  dtype: HalfDType;
  hQ: number;
  hKv: number;
  pageBlockSize: number;
  /** Keys per sequence; b = seqlens.length. */
  seqlens: number[];
  /** Uniform query length (ignored when qLens is given). */
  sQ: number;
  /** Per-request query lengths (varlen, q [totalQ, hQ, 576] with qIndptr). */
  qLens?: number[];
  causal: boolean;
  /** Undefined: the default 1/sqrt(576). */
  softmaxScale?: number;
  /** Pages beyond those the sequences need (all NaN). Default 3. */
  sparePages?: number;
  /** Extra block-table columns past the longest sequence's pages (all out of range). Default 1. */
  extraTableSlots?: number;
}

/** Everything one decode needs, as host data. */
export interface DecodeCase {
  spec: CaseSpec;
  dtype: HalfDType;
  b: number;
  /** sQ (uniform), or the largest qLen (varlen; at least 1), as the library computes it. */
  sQ: number;
  totalQ: number;
  hQ: number;
  hKv: number;
  pageBlockSize: number;
  numBlocks: number;
  maxBlocksPerSeq: number;
  causal: boolean;
  /** The scale actually used (the default resolved). */
  softmaxScale: number;
  /** true when spec.softmaxScale was given (pass it to the API), false to exercise the default. */
  explicitScale: boolean;
  /** [b, sQ, hQ, 576] or [totalQ, hQ, 576] raw bits. */
  q: Uint16Array;
  /** [numBlocks, pageBlockSize, hKv, 576] raw bits; NaN past each seqlen and in spare pages. */
  kCache: Uint16Array;
  blockTable: Int32Array;
  cacheSeqlens: Int32Array;
  qIndptr?: Int32Array;
  qShape: number[];
  outShape: number[];
  lseShape: number[];
  /** sQ * hQ / hKv: what getMlaMetadata is given. */
  numHeadsPerHeadK: number;
}

export const dQk = 576;
export const dV = 512;
/** Quiet NaN bit patterns written into every slot a kernel must not read. */
export const nanBits: Readonly<Record<HalfDType, number>> = { bf16: 0x7fc0, f16: 0x7e00 };


/** Each query row of q ([rows, dQk] raw bits of `dtype`) times a factor (`factor`, called once a row in order), rounded
    to `dtype`: queries of very different magnitudes (the random suites' query-scaled cases). */
export function scaleQueryRows(q: Uint16Array, dtype: HalfDType, dQk: number, factor: () => number): void {
  const dec = dtype === 'bf16' ? bf16ToF32 : f16ToF32, enc = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  for (let row = 0; row * dQk < q.length; row++) {
    const f = factor();
    for (let d = 0; d < dQk; d++) q[row * dQk + d] = enc(dec(q[row * dQk + d]) * f);
  }
}
/** Build a case's data from its spec. Same (spec, seed): same bits. */
export function makeCase(spec: CaseSpec, seed: number): DecodeCase {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const { dtype, hQ, hKv, pageBlockSize: page, causal } = spec;
  const b = spec.seqlens.length;
  if (b < 1 || hQ % hKv !== 0) throw new Error(`bad spec ${spec.name}`);
  const round = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  const nan = nanBits[dtype];

  // Pages: a shuffled permutation of all pages; each sequence takes the next ones it needs, the rest are spare.
  const need = spec.seqlens.map((s) => Math.ceil(s / page));
  const used = need.reduce((a, n) => a + n, 0);
  const numBlocks = Math.max(1, used + (spec.sparePages ?? 3));
  const maxBlocksPerSeq = Math.max(1, Math.max(...need) + (spec.extraTableSlots ?? 1));
  const perm = rng.shuffle(Array.from({ length: numBlocks }, (_, i) => i));
  const outOfRange = [-1, numBlocks, numBlocks + 7, 0x7fffffff, -0x80000000];
  const blockTable = new Int32Array(b * maxBlocksPerSeq);
  const rowElems = hKv * dQk;
  const kCache = new Uint16Array(numBlocks * page * rowElems).fill(nan);
  let next = 0;
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < maxBlocksPerSeq; j++) {
      blockTable[i * maxBlocksPerSeq + j] = j < need[i] ? perm[next++] : rng.pick(outOfRange);
    }
    for (let t = 0; t < spec.seqlens[i]; t++) {
      const blk = blockTable[i * maxBlocksPerSeq + Math.floor(t / page)];
      const off = (blk * page + (t % page)) * rowElems;
      for (let e = 0; e < rowElems; e++) kCache[off + e] = round(rng.normal());
    }
  }

  let qIndptr: Int32Array | undefined, sQ: number, totalQ: number;
  if (spec.qLens) {
    if (spec.qLens.length !== b) throw new Error(`bad spec ${spec.name}: qLens`);
    qIndptr = new Int32Array(b + 1);
    for (let i = 0; i < b; i++) qIndptr[i + 1] = qIndptr[i] + spec.qLens[i];
    totalQ = qIndptr[b];
    sQ = Math.max(1, ...spec.qLens);
  } else {
    sQ = spec.sQ;
    totalQ = b * sQ;
  }
  const q = new Uint16Array(totalQ * hQ * dQk);
  for (let e = 0; e < q.length; e++) q[e] = round(rng.normal());

  const varlen = qIndptr !== undefined;
  return {
    spec, dtype, b, sQ, totalQ, hQ, hKv, pageBlockSize: page, numBlocks, maxBlocksPerSeq, causal,
    softmaxScale: spec.softmaxScale ?? 1 / Math.sqrt(dQk), explicitScale: spec.softmaxScale !== undefined,
    q, kCache, blockTable, cacheSeqlens: Int32Array.from(spec.seqlens), qIndptr,
    qShape: varlen ? [totalQ, hQ, dQk] : [b, sQ, hQ, dQk],
    outShape: varlen ? [totalQ, hQ, dV] : [b, sQ, hQ, dV],
    lseShape: varlen ? [totalQ, hQ] : [b, hQ, sQ],
    numHeadsPerHeadK: (sQ * hQ) / hKv,
  };
}

// ---------------------------------------------------------------- helpers around a case

/** Host tensors of the inputs (src/core/tensor.ts fromArray; no copies). */
export function caseTensors(c: DecodeCase): { q: HostTensor; kCache: HostTensor; blockTable: HostTensor; cacheSeqlens: HostTensor; qIndptr?: HostTensor } {
  return {
    q: fromArray(c.dtype, c.qShape, c.q),
    kCache: fromArray(c.dtype, [c.numBlocks, c.pageBlockSize, c.hKv, dQk], c.kCache),
    blockTable: fromArray('i32', [c.b, c.maxBlocksPerSeq], c.blockTable),
    cacheSeqlens: fromArray('i32', [c.b], c.cacheSeqlens),
    qIndptr: c.qIndptr && fromArray('i32', [c.b + 1], c.qIndptr),
  };
}

/**
 * The case's metadata (default 132 SMs, an H100): getMlaMetadata's default plan (FlashMLA's), or `schedule` when given, else the one
 * FLASHMLA_TEST_SCHEDULE names (flashmla | fill: the GPU suites on the WebGPU backend's own plan).
 */
export function caseMetadata(c: DecodeCase, numSms = 132, schedule = testSchedule()): MlaMetadata {
  return getMlaMetadata(c.cacheSeqlens, c.numHeadsPerHeadK, c.hKv, { numSms, ...(schedule ? { schedule } : {}) });
}

export function testSchedule(): ScheduleKind | undefined {
  // This module also runs bundled in a browser page (test/long/cpu-wasm-browser.test.ts), where there is no process.
  const v = typeof process === 'undefined' ? undefined : process.env.FLASHMLA_TEST_SCHEDULE;
  if (v === undefined || v === '') return undefined;
  if (!(scheduleKinds as readonly string[]).includes(v)) throw new Error(`FLASHMLA_TEST_SCHEDULE=${v}: one of ${scheduleKinds.join(', ')}`);
  return v as ScheduleKind;
}

export function referenceInputs(c: DecodeCase): ReferenceInputs {
  return {
    q: c.q, kCache: c.kCache, blockTable: c.blockTable, cacheSeqlens: c.cacheSeqlens, dtype: c.dtype,
    b: c.b, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, pageBlockSize: c.pageBlockSize, maxBlocksPerSeq: c.maxBlocksPerSeq,
    softmaxScale: c.softmaxScale, causal: c.causal, qIndptr: c.qIndptr,
  };
}

const refCache = new WeakMap<DecodeCase, ReferenceOutput>();
/** The float64 oracle's answer (memoised per case object). */
export function caseReference(c: DecodeCase): ReferenceOutput {
  let r = refCache.get(c);
  if (!r) { r = referenceDecode(referenceInputs(c)); refCache.set(c, r); }
  return r;
}

/** Output buffers filled with NaN, so an element a kernel forgets to write fails the comparison. */
export function poisonedOutputs(c: DecodeCase): { out: Tensor<Uint16Array>; lse: Tensor<Float32Array> } {
  const out = new Uint16Array(c.totalQ * c.hQ * dV).fill(nanBits[c.dtype]);
  const lse = new Float32Array(c.totalQ * c.hQ).fill(NaN);
  return { out: fromArray(c.dtype, c.outShape, out), lse: fromArray('f32', c.lseShape, lse) };
}

/** Rows of the query tokens (batch, query) in order, for messages: token t -> [batch, j]. */
export function tokenIndex(c: Pick<DecodeCase, 'b' | 'sQ' | 'qIndptr'>): (t: number) => [number, number] {
  return (t) => {
    if (!c.qIndptr) return [Math.floor(t / c.sQ), t % c.sQ];
    let i = 0;
    while (i + 1 < c.b && c.qIndptr[i + 1] <= t) i++;
    return [i, t - c.qIndptr[i]];
  };
}

/**
 * Run one case on `backend` through the public API: inputs uploaded with backend.upload, index tensors left on
 * the host (the API allows it), outputs preallocated on the device and poisoned with NaN first. Returns host
 * copies of out (raw bits) and lse. `flashMlaWithKvcache` is passed in so this file stays import-light.
 */
export async function runCase(
  c: DecodeCase,
  backend: Backend,
  decode: typeof import('../../src/index.js').flashMlaWithKvcache,
  opts: { numSms?: number; schedule?: ScheduleKind; qOffset?: number } = {},
): Promise<{ out: Uint16Array; lse: Float32Array }> {
  const t = caseTensors(c);
  const md = caseMetadata(c, opts.numSms ?? backend.info.numSms, opts.schedule ?? testSchedule());
  const poison = poisonedOutputs(c);
  const out = backend.empty(c.dtype, c.outShape), lse = backend.empty('f32', c.lseShape);
  backend.write(out, poison.out);
  backend.write(lse, poison.lse);
  // qOffset: q as a view that starts qOffset elements into a larger allocation (freeing the view frees it).
  const q = opts.qOffset ? viewAt(backend, t.q, opts.qOffset) : backend.upload(t.q), kCache = backend.upload(t.kCache);
  try {
    await decode(q, kCache, t.blockTable, t.cacheSeqlens, dV, md.tileSchedulerMetadata, md.numSplits, {
      softmaxScale: c.explicitScale ? c.softmaxScale : undefined, causal: c.causal, qIndptr: t.qIndptr, backend, out, lse,
    });
    await backend.synchronize();
    const o = await backend.download(out), l = await backend.download(lse);
    return { out: Uint16Array.from(o.host() as Uint16Array), lse: Float32Array.from(l.host() as Float32Array) };
  } finally {
    for (const x of [q, kCache, out, lse]) if (x !== t.q && x !== t.kCache) backend.free(x);
  }
}

/** A device copy of host tensor t that starts `offset` elements into an allocation of offset + numel + 64 elements. */
function viewAt(backend: Backend, t: HostTensor, offset: number): Tensor {
  const buf = backend.empty(t.dtype, [offset + t.numel + 64]);
  backend.write(buf, new Tensor(t.dtype, [t.numel], t.data), offset);
  return new Tensor(t.dtype, t.shape, buf.data, offset);
}

// ---------------------------------------------------------------- the matrix

/** Values the matrix cycles through; see caseMatrix. */
export const matrixAxes = {
  hQ: [1, 3, 5, 7, 16, 17, 33, 64, 127, 128],
  hKv: [1, 2, 4],
  /** Seqlens around tile (64) and page boundaries, and empty sequences. */
  cornerSeqlens: [0, 1, 63, 64, 65, 127, 128, 129],
  longSeqlens: [2000, 2049, 3001, 4097, 5000],
  /** 64 (FlashMLA's only size) most of the time. */
  pageBlockSize: [64, 1, 64, 16, 64, 100, 64, 256],
  sQ: [1, 1, 2, 3, 4],
  dtype: ['bf16', 'f16'] as const,
  scales: [0.01, 0.1, 0.25, 1 / 24 / 3],
} as const;

/**
 * Keys times query rows (seqlen * qLen * hQ, summed) a case may cost: keeps the float64 reference and the CPU
 * backend near 0.1 s a case on one core. Shapes shrink to fit it; the number of cases never does.
 */
export const defaultWorkBudget = 40_000;

export function caseWork(s: CaseSpec): number {
  let w = 0;
  s.seqlens.forEach((len, i) => { w += len * (s.qLens ? s.qLens[i] : s.sQ) * s.hQ; });
  return w;
}

/**
 * n specs covering the axes above: case i takes hQ, page size, sQ, dtype, and one corner seqlen by cycling
 * (lists of coprime lengths, so the combinations rotate), the rest from the seeded generator. Every 7th case
 * has a long sequence (2000-5000 keys, fewer heads to stay within the work budget), every 5th a non-default
 * scale, every 6th per-request query lengths (0..4, varlen), every 9th is not causal.
 */
export function caseMatrix(n: number, seed: number, opts: { workBudget?: number } = {}): CaseSpec[] {
  const budget = opts.workBudget ?? defaultWorkBudget;
  const ax = matrixAxes;
  const specs: CaseSpec[] = [];
  for (let i = 0; i < n; i++) {
    const rng = new Rng((seed * 0x9e3779b1 + i * 0x85ebca77) >>> 0);
    const long = i % 7 === 3;
    let hQ: number = ax.hQ[i % ax.hQ.length];
    if (long && hQ > 7) hQ = rng.pick([1, 3, 5, 7]);
    const kvChoices = ax.hKv.filter((k) => hQ % k === 0);
    const hKv = kvChoices[(i >> 1) % kvChoices.length];
    const pageBlockSize: number = ax.pageBlockSize[i % ax.pageBlockSize.length];
    const dtype: HalfDType = ax.dtype[Math.floor(i / 3) % 2];
    const varlen = i % 6 === 5;
    const causal = i % 9 !== 8;
    const softmaxScale = i % 5 === 4 ? ax.scales[Math.floor(i / 5) % ax.scales.length] : undefined;
    const b = rng.int(1, 8);
    const seqlens: number[] = Array.from({ length: b }, () => rng.pick([...ax.cornerSeqlens, rng.int(0, 300)]));
    // The designated sequences: one corner length, and (long cases) one long one; shrinking never touches them.
    const cornerAt = rng.int(0, b - 1);
    seqlens[cornerAt] = ax.cornerSeqlens[i % ax.cornerSeqlens.length];
    const longAt = long ? (b > 1 ? (cornerAt + 1) % b : 0) : -1;
    if (long) seqlens[longAt] = ax.longSeqlens[Math.floor(i / 7) % ax.longSeqlens.length];
    const qLens: number[] | undefined = varlen ? Array.from({ length: b }, () => rng.int(0, 4)) : undefined;
    if (qLens && Math.max(...qLens) === 0) qLens[cornerAt] = rng.int(1, 4);
    const spec: CaseSpec = {
      name: '', dtype, hQ, hKv, pageBlockSize, seqlens, sQ: varlen ? 1 : ax.sQ[i % ax.sQ.length], qLens, causal,
      softmaxScale, sparePages: rng.int(1, 5), extraTableSlots: rng.int(0, 3),
    };
    // Over budget: shorten the other sequences, then drop them, then take query tokens away.
    const pinned = (k: number) => k === cornerAt || k === longAt;
    for (let k = 0; k < b && caseWork(spec) > budget; k++) if (!pinned(k)) seqlens[k] = rng.int(0, 65);
    for (let k = b - 1; k >= 0 && caseWork(spec) > budget; k--) {
      if (!pinned(k)) { seqlens.splice(k, 1); qLens?.splice(k, 1); }
    }
    while (caseWork(spec) > budget && !qLens && spec.sQ > 1) spec.sQ--;
    while (caseWork(spec) > budget && qLens && qLens.some((l) => l > 1)) {
      const top = Math.max(...qLens);
      qLens.forEach((l, k) => { if (l === top) qLens[k] = l - 1; });
    }
    if (qLens && Math.max(...qLens) === 0) qLens[0] = 1;
    spec.name = specName(spec, i);
    specs.push(spec);
  }
  return specs;
}

export function specName(s: CaseSpec, i?: number): string {
  const q = s.qLens ? `qLens=[${s.qLens.join(',')}]` : `sQ=${s.sQ}`;
  const sc = s.softmaxScale !== undefined ? ` scale=${+s.softmaxScale.toPrecision(4)}` : '';
  return `${i !== undefined ? `#${i} ` : ''}${s.dtype} hQ=${s.hQ} hKv=${s.hKv} page=${s.pageBlockSize} ${q} seqlens=[${s.seqlens.join(',')}]${s.causal ? '' : ' non-causal'}${sc}`;
}

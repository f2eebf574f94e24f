// Validation at the public boundary: every check runs on shapes and host values before any kernel is queued,
// in FlashMLA's order (dtypes, then shapes, then values). Device memory is never read to validate.
import type { HalfDType } from './dtype.js';
import { FlashMlaError, describeValue, fmtShape, invalidArgument } from './errors.js';
import { type MatmulCall, type MlaProblem, dQkDefault, dVDefault, lseStrides } from './problem.js';
import { Meta, type Schedule, type ScheduleKind, metadataFields, planSchedule, scheduleKinds } from './scheduler.js';
import type { Tensor } from './tensor.js';

export function checkDtype(name: string, t: Tensor, allowed: readonly string[]): void {
  if (!allowed.includes(t.dtype)) throw invalidArgument(name, `dtype ${allowed.join(' or ')}`, t.dtype);
}

export function checkShape(name: string, t: Tensor, expected: readonly number[], names: string): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw invalidArgument(name, `shape ${names} = ${fmtShape(expected)}`, fmtShape(t.shape));
  }
}

export function checkRank(name: string, t: Tensor, rank: number, names: string): void {
  if (t.shape.length !== rank) throw invalidArgument(name, `rank ${rank} ${names}`, `rank ${t.shape.length} ${fmtShape(t.shape)}`);
}

export function checkPositiveInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw invalidArgument(name, `an integer in 1..${max}`, describeValue(v));
}

/** A split-KV plan's name (getMlaMetadata's `schedule`, a backend's `schedule` option): one of scheduleKinds. */
/**
 * An environment switch of a tunable rule (e.g. FLASHMLA_WEBGPU_LAYER_SPLITK, FLASHMLA_CUDA_LAYER_SPLITK): unset or
 * empty -> undefined (the default), '0' -> false, '1' -> true, 'f=n,g=m' -> those fields of the rule; anything else
 * throws, naming the variable (a tuning run must not silently time the default).
 */
export function ruleSwitchFromEnv<K extends string>(name: string, v: string | undefined, fields: readonly K[]): boolean | Partial<Record<K, number>> | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === '0') return false;
  if (v === '1') return true;
  const rule: Partial<Record<K, number>> = {};
  for (const part of v.split(',')) {
    const m = /^(\w+)=(\d+)$/.exec(part.trim());
    if (!m || !fields.includes(m[1] as K)) throw invalidArgument(name, `0, 1 or ${fields.map((f) => `${f}=<n>`).join(',')} (any of them)`, v);
    rule[m[1] as K] = Number(m[2]);
  }
  return rule;
}

export function checkSchedule(v: ScheduleKind): void {
  if (!scheduleKinds.includes(v)) throw invalidArgument('schedule', scheduleKinds.map((k) => `'${k}'`).join(' or '), String(v));
}

export function checkIndexDevice(name: string, t: Tensor | undefined, device: string): void {
  if (t && t.device !== 'cpu' && t.device !== device) throw invalidArgument(name, `a tensor on ${device} or the host`, t.device);
}

/** A host Int32Array (or host i32 tensor) to read values from, or undefined for device tensors. */
export function hostI32(t: Tensor | Int32Array | undefined): Int32Array | undefined {
  if (t === undefined) return undefined;
  if (t instanceof Int32Array) return t;
  return t.device === 'cpu' ? (t.host() as Int32Array) : undefined;
}

export function checkSeqlens(name: string, seqlens: ArrayLike<number>): void {
  for (let i = 0; i < seqlens.length; i++) {
    const s = seqlens[i];
    if (!Number.isInteger(s) || s < 0) throw invalidArgument(`${name}[${i}]`, 'a non-negative integer', String(s));
  }
}

export interface DecodeInputs {
  q: Tensor;
  kCache: Tensor;
  blockTable: Tensor;
  cacheSeqlens: Tensor;
  headDimV: number;
  tileSchedulerMetadata: Tensor;
  numSplits: Tensor;
  softmaxScale?: number;
  causal?: boolean;
  qIndptr?: Tensor;
}

/**
 * Check a decode call and describe it. Values (seqlens, block ids, query lengths, metadata) are checked when
 * they are on the host; for device tensors the caller vouches for them through a plan (MlaDecoder).
 */
export function validateDecode(a: DecodeInputs): MlaProblem {
  const { q, kCache, blockTable, cacheSeqlens, tileSchedulerMetadata: meta, numSplits } = a;
  checkDtype('q', q, ['bf16', 'f16']);
  checkDtype('kCache', kCache, ['bf16', 'f16']);
  if (kCache.dtype !== q.dtype) throw invalidArgument('kCache', `dtype ${q.dtype} (the dtype of q)`, kCache.dtype);
  checkDtype('blockTable', blockTable, ['i32']);
  checkDtype('cacheSeqlens', cacheSeqlens, ['i32']);
  checkDtype('tileSchedulerMetadata', meta, ['i32']);
  checkDtype('numSplits', numSplits, ['i32']);
  if (kCache.device !== q.device) throw invalidArgument('kCache', `a tensor on ${q.device} (where q is)`, kCache.device);
  // The small index tensors may stay on the host (the backend copies them, and then they are fully checked here).
  checkIndexDevice('blockTable', blockTable, q.device);
  checkIndexDevice('cacheSeqlens', cacheSeqlens, q.device);
  checkIndexDevice('tileSchedulerMetadata', meta, q.device);
  checkIndexDevice('numSplits', numSplits, q.device);
  checkIndexDevice('qIndptr', a.qIndptr, q.device);

  const varlen = a.qIndptr !== undefined;
  checkRank('q', q, varlen ? 3 : 4, varlen ? '[totalQ, hQ, dQk]' : '[b, sQ, hQ, dQk]');
  checkRank('kCache', kCache, 4, '[numBlocks, pageBlockSize, hKv, dQk]');
  checkRank('blockTable', blockTable, 2, '[b, maxBlocksPerSeq]');
  checkRank('cacheSeqlens', cacheSeqlens, 1, '[b]');
  const [numBlocks, pageBlockSize, hKv, dQk] = kCache.shape;
  const b = cacheSeqlens.shape[0];
  const hQ = q.shape[q.shape.length - 2];
  if (q.shape[q.shape.length - 1] !== dQk) throw invalidArgument('q', `last dim ${dQk} (kCache's head dim)`, fmtShape(q.shape));
  if (dQk !== dQkDefault) throw invalidArgument('kCache', `head dim ${dQkDefault} (512 latent + 64 RoPE)`, String(dQk));
  if (a.headDimV !== dVDefault) throw invalidArgument('headDimV', String(dVDefault), String(a.headDimV));
  checkPositiveInt('kCache pageBlockSize (dim 1)', pageBlockSize, 256);
  checkPositiveInt('kCache hKv (dim 2)', hKv);
  checkPositiveInt('q hQ', hQ);
  if (hQ % hKv !== 0) throw invalidArgument('q', `hQ divisible by hKv = ${hKv}`, `hQ = ${hQ}`);
  if (b < 1) throw invalidArgument('cacheSeqlens', 'at least one sequence', fmtShape(cacheSeqlens.shape));
  if (blockTable.shape[0] !== b) throw invalidArgument('blockTable', `${b} rows (one per sequence)`, fmtShape(blockTable.shape));
  const maxBlocksPerSeq = blockTable.shape[1];

  let sQ: number, totalQ: number;
  const qIndptr = hostI32(a.qIndptr);
  if (varlen) {
    checkDtype('qIndptr', a.qIndptr!, ['i32']);
    checkShape('qIndptr', a.qIndptr!, [b + 1], '[b + 1]');
    totalQ = q.shape[0];
    sQ = 0;
    if (qIndptr) {
      if (qIndptr[0] !== 0) throw invalidArgument('qIndptr[0]', '0', String(qIndptr[0]));
      for (let i = 0; i < b; i++) {
        const len = qIndptr[i + 1] - qIndptr[i];
        if (len < 0) throw invalidArgument(`qIndptr[${i + 1}]`, `>= qIndptr[${i}] = ${qIndptr[i]}`, String(qIndptr[i + 1]));
        sQ = Math.max(sQ, len);
      }
      if (qIndptr[b] !== totalQ) throw invalidArgument('qIndptr[b]', `${totalQ} (q.shape[0])`, String(qIndptr[b]));
    } else {
      throw invalidArgument('qIndptr', 'a host tensor (query lengths plan the launch)', `a ${a.qIndptr!.device} tensor`);
    }
    sQ = Math.max(sQ, 1);
  } else {
    if (q.shape[0] !== b) throw invalidArgument('q', `batch ${b} (cacheSeqlens length)`, fmtShape(q.shape));
    sQ = q.shape[1];
    checkPositiveInt('q sQ (dim 1)', sQ);
    totalQ = b * sQ;
  }

  const softmaxScale = a.softmaxScale ?? 1 / Math.sqrt(dQk);
  if (typeof softmaxScale !== 'number' || !Number.isFinite(softmaxScale) || softmaxScale <= 0) {
    throw invalidArgument('softmaxScale', 'a finite positive number', String(softmaxScale));
  }
  const causal = a.causal ?? true;
  if (typeof causal !== 'boolean') throw invalidArgument('causal', 'true or false', String(causal));

  const numSmParts = meta.shape[0];
  checkShape('tileSchedulerMetadata', meta, [numSmParts, metadataFields], '[numSmParts, 8]');
  if (numSmParts < 1) throw invalidArgument('tileSchedulerMetadata', 'at least one SM part', fmtShape(meta.shape));
  checkShape('numSplits', numSplits, [b + 1], '[b + 1]');

  const seqlens = hostI32(cacheSeqlens);
  if (seqlens) {
    checkSeqlens('cacheSeqlens', seqlens);
    const table = hostI32(blockTable);
    for (let i = 0; i < b; i++) {
      const need = Math.ceil(seqlens[i] / pageBlockSize);
      if (need > maxBlocksPerSeq) {
        throw invalidArgument(`cacheSeqlens[${i}]`, `<= ${maxBlocksPerSeq * pageBlockSize} (blockTable has ${maxBlocksPerSeq} pages a row)`, String(seqlens[i]));
      }
      for (let j = 0; table && j < need; j++) {
        const blk = table[i * maxBlocksPerSeq + j];
        if (!(blk >= 0 && blk < numBlocks)) {
          throw invalidArgument(`blockTable[${i}, ${j}]`, `a page id in 0..${numBlocks - 1}`, String(blk), `page ${j} holds keys of sequence ${i}`);
        }
      }
    }
    const m = hostI32(meta), ns = hostI32(numSplits);
    if (m && ns) checkMetadataMatches(seqlens, m, ns, numSmParts);
  }

  return {
    b, sQ, totalQ, hQ, hKv, nGroups: hQ / hKv, dQk, dV: a.headDimV, pageBlockSize, numBlocks, maxBlocksPerSeq,
    dtype: q.dtype as HalfDType, kvDtype: kCache.dtype as HalfDType, softmaxScale, causal, varlen, numSmParts,
    ...lseStrides({ hQ, sQ, varlen }),
  };
}

/**
 * Metadata must be what the scheduler plans for these seqlens: a stale plan would skip keys or read past a
 * sequence. Replaying the plan costs O(b + numSmParts), far below the decode itself.
 */
export function checkMetadataMatches(seqlens: Int32Array, meta: Int32Array, numSplits: Int32Array, numSmParts: number): void {
  // A decode step runs many layers with one metadata: remember what it was last verified against, and skip the
  // replay while seqlens, metadata and numSplits all still hold those values (plain compares, no allocation).
  const seen = verified.get(meta);
  if (seen && seen.numSplits === numSplits && sameValues(seen.seqlens, seqlens) && sameValues(seen.meta, meta)
    && sameValues(seen.splits, numSplits)) return;
  replayMetadata(seqlens, meta, numSplits, numSmParts);
  verified.set(meta, { numSplits, seqlens: seqlens.slice(), meta: meta.slice(), splits: numSplits.slice() });
}

const verified = new WeakMap<Int32Array, { numSplits: Int32Array; seqlens: Int32Array; meta: Int32Array; splits: Int32Array }>();

function sameValues(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function replayMetadata(seqlens: Int32Array, meta: Int32Array, numSplits: Int32Array, numSmParts: number): void {
  // FlashMLA's plan (getMlaMetadata's default) first; a caller may also pass the 'fill' plan (getMlaMetadata's
  // schedule option, what the WebGPU backend plans for itself): accepted when it is that plan exactly.
  const first = mismatch(planSchedule(seqlens, numSmParts), meta, numSplits, numSmParts);
  if (!first || !mismatch(planSchedule(seqlens, numSmParts, 'fill'), meta, numSplits, numSmParts)) return;
  throw first;
}

function mismatch(want: Schedule, meta: Int32Array, numSplits: Int32Array, numSmParts: number): FlashMlaError | undefined {
  for (let i = 0; i < want.numSplits.length; i++) {
    if (want.numSplits[i] !== numSplits[i]) {
      return new FlashMlaError('metadata_mismatch',
        `numSplits: planned for other cacheSeqlens (numSplits[${i}] is ${numSplits[i]}, these seqlens give ${want.numSplits[i]}); call getMlaMetadata again`,
        'numSplits', String(want.numSplits[i]), String(numSplits[i]));
    }
  }
  for (let p = 0; p < numSmParts; p++) {
    for (let f = Meta.BeginIdx; f <= Meta.BeginNSplitIdx; f++) {
      const k = p * metadataFields + f;
      if (want.tileSchedulerMetadata[k] !== meta[k]) {
        return new FlashMlaError('metadata_mismatch',
          `tileSchedulerMetadata: planned for other cacheSeqlens (entry [${p}, ${f}] is ${meta[k]}, these seqlens give ${want.tileSchedulerMetadata[k]}); call getMlaMetadata again`,
          'tileSchedulerMetadata', String(want.tileSchedulerMetadata[k]), String(meta[k]));
      }
    }
  }
  return undefined;
}

/** Check caller-provided output tensors (the decoder reuses them across layers). */
export function checkOutputs(p: MlaProblem, out: Tensor, lse: Tensor, device: string): void {
  const outShape = p.varlen ? [p.totalQ, p.hQ, p.dV] : [p.b, p.sQ, p.hQ, p.dV];
  const lseShape = p.varlen ? [p.totalQ, p.hQ] : [p.b, p.hQ, p.sQ];
  checkDtype('out', out, [p.dtype]);
  checkShape('out', out, outShape, p.varlen ? '[totalQ, hQ, dV]' : '[b, sQ, hQ, dV]');
  checkDtype('lse', lse, ['f32']);
  checkShape('lse', lse, lseShape, p.varlen ? '[totalQ, hQ]' : '[b, hQ, sQ]');
  if (out.device !== device || lse.device !== device) throw invalidArgument('out/lse', `tensors on ${device}`, `${out.device}/${lse.device}`);
}

/** Arguments of Backend.write: same dtype, and src fits in dst from element dstOffset on. */
export function checkWrite(dst: Tensor, src: Tensor, dstOffset: number): void {
  if (dst.dtype !== src.dtype) throw invalidArgument('src', `dtype ${dst.dtype}`, src.dtype);
  if (!Number.isInteger(dstOffset) || dstOffset < 0 || dstOffset + src.numel > dst.numel) {
    throw invalidArgument('dstOffset', `an integer in 0..${dst.numel - src.numel}`, String(dstOffset));
  }
}

/** A matmul launch: f32 tensors on `device`, every row of x and w inside its tensor, y exactly [m, n]. */
export function checkMatmul(l: MatmulCall, device: string): void {
  for (const [name, v] of [['m', l.m], ['n', l.n], ['k', l.k], ['xStride', l.xStride], ['wStride', l.wStride]] as const) checkPositiveInt(name, v);
  for (const [name, v] of [['xOff', l.xOff], ['wOff', l.wOff]] as const) {
    if (!Number.isInteger(v) || v < 0) throw invalidArgument(name, 'an integer >= 0', describeValue(v));
  }
  for (const [name, t] of [['x', l.x], ['w', l.w], ['y', l.y]] as const) {
    if (t.dtype !== 'f32') throw invalidArgument(name, 'dtype f32', t.dtype);
    if (t.device !== device) throw invalidArgument(name, `a tensor on ${device}`, t.device);
  }
  if (l.xStride < l.k || l.xOff + (l.m - 1) * l.xStride + l.k > l.x.numel) {
    throw invalidArgument('x', `${l.m} rows of ${l.k} at offset ${l.xOff}, stride ${l.xStride} inside its ${l.x.numel} elements`, fmtShape(l.x.shape));
  }
  if (l.wStride < l.k || l.wOff + (l.n - 1) * l.wStride + l.k > l.w.numel) {
    throw invalidArgument('w', `${l.n} rows of ${l.k} at offset ${l.wOff}, stride ${l.wStride} inside its ${l.w.numel} elements`, fmtShape(l.w.shape));
  }
  if (l.y.numel !== l.m * l.n) throw invalidArgument('y', `${l.m * l.n} elements ([m, n] = [${l.m}, ${l.n}])`, String(l.y.numel));
}

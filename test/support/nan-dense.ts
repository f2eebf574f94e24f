// Dense decode with NaN and infinities on purpose: bit patterns, where a key's column lives in kCache, a run that
// poisons the outputs first, and the cases where whole 64-key tiles or whole splits of a row score -inf (issue
// #10). Used by test/backends/webgpu-nan.test.ts (scalar CPU + WebGPU) and cpu-inf.test.ts (every CPU rung).
import assert from 'node:assert/strict';
import { MlaDecoder, flashMlaWithKvcache } from '../../src/index.js';
import type { HalfDType } from '../../src/core/dtype.js';
import type { Backend } from '../../src/core/problem.js';
import type { ScheduleKind } from '../../src/core/scheduler.js';
import type { ReferenceOutput } from '../../src/core/reference.js';
import { fromArray } from '../../src/core/tensor.js';
import { type CaseSpec, type DecodeCase, caseMetadata, caseReference, caseTensors, makeCase, nanBits, testSchedule } from './random.js';
import { nanRows } from './specials.js';

export const bits = {
  bf16: { nan: nanBits.bf16, inf: 0x7f80, one: 0x3f80, minusOne: 0xbf80, sentinel: 0x4640 }, // sentinel 12288
  f16: { nan: nanBits.f16, inf: 0x7c00, one: 0x3c00, minusOne: 0xbc00, sentinel: 0x7200 },
} as const;

/** Element index of column d of key t (sequence i, KV head g) in kCache. */
export function keyAt(c: DecodeCase, i: number, t: number, d: number, g = 0): number {
  const blk = c.blockTable[i * c.maxBlocksPerSeq + Math.floor(t / c.pageBlockSize)];
  return ((blk * c.pageBlockSize + (t % c.pageBlockSize)) * c.hKv + g) * 576 + d;
}
/** Set column d of every q row (so that a score's sign at that column is known). */
export function qColumn(c: DecodeCase, d: number, v: number): void { for (let r = 0; r * 576 < c.q.length; r++) c.q[r * 576 + d] = v; }

/** Keys [from, to) of sequence i score -inf (q column d is -1, their column d +inf; d < 512 also makes V infinite). */
export function negInfKeys(c: DecodeCase, i: number, from: number, to: number, d: number): void {
  qColumn(c, d, bits[c.dtype].minusOne);
  for (let t = from; t < to; t++) c.kCache[keyAt(c, i, t, d)] = bits[c.dtype].inf;
}

/** One decode with out and lse poisoned by finite sentinels first (a NaN the kernel did not write cannot pass). */
export async function runDense(c: DecodeCase, be: Backend, numSms: number): Promise<{ out: Uint16Array; lse: Float32Array }> {
  const t = caseTensors(c), md = caseMetadata(c, numSms);
  const out = be.empty(c.dtype, c.outShape), lse = be.empty('f32', c.lseShape);
  be.write(out, fromArray(c.dtype, c.outShape, new Uint16Array(c.totalQ * c.hQ * 512).fill(bits[c.dtype].sentinel)));
  be.write(lse, fromArray('f32', c.lseShape, new Float32Array(c.totalQ * c.hQ).fill(7777)));
  const q = be.upload(t.q), k = be.upload(t.kCache);
  try {
    await flashMlaWithKvcache(q, k, t.blockTable, t.cacheSeqlens, 512, md.tileSchedulerMetadata, md.numSplits, {
      causal: c.causal, softmaxScale: c.explicitScale ? c.softmaxScale : undefined, backend: be, out, lse,
    });
    await be.synchronize();
    return { out: Uint16Array.from((await be.download(out)).host() as Uint16Array), lse: Float32Array.from((await be.download(lse)).host() as Float32Array) };
  } finally {
    for (const x of [q, k, out, lse]) if (x !== t.q && x !== t.kCache) be.free(x);
  }
}

/**
 * runDense's case through MlaDecoder (the planner's own metadata, here of `schedule`: the backend's plan-dependent
 * choices, e.g. the WebGPU matrix kernel's infSafe 'seen' on plans cut under FlashMLA's floor, apply).
 */
export async function runDecoderDense(c: DecodeCase, be: Backend, numSms: number, schedule: ScheduleKind): Promise<{ out: Uint16Array; lse: Float32Array }> {
  const t = caseTensors(c);
  const d = new MlaDecoder(be, { hQ: c.hQ, hKv: c.hKv, dtype: c.dtype, numSms, causal: c.causal, schedule });
  d.plan(c.cacheSeqlens, fromArray('i32', t.blockTable.shape, t.blockTable.host() as Int32Array), { sQ: c.sQ });
  const q = be.upload(t.q), k = be.upload(t.kCache);
  try {
    const o = await d.run(q, k);
    await be.synchronize();
    return { out: Uint16Array.from((await be.download(o.out)).host() as Uint16Array), lse: Float32Array.from((await be.download(o.lse)).host() as Float32Array) };
  } finally {
    be.free(q); be.free(k); d.dispose();
  }
}

export interface DenseNanCase {
  name: string;
  spec: Omit<CaseSpec, 'name' | 'hKv' | 'pageBlockSize' | 'causal'> & Partial<CaseSpec>;
  numSms: number;
  poison(c: DecodeCase, b: (typeof bits)[HalfDType]): void;
  /** Rows (in out's order) the reference makes all-NaN; checked on the reference so the case means what it says. */
  nanRows: number[];
  /** Columns NaN in otherwise finite rows, as [row, col]. */
  nanCols?: [number, number][];
  /** Rows the reference leaves empty (out 0, lse +inf: the row sees no key). */
  emptyRows?: number[];
  /** The schedule must split sequence 0 into at least this many pieces (the combine merges them). */
  minSplits?: number;
}

/** Build case n of a list, poison it, and check that the reference says what the case claims. */
export function buildDenseNanCase(dc: DenseNanCase, seed: number): { c: DecodeCase; ref: ReferenceOutput } {
  const c = makeCase({ hKv: 1, pageBlockSize: 16, causal: true, ...dc.spec, name: dc.name }, seed);
  dc.poison(c, bits[c.dtype]);
  const ref = caseReference(c);
  const refNan = nanRows(Uint16Array.from(ref.out, (x) => (Number.isNaN(x) ? bits[c.dtype].nan : 0)), c.dtype);
  assert.deepEqual(refNan.flatMap((x, i) => (x ? [i] : [])), dc.nanRows, 'the reference NaN rows (the case is built wrong)');
  // out row (i * sQ + j) * hQ + h has its lse at (i * hQ + h) * sQ + j (varlen: the same index as the row).
  const lseOf = (row: number) => (c.qIndptr ? row : (Math.floor(row / (c.sQ * c.hQ)) * c.hQ + (row % c.hQ)) * c.sQ + (Math.floor(row / c.hQ) % c.sQ));
  for (const [row, col] of dc.nanCols ?? []) assert.ok(Number.isNaN(ref.out[row * 512 + col]) && Number.isFinite(ref.lse[lseOf(row)]), `reference [${row}, ${col}]`);
  const refEmpty = Array.from(ref.lse, (x, i) => (x === Infinity ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(refEmpty, dc.emptyRows ?? [], 'the reference empty rows (lse +inf)');
  if (dc.minSplits) {
    const ns = caseMetadata(c, dc.numSms).numSplits.host() as Int32Array;
    assert.ok(ns[1] - ns[0] >= dc.minSplits, `sequence 0 must be split in >= ${dc.minSplits} (numSplits ${ns})`);
  }
  return { c, ref };
}

/**
 * Rows with no finite score in a whole 64-key tile or a whole split (#10): such a tile must weigh 0 (the CPU
 * kernels once rescaled by exp(-inf - -inf) = NaN), a split of them must not poison the others, and a row with no
 * finite score anywhere is NaN, unlike one that sees no key (empty). Column 10 is in V: its 0 x inf stays NaN.
 * lse rows are [b, hQ, sQ]; out rows [b, sQ, hQ]: with b = 1, hQ = 2, sQ = 2, out row 1 is lse index 2.
 */
export const negInfTileCases: DenseNanCase[] = [
  { name: 'split sequence, the first half of the keys scored -inf with an infinite V column', spec: { dtype: 'bf16', hQ: 2, seqlens: [700], sQ: 1 }, numSms: 8,
    nanRows: [], nanCols: [[0, 10], [1, 10]], minSplits: 2, poison: (c) => negInfKeys(c, 0, 0, 350, 10) },
  { name: 'one split, the first 64-key tile scored -inf with an infinite V column', spec: { dtype: 'f16', hQ: 2, seqlens: [200], sQ: 1 }, numSms: 132,
    nanRows: [], nanCols: [[0, 10], [1, 10]], poison: (c) => negInfKeys(c, 0, 0, 64, 10) },
  { name: 'one split, the first two tiles and a bit scored -inf (the first finite key mid-tile)', spec: { dtype: 'bf16', hQ: 3, seqlens: [150], sQ: 1 }, numSms: 132,
    nanRows: [], nanCols: [[0, 10], [1, 10], [2, 10]], poison: (c) => negInfKeys(c, 0, 0, 140, 10) },
  { name: 'one split, a middle tile scored -inf with an infinite V column', spec: { dtype: 'bf16', hQ: 2, seqlens: [200], sQ: 1 }, numSms: 132,
    nanRows: [], nanCols: [[0, 10], [1, 10]], poison: (c) => negInfKeys(c, 0, 64, 128, 10) },
  { name: 'one split, every tile scored -inf: the row NaN (3 tiles)', spec: { dtype: 'f16', hQ: 2, seqlens: [150, 9], sQ: 1 }, numSms: 132,
    nanRows: [0, 1], poison: (c) => negInfKeys(c, 0, 0, 150, 520) },
  { name: 'split sequence, the middle splits scored -inf with an infinite V column', spec: { dtype: 'bf16', hQ: 2, seqlens: [1400], sQ: 1 }, numSms: 8,
    nanRows: [], nanCols: [[0, 10], [1, 10]], minSplits: 3, poison: (c) => negInfKeys(c, 0, 100, 1300, 10) },
  { name: 'split sequence, every split scored -inf with an infinite V column: the row NaN', spec: { dtype: 'bf16', hQ: 2, seqlens: [1400], sQ: 1 }, numSms: 8,
    nanRows: [0, 1], minSplits: 3, poison: (c) => negInfKeys(c, 0, 0, 1400, 10) },
  { name: 'split sequence, every split scored -inf, causal sQ = 2: both queries NaN', spec: { dtype: 'f16', hQ: 2, seqlens: [900], sQ: 2 }, numSms: 8,
    nanRows: [0, 1, 2, 3], minSplits: 2, poison: (c) => negInfKeys(c, 0, 0, 900, 530) },
  { name: 'split sequence, causal sQ = 2: the keys of query 0 all -inf, query 1 sees one finite key', spec: { dtype: 'bf16', hQ: 2, seqlens: [900], sQ: 2 }, numSms: 8,
    nanRows: [0, 1], nanCols: [[2, 10], [3, 10]], minSplits: 2, poison: (c) => negInfKeys(c, 0, 0, 899, 10) },
  { name: 'causal sQ = 2, one key scored -inf: query 0 sees no key (empty), query 1 only that key (NaN)', spec: { dtype: 'bf16', hQ: 2, seqlens: [1, 5], sQ: 2 }, numSms: 132,
    nanRows: [2, 3], emptyRows: [0, 2], poison: (c) => negInfKeys(c, 0, 0, 1, 10) },
];

/**
 * Keys a causal row may not see hold NaN or an infinite V column: they must stay out of that row entirely (the
 * vector CPU rungs once multiplied their V by P = 0). webgpu-nan.test.ts has the same cases for scalar + WebGPU.
 */
export const maskedKeyCases: DenseNanCase[] = [
  { name: 'causal sQ = 2, NaN in the last key: only the query that sees it NaN', spec: { dtype: 'bf16', hQ: 2, seqlens: [30], sQ: 2 }, numSms: 132,
    nanRows: [2, 3], poison: (c, b) => { c.kCache[keyAt(c, 0, 29, 5)] = b.nan; } },
  { name: 'causal sQ = 3, hQ = 5, the last key scored -inf with an infinite V column: that column NaN for the query that sees it', spec: { dtype: 'f16', hQ: 5, seqlens: [70], sQ: 3 }, numSms: 132,
    nanRows: [], nanCols: [[10, 364], [14, 364]], poison: (c) => negInfKeys(c, 0, 69, 70, 364) },
  { name: 'split sequence, causal sQ = 2, NaN in the last key: only the query that sees it NaN', spec: { dtype: 'bf16', hQ: 2, seqlens: [900], sQ: 2 }, numSms: 8,
    nanRows: [2, 3], minSplits: 2, poison: (c, b) => { c.kCache[keyAt(c, 0, 899, 5)] = b.nan; } },
];

/**
 * Where v5 without its infinite-input fixes (its default; they are opt-in: matrix.infSafe true,
 * FLASHMLA_WEBGPU_MATRIX_INFSAFE=1, s20-h4) differs from the float64 reference on the cases above, by case name: the plans
 * it differs on and what it gives. With the fixes v5 equals the reference on every case (emulated on lavapipe). Found on the H200 (call W3, fill plan: exactly the 7 fill
 * entries) and reproduced with v5's products emulated on lavapipe (both plans; webgpu-schedule.test.ts pins it).
 * - 'empty': v5 has no "keys seen, all scored -inf" state: a row whose visible keys all score -inf ends with a row
 *   sum of 0 and is written as a row that saw no key (out 0, lse +inf; a split's partial "no key"), where the
 *   reference (and the f32 kernel) make it NaN.
 * - 'nan': v5 converts a key's infinite V value as it is (NaN is zeroed, inf is not) and multiplies it by P = 0 in a
 *   row that may not see the key (causal), so 0 x inf = NaN lands in a row the reference leaves finite or empty.
 * - 'finite': the fill plan cuts a split out of -inf-scored keys only; v5 writes it as a split with no key (the
 *   'empty' behaviour), so the combine drops its 0 x inf NaN columns (FlashMLA's plan keeps those keys in a split
 *   with finite ones, where the NaN survives).
 */
export const matrixV5Differs: Record<string, { plans: ScheduleKind[]; got: 'empty' | 'nan' | 'finite' }> = {
  'one split, the first 64-key tile scored -inf with an infinite V column': { plans: ['fill'], got: 'finite' },
  'one split, a middle tile scored -inf with an infinite V column': { plans: ['fill'], got: 'finite' },
  'one split, every tile scored -inf: the row NaN (3 tiles)': { plans: ['flashmla', 'fill'], got: 'empty' },
  'split sequence, every split scored -inf with an infinite V column: the row NaN': { plans: ['flashmla', 'fill'], got: 'empty' },
  'split sequence, every split scored -inf, causal sQ = 2: both queries NaN': { plans: ['flashmla', 'fill'], got: 'empty' },
  'split sequence, causal sQ = 2: the keys of query 0 all -inf, query 1 sees one finite key': { plans: ['flashmla', 'fill'], got: 'empty' },
  'causal sQ = 2, one key scored -inf: query 0 sees no key (empty), query 1 only that key (NaN)': { plans: ['flashmla', 'fill'], got: 'nan' },
  'causal sQ = 3, hQ = 5, the last key scored -inf with an infinite V column: that column NaN for the query that sees it': { plans: ['flashmla', 'fill'], got: 'nan' },
  // webgpu-nan.test.ts's own dense cases (the same two behaviours; emulated, both plans)
  'the last key scored -inf with an infinite V column, causal sQ = 2: that column NaN for the query that sees it': { plans: ['flashmla', 'fill'], got: 'nan' },
  'every key scored -inf: the row NaN': { plans: ['flashmla', 'fill'], got: 'empty' },
  'split sequence, every key scored -inf: the combine gives NaN': { plans: ['flashmla', 'fill'], got: 'empty' },
};

/**
 * Whether the tests' WebGPU backends run v5 without its infinite-input fixes (the default: the fixes, s20-h4, are
 * opt-in, FLASHMLA_WEBGPU_MATRIX_INFSAFE=1): only then do matrixV5Differs's differences apply. Read only where process
 * exists (elsewhere: the default, off).
 */
export function matrixV5InfSafeOff(): boolean {
  return typeof process === 'undefined' || process.env?.FLASHMLA_WEBGPU_MATRIX_INFSAFE !== '1';
}

/** The known v5 difference of case `name` on `be` under the tests' plan (FLASHMLA_TEST_SCHEDULE, else FlashMLA's), if `be` runs the matrix path without its infinite-input fixes. */
export function matrixV5Known(be: Backend, name: string): { plans: ScheduleKind[]; got: 'empty' | 'nan' | 'finite' } | undefined {
  const path = (be.info.details as { decodePath?: string } | undefined)?.decodePath;
  const k = matrixV5Differs[name];
  return be.info.kind === 'webgpu' && path === 'matrix' && matrixV5InfSafeOff() && k?.plans.includes(testSchedule() ?? 'flashmla') ? k : undefined;
}

/** specialsMismatch's first disagreement read as one of matrixV5Differs's kinds (undefined: another kind). */
export function mismatchKind(bad: string): 'empty' | 'nan' | 'finite' | undefined {
  const m = /got (\S+), reference (\S+)$/.exec(bad);
  if (!m) return undefined;
  if (m[1] === 'NaN' && m[2] !== 'NaN') return 'nan';
  if (m[2] !== 'NaN') return undefined;
  return m[1] === '0' ? 'empty' : Number.isFinite(Number(m[1])) ? 'finite' : undefined;
}

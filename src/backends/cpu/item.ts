// The parameter block of one work item for the vector kernels (native C and WebAssembly): an Int32Array whose
// field order is the enum in native/params.h (test/backends/cpu-paths.test.ts checks the two agree). Browser-safe.
import { partWork } from '../../core/scheduler.js';
import { type CpuDecodeArgs, type CpuProblem, type CpuScratch, rowsPerSplit, runCombineUnit, runDecodeUnit } from './kernel.js';
import type { NativeIsa } from './native/loader.js';
import { type CpuSparseArgs, type CpuSparseScratch, nativeSparseSupports, runSparseDecodeUnit } from './sparse.js';

/** Fields in params.h order (PRM_<SNAKE_CASE>). */
export const itemFields = [
  'dtype', // out / q: 0 bf16, 1 f16
  'kvDtype', // kCache: 0 bf16, 1 f16, 2 V3.2 FP8, 3 MODEL1 FP8 (p.kvFormat)
  'hQ', 'hKv', 'nGroups', 'pageBlockSize', 'maxBlocksPerSeq', 'causal',
  'lseStrideB', 'lseStrideH', 'lseStrideT',
  'rowsPerSplit', // sQ * hQ
  'batch', 'qStart', 'qLen', 'seqlen', 'kBegin', 'kEnd',
  'noSplit', // 1: write out / lse; 0: oAccum / lseAccum at splitSlot
  'splitSlot',
  'kvHead',
  'combineFirst', // combine items: the request's first partial slot
  'combineSplits', // combine items: its partials
] as const;
export type ItemField = (typeof itemFields)[number];
export const itemIndex = Object.fromEntries(itemFields.map((f, i) => [f, i])) as Record<ItemField, number>;

/** Fill the problem-wide fields once per launch. */
export function packProblem(p: CpuProblem, prm: Int32Array): void {
  prm[itemIndex.dtype] = p.dtype === 'f16' ? 1 : 0;
  prm[itemIndex.kvDtype] = p.kvFormat ? (p.kvFormat === 'v32' ? 2 : 3) : p.kvDtype === 'f16' ? 1 : 0;
  prm[itemIndex.hQ] = p.hQ;
  prm[itemIndex.hKv] = p.hKv;
  prm[itemIndex.nGroups] = p.nGroups;
  prm[itemIndex.pageBlockSize] = p.pageBlockSize;
  prm[itemIndex.maxBlocksPerSeq] = p.maxBlocksPerSeq;
  prm[itemIndex.causal] = p.causal ? 1 : 0;
  prm[itemIndex.lseStrideB] = p.lseStrideB;
  prm[itemIndex.lseStrideH] = p.lseStrideH;
  prm[itemIndex.lseStrideT] = p.lseStrideT;
  prm[itemIndex.rowsPerSplit] = rowsPerSplit(p);
}

/**
 * Walk the work items of unit u = part * hKv + kvHead (as runDecodeUnit does) and hand each one, packed into
 * prm, to `run`.
 */
export function forEachItem(a: CpuDecodeArgs, u: number, prm: Int32Array, run: (prm: Int32Array) => void): void {
  const p = a.p;
  const part = Math.floor(u / p.hKv);
  packProblem(p, prm);
  prm[itemIndex.kvHead] = u % p.hKv;
  for (const item of partWork(a.meta, a.numSplits, a.seqlens, part)) {
    const i = item.batch;
    prm[itemIndex.batch] = i;
    prm[itemIndex.qStart] = a.qIndptr ? a.qIndptr[i] : i * p.sQ;
    prm[itemIndex.qLen] = a.qIndptr ? a.qIndptr[i + 1] - a.qIndptr[i] : p.sQ;
    prm[itemIndex.seqlen] = a.seqlens[i];
    prm[itemIndex.kBegin] = item.kBegin;
    prm[itemIndex.kEnd] = item.kEnd;
    prm[itemIndex.noSplit] = item.noSplit ? 1 : 0;
    prm[itemIndex.splitSlot] = item.splitSlot;
    run(prm);
  }
}

/** Pack combine unit i (one request, its partials numSplits[i] ..) into prm (params.h): the problem fields and the request's. */
export function packCombine(a: CpuDecodeArgs, i: number, prm: Int32Array): void {
  packProblem(a.p, prm);
  prm[itemIndex.batch] = i;
  prm[itemIndex.qStart] = a.qIndptr ? a.qIndptr[i] : i * a.p.sQ;
  prm[itemIndex.qLen] = a.qIndptr ? a.qIndptr[i + 1] - a.qIndptr[i] : a.p.sQ;
  prm[itemIndex.seqlen] = a.seqlens[i];
  prm[itemIndex.combineFirst] = a.numSplits[i];
  prm[itemIndex.combineSplits] = a.numSplits[i + 1] - a.numSplits[i];
}

export type CpuKernelName = 'native' | 'wasm' | 'scalar';

/** One CPU kernel rung: what the backends call per decode unit. */
export interface CpuKernel {
  name: CpuKernelName;
  /** e.g. "x86-64 AVX2+FMA, forced by FLASHMLA_CPU_ISA (dist/cpu/libflashmla_cpu.so)", or "arm64 NEON ..." */
  detail: string;
  /** The native kernel's instruction set (native/loader.ts NativeIsa); worker threads load the same one. */
  isa?: NativeIsa;
  runDecodeUnit(a: CpuDecodeArgs, u: number, s: CpuScratch): void;
  /**
   * Sparse decode (and dense decode over FP8 caches, which runs as sparse) part `part` of the sparse schedule, for
   * problems nativeSparseSupports() takes; absent: the scalar JavaScript kernel of ./sparse.ts runs them.
   */
  runSparseUnit?(a: CpuSparseArgs, part: number, s: CpuSparseScratch): void;
  /** Whether runDecodeUnit reads FP8 caches (CpuProblem.kvFormat); absent: the scalar kernel runs such decodes. */
  denseFp8?: boolean;
  /** The split combine of request i (the native rung's combine entry); absent: kernel.ts runCombineUnit (JavaScript). */
  runCombineUnit?(a: CpuDecodeArgs, i: number): void;
}

/** What runs the combine units on this rung: its own combine, else the JavaScript one. */
export function combineUnitOf(kernel: CpuKernel): (a: CpuDecodeArgs, i: number) => void {
  return kernel.runCombineUnit ?? runCombineUnit;
}

/** What runs the dense units of problem `p` on this rung: its own kernel, else (an FP8 cache it cannot read) the scalar one. */
export function denseUnitOf(kernel: CpuKernel, p: CpuProblem): CpuKernel['runDecodeUnit'] {
  return p.kvFormat && !kernel.denseFp8 ? runDecodeUnit : kernel.runDecodeUnit;
}

/** What runs the sparse parts of problem `a.p` on this rung: its own sparse kernel, else the scalar one. */
export function sparseUnitOf(kernel: CpuKernel, a: CpuSparseArgs): (a: CpuSparseArgs, part: number, s: CpuSparseScratch) => void {
  return kernel.runSparseUnit && nativeSparseSupports(a.p) ? kernel.runSparseUnit : runSparseDecodeUnit;
}

/** How `flashmla info` names the sparse / FP8 kernel of a rung. */
export function sparseKernelName(kernel: CpuKernel): string {
  return kernel.runSparseUnit ? `${kernel.name}${kernel.isa ? ` ${kernel.isa}` : ''} (dQk 576 / 512; else scalar)` : 'scalar (JavaScript, float64)';
}

/** How `flashmla info` and benchmarks name the kernel that runs a dense decode over an FP8 cache on a rung (denseUnitOf). */
export function denseFp8KernelName(kernel: CpuKernel): string {
  return `cpu-${kernel.denseFp8 ? kernel.name : 'scalar'}${kernel.denseFp8 && kernel.isa ? ` ${kernel.isa}` : ''} (paged FP8)`;
}

/** The reference rung and last fallback: kernel.ts, JavaScript float64. */
export const scalarKernel: CpuKernel = { name: 'scalar', detail: 'JavaScript, float64 arithmetic', runDecodeUnit, denseFp8: true };

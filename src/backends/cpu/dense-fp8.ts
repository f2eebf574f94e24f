// Dense (page-table) decode over an FP8 cache on the CPU backends (Backend.decodeDenseFp8): the dense split-KV walk
// of ./kernel.ts over the dense scheduler's metadata, keys read by block table and dequantized once per 64-key tile
// for every query row of the request. The sparse route it replaces (core/dense-fp8.ts) built b x sQ x max(seqlen)
// indices on the host each call, gathered each query token's keys on its own and planned every request as long as
// the longest. Browser-safe.
import type { DenseFp8Call } from '../../core/dense-fp8.js';
import { type DecodePlan, planDecode } from '../../core/plan.js';
import { lseStrides } from '../../core/problem.js';
import { dV } from '../../core/constants.js';
import { type CpuDecodeArgs, type CpuProblem, hostView, reserveAccum } from './kernel.js';
import type { HostArray } from '../../core/dtype.js';
import { fp8CacheBytes } from './sparse.js';

/** The problem, the plan (accumulator sizes, whether a combine runs) and the host views of a dense FP8 launch. */
export function cpuDenseFp8Args(
  l: DenseFp8Call,
  accum: { o: Float32Array; lse: Float32Array },
  alloc: (dtype: 'f32', n: number, what: string) => HostArray,
): { args: CpuDecodeArgs; plan: DecodePlan } {
  hostView('kCache', l.kCache); // (its device; the kernels read every byte of its storage: fp8CacheBytes)
  const { b, sQ, hQ } = l;
  const p: CpuProblem = {
    b, sQ, totalQ: b * sQ, hQ, hKv: 1, nGroups: hQ, dQk: l.dQk, dV, pageBlockSize: l.pageBlockSize, numBlocks: l.kCache.shape[0],
    maxBlocksPerSeq: l.maxBlocksPerSeq, dtype: l.dtype, kvDtype: 'bf16', softmaxScale: l.softmaxScale, causal: l.causal, varlen: false,
    numSmParts: l.numSmParts, ...lseStrides({ hQ, sQ, varlen: false }), kvFormat: l.format,
  };
  const seqlens = hostView<Int32Array>('cacheSeqlens', l.cacheSeqlens), numSplits = hostView<Int32Array>('numSplits', l.numSplits);
  const plan = planDecode({ b, sQ, hQ, hKv: 1, numSmParts: l.numSmParts, maxBlocksPerSeq: l.maxBlocksPerSeq, varlen: false }, numSplits, seqlens);
  reserveAccum(plan, accum, alloc);
  return {
    plan,
    args: {
      p, q: hostView('q', l.q), kCache: fp8CacheBytes(l.kCache), blockTable: hostView('blockTable', l.blockTable), seqlens,
      meta: hostView('tileSchedulerMetadata', l.tileSchedulerMetadata), numSplits, out: hostView('out', l.out), lse: hostView('lse', l.lse),
      oAccum: accum.o, lseAccum: accum.lse,
    },
  };
}

// Dense (page-table) decode over an FP8 cache on the CPU backends (Backend.decodeDenseFp8): the dense split-KV walk
// of ./kernel.ts over the dense scheduler's metadata, keys read by block table and dequantized once per 64-key tile
// for every query row of the request. The sparse route it replaces (core/dense-fp8.ts) built b x sQ x max(seqlen)
// indices on the host each call, gathered each query token's keys on its own and planned every request as long as
// the longest. Browser-safe.
import type { DenseFp8Call } from '../../core/dense-fp8.js';
import { invalidArgument } from '../../core/errors.js';
import { type DecodePlan, planDecode } from '../../core/plan.js';
import { lseStrides } from '../../core/problem.js';
import type { Tensor } from '../../core/tensor.js';
import { dV } from '../../core/constants.js';
import { type CpuDecodeArgs, type CpuProblem, reserveAccum } from './kernel.js';
import type { HostArray } from '../../core/dtype.js';
import { fp8CacheBytes } from './sparse.js';

/** The problem, the plan (accumulator sizes, whether a combine runs) and the host views of a dense FP8 launch. */
export function cpuDenseFp8Args(
  l: DenseFp8Call,
  accum: { o: Float32Array; lse: Float32Array },
  alloc: (dtype: 'f32', n: number, what: string) => HostArray,
): { args: CpuDecodeArgs; plan: DecodePlan } {
  const view = <T>(name: string, t: Tensor): T => {
    if (t.device !== 'cpu') throw invalidArgument(name, 'a host tensor for the CPU backend', `a ${t.device} tensor`);
    return t.host() as T;
  };
  if (l.kCache.device !== 'cpu') throw invalidArgument('kCache', 'a host tensor for the CPU backend', `a ${l.kCache.device} tensor`);
  const { b, sQ, hQ } = l;
  const p: CpuProblem = {
    b, sQ, totalQ: b * sQ, hQ, hKv: 1, nGroups: hQ, dQk: l.dQk, dV, pageBlockSize: l.pageBlockSize, numBlocks: l.kCache.shape[0],
    maxBlocksPerSeq: l.maxBlocksPerSeq, dtype: l.dtype, kvDtype: 'bf16', softmaxScale: l.softmaxScale, causal: l.causal, varlen: false,
    numSmParts: l.numSmParts, ...lseStrides({ hQ, sQ, varlen: false }), kvFormat: l.format,
  };
  const seqlens = view<Int32Array>('cacheSeqlens', l.cacheSeqlens), numSplits = view<Int32Array>('numSplits', l.numSplits);
  const plan = planDecode({ b, sQ, hQ, hKv: 1, numSmParts: l.numSmParts, maxBlocksPerSeq: l.maxBlocksPerSeq, varlen: false }, numSplits, seqlens);
  reserveAccum(plan, accum, alloc);
  return {
    plan,
    args: {
      p, q: view('q', l.q), kCache: fp8CacheBytes(l.kCache), blockTable: view('blockTable', l.blockTable), seqlens,
      meta: view('tileSchedulerMetadata', l.tileSchedulerMetadata), numSplits, out: view('out', l.out), lse: view('lse', l.lse),
      oAccum: accum.o, lseAccum: accum.lse,
    },
  };
}

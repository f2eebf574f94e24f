// flashMlaSparseWithKvcache: FlashMLA's sparse flash_mla_with_kvcache (indices instead of a block table) in camelCase.
import { FlashMlaError, invalidArgument } from './errors.js';
import { backendOf } from './api.js';
import {
  type SparseDecodeOptions, type SparseCall, type SparseMlaMetadata, type SparseProblem, checkSparseOutputs, getSparseMlaMetadata,
  validateSparseDecode,
} from './sparse.js';
import type { Tensor } from './tensor.js';
import { checkRank, hostI32 } from './validate.js';

/**
 * Token-sparse MLA decode.
 *   q [b, sQ, hQ, dQk] bf16/f16; kCache [numBlocks, pageBlockSize, 1, 656 | 584] fp8_e4m3 bytes (V3.2 when
 *   dQk = 576, MODEL1 when dQk = 512; see fp8CacheTensor) or [numBlocks, pageBlockSize, 1, dQk] in q's dtype;
 *   indices [b, sQ, topk] i32 physical token ids (block * pageBlockSize + offset), -1 = invalid.
 * `metadata` comes from getSparseMlaMetadata (planned here when omitted). Returns out [b, sQ, hQ, 512] (q's dtype)
 * and lse [b, hQ, sQ] f32 (natural log). A row with no valid index: out 0, lse +Infinity. attnSink scales out
 * by 1 / (1 + exp(sink - lse)) and leaves lse as it is.
 */
export async function flashMlaSparseWithKvcache(
  q: Tensor,
  kCache: Tensor,
  indices: Tensor,
  headDimV: number,
  metadata?: SparseMlaMetadata,
  opts: SparseDecodeOptions = {},
): Promise<{ out: Tensor; lse: Tensor }> {
  const backend = opts.backend ?? backendOf(q);
  checkRank('q', q, 4, '[b, sQ, hQ, dQk]');
  checkRank('indices', indices, 3, '[b, sQ, topk]');
  if (opts.extraIndices) checkRank('extraIndices', opts.extraIndices, 3, '[b, sQ, extraTopk]');
  const meta = metadata ?? getSparseMlaMetadata({
    b: q.shape[0], sQ: q.shape[1], hQ: q.shape[2], topk: indices.shape[2] ?? 0, topkLength: opts.topkLength,
    extraTopk: opts.extraIndices?.shape[2] ?? 0, extraTopkLength: opts.extraTopkLength, backend,
  });
  const problem = validateSparseDecode({ ...opts, q, kCache, indices, headDimV, metadata: meta });
  if (q.device !== backend.kind) throw invalidArgument('q', `a tensor on ${backend.kind} (the backend's device)`, q.device);
  if (!backend.decodeSparse) {
    throw new FlashMlaError('backend_unavailable', `the ${backend.kind} backend (${backend.info.device}) has no sparse decode kernel`);
  }
  const out = opts.out ?? backend.empty(problem.dtype, [problem.b, problem.sQ, problem.hQ, problem.dV]);
  const lse = opts.lse ?? backend.empty('f32', [problem.b, problem.hQ, problem.sQ]);
  checkSparseOutputs(problem, out, lse, backend.kind);
  await backend.decodeSparse(sparseLaunchOf(problem, { ...opts, q, kCache, indices }, meta, out, lse));
  return { out, lse };
}

export function sparseLaunchOf(
  problem: SparseProblem, a: SparseDecodeOptions & { q: Tensor; kCache: Tensor; indices: Tensor }, meta: SparseMlaMetadata, out: Tensor, lse: Tensor,
): SparseCall {
  return {
    problem, q: a.q, kCache: a.kCache, indices: a.indices, topkLength: a.topkLength, attnSink: a.attnSink,
    extraKCache: a.extraKCache, extraIndices: a.extraIndices, extraTopkLength: a.extraTopkLength,
    tileSchedulerMetadata: meta.tileSchedulerMetadata, numSplits: meta.numSplits, out, lse,
    host: {
      topkLength: meta.plannedFor.topkLength ?? hostI32(a.topkLength), extraTopkLength: meta.plannedFor.extraTopkLength ?? hostI32(a.extraTopkLength),
      // (absent where the metadata lives on the device, planned there by the call or passed so by the caller; onDevice
      // metadata without lengths keeps the host's copy of what it wrote there)
      tileSchedulerMetadata: hostI32(meta.tileSchedulerMetadata) ?? meta.planned?.tileSchedulerMetadata, numSplits: hostI32(meta.numSplits) ?? meta.planned?.numSplits,
    },
    ...(problem.devicePlan && meta.planState ? { planState: meta.planState } : {}),
  };
}

/**
 * The kernel flashMlaSparseWithKvcache would run for these arguments (Backend.sparseKernel: benchmarks record it), or
 * undefined where the backend does not say. Validates like the call; allocates and runs nothing.
 */
export function sparseKernelFor(q: Tensor, kCache: Tensor, indices: Tensor, headDimV: number, metadata: SparseMlaMetadata, opts: SparseDecodeOptions = {}): string | undefined {
  const backend = opts.backend ?? backendOf(q);
  return backend.sparseKernel?.(validateSparseDecode({ ...opts, q, kCache, indices, headDimV, metadata }));
}

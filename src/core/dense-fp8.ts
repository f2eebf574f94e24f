// Dense (page-table) decode over an FP8 cache in either of FlashMLA's formats: flashMlaWithKvcache with
// kCache [numBlocks, pageBlockSize, 1, 656 | 584] fp8_e4m3. Beyond FlashMLA, whose Hopper build reads an FP8
// cache only for sparse decode. A backend with Backend.decodeDenseFp8 reads the cache by block table under the dense
// plan (CUDA's FP8 kernels, the CPU's paged FP8 source, WebGPU's staged pages); otherwise (or where it declines) a
// dense step is a sparse step whose row j lists every key it may see (causal: keys 0 .. seqlen - sQ + j), each request
// planned by its own length, so it runs on any backend's sparse kernel. The dense metadata is checked either way.
import { fmtShape, invalidArgument } from './errors.js';
import { fp8BlockStride, fp8FormatForDqk } from './fp8.js';
import { visibleKeys } from './problem.js';
import type { DecodeOptions } from './api.js';
import { describeCache, getSparseMlaMetadata } from './sparse.js';
import { flashMlaSparseWithKvcache } from './sparse-api.js';
import { type Tensor, fromArray } from './tensor.js';
import type { HalfDType } from './dtype.js';
import { backendOf } from './api.js';
import type { Fp8Format } from './fp8.js';

/**
 * A validated dense decode over an FP8 cache, for a backend that reads the cache by block table itself
 * (Backend.decodeDenseFp8). Index tensors may be on the host or the backend's device.
 */
export interface DenseFp8Call {
  format: Fp8Format;
  dtype: HalfDType;
  b: number; sQ: number; hQ: number; dQk: number;
  pageBlockSize: number; maxBlocksPerSeq: number;
  /** Page blocks of kCache (its shape[0]): a page id of a device block table outside 0..numBlocks-1 is the caller's to
      vouch for, and a kernel that can bound it does (sparse_sm90.cu counts such a key as absent). */
  numBlocks: number;
  /** Bytes from one page block of kCache to the next. */
  blockStride: number;
  numSmParts: number;
  causal: boolean;
  softmaxScale: number;
  q: Tensor; kCache: Tensor; blockTable: Tensor; cacheSeqlens: Tensor; tileSchedulerMetadata: Tensor; numSplits: Tensor;
  out: Tensor; // [b, sQ, hQ, 512] q's dtype
  lse: Tensor; // [b, hQ, sQ] f32
}
import { checkDtype, checkIndexDevice, checkMetadataMatches, checkPositiveInt, checkRank, checkSeqlens, checkShape, hostI32 } from './validate.js';

/** The sparse indices [b, sQ, max(1, max seqlen)] of a dense, optionally causal, step. */
export function denseStepIndices(blockTable: Int32Array, maxBlocksPerSeq: number, cacheSeqlens: Int32Array, sQ: number, pageBlockSize: number, causal: boolean): { indices: Int32Array; topk: number } {
  const b = cacheSeqlens.length;
  let topk = 1;
  for (let i = 0; i < b; i++) topk = Math.max(topk, cacheSeqlens[i]);
  const indices = new Int32Array(b * sQ * topk).fill(-1);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < sQ; j++) {
      const n = visibleKeys(cacheSeqlens[i], sQ, j, causal);
      const row = (i * sQ + j) * topk;
      for (let t = 0; t < n; t++) indices[row + t] = blockTable[i * maxBlocksPerSeq + Math.floor(t / pageBlockSize)] * pageBlockSize + (t % pageBlockSize);
    }
  }
  return { indices, topk };
}

export async function flashMlaWithFp8Kvcache(
  q: Tensor, kCache: Tensor, blockTable: Tensor, cacheSeqlens: Tensor, headDimV: number, tileSchedulerMetadata: Tensor, numSplits: Tensor,
  opts: DecodeOptions = {},
): Promise<{ out: Tensor; lse: Tensor }> {
  checkDtype('kCache', kCache, ['fp8_e4m3']);
  checkDtype('q', q, ['bf16', 'f16']);
  checkDtype('blockTable', blockTable, ['i32']);
  checkDtype('cacheSeqlens', cacheSeqlens, ['i32']);
  if (opts.qIndptr) throw invalidArgument('qIndptr', 'none with an FP8 cache (per-request query lengths need a 16-bit cache)', 'a tensor');
  const causal = opts.causal ?? true;
  if (typeof causal !== 'boolean') throw invalidArgument('causal', 'true or false', String(causal));
  checkRank('q', q, 4, '[b, sQ, hQ, dQk]');
  checkRank('kCache', kCache, 4, '[numBlocks, pageBlockSize, 1, bytesPerToken]');
  checkRank('blockTable', blockTable, 2, '[b, maxBlocksPerSeq]');
  checkRank('cacheSeqlens', cacheSeqlens, 1, '[b]');
  const [b, sQ, hQ, dQk] = q.shape;
  // (a dimension of 0 made a launch grid with no blocks: a driver error on CUDA; the GPU fuzz, session 54)
  checkPositiveInt('q b (dim 0)', b);
  checkPositiveInt('q sQ (dim 1)', sQ);
  checkPositiveInt('q hQ (dim 2)', hQ);
  const format = fp8FormatForDqk(dQk);
  if (!format) throw invalidArgument('q', 'dQk 576 (V3.2 FP8 cache) or 512 (MODEL1 FP8 cache)', String(dQk));
  // Bytes per token, hKv = 1, q's device and storage for every block's full stride (a MODEL1 block is padded past
  // pageBlockSize * 584 bytes): the kernels that read the cache by block table trust all four.
  describeCache('kCache', kCache, q, dQk);
  const pageBlockSize = kCache.shape[1], numBlocks = kCache.shape[0];
  checkShape('cacheSeqlens', cacheSeqlens, [b], '[b]');
  if (blockTable.shape[0] !== b) throw invalidArgument('blockTable', `${b} rows (one per sequence)`, fmtShape(blockTable.shape));
  const backend = opts.backend ?? backendOf(q);
  // A backend that reads the cache by block table (CUDA's sparse_mma.cu) takes index tensors on its device, as dense
  // decode over a 16-bit cache does: their values are then the caller's to vouch for. Every other path builds
  // sparse indices from the host values.
  const direct = !!backend.decodeDenseFp8 && q.device === backend.kind && kCache.device === backend.kind;
  const seqlens = hostI32(cacheSeqlens), table = hostI32(blockTable);
  for (const [name, t] of [['blockTable', blockTable], ['cacheSeqlens', cacheSeqlens]] as const) {
    if (t.device !== 'cpu' && !direct) throw invalidArgument(name, `a host tensor with an FP8 cache on ${backend.kind} (the step is planned from its values)`, `a ${t.device} tensor`);
    checkIndexDevice(name, t, backend.kind);
  }
  if (seqlens) checkSeqlens('cacheSeqlens', seqlens);
  const maxBlocksPerSeq = blockTable.shape[1];
  // Host lengths are checked against the table's width wherever the table lives (a device table's pages are the
  // caller's to vouch for, not its shape).
  for (let i = 0; seqlens && i < b; i++) {
    const need = Math.ceil(seqlens[i] / pageBlockSize);
    if (need > maxBlocksPerSeq) throw invalidArgument(`cacheSeqlens[${i}]`, `<= ${maxBlocksPerSeq * pageBlockSize} (blockTable has ${maxBlocksPerSeq} pages a row)`, String(seqlens[i]));
    for (let j = 0; table && j < need; j++) {
      const blk = table[i * maxBlocksPerSeq + j];
      if (!(blk >= 0 && blk < numBlocks)) throw invalidArgument(`blockTable[${i}, ${j}]`, `a page id in 0..${numBlocks - 1}`, String(blk), `page ${j} holds keys of sequence ${i}`);
    }
  }
  const numSmParts = tileSchedulerMetadata.shape[0];
  checkShape('tileSchedulerMetadata', tileSchedulerMetadata, [numSmParts, 8], '[numSmParts, 8]');
  checkShape('numSplits', numSplits, [b + 1], '[b + 1]');
  const m = hostI32(tileSchedulerMetadata), ns = hostI32(numSplits);
  if (m && ns && seqlens) checkMetadataMatches(seqlens, m, ns, numSmParts);

  // A backend that reads the cache by block table (CUDA's sparse_mma.cu): no host-built indices.
  if (direct && backend.decodeDenseFp8) {
    const softmaxScale = opts.softmaxScale ?? dQk ** -0.5;
    if (!(Number.isFinite(softmaxScale) && softmaxScale > 0)) throw invalidArgument('softmaxScale', 'a finite number > 0', String(softmaxScale));
    if (headDimV !== 512) throw invalidArgument('headDimV', '512', String(headDimV));
    const out = opts.out ?? backend.empty(q.dtype, [b, sQ, hQ, headDimV]);
    const lse = opts.lse ?? backend.empty('f32', [b, hQ, sQ]);
    checkDtype('out', out, [q.dtype]);
    checkShape('out', out, [b, sQ, hQ, headDimV], '[b, sQ, hQ, dV]');
    checkDtype('lse', lse, ['f32']);
    checkShape('lse', lse, [b, hQ, sQ], '[b, hQ, sQ]');
    if (out.device !== backend.kind || lse.device !== backend.kind) throw invalidArgument(out.device !== backend.kind ? 'out' : 'lse', `a tensor on ${backend.kind}`, out.device !== backend.kind ? out.device : lse.device);
    const launched = await backend.decodeDenseFp8({
      format, dtype: q.dtype as HalfDType, b, sQ, hQ, dQk, pageBlockSize, maxBlocksPerSeq, numBlocks, blockStride: fp8BlockStride(format, pageBlockSize),
      numSmParts, causal, softmaxScale, q, kCache, blockTable, cacheSeqlens, tileSchedulerMetadata, numSplits, out, lse,
    });
    if (launched) return { out, lse };
    opts = { ...opts, out, lse };
  }
  if (!seqlens || !table) {
    throw invalidArgument(seqlens ? 'blockTable' : 'cacheSeqlens', `a host tensor for this shape on ${backend.kind} (no kernel reads an FP8 cache by block table here; the step is planned from its values)`, 'a device tensor');
  }

  const { indices, topk } = denseStepIndices(table, maxBlocksPerSeq, seqlens, sQ, pageBlockSize, causal);
  // Each request's own length as its topkLength: the sparse scheduler then splits the work by the keys there are, not
  // as if every request were as long as the longest (an uneven batch would leave most SM parts idle).
  const topkLength = fromArray('i32', [b], Int32Array.from(seqlens, (n) => Math.max(0, n)));
  const meta = getSparseMlaMetadata({ b, sQ, hQ, topk, topkLength, backend: opts.backend });
  // precision 'exact': the dense FP8 kernels keep P to 2^-11 or better (dense_fp8_sm90.cu: f16 P on tiles whose values
  // are exact in f16, else hi + lo), and this path is held to the same bound.
  return flashMlaSparseWithKvcache(q, kCache, fromArray('i32', [b, sQ, topk], indices), headDimV, meta, {
    softmaxScale: opts.softmaxScale, backend: opts.backend, out: opts.out, lse: opts.lse, precision: 'exact', topkLength,
  });
}

// The one description of the CUDA kernels' parameter block. Both sides come from it: `packParams` (or the
// `compilePacker` closure) writes the bytes cuLaunchKernel copies, and `structHeader()` emits the C struct the kernels
// read into kernels/params.h (through kernelsHeader() in kernels/launch.ts; scripts/build-kernels.mjs regenerates the
// header, and its static_asserts make nvcc check every offset).
// Kept free of Node imports so it can be checked without a GPU.

export type ParamType = 'ptr' | 'i32' | 'f32';

export interface ParamField {
  readonly name: string;
  readonly type: ParamType;
  /** C type spelled in the header (pointers only; scalars are int / float). */
  readonly c?: string;
  /** Shape and meaning, copied into the header. */
  readonly doc: string;
}

/** MlaParams: shared by the split-KV decode, the combine and the naive kernels. Pointers first (8-byte aligned). */
export const mlaParamFields = [
  { name: 'q', type: 'ptr', c: 'const void*', doc: '[totalQ, hQ, 576] bf16/f16 ([b, sQ, hQ, 576] is the same memory)' },
  { name: 'kCache', type: 'ptr', c: 'const void*', doc: '[numBlocks, pageBlockSize, hKv, 576] bf16/f16; V = columns 0..511' },
  { name: 'blockTable', type: 'ptr', c: 'const int*', doc: '[b, maxBlocksPerSeq] i32' },
  { name: 'cacheSeqlens', type: 'ptr', c: 'const int*', doc: '[b] i32' },
  { name: 'qIndptr', type: 'ptr', c: 'const int*', doc: '[b + 1] i32 query offsets, or null: request i has sQ queries at i * sQ' },
  { name: 'tileSchedulerMetadata', type: 'ptr', c: 'const int*', doc: '[numSmParts, 8] i32 (see src/core/scheduler.ts)' },
  { name: 'numSplits', type: 'ptr', c: 'const int*', doc: '[b + 1] i32 cumulative partial results per request' },
  { name: 'out', type: 'ptr', c: 'void*', doc: '[totalQ, hQ, 512] bf16/f16' },
  { name: 'lse', type: 'ptr', c: 'float*', doc: 'f32, element (batch, h, j) at batch*lseStrideB + h*lseStrideH + (qStart+j)*lseStrideT' },
  { name: 'oAccum', type: 'ptr', c: 'float*', doc: '[b + numSmParts, sQ, hQ, 512] f32 partial outputs, row numSplits[i] + split' },
  { name: 'lseAccum', type: 'ptr', c: 'float*', doc: '[b + numSmParts, sQ, hQ] f32 partial lse (natural log; -inf: no key)' },
  { name: 'b', type: 'i32', doc: 'requests' },
  { name: 'sQ', type: 'i32', doc: 'queries per request (uniform), or the largest qLen (varlen)' },
  { name: 'hQ', type: 'i32', doc: 'query heads' },
  { name: 'hKv', type: 'i32', doc: 'latent KV heads' },
  { name: 'nGroups', type: 'i32', doc: 'hQ / hKv' },
  { name: 'rows', type: 'i32', doc: 'sQ * nGroups: query rows per KV head, row m = j * nGroups + (h mod nGroups)' },
  { name: 'pageBlockSize', type: 'i32', doc: 'keys per cache page, 1..256' },
  { name: 'maxBlocksPerSeq', type: 'i32', doc: 'columns of blockTable' },
  { name: 'numSmParts', type: 'i32', doc: 'rows of tileSchedulerMetadata' },
  { name: 'causal', type: 'i32', doc: '1: query j of a request of qLen sees keys < seqlen - qLen + j + 1' },
  { name: 'lseStrideB', type: 'i32', doc: 'see lse' },
  { name: 'lseStrideH', type: 'i32', doc: 'see lse' },
  { name: 'lseStrideT', type: 'i32', doc: 'see lse' },
  { name: 'combineRows', type: 'i32', doc: 'rows (j * hQ + h) one combine CTA merges in turn (launch.ts combineLaunch)' },
  { name: 'scaleLog2', type: 'f32', doc: 'softmaxScale * log2(e): scores are kept in base 2' },
] as const satisfies readonly ParamField[];

/** SparseParams: sparse.cu (token-sparse decode over FP8 or bf16/f16 caches). Pointers first. */
export const sparseParamFields = [
  { name: 'q', type: 'ptr', c: 'const void*', doc: '[b, sQ, hQ, dQk] bf16/f16' },
  { name: 'kCache', type: 'ptr', c: 'const unsigned char*', doc: 'FP8 bytes (V3.2 656 B/token, MODEL1 584 B/token in padded blocks) or bf16/f16 [numBlocks, pageBlockSize, 1, dQk]' },
  { name: 'extraKCache', type: 'ptr', c: 'const unsigned char*', doc: 'same format as kCache, or null' },
  { name: 'indices', type: 'ptr', c: 'const int*', doc: '[b, sQ, topk] i32 physical token ids, -1 invalid' },
  { name: 'extraIndices', type: 'ptr', c: 'const int*', doc: '[b, sQ, extraTopk] i32, or null' },
  { name: 'topkLength', type: 'ptr', c: 'const int*', doc: '[b] i32, or null: topk' },
  { name: 'extraTopkLength', type: 'ptr', c: 'const int*', doc: '[b] i32, or null: extraTopk' },
  { name: 'attnSink', type: 'ptr', c: 'const float*', doc: '[hQ] f32, or null' },
  { name: 'out', type: 'ptr', c: 'void*', doc: '[b, sQ, hQ, 512] bf16/f16' },
  { name: 'lse', type: 'ptr', c: 'float*', doc: '[b, hQ, sQ] f32 natural log, +inf for a row with no valid index' },
  { name: 'b', type: 'i32', doc: 'requests' },
  { name: 'sQ', type: 'i32', doc: 'queries per request' },
  { name: 'hQ', type: 'i32', doc: 'query heads' },
  { name: 'topk', type: 'i32', doc: 'indices.shape[2]' },
  { name: 'extraTopk', type: 'i32', doc: 'extraIndices.shape[2], 0 without an extra cache' },
  { name: 'pageBlockSize', type: 'i32', doc: 'tokens per page of kCache' },
  { name: 'extraPageBlockSize', type: 'i32', doc: 'tokens per page of extraKCache' },
  { name: 'blockStride', type: 'i32', doc: 'FP8: bytes from page to page of kCache; bf16/f16: elements' },
  { name: 'extraBlockStride', type: 'i32', doc: 'the same for extraKCache' },
  { name: 'scaleLog2', type: 'f32', doc: 'softmaxScale * log2(e)' },
  { name: 'numTokens', type: 'i32', doc: 'tokens of kCache (numBlocks * pageBlockSize): an index outside 0..numTokens-1 counts as -1' },
  { name: 'extraNumTokens', type: 'i32', doc: 'the same for extraKCache (0 without one)' },
] as const satisfies readonly ParamField[];

/** SparseMmaParams: sparse_mma.cu (tiled sparse decode, and dense page-table decode over FP8 caches). Pointers first. */
export const sparseMmaParamFields = [
  { name: 'q', type: 'ptr', c: 'const void*', doc: '[b, sQ, hQ, dQk] bf16/f16' },
  { name: 'kCache', type: 'ptr', c: 'const unsigned char*', doc: 'FP8 bytes (V3.2 / MODEL1 blocks) or bf16/f16 [numBlocks, pageBlockSize, 1, dQk]' },
  { name: 'extraKCache', type: 'ptr', c: 'const unsigned char*', doc: 'same format as kCache, or null' },
  { name: 'indices', type: 'ptr', c: 'const int*', doc: 'sparse: [b, sQ, topk] i32 physical token ids, -1 invalid; dense: null' },
  { name: 'extraIndices', type: 'ptr', c: 'const int*', doc: '[b, sQ, extraTopk] i32, or null' },
  { name: 'topkLength', type: 'ptr', c: 'const int*', doc: '[b] i32, or null: topk' },
  { name: 'extraTopkLength', type: 'ptr', c: 'const int*', doc: '[b] i32, or null: extraTopk' },
  { name: 'attnSink', type: 'ptr', c: 'const float*', doc: '[hQ] f32, or null' },
  { name: 'blockTable', type: 'ptr', c: 'const int*', doc: 'dense: [b, maxBlocksPerSeq] i32; sparse: null' },
  { name: 'cacheSeqlens', type: 'ptr', c: 'const int*', doc: 'dense: [b] i32; sparse: null' },
  { name: 'tileSchedulerMetadata', type: 'ptr', c: 'const int*', doc: '[numSmParts, 8] i32: sparse or dense scheduler rows' },
  { name: 'numSplits', type: 'ptr', c: 'const int*', doc: '[b + 1] i32 cumulative partial results per request' },
  { name: 'out', type: 'ptr', c: 'void*', doc: '[b, sQ, hQ, 512] bf16/f16' },
  { name: 'lse', type: 'ptr', c: 'float*', doc: '[b, hQ, sQ] f32 natural log, +inf for a row with no key' },
  { name: 'oAccum', type: 'ptr', c: 'float*', doc: '[b + numSmParts, sQ, hQ, 512] f32 partial outputs, slot numSplits[i] + split' },
  { name: 'lseAccum', type: 'ptr', c: 'float*', doc: '[b + numSmParts, sQ, hQ] f32 partial lse (-inf: no key)' },
  { name: 'b', type: 'i32', doc: 'requests' },
  { name: 'sQ', type: 'i32', doc: 'queries per request' },
  { name: 'hQ', type: 'i32', doc: 'query heads' },
  { name: 'topk', type: 'i32', doc: 'indices.shape[2] (sparse)' },
  { name: 'extraTopk', type: 'i32', doc: 'extraIndices.shape[2], 0 without an extra cache' },
  { name: 'pageBlockSize', type: 'i32', doc: 'tokens per page of kCache' },
  { name: 'extraPageBlockSize', type: 'i32', doc: 'tokens per page of extraKCache' },
  { name: 'blockStride', type: 'i32', doc: 'FP8: bytes from page to page of kCache; bf16/f16: elements' },
  { name: 'extraBlockStride', type: 'i32', doc: 'the same for extraKCache' },
  { name: 'maxBlocksPerSeq', type: 'i32', doc: 'dense: columns of blockTable' },
  { name: 'dense', type: 'i32', doc: '1: page-table decode (rows j * hQ + h of a request share its keys), 0: sparse' },
  { name: 'causal', type: 'i32', doc: 'dense: 1 if query j sees keys < seqlen - sQ + j + 1' },
  { name: 'scaleLog2', type: 'f32', doc: 'softmaxScale * log2(e)' },
  { name: 'listShift', type: 'i32', doc: 'mla_dense_fp8_lists: keys left out at the end of each causal list (a folded step: its sQ - 1), else 0' },
  { name: 'numTokens', type: 'i32', doc: 'mla_sparse_bound: tokens of kCache (numBlocks * pageBlockSize); an id outside 0..numTokens-1 becomes -1' },
  { name: 'extraNumTokens', type: 'i32', doc: 'the same for extraKCache (0 without one)' },
  { name: 'rawIndices', type: 'ptr', c: 'const int*', doc: 'mla_sparse_bound: indices as the caller left them on the device (bounded copy: indices), or null' },
  { name: 'rawExtraIndices', type: 'ptr', c: 'const int*', doc: 'the same for extraIndices, or null' },
  { name: 'rawTopkLength', type: 'ptr', c: 'const int*', doc: 'mla_sparse_bound: topkLength as the caller left it on the device (clamped copy: topkLength), or null' },
  { name: 'rawExtraTopkLength', type: 'ptr', c: 'const int*', doc: 'the same for extraTopkLength, or null' },
  { name: 'planParts', type: 'i32', doc: 'mla_sparse_bound, mla_dense_fp8_lists: SM parts of a step planned on the device (their CTA 0 writes the plan), else 0' },
  { name: 'planState', type: 'ptr', c: 'const int*', doc: 'the plan passes (mla_sparse_bound_plan, mla_dense_fp8_lists_plan): [4 + b] i32, the record of the plan in tileSchedulerMetadata / numSplits (1, b, parts, 0, then each request\'s 64-entry blocks); null: plan always' },
  { name: 'pageBlockMagic', type: 'i32', doc: 'sparse_sm90.cu: m of pageBlockDivisor(pageBlockSize) as an int32 bit pattern: id / pageBlockSize = umulhi(2 id, m) >> pageBlockShift' },
  { name: 'pageBlockShift', type: 'i32', doc: 'sparse_sm90.cu: s of pageBlockDivisor(pageBlockSize), ceil(log2 pageBlockSize)' },
  { name: 'extraPageBlockMagic', type: 'i32', doc: 'the same for extraPageBlockSize' },
  { name: 'extraPageBlockShift', type: 'i32', doc: 'the same for extraPageBlockSize' },
] as const satisfies readonly ParamField[];

export interface ParamLayout {
  readonly size: number;
  readonly offsets: Readonly<Record<string, number>>;
  readonly fields: readonly ParamField[];
}

const sizeOf: Record<ParamType, number> = { ptr: 8, i32: 4, f32: 4 };

/** C layout on a 64-bit target: natural alignment, size padded to the largest alignment. */
export function layoutOf(fields: readonly ParamField[]): ParamLayout {
  let off = 0, align = 1;
  const offsets: Record<string, number> = {};
  for (const f of fields) {
    const s = sizeOf[f.type];
    off = Math.ceil(off / s) * s;
    offsets[f.name] = off;
    off += s;
    align = Math.max(align, s);
  }
  return { size: Math.ceil(off / align) * align, offsets, fields };
}

export const mlaParamsLayout = layoutOf(mlaParamFields);
export const sparseParamsLayout = layoutOf(sparseParamFields);
export const sparseMmaParamsLayout = layoutOf(sparseMmaParamFields);

/** Write `v` into `view` (at least layout.size bytes), little-endian as on every CUDA host. */
export function packParams(view: DataView, layout: ParamLayout, v: Readonly<Record<string, bigint | number>>): void {
  for (const f of layout.fields) {
    const off = layout.offsets[f.name];
    const x = v[f.name];
    if (f.type === 'ptr') view.setBigUint64(off, typeof x === 'bigint' ? x : 0n, true);
    else if (f.type === 'i32') view.setInt32(off, x as number, true);
    else view.setFloat32(off, x as number, true);
  }
}

/**
 * A compiled packer for the hot path: one DataView call per field with constant offsets, no lookups. Same
 * bytes as packParams (the GPU suite and the build check that).
 */
export function compilePacker(layout: ParamLayout): (view: DataView, v: Readonly<Record<string, bigint | number>>) => void {
  const body = layout.fields.map((f) => {
    const off = layout.offsets[f.name];
    const k = JSON.stringify(f.name);
    if (f.type === 'ptr') return `d.setBigUint64(${off}, v[${k}] ?? 0n, true);`;
    return f.type === 'i32' ? `d.setInt32(${off}, v[${k}], true);` : `d.setFloat32(${off}, v[${k}], true);`;
  });
  return new Function('d', 'v', body.join('\n')) as (view: DataView, v: Readonly<Record<string, bigint | number>>) => void;
}

/** The C header for a parameter block (deterministic text; the build compares it with the file in the tree). */
export function structHeader(structName: string, layout: ParamLayout): string {
  const lines = [`struct ${structName} {`];
  for (const f of layout.fields) {
    const ct = f.type === 'ptr' ? f.c! : f.type === 'i32' ? 'int' : 'float';
    lines.push(`  ${ct} ${f.name}; // ${f.doc}`);
  }
  lines.push('};');
  lines.push(`static_assert(sizeof(${structName}) == ${layout.size}, "${structName}: size differs from params.ts");`);
  for (const f of layout.fields) {
    lines.push(`static_assert(offsetof(${structName}, ${f.name}) == ${layout.offsets[f.name]}, "${structName}.${f.name}: offset differs from params.ts");`);
  }
  return lines.join('\n');
}

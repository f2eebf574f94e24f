// Loads ../shared/golden-sparse (FlashMLA 9241ae3's sparse FP8 decode on an H200) for the sparse tests.
// The goldens are ~19 MB and not in the repository: without them the golden tests skip (and fail when CI=true).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReferenceSparseInputs } from '../../src/core/reference-sparse.js';

const here = dirname(fileURLToPath(import.meta.url));
/** $FLASHMLA_GOLDEN_SPARSE, ./shared/golden-sparse (GPU host copy), or ../shared/golden-sparse. */
export const goldenSparseDir = (process.env.FLASHMLA_GOLDEN_SPARSE ? [process.env.FLASHMLA_GOLDEN_SPARSE]
  : [resolve(here, '../../shared/golden-sparse'), resolve(here, '../../../shared/golden-sparse')])
  .find((d) => existsSync(join(d, 'summary.json')));

/** Why golden cases cannot run here, or undefined when they can. With CI=true a missing folder is an error. */
export function goldenSparseSkip(): string | undefined {
  if (goldenSparseDir) return undefined;
  const why = process.env.FLASHMLA_GOLDEN_SPARSE
    ? `FLASHMLA_GOLDEN_SPARSE=${process.env.FLASHMLA_GOLDEN_SPARSE} holds no summary.json`
    : 'no ../shared/golden-sparse (set FLASHMLA_GOLDEN_SPARSE to its folder)';
  if (process.env.CI === 'true') throw new Error(`golden-sparse: ${why}; CI must run the golden cases`);
  return why;
}

export interface SparseGoldenParams {
  name: string; format: 'v32' | 'model1'; b: number; s_q: number; h_q: number; h_kv: number; d_qk: number; d_v: number;
  topk: number; page_block_size: number; num_blocks: number; bytes_per_token: number; block_stride_bytes: number;
  softmax_scale: number; softmax_scale_passed: number | null; num_sms: number; num_sm_parts: number;
  topk_length: number[] | null; extra_topk?: number; extra_page_block_size?: number; extra_num_blocks?: number;
  extra_block_stride_bytes?: number; extra_topk_length?: number[] | null;
}

export interface SparseGolden {
  name: string;
  params: SparseGoldenParams;
  arrays: Record<string, Uint16Array | Int32Array | Float32Array | Float64Array | Uint8Array>;
  shapes: Record<string, number[]>;
}

export function sparseGoldenNames(): string[] {
  if (!goldenSparseDir) return [];
  return readdirSync(goldenSparseDir).filter((f) => f.startsWith('sparse_') && f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadSparseGolden(name: string): SparseGolden {
  const dir = goldenSparseDir!;
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  const bin = readFileSync(join(dir, `${name}.bin`));
  const arrays: SparseGolden['arrays'] = {};
  const shapes: SparseGolden['shapes'] = {};
  for (const [key, a] of Object.entries(meta.arrays) as [string, { dtype: string; shape: number[]; offset: number; nbytes: number }][]) {
    const buf = bin.buffer.slice(bin.byteOffset + a.offset, bin.byteOffset + a.offset + a.nbytes); // aligned copy
    shapes[key] = a.shape;
    switch (a.dtype) {
      case 'bf16': case 'f16': arrays[key] = new Uint16Array(buf); break;
      case 'i32': arrays[key] = new Int32Array(buf); break;
      case 'f32': arrays[key] = new Float32Array(buf); break;
      case 'f64': arrays[key] = new Float64Array(buf); break;
      case 'u8': arrays[key] = new Uint8Array(buf); break;
      default: throw new Error(`golden ${name}: dtype ${a.dtype}`);
    }
  }
  return { name, params: meta.params, arrays, shapes };
}

/** A golden's inputs for referenceSparseDecode (the float64 oracle; its outAbs gives the 'fast' precision's bound). */
export function goldenSparseReferenceInputs(g: SparseGolden): ReferenceSparseInputs {
  const p = g.params, A = g.arrays, format = p.format, extra = A.extra_kcache !== undefined;
  return {
    q: A.q as Uint16Array, dtype: 'bf16', b: p.b, sQ: p.s_q, hQ: p.h_q, dQk: p.d_qk, softmaxScale: p.softmax_scale,
    cache: { kind: format, data: A.kcache as Uint8Array, pageBlockSize: p.page_block_size }, indices: A.indices as Int32Array, topk: p.topk,
    topkLength: A.topk_length as Int32Array | undefined, attnSink: A.attn_sink as Float32Array | undefined,
    extraCache: extra ? { kind: format, data: A.extra_kcache as Uint8Array, pageBlockSize: p.extra_page_block_size! } : undefined,
    extraIndices: A.extra_indices as Int32Array | undefined, extraTopk: p.extra_topk, extraTopkLength: A.extra_topk_length as Int32Array | undefined,
  };
}

// Loads FlashMLA 9241ae3's sparse FP8 decode goldens (H200) for the sparse tests: the full set (../shared/golden-sparse,
// ~19 MB) where it is there, else the repository's fixtures (test/fixtures/golden-sparse: the same six cases without
// FlashMLA's float64 reference, which is then recomputed with src/core/reference-sparse.ts; built by
// scripts/golden-sparse-fixtures.mjs), so a clone with nothing beside it runs every golden case too.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { type ReferenceSparseInputs, referenceSparseDecode } from '../../src/core/reference-sparse.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's copy (test/fixtures/golden-sparse). */
export const goldenSparseFixtures = resolve(here, '../fixtures/golden-sparse');
/**
 * $FLASHMLA_GOLDEN_SPARSE; else ./shared/golden-sparse (GPU host copy) or ../shared/golden-sparse (the full set), else
 * the repository's fixtures.
 */
export const goldenSparseDir = (process.env.FLASHMLA_GOLDEN_SPARSE ? [process.env.FLASHMLA_GOLDEN_SPARSE]
  : [resolve(here, '../../shared/golden-sparse'), resolve(here, '../../../shared/golden-sparse'), goldenSparseFixtures])
  .find((d) => existsSync(join(d, 'summary.json')));

/** Why golden cases cannot run here, or undefined when they can. With CI=true a missing folder is an error. */
export function goldenSparseSkip(): string | undefined {
  if (goldenSparseDir) return undefined;
  const why = process.env.FLASHMLA_GOLDEN_SPARSE
    ? `FLASHMLA_GOLDEN_SPARSE=${process.env.FLASHMLA_GOLDEN_SPARSE} holds no summary.json`
    : 'no ../shared/golden-sparse and no test/fixtures/golden-sparse (set FLASHMLA_GOLDEN_SPARSE to its folder)';
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
  /** Where ref_out_f64 / ref_lse_f64 come from: FlashMLA's test (the full set), or src/core/reference-sparse.ts (fixtures). */
  refSource: 'flashmla' | 'recomputed';
  arrays: Record<string, Uint16Array | Int32Array | Float32Array | Float64Array | Uint8Array>;
  shapes: Record<string, number[]>;
}

export function sparseGoldenNames(): string[] {
  if (!goldenSparseDir) return [];
  return readdirSync(goldenSparseDir).filter((f) => f.startsWith('sparse_') && f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadSparseGolden(name: string): SparseGolden {
  return loadSparseGoldenFrom(goldenSparseDir!, name);
}

/** Case `name` of the set in `dir` (the full set's NAME.bin, or the fixtures' NAME.bin.br). */
export function loadSparseGoldenFrom(dir: string, name: string): SparseGolden {
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  const bin = existsSync(join(dir, `${name}.bin`)) ? readFileSync(join(dir, `${name}.bin`)) : brotliDecompressSync(readFileSync(join(dir, `${name}.bin.br`)));
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
  const g: SparseGolden = { name, params: meta.params, refSource: arrays.ref_out_f64 ? 'flashmla' : 'recomputed', arrays, shapes };
  if (!arrays.ref_out_f64) {
    const r = referenceSparseDecode(goldenSparseReferenceInputs(g));
    arrays.ref_out_f64 = r.out;
    arrays.ref_lse_f64 = r.lse;
    shapes.ref_out_f64 = shapes.out;
    shapes.ref_lse_f64 = shapes.lse;
  }
  return g;
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

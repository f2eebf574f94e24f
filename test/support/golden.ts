// Loads ../shared/golden (FlashMLA's own inputs and outputs) for the tests of every backend.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HalfDType } from '../../src/core/dtype.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Where the golden vectors are: $FLASHMLA_GOLDEN, ./shared/golden (GPU host copy), or ../shared/golden. */
export const goldenDir = [process.env.FLASHMLA_GOLDEN, resolve(here, '../../shared/golden'), resolve(here, '../../../shared/golden')]
  .find((d) => d && existsSync(join(d, 'metadata_cases.json'))) ?? resolve(here, '../../../shared/golden');

export interface GoldenCase {
  name: string;
  params: {
    batch: number; s_q: number; h_q: number; h_kv: number; d: number; dv: number; page_block_size: number;
    num_blocks: number; causal: boolean; softmax_scale: number; dtype: HalfDType; cache_seqlens: number[];
    num_sms: number; num_heads_per_head_k: number;
  };
  q: Uint16Array;
  kcache: Uint16Array;
  blockTable: Int32Array;
  cacheSeqlens: Int32Array;
  tileSchedulerMetadata: Int32Array;
  numSplits: Int32Array;
  out: Uint16Array;
  lse: Float32Array;
  refOut: Float64Array;
  refLse: Float64Array;
  maxBlocksPerSeq: number;
}

export function goldenCaseNames(): string[] {
  return readdirSync(goldenDir).filter((f) => f.startsWith('decode_') && f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadGolden(name: string): GoldenCase {
  const meta = JSON.parse(readFileSync(join(goldenDir, `${name}.json`), 'utf8'));
  const bin = readFileSync(join(goldenDir, `${name}.bin`));
  const arr = (key: string) => {
    const a = meta.arrays[key];
    const buf = bin.buffer.slice(bin.byteOffset + a.offset, bin.byteOffset + a.offset + a.nbytes); // aligned copy
    switch (a.dtype) {
      case 'bf16': case 'f16': return new Uint16Array(buf);
      case 'i32': return new Int32Array(buf);
      case 'f32': return new Float32Array(buf);
      case 'f64': return new Float64Array(buf);
      default: throw new Error(`golden ${name}: dtype ${a.dtype}`);
    }
  };
  return {
    name, params: meta.params,
    q: arr('q') as Uint16Array, kcache: arr('kcache') as Uint16Array, blockTable: arr('block_table') as Int32Array,
    cacheSeqlens: arr('cache_seqlens') as Int32Array, tileSchedulerMetadata: arr('tile_scheduler_metadata') as Int32Array,
    numSplits: arr('num_splits') as Int32Array, out: arr('out') as Uint16Array, lse: arr('lse') as Float32Array,
    refOut: arr('ref_out_f64') as Float64Array, refLse: arr('ref_lse_f64') as Float64Array,
    maxBlocksPerSeq: meta.arrays.block_table.shape[1],
  };
}

export interface MetadataCase {
  cache_seqlens: number[]; num_heads_per_head_k: number; num_heads_k: number; num_sms: number;
  tile_scheduler_metadata: number[][]; num_splits: number[];
}
export function loadMetadataCases(): MetadataCase[] {
  return JSON.parse(readFileSync(join(goldenDir, 'metadata_cases.json'), 'utf8')).cases;
}

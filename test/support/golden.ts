// Loads FlashMLA's own inputs and outputs for the tests of every backend. Two sets:
// - test/fixtures/golden (in this repository): every case of the full set with only the referenced cache blocks
//   kept and FlashMLA's float64 reference left out (recomputed here by src/core/reference.ts); see
//   scripts/golden-fixtures.mjs. `npm test` uses it, so a clone needs nothing beside it.
// - the full set, ../shared/golden beside the repository (or $FLASHMLA_GOLDEN): `npm run test:long` and CI use
//   it, and test/unit/reference.test.ts checks the recomputed reference against FlashMLA's own on it.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { flashMlaWithKvcache } from '../../src/index.js';
import type { HalfDType } from '../../src/core/dtype.js';
import type { Backend } from '../../src/core/problem.js';
import { fromArray } from '../../src/core/tensor.js';
import { referenceDecode } from '../../src/core/reference.js';
import { nanBits } from './random.js';

const here = dirname(fileURLToPath(import.meta.url));
export const fixtureDir = resolve(here, '../fixtures/golden');

/** The full golden set if one is reachable: $FLASHMLA_GOLDEN, ./shared/golden (GPU host copy) or ../shared/golden. */
export const fullGoldenDir: string | undefined = [process.env.FLASHMLA_GOLDEN, resolve(here, '../../shared/golden'), resolve(here, '../../../shared/golden')]
  .find((d): d is string => !!d && existsSync(join(d, 'metadata_cases.json')));

/**
 * The set the golden tests run on: the folder $FLASHMLA_GOLDEN names (the full set or a copy of the fixtures),
 * else the full set when FLASHMLA_GOLDEN_SET=full asks for it (test:long does), else the in-repository fixtures.
 */
export const goldenDir: string = process.env.FLASHMLA_GOLDEN
  ? process.env.FLASHMLA_GOLDEN
  : process.env.FLASHMLA_GOLDEN_SET === 'full' ? (fullGoldenDir ?? missingFullSet()) : fixtureDir;

function missingFullSet(): never {
  throw new Error('FLASHMLA_GOLDEN_SET=full: no full golden set (set FLASHMLA_GOLDEN or put ../shared/golden beside the repository)');
}

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
  /** 'flashmla': ref_out_f64 / ref_lse_f64 as FlashMLA's test computed them; 'recomputed': src/core/reference.ts. */
  refSource: 'flashmla' | 'recomputed';
  maxBlocksPerSeq: number;
}

export function goldenCaseNames(dir = goldenDir): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('decode_') && f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

function readBin(dir: string, name: string): Buffer {
  const packed = join(dir, `${name}.bin.br`);
  return existsSync(packed) ? brotliDecompressSync(readFileSync(packed)) : readFileSync(join(dir, `${name}.bin`));
}

const cache = new Map<string, GoldenCase>();

/** One case, decoded once per process (the recomputed reference of the long case takes a second or two). */
export function loadGolden(name: string, dir = goldenDir): GoldenCase {
  const key = `${dir}/${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  const bin = readBin(dir, name);
  const arr = (k: string) => {
    const a = meta.arrays[k];
    const buf = bin.buffer.slice(bin.byteOffset + a.offset, bin.byteOffset + a.offset + a.nbytes); // aligned copy
    switch (a.dtype) {
      case 'bf16': case 'f16': return new Uint16Array(buf);
      case 'i32': return new Int32Array(buf);
      case 'f32': return new Float32Array(buf);
      case 'f64': return new Float64Array(buf);
      default: throw new Error(`golden ${name}: dtype ${a.dtype}`);
    }
  };
  const p = meta.params;
  const g = {
    name, params: p,
    q: arr('q') as Uint16Array, kcache: arr('kcache') as Uint16Array, blockTable: arr('block_table') as Int32Array,
    cacheSeqlens: arr('cache_seqlens') as Int32Array, tileSchedulerMetadata: arr('tile_scheduler_metadata') as Int32Array,
    numSplits: arr('num_splits') as Int32Array, out: arr('out') as Uint16Array, lse: arr('lse') as Float32Array,
    maxBlocksPerSeq: meta.arrays.block_table.shape[1],
  };
  let c: GoldenCase;
  if (meta.arrays.ref_out_f64) {
    c = { ...g, refOut: arr('ref_out_f64') as Float64Array, refLse: arr('ref_lse_f64') as Float64Array, refSource: 'flashmla' };
  } else {
    // Recomputed on first use only: the scheduler tests never need it.
    let ref: { out: Float64Array; lse: Float64Array } | undefined;
    const reference = () => (ref ??= referenceDecode({
      q: g.q, kCache: g.kcache, blockTable: g.blockTable, cacheSeqlens: g.cacheSeqlens, dtype: p.dtype,
      b: p.batch, sQ: p.s_q, hQ: p.h_q, hKv: p.h_kv, pageBlockSize: p.page_block_size, maxBlocksPerSeq: g.maxBlocksPerSeq,
      softmaxScale: p.softmax_scale, causal: p.causal,
    }));
    c = Object.defineProperties({ ...g, refSource: 'recomputed' } as GoldenCase, {
      refOut: { get: () => reference().out, enumerable: true },
      refLse: { get: () => reference().lse, enumerable: true },
    });
  }
  cache.set(key, c);
  return c;
}

export interface MetadataCase {
  cache_seqlens: number[]; num_heads_per_head_k: number; num_heads_k: number; num_sms: number;
  tile_scheduler_metadata: number[][]; num_splits: number[];
}
export function loadMetadataCases(dir = goldenDir): MetadataCase[] {
  const packed = join(dir, 'metadata_cases.json.br');
  const text = existsSync(packed) ? brotliDecompressSync(readFileSync(packed)).toString('utf8') : readFileSync(join(dir, 'metadata_cases.json'), 'utf8');
  return JSON.parse(text).cases;
}

/** Run a golden case with FlashMLA's own metadata (132 SMs) and its exact inputs. */
export async function runGolden(g: GoldenCase, backend: Backend): Promise<{ out: Uint16Array; lse: Float32Array }> {
  const p = g.params;
  const outShape = [p.batch, p.s_q, p.h_q, 512], lseShape = [p.batch, p.h_q, p.s_q];
  const out = backend.empty(p.dtype, outShape), lse = backend.empty('f32', lseShape);
  backend.write(out, fromArray(p.dtype, outShape, new Uint16Array(out.numel).fill(nanBits[p.dtype])));
  backend.write(lse, fromArray('f32', lseShape, new Float32Array(lse.numel).fill(NaN)));
  const parts = g.tileSchedulerMetadata.length / 8;
  const q = backend.upload(fromArray(p.dtype, [p.batch, p.s_q, p.h_q, p.d], g.q));
  const k = backend.upload(fromArray(p.dtype, [p.num_blocks, p.page_block_size, p.h_kv, p.d], g.kcache));
  await flashMlaWithKvcache(q, k,
    fromArray('i32', [p.batch, g.maxBlocksPerSeq], g.blockTable), fromArray('i32', [p.batch], g.cacheSeqlens), p.dv,
    fromArray('i32', [parts, 8], g.tileSchedulerMetadata), fromArray('i32', [p.batch + 1], g.numSplits),
    { softmaxScale: p.softmax_scale, causal: p.causal, backend, out, lse },
  );
  const got = { out: Uint16Array.from((await backend.download(out)).host() as Uint16Array), lse: Float32Array.from((await backend.download(lse)).host() as Float32Array) };
  for (const t of [q, k, out, lse]) backend.free(t);
  return got;
}

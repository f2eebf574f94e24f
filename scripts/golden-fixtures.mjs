#!/usr/bin/env node
// Builds test/fixtures/golden/ from the full golden set (../shared/golden, FlashMLA's own inputs and outputs), so
// a clone of this repository can run the golden tests with nothing beside it. Maintainers run it when the full
// set changes:  node scripts/golden-fixtures.mjs [SRC_DIR]
//
// What is trimmed, and why each trim keeps the case meaningful:
// - Only the cache blocks some sequence references are kept, renumbered in the order of the block table, so the
//   table is still a shuffled permutation and each sequence's NaN-poisoned tail slots stay in place. Spare blocks
//   (pure NaN) are dropped: no correct kernel reads them, and the tests poison unused slots on their own.
// - FlashMLA's float64 reference is left out (it is most of the size): the loader recomputes it with
//   src/core/reference.ts, which test/unit/reference.test.ts checks against FlashMLA's own on the full set.
// - Fields 5..7 of the scheduler metadata are FlashMLA's uninitialised memory and are zeroed.
// Everything else (q, the kept cache rows, seqlens, metadata, FlashMLA's out and lse) is byte-identical.
// Each case becomes NAME.json (the same array table as the full set) plus NAME.bin.br (brotli).
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = resolve(process.argv[2] ?? join(root, '../shared/golden'));
const dst = join(root, 'test/fixtures/golden');
if (!existsSync(join(src, 'metadata_cases.json'))) {
  console.error(`golden-fixtures: no golden set at ${src}`);
  process.exit(2);
}
mkdirSync(dst, { recursive: true });

const ctor = { bf16: Uint16Array, f16: Uint16Array, i32: Int32Array, f32: Float32Array, f64: Float64Array };
let total = 0;
for (const file of readdirSync(src).filter((f) => f.startsWith('decode_') && f.endsWith('.json')).sort()) {
  const name = file.slice(0, -5);
  const meta = JSON.parse(readFileSync(join(src, file), 'utf8'));
  const bin = readFileSync(join(src, `${name}.bin`));
  const get = (key) => {
    const a = meta.arrays[key];
    const buf = bin.buffer.slice(bin.byteOffset + a.offset, bin.byteOffset + a.offset + a.nbytes);
    return { ...a, data: new ctor[a.dtype](buf) };
  };
  const p = meta.params;
  const table = get('block_table'), seqlens = get('cache_seqlens'), kc = get('kcache');
  const maxBlocks = table.shape[1], rowElems = p.page_block_size * p.h_kv * p.d;
  // Keep referenced blocks in first-use order; the new table points into the compacted cache.
  const keep = [], newId = new Map();
  const newTable = new Int32Array(table.data.length);
  for (let i = 0; i < p.batch; i++) {
    const used = Math.ceil(seqlens.data[i] / p.page_block_size);
    for (let j = 0; j < maxBlocks; j++) {
      const id = table.data[i * maxBlocks + j];
      if (j >= used) { newTable[i * maxBlocks + j] = 0; continue; } // never read; 0 is a valid id
      if (!newId.has(id)) { newId.set(id, keep.length); keep.push(id); }
      newTable[i * maxBlocks + j] = newId.get(id);
    }
  }
  const numBlocks = Math.max(1, keep.length);
  const kcache = new Uint16Array(numBlocks * rowElems).fill(p.dtype === 'bf16' ? 0x7fc0 : 0x7e00);
  keep.forEach((id, k) => kcache.set(kc.data.subarray(id * rowElems, (id + 1) * rowElems), k * rowElems));
  const meta5 = get('tile_scheduler_metadata');
  const sched = Int32Array.from(meta5.data, (v, i) => (i % 8 < 5 ? v : 0));

  const arrays = {
    q: get('q'),
    kcache: { dtype: p.dtype, shape: [numBlocks, ...kc.shape.slice(1)], data: kcache },
    block_table: { dtype: 'i32', shape: table.shape, data: newTable },
    cache_seqlens: seqlens,
    tile_scheduler_metadata: { ...meta5, data: sched },
    num_splits: get('num_splits'),
    out: get('out'),
    lse: get('lse'),
  };
  const table2 = {}, parts = [];
  let offset = 0;
  for (const [key, a] of Object.entries(arrays)) {
    const bytes = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    table2[key] = { dtype: a.dtype, shape: a.shape, offset, nbytes: bytes.length };
    parts.push(bytes);
    offset += bytes.length;
    const pad = (8 - (offset % 8)) % 8; // keep every array 8-byte aligned
    if (pad) { parts.push(Buffer.alloc(pad)); offset += pad; }
  }
  const packed = brotliCompressSync(Buffer.concat(parts), {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: offset },
  });
  const out = {
    source: `../shared/golden/${name} (FlashMLA ${meta.params.flashmla_commit ?? '01a2772'}), trimmed by scripts/golden-fixtures.mjs`,
    params: { ...p, num_blocks: numBlocks },
    arrays: table2,
  };
  writeFileSync(join(dst, `${name}.json`), JSON.stringify(out, null, 1) + '\n');
  writeFileSync(join(dst, `${name}.bin.br`), packed);
  total += packed.length;
  console.log(`${name}: ${keep.length} of ${kc.shape[0]} blocks kept, ${(packed.length / 1e6).toFixed(2)} MB`);
}
const mc = readFileSync(join(src, 'metadata_cases.json'));
writeFileSync(join(dst, 'metadata_cases.json.br'), brotliCompressSync(mc));
console.log(`total ${(total / 1e6).toFixed(2)} MB (+ metadata_cases)`);

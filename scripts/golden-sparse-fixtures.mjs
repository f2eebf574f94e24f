#!/usr/bin/env node
// Builds test/fixtures/golden-sparse/ from the sparse golden set (../shared/golden-sparse: FlashMLA 9241ae3's sparse
// FP8 decode on an H200, its inputs and outputs), so a clone of this repository runs the sparse golden tests with
// nothing beside it. Maintainers run it when that set changes:  node scripts/golden-sparse-fixtures.mjs [SRC_DIR]
//
// One trim: FlashMLA's float64 reference (ref_out_f64, ref_lse_f64; two thirds of the bytes) is left out, and the
// loader (test/support/golden-sparse.ts) recomputes it with src/core/reference-sparse.ts, which test/unit/sparse.test.ts
// checks against FlashMLA's own wherever the full set is present (CI). Everything else (q, both caches with their
// NaN-poisoned unreferenced tokens, indices, lengths, sink, FlashMLA's metadata, out and lse) is byte-identical.
// Each case becomes NAME.json (the same array table, offsets into the trimmed bytes) plus NAME.bin.br (brotli).
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = resolve(process.argv[2] ?? join(root, '../shared/golden-sparse'));
const dst = join(root, 'test/fixtures/golden-sparse');
if (!existsSync(join(src, 'summary.json'))) {
  console.error(`golden-sparse-fixtures: no sparse golden set at ${src}`);
  process.exit(2);
}
mkdirSync(dst, { recursive: true });
let total = 0;
for (const file of readdirSync(src).filter((f) => f.startsWith('sparse_') && f.endsWith('.json')).sort()) {
  const name = file.slice(0, -5);
  const meta = JSON.parse(readFileSync(join(src, file), 'utf8'));
  const bin = readFileSync(join(src, `${name}.bin`));
  const arrays = {}, parts = [];
  let offset = 0;
  for (const [key, a] of Object.entries(meta.arrays)) {
    if (key.startsWith('ref_')) continue;
    parts.push(bin.subarray(a.offset, a.offset + a.nbytes));
    arrays[key] = { ...a, offset };
    offset += a.nbytes;
  }
  const raw = Buffer.concat(parts);
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
  writeFileSync(join(dst, `${name}.json`), JSON.stringify({ ...meta, arrays, fixture: { from: 'shared/golden-sparse', dropped: ['ref_out_f64', 'ref_lse_f64'] } }, null, 1) + '\n');
  writeFileSync(join(dst, `${name}.bin.br`), br);
  total += br.length;
  console.log(`${name}: ${raw.length} bytes -> ${br.length} (brotli)`);
}
copyFileSync(join(src, 'summary.json'), join(dst, 'summary.json'));
console.log(`golden-sparse-fixtures: ${total} bytes in ${dst}`);

#!/usr/bin/env node
// Time the matrix kernel v4 (kernels/decode-matrix4.ts), or v5 with ABLATE_VERSION=5 (kernels/decode-matrix5.ts), with
// parts of its generated WGSL cut out, to see where its time goes (results are wrong on purpose; the bench's spot
// check says so). The parts are the comment markers the generator writes: v4 qk-convert, qk-load, qk-product, qk-fma,
// pv-convert, pv-load, pv-product, pv-fma; v5 tile-load, tile-convert, qk-product, pv-product, pv-fma. Takes
// `flashmla bench`'s arguments and runs the CLI of a compiled tree ($FLASHMLA_DIST, default build/src: the staged
// tree's tsc output), with the matrix path forced.
//   ABLATE=qk-convert,pv-convert node scripts/webgpu-tools/ablate-matrix4.mjs --backend webgpu --configs FILE.json --no-ceilings --check 0
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const v5 = process.env.ABLATE_VERSION === '5';
const mod = await import(pathToFileURL(`${dist}/backends/webgpu/kernels/decode-matrix${v5 ? 5 : 4}.js`).href);
const decodeMatrix4Program = v5 ? mod.decodeMatrix5Program : mod.decodeMatrix4Program;
const names = (process.env.ABLATE ?? '').split(',').filter(Boolean);

const source = decodeMatrix4Program.source.bind(decodeMatrix4Program);
const key = decodeMatrix4Program.key.bind(decodeMatrix4Program);
decodeMatrix4Program.key = (spec) => `${key(spec)}.${names.join('.')}`;
decodeMatrix4Program.source = (spec) => {
  let src = source(spec);
  for (const n of names) {
    const re = new RegExp(`// <${n}>[\\s\\S]*?// </${n}>`, 'g');
    if (!re.test(src)) throw new Error(`ablate-matrix4: no part named ${n}`);
    src = src.replace(re, `// (${n} cut)`);
  }
  return src;
};

process.env.FLASHMLA_WEBGPU_DECODE_PATH ??= 'matrix';
process.env.FLASHMLA_WEBGPU_MATRIX_VERSION ??= v5 ? '5' : '4';
const { main } = await import(pathToFileURL(`${dist}/cli/main.js`).href);
process.exitCode = await main(['bench', ...process.argv.slice(2)]);

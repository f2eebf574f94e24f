#!/usr/bin/env node
// Time the matrix kernel v4 (kernels/decode-matrix4.ts), or v5 / v6 with ABLATE_VERSION=5 / 6, with parts of its
// generated WGSL cut out, through `flashmla bench` (one cut set a run; ablate-matrix.mjs times every set of v5 and v6
// in one process). The parts are the comment markers the generator writes (matrix-ablations.mjs, matrixMarkers): v4
// qk-convert, qk-load, qk-product, qk-fma, pv-convert, pv-load, pv-product, pv-fma; v5 and v6 tile-load, tile-max,
// tile-convert, qk-product, softmax, pv-product, pv-fma, pv-sync. Results are wrong on purpose (the bench's spot
// check says so). Takes `flashmla bench`'s arguments and runs the CLI of a compiled tree ($FLASHMLA_DIST, default
// build/src: the staged tree's tsc output), with the matrix path forced.
//   ABLATE=qk-convert,pv-convert node scripts/webgpu-tools/ablate-matrix4.mjs --backend webgpu --configs FILE.json --no-ceilings --check 0
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { matrixMarkers, patchProgram } from './matrix-ablations.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '..', '..', process.env.FLASHMLA_DIST ?? 'build/src');
const version = Number(process.env.ABLATE_VERSION ?? '4');
if (!(version in matrixMarkers)) throw new Error(`ablate-matrix4: ABLATE_VERSION takes 4, 5 or 6, got ${process.env.ABLATE_VERSION}`);
const mod = await import(pathToFileURL(`${dist}/backends/webgpu/kernels/decode-matrix${version}.js`).href);
const names = (process.env.ABLATE ?? '').split(',').filter(Boolean);
for (const n of names) if (!matrixMarkers[version].includes(n)) throw new Error(`ablate-matrix4: v${version} has no part named ${n}`);
patchProgram(mod[`decodeMatrix${version}Program`], () => names);

process.env.FLASHMLA_WEBGPU_DECODE_PATH ??= 'matrix';
process.env.FLASHMLA_WEBGPU_MATRIX_VERSION ??= String(version);
const { main } = await import(pathToFileURL(`${dist}/cli/main.js`).href);
process.exitCode = await main(['bench', ...process.argv.slice(2)]);

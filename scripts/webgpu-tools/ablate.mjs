#!/usr/bin/env node
// Time the decode kernel with parts of its generated WGSL removed, to see where the time goes (results are wrong
// on purpose; the bench's spot check says so). Takes scripts/webgpu-bench.mjs's arguments; runs the tsc output
// like it (WEBGPU_BUILD, default scratch/webgpu-build). Parts: ablations.mjs.
//   ABLATE=noQK,noPV node scripts/webgpu-tools/ablate.mjs --configs FILE.json --numSms 132 --reps 20
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ablate } from './ablations.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// Resolved the way webgpu-bench.mjs resolves it, so both import (and patch) the same decode module.
const build = resolve(here, '..', '..', process.env.WEBGPU_BUILD ?? 'scratch/webgpu-build');
const { decodeProgram } = await import(`${build}/src/backends/webgpu/kernels/decode.js`);
const names = (process.env.ABLATE ?? '').split(',').filter(Boolean);

const source = decodeProgram.source.bind(decodeProgram);
const key = decodeProgram.key.bind(decodeProgram);
decodeProgram.key = (spec) => `${key(spec)}.${names.join('.')}`;
decodeProgram.source = (spec) => ablate(source(spec), names);

const bench = resolve(here, '..', 'webgpu-bench.mjs');
process.argv = [process.argv[0], bench, ...process.argv.slice(2)];
await import(bench);

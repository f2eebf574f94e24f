#!/usr/bin/env node
// Time the decode kernel with parts of its generated WGSL removed, to see where the time goes (results are wrong
// on purpose; the bench's spot check says so). Takes `flashmla bench`'s arguments and runs the CLI of a built
// dist/ ($FLASHMLA_DIST, default dist), as scripts/flashmla-dist.mjs does. Parts: ablations.mjs.
//   ABLATE=noQK,noPV node scripts/webgpu-tools/ablate.mjs --backend webgpu --configs FILE.json --num-sms 132 --reps 20
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ablate } from './ablations.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// The same module URL the CLI below imports, so the patch reaches the backend it creates.
const dist = resolve(here, '..', '..', process.env.FLASHMLA_DIST ?? 'dist');
const { decodeProgram } = await import(pathToFileURL(`${dist}/backends/webgpu/kernels/decode.js`).href);
const names = (process.env.ABLATE ?? '').split(',').filter(Boolean);

const source = decodeProgram.source.bind(decodeProgram);
const key = decodeProgram.key.bind(decodeProgram);
decodeProgram.key = (spec) => `${key(spec)}.${names.join('.')}`;
decodeProgram.source = (spec) => ablate(source(spec), names);

const { main } = await import(pathToFileURL(`${dist}/cli/main.js`).href);
process.exitCode = await main(['bench', ...process.argv.slice(2)]);

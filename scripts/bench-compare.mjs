#!/usr/bin/env node
// Compare `flashmla bench` results of two builds timed in one device call (src/bench/compare.ts of the compiled
// build LIB, default dist/; the GPU-host runner passes the build it times as --lib):
//   node scripts/bench-compare.mjs [--lib DIR] [--tolerance 0.03] --before B1.json [B2.json...] --after A1.json [A2.json...]
// Prints one line per config (slowest first) and PASS / FAIL; exits 1 when a config is over the bar or missing.
import { readFileSync } from 'node:fs';

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

let tolerance = 0.03, side, lib = new URL('../dist', import.meta.url).pathname;
const files = { before: [], after: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--tolerance') tolerance = Number(argv[++i]);
  else if (argv[i] === '--lib') lib = argv[++i];
  else if (argv[i] === '--before' || argv[i] === '--after') side = argv[i].slice(2);
  else if (side) files[side].push(argv[i]);
  else { console.error(`bench-compare: unexpected ${argv[i]}`); process.exit(2); }
}
if (!files.before.length || !files.after.length || !(tolerance >= 0)) {
  console.error('usage: bench-compare.mjs [--tolerance 0.03] --before FILE... --after FILE...');
  process.exit(2);
}
const { compareRuns, formatComparison } = await import(pathToFileURL(resolve(lib, 'bench/compare.js')).href);
const read = (f) => JSON.parse(readFileSync(f, 'utf8')).rows;
const c = compareRuns(files.before.map(read), files.after.map(read), tolerance);
console.log(formatComparison(c, tolerance));
process.exitCode = c.ok ? 0 : 1;

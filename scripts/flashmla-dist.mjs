#!/usr/bin/env node
// The flashmla command of one build: `node scripts/flashmla-dist.mjs DIST ARGS...` runs DIST/cli/main.js (DIST a
// compiled dist/ folder, e.g. a second build carried beside the current one for gpu-host-run.sh bench-compare).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, ...args] = process.argv.slice(2);
if (!dist) {
  console.error('usage: flashmla-dist.mjs DIST ARGS...');
  process.exit(2);
}
try {
  const { main } = await import(pathToFileURL(resolve(dist, 'cli/main.js')).href);
  process.exitCode = await main(args);
} catch (e) {
  console.error(`flashmla (${dist}): error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  process.exitCode = 1;
}

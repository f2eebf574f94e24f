#!/usr/bin/env node
// Bundle examples/browser/main.ts with esbuild into examples/browser/dist/main.js. The bundle must not need any
// Node module: `platform: 'browser'` makes a stray node: import fail the build.
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export async function buildBrowserExample() {
  const r = await build({
    entryPoints: [resolve(root, 'examples/browser/main.ts')],
    outfile: resolve(root, 'examples/browser/dist/main.js'),
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, metafile: true, logLevel: 'warning',
  });
  const inputs = Object.keys(r.metafile.inputs);
  const bad = inputs.filter((f) => /node_modules\/webgpu|koffi|backends\/(cpu\/index|cuda)|^node:/.test(f));
  if (bad.length) throw new Error(`browser bundle pulled Node-only modules: ${bad.join(', ')}`);
  return inputs;
}
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const inputs = await buildBrowserExample();
  console.log(`examples/browser/dist/main.js from ${inputs.length} modules`);
}

#!/usr/bin/env node
// The flashmla command. From a clone it runs the TypeScript sources through tsx (no build step); an installed
// package without tsx, or a machine that only carries compiled JS, runs dist/cli/main.js (or build/src/cli/main.js).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}src/cli/main.ts`;
const compiled = [`${root}dist/cli/main.js`, `${root}build/src/cli/main.js`].find((f) => existsSync(f));

async function load() {
  if (existsSync(source) && !process.env.FLASHMLA_USE_DIST) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return await import(pathToFileURL(source).href);
    } catch (e) {
      if (!compiled || (e && e.code !== 'ERR_MODULE_NOT_FOUND')) throw e;
    }
  }
  if (!compiled) throw new Error(`neither tsx (to run ${source}) nor a build (dist/cli/main.js) is available; run npm install`);
  return import(pathToFileURL(compiled).href);
}

try {
  const { main } = await load();
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`flashmla: error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  process.exitCode = 1;
}

#!/usr/bin/env node
// The flashmla command. The installed package runs the compiled dist/cli/main.js. A clone with no build (or with
// FLASHMLA_CLI_SOURCE=1) runs the TypeScript sources through tsx, a dev dependency, so `npm start` works right
// after `npm install`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = `${root}dist/cli/main.js`;
const source = `${root}src/cli/main.ts`;

async function load() {
  if (existsSync(compiled) && !process.env.FLASHMLA_CLI_SOURCE) return import(pathToFileURL(compiled).href);
  if (existsSync(source)) {
    let register;
    try {
      ({ register } = await import('tsx/esm/api'));
    } catch {
      throw new Error(`no build (${compiled}) and no tsx to run the sources: run npm install, then npm run build`);
    }
    register();
    return import(pathToFileURL(source).href);
  }
  throw new Error(`${compiled} is missing: this installation of flashmla-ts is incomplete`);
}

try {
  const { main } = await load();
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`flashmla: error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  process.exitCode = 1;
}

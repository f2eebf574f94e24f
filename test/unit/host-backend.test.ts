// Core imports no backend; the root entry registers the in-thread CPU backend for host tensors (src/host-backend.ts).
// package.json's "sideEffects" must keep that registration when a bundler tree-shakes the entry: bundle a small
// program with esbuild (as an application would) and run it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('a tree-shaken bundle of the root entry decodes host tensors on the CPU', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flashmla-bundle-'));
  try {
    const entry = join(dir, 'entry.ts');
    // q and every key all ones: each score is 576 / sqrt(576) = 24, so lse = 24 + ln(64 keys) and out = 1.
    writeFileSync(entry, `import { flashMlaWithKvcache, getMlaMetadata, fromArray } from ${JSON.stringify(join(root, 'src/index.ts'))};
export async function run() {
  const q = fromArray('bf16', [1, 1, 16, 576], new Uint16Array(16 * 576).fill(0x3f80));
  const k = fromArray('bf16', [1, 64, 1, 576], new Uint16Array(64 * 576).fill(0x3f80));
  const md = getMlaMetadata(Int32Array.from([64]), 16, 1, { numSms: 8 });
  const r = await flashMlaWithKvcache(q, k, fromArray('i32', [1, 1], Int32Array.from([0])), fromArray('i32', [1], Int32Array.from([64])), 512, md.tileSchedulerMetadata, md.numSplits);
  return { lse: Array.from(r.lse.host()), out: Array.from(r.out.host()) };
}`);
    const outfile = join(dir, 'bundle.mjs');
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', treeShaking: true, outfile, logLevel: 'silent' });
    const { run } = await import(pathToFileURL(outfile).href);
    const r = (await run()) as { lse: number[]; out: number[] };
    assert.equal(r.lse.length, 16);
    for (const l of r.lse) assert.ok(Math.abs(l - (24 + Math.log(64))) < 1e-4, `lse ${l}`);
    assert.ok(r.out.every((x) => x === 0x3f80), 'out is 1.0 (bf16 0x3f80) everywhere');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

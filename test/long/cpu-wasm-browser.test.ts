// The WebAssembly CPU rung in headless Chromium (Debian's chromium through playwright-core): random cases against
// the float64 reference (tolerances.cpuF32) and a one-thread timing of b=4 s_k=4096 hQ 16 / 128, printed as a
// diagnostic. In CI a missing browser fails; elsewhere the test skips, saying why.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';

test('WebAssembly CPU rung in headless Chromium matches the float64 reference', { timeout: 600_000 }, async (t) => {
  let pw: typeof import('playwright-core');
  try { pw = await import('playwright-core'); } catch {
    if (process.env.CI) assert.fail('playwright-core is not installed');
    t.skip('playwright-core is not installed'); return;
  }
  if (!existsSync(chromium)) {
    if (process.env.CI) assert.fail(`no Chromium at ${chromium}`);
    t.skip(`no Chromium at ${chromium}`); return;
  }
  const esbuild = await import('esbuild');
  const bundle = await esbuild.build({
    entryPoints: [resolve(root, 'test/browser/cpu-wasm-entry.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022',
  });
  const browser = await pw.chromium.launch({ executablePath: chromium, headless: true, args: ['--headless=new', '--no-sandbox', '--disable-background-networking', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent('<!doctype html><title>cpu wasm</title>');
    await page.addScriptTag({ content: bundle.outputFiles[0].text });
    await page.waitForFunction(() => (window as unknown as { cpuWasmResult?: unknown }).cpuWasmResult !== undefined, undefined, { timeout: 540_000 });
    const r = await page.evaluate(() => (window as unknown as { cpuWasmResult: Record<string, unknown> }).cpuWasmResult) as
      { error?: string; kernel: string; cases: number; failures: string[]; timings: { hQ: number; ms: number; GFLOPs: number }[] };
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(errors, []);
    t.diagnostic(`${r.kernel}: ${r.cases} cases; ${r.timings.map((x) => `hQ=${x.hQ} ${x.ms.toFixed(1)} ms ${x.GFLOPs.toFixed(2)} GFLOP/s`).join(', ')} (one thread)`);
    assert.deepEqual(r.failures, []);
  } finally { await browser.close(); }
});

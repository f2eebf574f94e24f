// The browser example in headless Chromium (Debian's chromium, WebGPU on SwiftShader): bundle the page with
// esbuild, serve it from a throwaway HTTP server, and assert the page's own check against the CPU reference.
// Needs playwright-core and /usr/bin/chromium (CHROMIUM=path to override); in CI a missing browser fails.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const site = join(root, 'examples/browser');
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

test('browser example: decode on WebGPU in headless Chromium matches the CPU reference', { timeout: 240_000 }, async (t) => {
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch {
    if (process.env.CI) assert.fail('playwright-core is not installed');
    t.skip('playwright-core is not installed (npm install playwright-core)');
    return;
  }
  if (!existsSync(chromium)) {
    if (process.env.CI) assert.fail(`no Chromium at ${chromium} (apt-get install -y chromium)`);
    t.skip(`no Chromium at ${chromium}`);
    return;
  }
  const { buildBrowserExample } = await import(join(root, 'scripts/webgpu-browser-build.mjs') as string) as { buildBrowserExample: () => Promise<string[]> };
  await buildBrowserExample();

  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(site, path === '/' ? 'index.html' : path);
    if (!file.startsWith(site) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  const profile = mkdtempSync(join(tmpdir(), 'flashmla-chromium-'));
  let browser: import('playwright-core').BrowserContext | undefined;
  try {
    // A fresh profile directory each run (playwright passes it as --user-data-dir).
    browser = await pw.chromium.launchPersistentContext(profile, {
      executablePath: chromium, headless: true, timeout: 60_000,
      args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/index.html?b=8&hQ=16`);
    await page.waitForFunction(() => (window as unknown as { flashmlaResult?: unknown }).flashmlaResult !== undefined, undefined, { timeout: 200_000 });
    const result = await page.evaluate(() => (window as unknown as { flashmlaResult: Record<string, unknown> }).flashmlaResult);
    const text = await page.textContent('#log');
    t.diagnostic(text ?? '');
    assert.equal(result.error, undefined, `page failed: ${result.error}\n${logs.join('\n')}`);
    assert.ok(result.ok, `page check failed: ${JSON.stringify(result)}\n${text}`);
    assert.ok((result.cosDiff as number) < 1e-5);
    assert.ok((result.ms as number) > 0);
  } finally {
    await browser?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

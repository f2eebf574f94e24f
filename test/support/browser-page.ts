// Serving and opening the browser page for the browser test and scripts/browser-screenshot.ts: bundle it with
// esbuild, serve examples/browser from a throwaway HTTP server on 127.0.0.1, and launch headless Chromium with
// WebGPU (SwiftShader when there is no GPU) in a fresh profile.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';

export const root = resolve(fileURLToPath(import.meta.url), '../../..');
const site = join(root, 'examples/browser');
export const chromiumPath = process.env.CHROMIUM_PATH ?? process.env.CHROMIUM ?? '/usr/bin/chromium';
const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

export interface OpenPage { base: string; browser: BrowserContext; close(): Promise<void> }

/** Build the bundle, serve it, and start Chromium. `base` is the page's URL. */
export async function openBrowserPage(pw: typeof import('playwright-core'), viewport = { width: 1280, height: 900 }): Promise<OpenPage> {
  const { buildBrowserExample } = await import(join(root, 'scripts/webgpu-browser-build.mjs') as string) as { buildBrowserExample: () => Promise<string[]> };
  await buildBrowserExample();
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(site, path === '/' ? 'index.html' : path);
    if (!file.startsWith(site) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`;
  const profile = mkdtempSync(join(tmpdir(), 'flashmla-chromium-'));
  const close = async () => {
    await browser?.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  };
  let browser: BrowserContext | undefined;
  try {
    // A fresh profile each run (playwright passes it as --user-data-dir); nothing reaches the network.
    browser = await pw.chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath, headless: true, timeout: 60_000, viewport,
      args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  } catch (e) {
    await close();
    throw e;
  }
  return { base, browser, close };
}

// The README's picture of the browser page: node --import tsx scripts/browser-screenshot.ts [out.png] [query]
// Opens the page in headless Chromium (SwiftShader here) on the uneven batch planned for 132 SMs (default query
// "?preset=uneven&sms=132"), waits for its decode (scaled down on a software adapter) and a short sweep, and saves
// a desktop-width screenshot (default docs/images/browser-page.png).
import { join, resolve } from 'node:path';
import * as pw from 'playwright-core';
import { openBrowserPage, root } from '../test/support/browser-page.js';

const out = resolve(process.argv[2] ?? join(root, 'docs/images/browser-page.png'));
const query = process.argv[3] ?? '?preset=uneven&sms=132';
const { base, browser, close } = await openBrowserPage(pw, { width: 1280, height: 900 });
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error(`console error: ${m.text()}`); });
  type S = { runs: number; sweeps: number; busy: boolean };
  const idle = (k: 'runs' | 'sweeps') => page.waitForFunction((key) => { const s = (window as unknown as { flashmlaPage?: S }).flashmlaPage; return Boolean(s && s[key as "runs"] >= 1 && !s.busy); }, k, { timeout: 120_000 });
  await page.goto(`${base}${query}`);
  await idle('runs');
  await page.click('#sweep');
  await idle('sweeps');
  await page.mouse.move(0, 0);
  await page.screenshot({ path: out, fullPage: true, type: 'png', scale: 'css' });
  console.log(`saved ${out}`);
} finally {
  await close();
}

// The browser page in headless Chromium (Debian's chromium; WebGPU on SwiftShader): bundle it with esbuild, serve
// it from a throwaway HTTP server and drive it as a person would. It decodes a preset on WebGPU and the in-page CPU
// backend (a 16-bit cache, then an FP8 one) and both must match the float64 reference; the plan drawn for a preset must have the part count and the
// split points of getMlaMetadata; no figure may print as 0.0 after a run that took time; the console stays free
// of errors; a sweep plots both backends; without WebGPU the page runs on the CPU and says so. Screenshots at
// 1280 and 390 px go to $TEST_OUTPUT_DIR (default test/output/).
// Needs playwright-core and Chromium (/usr/bin/chromium, or CHROMIUM_PATH); without them the test skips, and
// with CI=true it fails instead.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { getMlaMetadata } from '../../src/index.js';
import { chromiumPath as chromium, openBrowserPage, root } from '../support/browser-page.js';

const outDir = process.env.TEST_OUTPUT_DIR ? resolve(process.env.TEST_OUTPUT_DIR) : join(root, 'test/output');

/** A number that reads as zero though it was printed with decimals: "0.0", "0.00 GB/s", "-0.000". */
const printedZero = /(?<![\d.])[-−]?0\.0+(?![\d])/;

interface PageState {
  ready: boolean; busy: boolean; runs: number; sweeps: number; error?: string;
  device?: { webgpu: boolean; adapter?: string; reason?: string; kernel?: string };
  run?: { phases?: Record<string, number>; scaled?: string; runs: { backend: string; error?: string; skipped?: string; check?: { pass: boolean; cosDiff: number; maxLseErr: number }; timing?: { ms: number; GBps: number; TFLOPS: number } }[] };
  sweep?: { len: number; webgpu?: { GBps: number }; cpu?: { GBps: number } }[];
}

test('browser page: plan, decode, checks and sweep in headless Chromium', { timeout: 120_000 }, async (t) => {
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch {
    if (process.env.CI) assert.fail('playwright-core is not installed (npm ci installs it as a dev dependency)');
    t.skip('playwright-core is not installed (npm install playwright-core)');
    return;
  }
  if (!existsSync(chromium)) {
    if (process.env.CI) assert.fail(`no Chromium at ${chromium} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    t.skip(`no Chromium at ${chromium} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    return;
  }
  mkdirSync(outDir, { recursive: true });
  const { base, browser, close } = await openBrowserPage(pw, { width: 1280, height: 900 });
  const problems: string[] = [];
  try {
    const page = await browser.newPage();
    const watch = (p: import('playwright-core').Page) => {
      p.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()} (${m.location().url})`); });
      p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      p.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
      p.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    };
    watch(page);
    const pageState = () => page.evaluate(() => (window as unknown as { flashmlaPage: PageState }).flashmlaPage);
    const waitFor = (key: 'runs' | 'sweeps', n: number, timeout = 60_000) => page.waitForFunction(
      ([k, v]) => { const s = (window as unknown as { flashmlaPage?: PageState }).flashmlaPage; return Boolean(s && s[k as 'runs'] >= (v as number) && !s.busy); },
      [key, n] as const, { timeout },
    );
    const noPrintedZero = async (when: string) => {
      const text = await page.innerText('main');
      const m = printedZero.exec(text);
      assert.equal(m, null, `${when}: a figure prints as zero: "…${m ? text.slice(Math.max(0, m.index - 60), m.index + 20) : ''}…"`);
    };
    const checkRun = (s: PageState, when: string) => {
      assert.equal(s.error, undefined, `${when}: ${s.error}`);
      const runs = s.run!.runs;
      for (const r of runs) {
        assert.equal(r.error, undefined, `${when}: ${r.backend}: ${r.error}`);
        if (r.skipped) continue;
        assert.ok(r.check?.pass, `${when}: ${r.backend} check failed: ${JSON.stringify(r.check)}`);
        assert.ok(r.check!.cosDiff < 1e-5 && r.check!.maxLseErr < 1e-3);
        assert.ok(r.timing!.ms > 0 && r.timing!.GBps > 0 && r.timing!.TFLOPS > 0, `${when}: ${r.backend} timing ${JSON.stringify(r.timing)}`);
      }
      return runs;
    };

    // Without WebGPU (checked in step 6), loaded now so that its CPU work overlaps SwiftShader compiling the kernels.
    const cpuPage = await browser.newPage();
    watch(cpuPage);
    const cpuDone = cpuPage.goto(`${base}?webgpu=off&reps=1`).then(() => cpuPage.waitForFunction(() => {
      const st = (window as unknown as { flashmlaPage?: PageState }).flashmlaPage;
      return Boolean(st && st.runs >= 1 && !st.busy);
    }, undefined, { timeout: 90_000 }));
    cpuDone.catch(() => {}); // awaited in step 6; a failure before then must not go unhandled

    // 1. The page as a visitor gets it: the small preset decodes at once, on WebGPU (SwiftShader) and on the CPU.
    await page.goto(`${base}?reps=2`);
    const t0 = Date.now();
    const lap = (what: string) => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await waitFor('runs', 1);
    lap('first run');
    t.diagnostic(`phases (ms): ${JSON.stringify((await pageState()).run?.phases)}`);
    let s = await pageState();
    t.diagnostic(`adapter: ${s.device?.adapter ?? `none (${s.device?.reason})`}; kernel ${s.device?.kernel}`);
    assert.ok(s.device?.webgpu, `no WebGPU in headless Chromium: ${s.device?.reason}`);
    let runs = checkRun(s, 'small preset');
    assert.deepEqual(runs.map((r) => r.backend), ['webgpu', 'cpu']);
    assert.equal(await page.locator('#results .badge.pass').count(), 2);
    assert.match(await page.innerText('#status'), /correct/);
    assert.match(await page.innerText('#kernel-path'), /mla_decode (bf16|f16)\.m\d+/);
    assert.match(await page.innerText('#features'), /shader-f16[\s\S]*subgroups[\s\S]*subgroup matrices[\s\S]*timestamp-query/);
    await noPrintedZero('small preset');

    // 2. The plan of a preset against getMlaMetadata: parts, split points, combines, and a part's tooltip.
    const planMatches = async (label: string) => {
      const seqlens = Int32Array.from((await page.inputValue('#seqlens')).split(/[\s,]+/).filter(Boolean).map(Number));
      const hQ = Number(await page.inputValue('#hq')), sQ = Number(await page.inputValue('#sq')), numSms = Number(await page.inputValue('#sms'));
      const md = getMlaMetadata(seqlens, sQ * hQ, 1, { numSms });
      const ns = md.numSplits.host(), meta = md.tileSchedulerMetadata.host();
      let cuts = 0, splitSeqs = 0;
      for (let i = 0; i < seqlens.length; i++) { const k = ns[i + 1] - ns[i]; cuts += k - 1; if (k > 1) splitSeqs++; }
      assert.equal(await page.locator('svg.plan g.part').count(), md.tileSchedulerMetadata.shape[0], `${label}: parts drawn`);
      assert.equal(await page.locator('svg.plan line.split-point').count(), cuts, `${label}: split points drawn`);
      assert.equal(await page.locator('svg.plan g.combine').count(), splitSeqs, `${label}: combines drawn`);
      assert.match(await page.innerText('#plan-stats'), new RegExp(`\\b${cuts}\\s+split points`));
      // Hover a part in the middle: the tooltip shows that part's metadata fields.
      const p = Math.floor(md.tileSchedulerMetadata.shape[0] / 2);
      await page.locator(`svg.plan g.part[data-part="${p}"] rect.row-bg`).hover({ force: true });
      const tip = await page.innerText('#tooltip');
      assert.match(tip, new RegExp(`SM part ${p}\\b`));
      assert.match(tip, new RegExp(`begin_idx\\s+${meta[p * 8]}\\b`));
      assert.match(tip, new RegExp(`end_seqlen\\s+${meta[p * 8 + 3]}\\b`));
      return { parts: md.tileSchedulerMetadata.shape[0], cuts };
    };
    await page.selectOption('#preset', 'uneven');
    const atDevice = await planMatches('uneven batch, device SMs');
    await page.fill('#sms', '132');
    const at132 = await planMatches('uneven batch, 132 SMs');
    assert.equal(at132.parts, 66, 'h_q = 128: 132 SMs give 66 parts');
    assert.ok(at132.cuts > 10, 'the 45118-key sequence is split many times at 132 SMs');
    t.diagnostic(`uneven batch: ${atDevice.parts} parts / ${atDevice.cuts} split points at the device's SMs, 66 / ${at132.cuts} at 132`);
    await page.mouse.move(0, 0);
    await page.fill('#sms', '8');

    // 3. Run the uneven preset (scaled down for SwiftShader, which the page must say).
    await page.click('#run');
    await waitFor('runs', 2);
    lap('uneven run');
    t.diagnostic(`phases (ms): ${JSON.stringify((await pageState()).run?.phases)}`);
    s = await pageState();
    runs = checkRun(s, 'uneven preset');
    assert.ok(s.run!.scaled, 'the uneven batch at h_q = 128 runs scaled down on a software adapter');
    assert.match(await page.innerText('#run-note'), /Scaled down/);
    await noPrintedZero('uneven preset');

    // 3b. An FP8 cache (DeepSeek-V3.2 bytes): the small preset decoded on WebGPU through the staged pages and on the
    // CPU through its paged FP8 source, both against the float64 reference over the dequantized cache.
    await page.selectOption('#preset', 'small');
    await page.selectOption('#cache', 'v32');
    await page.click('#run');
    await waitFor('runs', 3);
    lap('FP8 run');
    s = await pageState();
    runs = checkRun(s, 'small preset, FP8 cache');
    assert.deepEqual(runs.map((r) => r.backend), ['webgpu', 'cpu']);
    assert.match(await page.innerText('#kernel-path'), /dense_fp8_stage/);
    await noPrintedZero('FP8 cache');
    await page.selectOption('#dtype', 'f16');
    assert.match(await page.innerText('#input-error'), /bf16 queries/);
    await page.selectOption('#dtype', 'bf16');
    await page.selectOption('#cache', 'half');

    // 4. A sweep over sequence length: both backends plotted at every length.
    await page.fill('#sweep-lens', '64, 256, 512');
    await page.fill('#sweep-b', '2');
    await page.click('#sweep');
    await waitFor('sweeps', 1);
    lap('sweep');
    t.diagnostic(`sweep wall ms: ${JSON.stringify((await pageState()).sweep?.map((p) => (p as { wallMs?: unknown }).wallMs))}`);
    s = await pageState();
    assert.equal(s.error, undefined, s.error);
    assert.deepEqual(s.sweep!.map((p) => p.len), [64, 256, 512]);
    assert.ok(s.sweep!.every((p) => p.webgpu!.GBps > 0 && p.cpu!.GBps > 0));
    assert.equal(await page.locator('#sweep-chart circle.pt[data-series="webgpu"]').count(), 3);
    assert.equal(await page.locator('#sweep-chart circle.pt[data-series="cpu"]').count(), 3);
    await noPrintedZero('sweep');

    // 5. Screenshots at desktop and phone widths; at 390 px nothing may stick out sideways.
    await page.screenshot({ path: join(outDir, 'browser-page-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow} px wider than a 390 px screen`);
    await page.screenshot({ path: join(outDir, 'browser-page-390.png'), fullPage: true });

    // 6. Without WebGPU: the CPU backend alone, and the page says so.
    await cpuDone;
    const cs = await cpuPage.evaluate(() => (window as unknown as { flashmlaPage: PageState }).flashmlaPage);
    assert.equal(cs.device?.webgpu, false);
    assert.deepEqual(cs.run!.runs.map((r) => [r.backend, r.check?.pass]), [['cpu', true]]);
    assert.match(await cpuPage.innerText('#device-status'), /No WebGPU here[\s\S]*CPU backend/);
    assert.equal(printedZero.exec(await cpuPage.innerText('main')), null);
    await cpuPage.screenshot({ path: join(outDir, 'browser-page-cpu-only-1280.png'), fullPage: false });

    lap('cpu-only page');
    assert.deepEqual(problems, [], `console errors, page errors or failed requests:\n${problems.join('\n')}`);
    t.diagnostic(`screenshots in ${outDir}`);
  } finally {
    await close();
  }
});

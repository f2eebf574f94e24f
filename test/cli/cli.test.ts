// The flashmla command as a user runs it: node bin/flashmla.mjs <command>, on the sources (FLASHMLA_CLI_SOURCE=1)
// so a stale build is never what is tested; scripts/check-package.mjs runs the packed tarball's compiled CLI.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FlashMlaError } from '../../src/core/errors.js';
import { createBackend, createBestBackend, isSoftwareAdapter } from '../../src/node.js';
import { flashmlaCli } from '../support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'flashmla-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const flashmla = (...args: string[]) => flashmlaCli(args, tmp);

/** Well-formed enough for a browser: one root svg, every tag closed, one rect per bar. */
function checkSvg(svg: string, bars: number): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg.trim(), /<\/svg>$/);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[1]) assert.equal(stack.pop(), m[2], `closing </${m[2]}>`);
    else if (!m[3]) stack.push(m[2]);
  }
  assert.deepEqual(stack, []);
  assert.ok((svg.match(/<rect[^>]*><title>/g) ?? []).length >= bars, `at least ${bars} bars`);
}

describe('flashmla CLI', () => {
  it('prints help for the program and each command', () => {
    const main = flashmla('--help');
    assert.equal(main.code, 0);
    assert.match(main.stdout, /Usage: flashmla <command>/);
    for (const cmd of ['demo', 'bench', 'plan', 'info']) {
      const r = flashmla(cmd, '--help');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Usage: flashmla ${cmd}`));
    }
  });

  it('info lists the CPU backend and why the others are unavailable', () => {
    const r = flashmla('info');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cpu\s+available: CPU, \d+ worker thread/);
    assert.match(r.stdout, /cuda\s+(available|unavailable: \S)/);
    assert.match(r.stdout, /webgpu\s+(available|unavailable: \S)/);
    const j = JSON.parse(flashmla('info', '--json').stdout) as { kind: string; available: boolean }[];
    assert.deepEqual(j.map((x) => x.kind), ['cuda', 'webgpu', 'cpu']);
    assert.equal(j.find((x) => x.kind === 'cpu')?.available, true);
  });

  it('runs a small demo that matches the reference', () => {
    const r = flashmla('demo', '--batch', '2', '--seqlen', '300', '--heads', '16,3', '--page', '16', '--reps', '1', '--check', '3', '--backend', 'cpu', '--layers', '2', '--prompt', '8', '--tokens', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /KV cache: 2 sequences/);
    assert.match(r.stdout, /Model run: 2 MLA layers/);
    assert.match(r.stdout, /layer 0 prefill \(8 tokens\) vs the float64 non-absorbed formula: cos diff \d\.\d+e-\d+\n/);
    for (const h of [16, 3]) assert.match(r.stdout, new RegExp(`^\\s+${h}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.e+-]+\\s+\\d\\.\\d+e-\\d+ \\(3 rows\\)`, 'm'));
    assert.doesNotMatch(r.stdout, /FAILED/);
    assert.match(r.stdout, /DeepSeek-V3\s+61\s+128\s+70272/);
    assert.match(r.stdout, /Next step: appended 1 token per sequence/);
  });

  it('benchmarks a tiny grid into JSON + SVG and merges FlashMLA results', () => {
    const configs = join(tmp, 'configs.json');
    writeFileSync(configs, JSON.stringify([
      { b: 2, s_k: 130, h_q: 8, s_q: 2 },
      { seqlens: [0, 70, 33], h_q: 4, h_kv: 2, s_q: 1, page_block_size: 1 },
      { b: 3, s_k: 100, h_q: 16, s_q: 1, varlen: true, seed: 3 },
    ]));
    // A synthetic bench_flashmla.py result (its format, made-up times) to check the matching and the ratio.
    const fm = join(tmp, 'flashmla.json');
    writeFileSync(fm, JSON.stringify({ device: 'NVIDIA H100 80GB HBM3', sms: 132, rows: [
      { b: 2, s_k: 130, h_q: 8, s_q: 2, total_seqlen: 260, flashmla: { ms: 0.01, GBps: 100, TFLOPS: 1 } },
      { b: 2, s_k: 130, h_q: 8, s_q: 2, total_seqlen: 999, flashmla: { ms: 5, GBps: 1, TFLOPS: 1 } },
    ] }));
    const out = join(tmp, 'res', 'tiny.json');
    const r = flashmla('bench', '--backend', 'cpu', '--configs', configs, '--flashmla', fm, '--out', out, '--reps', '2', '--warmup', '0', '--rotate-mb', '1', '--check', '2', '--numpy', 'none');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[3\/3\]/, 'progress per config');
    const res = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(res.backend, 'cpu');
    assert.match(res.card, /CPU/);
    assert.match(res.commit, /^([0-9a-f]{40}|unknown)$/);
    assert.ok(!Number.isNaN(Date.parse(res.date)));
    assert.equal(res.flashmla_card, 'NVIDIA H100 80GB HBM3');
    assert.equal(res.rows.length, 3);
    const [a, b, c] = res.rows;
    assert.equal(a.s_k, 130);
    assert.deepEqual(b.seqlens, [0, 70, 33]);
    assert.equal(c.seqlens.length, 3);
    assert.equal(c.total_seqlen, c.seqlens.reduce((x: number, y: number) => x + y, 0));
    for (const row of res.rows) {
      assert.ok(row.ms > 0 && Number.isFinite(row.ms));
      const total = row.total_seqlen;
      assert.ok(Math.abs(row.GBps - (2 * (total * row.h_kv * 576 + row.b * row.s_q * row.h_q * 1088)) / row.ms / 1e6) < 1e-9 * row.GBps + 1e-12);
      assert.ok(Math.abs(row.TFLOPS - (2 * row.s_q * total * row.h_q * 1088) / row.ms / 1e9) < 1e-9 * row.TFLOPS + 1e-15);
      assert.equal(row.check.ok, true, JSON.stringify(row.check));
      assert.match(row.kernel, /^cpu-\w/, 'each row names the kernel that ran');
    }
    assert.equal(a.flashmla_ms, 0.01);
    assert.ok(Math.abs(a.ratio_vs_flashmla - 0.01 / a.ms) < 1e-12);
    assert.equal(b.flashmla_ms, undefined);
    checkSvg(readFileSync(join(tmp, 'res', 'tiny.svg'), 'utf8'), 4);
    assert.match(r.stdout, /FlashMLA\/ours/);
  });

  it('times each config for several SM counts (--num-sms) on the configs picked by --only', () => {
    const out = join(tmp, 'arms.json');
    const r = flashmla('bench', '--backend', 'cpu', '--grid', 'small', '--only', '0', '--num-sms', '2,6', '--out', out, '--reps', '1', '--warmup', '0',
      '--rotate-mb', '1', '--check', '2', '--numpy', 'none', '--workers', '1');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(res.rows.length, 1);
    const [row] = res.rows;
    assert.deepEqual([row.b, row.s_k, row.h_q, row.s_q], [2, 1024, 16, 1]); // the small grid's first config
    assert.deepEqual(row.arms.map((a: { label: string }) => a.label), ['numSms=2', 'numSms=6']);
    for (const a of row.arms) assert.ok(a.ms > 0 && a.num_sm_parts >= 1);
    const best = row.arms.reduce((x: { ms: number }, y: { ms: number }) => (y.ms < x.ms ? y : x));
    assert.equal(row.arm, best.label);
    assert.equal(row.ms, best.ms);
    assert.equal(row.check.ok, true, JSON.stringify(row.check));
    assert.match(r.stderr, /\[numSms=2 [\d.]+ ms, numSms=6 [\d.]+ ms\]/);
  });

  it('re-draws a saved result with FlashMLA merged (--mode chart)', () => {
    const res = join(tmp, 'saved.json');
    const rows = [
      { b: 128, s_k: 1024, h_q: 16, h_kv: 1, s_q: 1, page_block_size: 64, total_seqlen: 131072, ms: 0.05, GBps: 3000, TFLOPS: 90, copies: 4, rotated_bytes: 1e8 },
      { b: 128, s_k: 4096, h_q: 64, h_kv: 1, s_q: 2, page_block_size: 64, total_seqlen: 524288, ms: 0.4, GBps: 1500, TFLOPS: 300, copies: 2, rotated_bytes: 1e8 },
    ];
    writeFileSync(res, JSON.stringify({ backend: 'cuda', card: 'NVIDIA H200', commit: 'abc', date: '2026-11-29', grid: 'custom', warmup: 10, reps: 50, rows }));
    const fm = join(tmp, 'fm-saved.json');
    writeFileSync(fm, JSON.stringify({ device: 'NVIDIA H200', rows: [{ b: 128, s_k: 4096, h_q: 64, s_q: 2, total_seqlen: 524288, flashmla: { ms: 0.5, GBps: 1200, TFLOPS: 240 } }] }));
    const svg = join(tmp, 'saved-chart.svg');
    const r = flashmla('bench', '--mode', 'chart', '--result', res, '--flashmla', fm, '--out', svg);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /matched 1 of 2 rows/);
    const merged = JSON.parse(readFileSync(res, 'utf8'));
    assert.equal(merged.flashmla_card, 'NVIDIA H200');
    assert.equal(merged.rows[0].flashmla_ms, undefined);
    assert.equal(merged.rows[1].flashmla_ms, 0.5);
    assert.ok(Math.abs(merged.rows[1].ratio_vs_flashmla - 1.25) < 1e-12);
    const text = readFileSync(svg, 'utf8');
    checkSvg(text, 3); // two configs of ours, one of FlashMLA's (each panel)
    assert.match(text, />1\.25x</);
  });

  it('emits configs in bench_flashmla.py format with varlen lengths made explicit', () => {
    const file = join(tmp, 'grid.json');
    const r = flashmla('bench', '--grid', 'small', '--emit-configs', file);
    assert.equal(r.code, 0, r.stderr);
    const cs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    assert.ok(cs.length >= 4);
    for (const c of cs) {
      for (const k of ['b', 'h_q', 's_q']) assert.equal(typeof c[k], 'number');
      if (c.varlen) assert.equal((c.seqlens as number[]).length, c.b);
    }
    const full = join(tmp, 'flashmla-grid.json');
    assert.equal(flashmla('bench', '--grid', 'flashmla', '--emit-configs', full).code, 0);
    assert.equal(JSON.parse(readFileSync(full, 'utf8')).length, 24);
  });

  it('benchmarks an f16 config ("dtype") and keeps it out of the FlashMLA match (bf16 rows)', () => {
    const configs = join(tmp, 'f16.json');
    writeFileSync(configs, JSON.stringify([{ b: 2, s_k: 130, h_q: 8, s_q: 2, dtype: 'f16' }, { b: 2, s_k: 130, h_q: 8, s_q: 2 }]));
    const fm = join(tmp, 'fm16.json');
    writeFileSync(fm, JSON.stringify({ device: 'NVIDIA H200', sms: 132, rows: [
      { b: 2, s_k: 130, h_q: 8, s_q: 2, total_seqlen: 260, flashmla: { ms: 0.01, GBps: 100, TFLOPS: 1 } },
    ] }));
    const out = join(tmp, 'res', 'f16.json');
    const r = flashmla('bench', '--backend', 'cpu', '--configs', configs, '--flashmla', fm, '--out', out, '--reps', '2', '--warmup', '0', '--rotate-mb', '1', '--check', '2', '--numpy', 'none');
    assert.equal(r.code, 0, r.stderr);
    const [f16, bf16] = JSON.parse(readFileSync(out, 'utf8')).rows;
    assert.equal(f16.dtype, 'f16');
    assert.equal(f16.check.ok, true, JSON.stringify(f16.check));
    assert.equal(f16.flashmla_ms, undefined, 'FlashMLA\'s rows are bf16');
    assert.equal(bf16.dtype, undefined);
    assert.equal(bf16.flashmla_ms, 0.01);
    const bad = join(tmp, 'f32.json');
    writeFileSync(bad, JSON.stringify([{ b: 2, s_k: 64, h_q: 16, s_q: 1, dtype: 'f32' }]));
    const e = flashmla('bench', '--configs', bad);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /\[0\]\.dtype: expected "bf16" or "f16", got "f32"/);
  });

  const bad: [string, string[], RegExp][] = [
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['unknown flag', ['demo', '--bogus'], /Unknown option '--bogus'/],
    ['not a number', ['demo', '--batch', 'four'], /--batch: expected an integer/],
    ['zero', ['demo', '--batch', '0'], /--batch: expected an integer in 1\.\./],
    ['page too large', ['demo', '--page', '257'], /--page/],
    ['bad list', ['demo', '--heads', '16,x'], /--heads/],
    ['bad grid', ['bench', '--grid', 'huge'], /--grid: expected one of/],
    ['bad backend', ['bench', '--backend', 'tpu'], /--backend: expected one of best, cuda, webgpu, cpu/],
    ['missing configs file', ['bench', '--configs', 'nope.json'], /--configs nope\.json: ENOENT/],
    ['stray positional', ['info', 'extra'], /Unexpected argument 'extra'|positional/i],
    ['negative reps', ['bench', '--reps', '-3'], /--reps: expected an integer in 1\.\.\d+, got '-3'/],
    ['negative reps with =', ['bench', '--reps=-3'], /--reps: expected an integer in 1\.\.\d+, got '-3'/],
    ['negative batch', ['demo', '--batch', '-1'], /--batch: expected an integer in 1\.\.\d+, got '-1'/],
    ['CUDA routine on the CPU', ['bench', '--mode', 'host', '--backend', 'cpu'], /--mode host runs on CUDA only/],
    ['unknown bench mode', ['bench', '--mode', 'fast'], /--mode: expected one of dense, sparse, host, graphs/],
    ['chart without a result', ['bench', '--mode', 'chart'], /--mode chart: --result RESULT\.json is required/],
    ['--only past the grid', ['bench', '--grid', 'cpu', '--only', '0,2', '--emit-configs', 'x.json'], /--only: index 2 is past the 2 configs/],
  ];
  for (const [what, args, msg] of bad) {
    it(`rejects ${what} with one line and a non-zero exit`, () => {
      const r = flashmla(...args);
      assert.notEqual(r.code, 0);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^flashmla/);
      assert.match(lines[0], msg);
    });
  }

  it('rejects a malformed configs entry naming it', () => {
    const f = join(tmp, 'bad.json');
    writeFileSync(f, JSON.stringify([{ b: 2, s_k: 64, h_q: 16, s_q: 1 }, { b: 2, s_k: 64, h_q: 12, s_q: 1, h_kv: 5 }]));
    const r = flashmla('bench', '--configs', f);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.json\[1\]: h_q must be a multiple of h_kv/);
  });
});

describe('flashmla-ts/node backend discovery', () => {
  it('creates the preferred backend and records why faster ones were skipped', async () => {
    const cpu = await createBestBackend({ prefer: 'cpu', options: { cpu: { workers: 1 } } });
    try {
      assert.equal(cpu.kind, 'cpu');
      assert.deepEqual(cpu.skipped, []);
      assert.match(cpu.info.device, /1 worker thread/);
    } finally { cpu.dispose(); }
    const best = await createBestBackend({ options: { cpu: { workers: 1 } } });
    try {
      // Every kind tried before the chosen one is listed with a reason.
      const order = ['cuda', 'webgpu', 'cpu'];
      for (const s of best.skipped) assert.ok(order.indexOf(s.kind) < order.indexOf(best.kind), `${s.kind} was tried before ${best.kind}`);
      for (const k of order.slice(0, order.indexOf(best.kind))) assert.ok(best.skipped.some((s) => s.kind === k), `why ${k} was skipped is recorded`);
      for (const s of best.skipped) assert.match(s.reason, new RegExp(`^${s.kind}: \\S`));
    } finally { best.dispose(); }
  });

  it('reports an unloadable or unknown backend as a FlashMlaError', async () => {
    await assert.rejects(createBackend('tpu' as never), (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument');
    try {
      (await createBackend('cuda')).dispose(); // a CUDA machine: fine
    } catch (e) {
      assert.ok(e instanceof FlashMlaError && e.code === 'backend_unavailable', String(e));
      assert.match(e.message, /^cuda: /);
    }
  });

  it('recognises software WebGPU adapters', () => {
    assert.equal(isSoftwareAdapter({ kind: 'webgpu', device: 'llvmpipe (LLVM 15.0.7, 256 bits)', numSms: 8 }), true);
    assert.equal(isSoftwareAdapter({ kind: 'webgpu', device: 'Dawn', numSms: 8, details: { adapterType: 'cpu' } }), true);
    assert.equal(isSoftwareAdapter({ kind: 'webgpu', device: 'NVIDIA H100 80GB HBM3', numSms: 132, details: { adapterType: 'discrete GPU' } }), false);
  });
});

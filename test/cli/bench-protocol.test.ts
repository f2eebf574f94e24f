// Which FlashMLA times a bench result is compared with (session 32, docs/notes/benchmark-protocol.md): the same timing
// protocol as ours where the FlashMLA file has it, and the result says which protocols met.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { medianMs, sparseProtocol } from '../../src/cli/bench-sparse.js';
import type { Backend } from '../../src/core/problem.js';
import { type BenchResult, mergeFlashMla } from '../../src/cli/harness.js';
import { flashmlaCli } from '../support/cli.js';

const ours = (flushMb?: number, doBench = true): BenchResult => ({
  backend: 'cuda', card: 'NVIDIA H200', commit: 'x', date: '2026-12-03', grid: 'custom', warmup: 10, reps: 50,
  ...(flushMb ? { flush_mb: flushMb, ...(doBench ? { do_bench: { warm_ms: 25, rep_ms: 200 } } : {}) } : {}),
  rows: [{ b: 128, s_k: 1024, h_q: 16, h_kv: 1, s_q: 1, page_block_size: 64, total_seqlen: 131072, ms: 0.05, GBps: 1, TFLOPS: 1, copies: 1, rotated_bytes: 1 }],
});
const row = { b: 128, s_k: 1024, h_q: 16, s_q: 1, total_seqlen: 131072 };
const anchor = { device: 'NVIDIA H200', rows: [{ ...row, flashmla: { ms: 0.06, GBps: 1, TFLOPS: 1 } }] };
const both = { device: 'NVIDIA H200', protocols: { flashmla: 'do_bench', flashmla_b2b: 'back-to-back' },
  rows: [{ ...row, flashmla: { ms: 0.06, GBps: 1, TFLOPS: 1 }, flashmla_b2b: { ms: 0.04, GBps: 1, TFLOPS: 1 } }] };

describe('bench: FlashMLA under the same timing protocol as ours', () => {
  it('back to back against FlashMLA back to back when the file has it', () => {
    const r = ours();
    assert.equal(mergeFlashMla(r, both, 'f'), 1);
    assert.equal(r.rows[0].flashmla_ms, 0.04);
    assert.ok(Math.abs(r.rows[0].ratio_vs_flashmla! - 0.8) < 1e-12);
    assert.deepEqual([r.protocol, r.flashmla_protocol, r.protocol_matched], ['back-to-back', 'back-to-back (eager)', true]);
  });
  it('with the flush against do_bench', () => {
    for (const f of [both, anchor]) {
      const r = ours(256);
      assert.equal(mergeFlashMla(r, f, 'f'), 1);
      assert.equal(r.rows[0].flashmla_ms, 0.06);
      assert.deepEqual([r.protocol, r.flashmla_protocol, r.protocol_matched], ['flush', 'do_bench', true]);
    }
  });
  it('a flushed run with a fixed count of repetitions is not do_bench: merged, but unmatched (session 35)', () => {
    const r = ours(256, false);
    assert.equal(mergeFlashMla(r, anchor, 'f'), 1);
    assert.equal(r.rows[0].flashmla_ms, 0.06);
    assert.deepEqual([r.protocol, r.flashmla_protocol, r.protocol_matched], ['flush', 'do_bench', false]);
  });
  it('back to back: graph replay against graph replay, eager against eager', () => {
    const three = { device: 'NVIDIA H200', rows: [{ ...row, b2b_method: 'cuda-graph x10', flashmla: { ms: 0.06, GBps: 1, TFLOPS: 1 },
      flashmla_b2b: { ms: 0.03, GBps: 1, TFLOPS: 1 }, flashmla_b2b_eager: { ms: 0.07, GBps: 1, TFLOPS: 1 } }] };
    const eager = ours();
    mergeFlashMla(eager, three, 'f');
    assert.equal(eager.rows[0].flashmla_ms, 0.07);
    assert.deepEqual([eager.flashmla_protocol, eager.protocol_matched], ['back-to-back (eager)', true]);
    const graph = { ...ours(), graph_calls: 10 };
    mergeFlashMla(graph, three, 'f');
    assert.equal(graph.rows[0].flashmla_ms, 0.03);
    assert.deepEqual([graph.flashmla_protocol, graph.protocol_matched], ['back-to-back (cuda-graph x10)', true]);
    const graphOnOld = { ...ours(), graph_calls: 10 }; // the tool's first form: eager times only, in flashmla_b2b
    mergeFlashMla(graphOnOld, both, 'f');
    assert.deepEqual([graphOnOld.rows[0].flashmla_ms, graphOnOld.protocol_matched], [0.04, false]);
  });
  it('WebGPU (timestamps: GPU time) against FlashMLA\'s graph replay, never its host-paced eager loop (session 40)', () => {
    const three = { device: 'NVIDIA H200', rows: [{ ...row, b2b_method: 'cuda-graph x10', flashmla: { ms: 0.06, GBps: 1, TFLOPS: 1 },
      flashmla_b2b: { ms: 0.03, GBps: 1, TFLOPS: 1 }, flashmla_b2b_eager: { ms: 0.07, GBps: 1, TFLOPS: 1 } }] };
    const wg = { ...ours(), backend: 'webgpu' };
    mergeFlashMla(wg, three, 'f');
    assert.equal(wg.rows[0].flashmla_ms, 0.03);
    assert.deepEqual([wg.protocol, wg.flashmla_protocol, wg.protocol_matched], ['back-to-back', 'back-to-back (cuda-graph x10)', true]);
    // --chain-calls (N calls a repetition in one submission, / N): the same match, graph replay against a chain
    const chained = { ...ours(), backend: 'webgpu', chain_calls: 10 };
    mergeFlashMla(chained, three, 'f');
    assert.equal(chained.rows[0].flashmla_ms, 0.03);
    assert.deepEqual([chained.protocol, chained.flashmla_protocol, chained.protocol_matched], ['back-to-back', 'back-to-back (cuda-graph x10)', true]);
    const wgOld = { ...ours(), backend: 'webgpu' }; // a file with eager times only (in flashmla_b2b): merged, unmatched
    mergeFlashMla(wgOld, both, 'f');
    assert.deepEqual([wgOld.rows[0].flashmla_ms, wgOld.protocol_matched], [0.04, false]);
    const wgFlush = { ...ours(256), backend: 'webgpu' };
    mergeFlashMla(wgFlush, three, 'f');
    assert.deepEqual([wgFlush.rows[0].flashmla_ms, wgFlush.flashmla_protocol, wgFlush.protocol_matched], [0.06, 'do_bench', true]);
  });
  it('says so when only the other protocol is there', () => {
    const r = ours();
    assert.equal(mergeFlashMla(r, anchor, 'f'), 1);
    assert.equal(r.rows[0].flashmla_ms, 0.06);
    assert.deepEqual([r.protocol, r.flashmla_protocol, r.protocol_matched], ['back-to-back', 'do_bench', false]);
  });
  it('sparse: us_b2b back to back, us_do_bench with the flush, else kineto\'s us, unmatched', () => {
    const fm = [{ kind: 'sparse_fp8', format: 'V3.2', b: 1, h_q: 64, s_q: 1, topk: 2048, extra_topk: null, extra_block_size: null, us: 10, us_do_bench: 9, us_b2b: 8 }];
    assert.deepEqual(sparseProtocol(fm, 0), { field: 'us_b2b', flashmla: 'back-to-back', matched: true });
    assert.deepEqual(sparseProtocol(fm, 256), { field: 'us_do_bench', flashmla: 'do_bench', matched: true });
    const old = fm.map(({ us_b2b: _b, ...x }) => x);
    assert.equal(sparseProtocol(old, 0).field, 'us');
    assert.equal(sparseProtocol(old, 0).matched, false);
    assert.equal(sparseProtocol(old.map(({ us_do_bench: _d, ...x }) => x), 256).matched, false);
    // --chain-calls: FlashMLA's graph replay where the file has it, else its back-to-back time, unmatched
    assert.deepEqual(sparseProtocol(fm.map((x) => ({ ...x, us_graph: 7 })), 0, true), { field: 'us_graph', flashmla: 'graph replay', matched: true });
    assert.deepEqual(sparseProtocol(fm, 0, true), { field: 'us_b2b', flashmla: 'back-to-back', matched: false });
    assert.equal(sparseProtocol(old, 0, true).matched, false);
  });
  it('sparse --chain-calls: each repetition runs N calls inside one batch, and a call\'s time is the repetition\'s / N', async () => {
    let inBatch = 0, calls = 0, batches = 0;
    const callsInBatch: number[] = [];
    const stub = {
      kind: 'webgpu',
      async batch<T>(fn: () => Promise<T>) { batches++; inBatch++; const before = calls; try { return await fn(); } finally { inBatch--; callsInBatch.push(calls - before); } },
      async timeMs(run: (rep: number) => Promise<void>, o: { warmup: number; reps: number }) {
        const out: number[] = [];
        for (let i = 0; i < o.warmup + o.reps; i++) { const c0 = calls; await run(i); if (i >= o.warmup) out.push(6 * (calls - c0)); }
        return out;
      },
      async synchronize() {},
    } as unknown as Backend;
    const run = async () => { assert.equal(inBatch, 1, 'a chained call runs inside the batch'); calls++; };
    assert.equal(await medianMs(stub, run, { warmup: 1, reps: 3, chainCalls: 4 }), 6);
    assert.equal(batches, 4);
    assert.deepEqual(callsInBatch, [4, 4, 4, 4]);
    await assert.rejects(medianMs({ ...stub, batch: undefined } as unknown as Backend, run, { warmup: 0, reps: 1, chainCalls: 2 }), /has no batches/);
    await assert.rejects(medianMs(stub, run, { warmup: 0, reps: 1, chainCalls: 2, flushBytes: 1 }), /not with --flush-mb or --rep-ms/);
  });
  it('sparse --chain-calls: WebGPU\'s only, not with the flush or do_bench\'s loop, refused before timing anything', () => {
    const cpu = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--chain-calls', '2', '--reps', '1'], tmpdir());
    assert.equal(cpu.code, 2, cpu.stderr);
    assert.match(cpu.stderr, /--chain-calls: the WebGPU backend's only \(this run has the cpu backend\)/);
    for (const [args, msg] of [[['--flush-mb', '1'], /--flush-mb and --chain-calls: give one of them/], [['--rep-ms', '5'], /--rep-ms and --chain-calls: give one of them/]] as const) {
      const r = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--chain-calls', '2', ...args], tmpdir());
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
    }
  });
  it('sparse --chain-calls on WebGPU (lavapipe): the result records chain_calls and a chained protocol, the dense rows timed', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-sparse-chain-'));
    try {
      const out = join(dir, 'r.json');
      const r = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'webgpu', '--grid', 'small', '--dense-only', '--dense-heads', '16', '--chain-calls', '2',
        '--reps', '2', '--warmup', '1', '-q', '--out', out], dir);
      if (r.code !== 0 && !process.env.CI && /webgpu|adapter/i.test(r.stderr)) { t.skip(`no WebGPU here: ${r.stderr.split('\n')[0]}`); return; }
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(readFileSync(out, 'utf8')) as { chain_calls?: number; protocol: string; rows: { us: number }[]; dense: { us: number; bf16_us: number }[] };
      assert.equal(res.chain_calls, 2);
      assert.equal(res.protocol, 'chained');
      assert.equal(res.dense.length, 1);
      assert.ok(res.dense.every((x) => x.us > 0 && x.bf16_us > 0), JSON.stringify(res.dense));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('sparse --dense-heads HxS: a dense row of h_q H with s_q S (causal), recorded as such; S out of range refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-sparse-dense-sq-'));
    try {
      const out = join(dir, 'r.json');
      const r = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--grid', 'small', '--dense-only', '--dense-heads', '8x2',
        '--reps', '1', '--warmup', '0', '-q', '--out', out], dir);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(readFileSync(out, 'utf8')) as { dense: { h_q: number; s_q: number; us: number; bf16_us: number }[] };
      assert.equal(res.dense.length, 1);
      assert.deepEqual([res.dense[0].h_q, res.dense[0].s_q], [8, 2]);
      assert.ok(res.dense[0].us > 0 && res.dense[0].bf16_us > 0);
      const bad = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--dense-only', '--dense-heads', '8x0'], dir);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--dense-heads: expected an integer in 1\.\.64, got '0'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('sparse --device-plan: refused where the backend plans on the host; --dense-heads none: no dense rows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-sparse-devplan-'));
    try {
      const bad = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--grid', 'small', '--device-plan', '--reps', '1'], dir);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--device-plan: a backend that plans sparse steps on the device \(CUDA; this run has the cpu backend\)/);
      const none = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--dense-only', '--dense-heads', 'none'], dir);
      assert.equal(none.code, 2, none.stderr);
      assert.match(none.stderr, /--dense-heads none with --dense-only/);
      const out = join(dir, 'r.json');
      const r = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--grid', 'cpu', '--batches', '4', '--heads', '16', '--dense-heads', 'none',
        '--reps', '1', '--warmup', '0', '-q', '--out', out], dir);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(readFileSync(out, 'utf8')) as { rows: { plan: string }[]; dense: unknown[] };
      assert.deepEqual(res.dense, []);
      assert.ok(res.rows.length > 0 && res.rows.every((x) => x.plan === 'host'), JSON.stringify(res.rows.map((x) => x.plan)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('refuses --flush-mb, --graph-calls and --chain-calls on a backend without them, and clashing pairs, before timing anything', () => {
    const both2 = flashmlaCli(['bench', '--backend', 'cpu', '--flush-mb', '1', '--graph-calls', '2'], tmpdir());
    assert.equal(both2.code, 2);
    assert.match(both2.stderr, /--flush-mb and --graph-calls: give one of them/);
    const rg = flashmlaCli(['bench', '--backend', 'cpu', '--rep-ms', '5', '--graph-calls', '2'], tmpdir());
    assert.equal(rg.code, 2);
    assert.match(rg.stderr, /--rep-ms and --graph-calls: give one of them/);
    const g = flashmlaCli(['bench', '--backend', 'cpu', '--graph-calls', '2', '--reps', '1'], tmpdir());
    assert.equal(g.code, 2);
    assert.match(g.stderr, /--graph-calls: the CUDA backend's only/);
    // --chain-calls: WebGPU's (CUDA has --graph-calls), and not with the flush, do_bench's loop or a graph
    const ch = flashmlaCli(['bench', '--backend', 'cpu', '--chain-calls', '2', '--reps', '1'], tmpdir());
    assert.equal(ch.code, 2);
    assert.match(ch.stderr, /--chain-calls: the WebGPU backend's only \(this run has the cpu backend\)/);
    for (const [args, msg] of [
      [['--flush-mb', '1'], /--flush-mb and --chain-calls: give one of them/],
      [['--rep-ms', '5'], /--rep-ms and --chain-calls: give one of them/],
      [['--graph-calls', '2'], /--chain-calls and --graph-calls: give one of them/],
    ] as const) {
      const r = flashmlaCli(['bench', '--backend', 'cpu', '--chain-calls', '2', ...args], tmpdir());
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
    }
    for (const mode of [[], ['--mode', 'sparse']]) {
      const r = flashmlaCli(['bench', ...mode, '--backend', 'cpu', '--flush-mb', '256', '--reps', '1'], tmpdir());
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--flush-mb: the GPU backends' only \(this run has the cpu backend\)/);
    }
  });
  it('--chain-calls on WebGPU (lavapipe): the result records chain_calls and the rows are checked', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-chain-'));
    try {
      const out = join(dir, 'r.json');
      const r = flashmlaCli(['bench', '--backend', 'webgpu', '--grid', 'small', '--only', '0', '--check', '1', '--no-ceilings', '--chain-calls', '3',
        '--reps', '3', '--warmup', '1', '--warm-ms', '0', '-q', '--out', out], dir);
      if (r.code !== 0 && !process.env.CI && /webgpu|adapter/i.test(r.stderr)) { t.skip(`no WebGPU here: ${r.stderr.split('\n')[0]}`); return; }
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
      assert.equal(res.chain_calls, 3);
      assert.equal(res.graph_calls, undefined);
      assert.equal(res.rows.length, 1);
      assert.ok(res.rows[0].ms > 0 && res.rows[0].check?.ok, JSON.stringify(res.rows[0]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('WebGPU (lavapipe) with ceilings: the copy is measured again after the rows and recorded beside the first', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-copy-after-'));
    try {
      const out = join(dir, 'r.json');
      const r = flashmlaCli(['bench', '--backend', 'webgpu', '--grid', 'small', '--only', '0', '--check', '0', '--reps', '2', '--warmup', '1', '--warm-ms', '0', '--out', out], dir);
      if (r.code !== 0 && !process.env.CI && /webgpu|adapter/i.test(r.stderr)) { t.skip(`no WebGPU here: ${r.stderr.split('\n')[0]}`); return; }
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
      const c = res.ceilings!;
      assert.ok(c.copy_GBps > 0 && c.copy_after_GBps! > 0, JSON.stringify(c));
      assert.match(r.stdout + r.stderr, /copy after the rows: \S+ GB\/s \(\d+\.\d% of before\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('--rep-ms times in do_bench\'s loop and says so: the result\'s do_bench, each row\'s repetitions from the estimate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-rep-ms-'));
    try {
      const out = join(dir, 'r.json');
      const r = flashmlaCli(['bench', '--backend', 'cpu', '--grid', 'small', '--only', '0', '--check', '0', '--numpy', 'none', '--rep-ms', '200', '-q', '--out', out], dir);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
      assert.deepEqual(res.do_bench, { warm_ms: 25, rep_ms: 200 });
      assert.equal(res.rows.length, 1);
      const row = res.rows[0];
      assert.ok(Number.isInteger(row.timed_reps) && row.timed_reps! >= 1, `timed_reps ${row.timed_reps}`);
      assert.ok(Number.isInteger(row.warmup_calls) && row.warmup_calls! >= 1, `warmup_calls ${row.warmup_calls}`);
      // Both counts come from the five-call estimate the row records: floor(200 / e) repetitions, floor(25 / e) calls
      // before them (each at least 1). The estimate holds cold calls and host time, so it is not the median (a CPU call
      // here may take 12 ms or 1 ms once warm); what must hold is that the loop followed it.
      const e = row.estimate_ms!;
      assert.ok(Number.isFinite(e) && e > 0, `estimate_ms ${e}`);
      assert.equal(row.timed_reps, Math.max(1, Math.floor(200 / e)), `${row.timed_reps} repetitions from an estimate of ${e} ms`);
      assert.equal(row.warmup_calls, Math.max(1, Math.floor(25 / e)), `${row.warmup_calls} warm-up calls from an estimate of ${e} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// `flashmla bench --mode sparse --grid all`: FlashMLA's 12 sparse shapes, then the other 26 rows bench_sparse.py's full
// run times (anchors/flashmla-sparse/bench_sparse.py, sparse_cases), each matched to FlashMLA's row by format, b, h_q,
// s_q, top-k and the extra cache; --batches keeps a subset.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { flashmlaSparseMoreShapes, flashmlaSparseShapes } from '../../src/cli/bench-sparse.js';
import { flashmlaCli } from '../support/cli.js';

const key = (s: (typeof flashmlaSparseShapes)[number]) => `${s.label}|${s.format}|${s.b}|${s.hQ}|${s.sQ}|${s.topk}|${s.extraTopk ?? 0}|${s.extraBlockSize ?? 0}`;

describe('bench --mode sparse: the grid', () => {
  it("the other rows are bench_sparse.py's: V3.2 at b = 2 and 74, CONFIG1-4 at five batches, four peak rows", () => {
    assert.equal(flashmlaSparseMoreShapes.length, 26);
    const all = [...flashmlaSparseShapes, ...flashmlaSparseMoreShapes].map(key);
    assert.equal(new Set(all).size, all.length, 'no row twice (each matches one FlashMLA row)');
    assert.deepEqual(flashmlaSparseMoreShapes.filter((s) => s.label === 'V3.2').map((s) => [s.b, s.hQ, s.sQ, s.topk]), [[2, 128, 2, 2048], [74, 128, 2, 2048]]);
    for (const c of ['MODEL1 CONFIG1', 'MODEL1 CONFIG2', 'MODEL1 CONFIG3', 'MODEL1 CONFIG4']) {
      const rows = flashmlaSparseMoreShapes.filter((s) => s.label === c);
      const base = flashmlaSparseShapes.find((s) => s.label === c)!;
      assert.deepEqual(rows.map((s) => s.b), [64, 2, 74, 148, 256], c);
      for (const s of rows) assert.deepEqual({ ...s, b: 0 }, { ...base, b: 0 }, `${c}: only b differs`);
    }
    const peak = flashmlaSparseMoreShapes.filter((s) => s.label === 'peak');
    assert.deepEqual(peak.map((s) => [s.format, s.hQ, s.b, s.sK, s.topk]), [['v32', 64, 148, 32768, 16384], ['model1', 64, 148, 32768, 16384], ['v32', 128, 148, 32768, 16384], ['model1', 128, 148, 32768, 16384]]);
  });
  it('--query-dtype and --dense-format: f16 queries, MODEL1 dense rows, no FlashMLA ratio; bad values are usage errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashmla-bs-')), out = join(dir, 'r.json');
    const r = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--grid', 'cpu', '--batches', '4', '--heads', '2', '--dense-heads', '2',
      '--query-dtype', 'f16', '--dense-format', 'model1', '--reps', '1', '--warmup', '0', '-q', '--out', out], dir);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(readFileSync(out, 'utf8')) as { rows: { dtype: string; ratio_vs_flashmla?: number }[]; dense: { format: string; dtype: string; h_q: number }[] };
    assert.ok(res.rows.length > 0 && res.rows.every((x) => x.dtype === 'f16' && x.ratio_vs_flashmla === undefined));
    assert.deepEqual(res.dense.map((d) => [d.format, d.dtype, d.h_q]), [['model1', 'f16', 2]]);
    rmSync(dir, { recursive: true, force: true });
    for (const [flag, v] of [['--query-dtype', 'f32'], ['--dense-format', 'v4']]) {
      const e = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', flag, v], tmpdir());
      assert.equal(e.code, 2, e.stderr);
      assert.match(e.stderr, new RegExp(flag.slice(2)));
    }
  });
  it('--batches naming no row of the grid is a usage error before anything is timed', () => {
    const r = flashmlaCli(['bench', '--mode', 'sparse', '--backend', 'cpu', '--grid', 'all', '--batches', '3,5'], tmpdir());
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--batches 3,5: no row of grid all has one of these batch sizes/);
  });
});

// src/bench/compare.ts: the "nothing slower" check between two builds' bench results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareRuns, configKey, formatComparison, type TimedRow } from '../../src/bench/compare.js';

const row = (s_k: number, h_q: number, ms: number, extra: Partial<TimedRow> = {}): TimedRow =>
  ({ b: 128, s_k, h_q, h_kv: 1, s_q: 1, page_block_size: 64, ms, ...extra });

test('per-config median over rounds; a config over the bar fails', () => {
  const before = [[row(1024, 16, 1.0), row(4096, 64, 2.0)], [row(1024, 16, 1.2), row(4096, 64, 2.0)], [row(1024, 16, 1.1), row(4096, 64, 9)]];
  const after = [[row(1024, 16, 1.12), row(4096, 64, 2.1)], [row(1024, 16, 1.13), row(4096, 64, 2.05)], [row(1024, 16, 1.0), row(4096, 64, 2.05)]];
  const c = compareRuns(before, after, 0.03);
  const byK = new Map(c.rows.map((r) => [r.config, r]));
  const a = byK.get(configKey(row(1024, 16, 0)))!, b = byK.get(configKey(row(4096, 64, 0)))!;
  assert.equal(a.before_ms, 1.1); assert.equal(a.after_ms, 1.12); assert.ok(a.ok); // 1.018
  assert.equal(b.before_ms, 2.0); assert.equal(b.after_ms, 2.05); assert.ok(b.ok); // 1.025, the outlier 9 ignored
  assert.ok(c.ok);
  const slow = compareRuns(before, [[row(1024, 16, 1.2), row(4096, 64, 2.0)]], 0.03);
  assert.ok(!slow.ok);
  assert.match(formatComparison(slow), /^SLOW 1\.091/m);
  assert.match(formatComparison(slow), /^FAIL/m);
});

test('configs on one side only fail the comparison; keys tell seqlens, varlen and pages apart', () => {
  const c = compareRuns([[row(1024, 16, 1)]], [[row(1024, 16, 1), row(2048, 16, 1)]]);
  assert.deepEqual(c.missing, [configKey(row(2048, 16, 1))]);
  assert.ok(!c.ok);
  const keys = new Set([row(1024, 16, 1), row(1024, 16, 1, { varlen: true }), row(1024, 16, 1, { page_block_size: 1 }),
    row(1024, 16, 1, { seqlens: [1, 2] }), row(1024, 16, 1, { h_kv: 2 })].map(configKey));
  assert.equal(keys.size, 5);
  assert.ok(!compareRuns([], []).ok, 'nothing compared is not a pass');
});

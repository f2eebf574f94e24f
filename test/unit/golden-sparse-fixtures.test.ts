// test/fixtures/golden-sparse (scripts/golden-sparse-fixtures.mjs) against the full sparse golden set where that is
// there (CI, ../shared): the same cases, and every array the fixtures keep byte-identical (only FlashMLA's float64
// reference is left out; the loader recomputes it, and test/unit/sparse.test.ts holds that recomputation to FlashMLA's
// on the full set).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { goldenSparseDir, goldenSparseFixtures, loadSparseGoldenFrom } from '../support/golden-sparse.js';

const full = goldenSparseDir && resolve(goldenSparseDir) !== resolve(goldenSparseFixtures) ? goldenSparseDir : undefined;
const names = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('sparse_') && f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

describe('golden-sparse fixtures', () => {
  test('the repository carries six cases, each loadable with a recomputed reference', () => {
    assert.ok(existsSync(join(goldenSparseFixtures, 'summary.json')));
    const list = names(goldenSparseFixtures);
    assert.equal(list.length, 6);
    const g = loadSparseGoldenFrom(goldenSparseFixtures, list[0]);
    assert.equal(g.refSource, 'recomputed');
    assert.equal(g.arrays.ref_out_f64.length, g.arrays.out.length);
  });
  test('equal to the full set, array by array (FlashMLA\'s float64 reference aside)', (t) => {
    if (!full) { t.skip('no full sparse golden set here (../shared/golden-sparse)'); return; }
    assert.deepEqual(names(goldenSparseFixtures), names(full));
    for (const name of names(full)) {
      const a = loadSparseGoldenFrom(full, name), b = loadSparseGoldenFrom(goldenSparseFixtures, name);
      assert.equal(a.refSource, 'flashmla');
      assert.deepEqual(b.params, a.params, name);
      const kept = Object.keys(a.arrays).filter((k) => !k.startsWith('ref_')).sort();
      assert.deepEqual(Object.keys(b.arrays).filter((k) => !k.startsWith('ref_')).sort(), kept, name);
      for (const k of kept) {
        const x = a.arrays[k], y = b.arrays[k];
        assert.ok(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), `${name}: ${k}`);
      }
    }
  });
});

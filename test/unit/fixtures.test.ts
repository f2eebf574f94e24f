// The in-repository golden fixtures (test/fixtures/golden) against the full set they were cut from: every array
// the tests read is FlashMLA's own, byte for byte, and each sequence sees the same cache rows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixtureDir, fullGoldenDir, goldenCaseNames, loadGolden, loadMetadataCases } from '../support/golden.js';

describe('golden fixtures are faithful to the full set', () => {
  test('the fixtures hold every case of the full set', (t) => {
    if (!fullGoldenDir) {
      if (process.env.CI) assert.fail('CI needs the full golden set: ../shared/golden or $FLASHMLA_GOLDEN');
      return t.skip('no full golden set here (../shared/golden or $FLASHMLA_GOLDEN) to compare with');
    }
    assert.deepEqual(goldenCaseNames(fixtureDir), goldenCaseNames(fullGoldenDir));
    assert.deepEqual(loadMetadataCases(fixtureDir), loadMetadataCases(fullGoldenDir));
  });
  for (const name of goldenCaseNames(fixtureDir)) {
    test(name, (t) => {
      if (!fullGoldenDir) return t.skip('no full golden set here to compare with');
      const a = loadGolden(name, fixtureDir), b = loadGolden(name, fullGoldenDir);
      assert.equal(a.refSource, 'recomputed');
      for (const k of ['q', 'cacheSeqlens', 'numSplits', 'out', 'lse'] as const) assert.deepEqual(a[k], b[k], k);
      const parts = a.tileSchedulerMetadata.length / 8;
      for (let i = 0; i < parts * 8; i++) if (i % 8 < 5) assert.equal(a.tileSchedulerMetadata[i], b.tileSchedulerMetadata[i], `metadata[${i}]`);
      const p = a.params, row = p.page_block_size * p.h_kv * p.d;
      for (let i = 0; i < p.batch; i++) {
        for (let j = 0; j < Math.ceil(a.cacheSeqlens[i] / p.page_block_size); j++) {
          const x = a.blockTable[i * a.maxBlocksPerSeq + j], y = b.blockTable[i * b.maxBlocksPerSeq + j];
          assert.deepEqual(a.kcache.subarray(x * row, (x + 1) * row), b.kcache.subarray(y * row, (y + 1) * row), `sequence ${i} block ${j}`);
        }
      }
    });
  }
});

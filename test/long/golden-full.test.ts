// The full golden set (FlashMLA's own float64 references included, every spare NaN block in place) on the CPU
// backends: `npm run test:long` runs it when ../shared/golden or $FLASHMLA_GOLDEN is there; CI always does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCpuBackend } from '../../src/backends/cpu/index.js';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import type { Backend } from '../../src/core/problem.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { fullGoldenDir, goldenCaseNames, loadGolden, runGolden } from '../support/golden.js';

let workers: Backend | undefined;
before(async () => { workers = await createCpuBackend({ workers: 2 }); });
after(() => workers?.dispose());

describe('full golden set on the CPU backends, against FlashMLA\'s float64 reference', () => {
  if (!fullGoldenDir) {
    test('the full golden set', (t) => {
      if (process.env.CI) assert.fail('CI needs the full golden set: ../shared/golden or $FLASHMLA_GOLDEN');
      t.skip('no full golden set here (../shared/golden or $FLASHMLA_GOLDEN)');
    });
    return;
  }
  for (const name of goldenCaseNames(fullGoldenDir)) {
    for (const which of ['inline', 'workers'] as const) {
      test(`${name} on ${which}`, async () => {
        const g = loadGolden(name, fullGoldenDir), p = g.params;
        assert.equal(g.refSource, 'flashmla');
        const got = await runGolden(g, which === 'inline' ? new InlineCpuBackend() : workers!);
        assertOutputsClose(got.out, got.lse, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tolerances.cpu, name);
      });
    }
  }
});

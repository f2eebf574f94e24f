// The Hopper kernel for >= 64 query rows per KV head (decode_sm90_wide.cu: wgmma with the query rows on M, TMA
// tensor copies of the cache through a tensor map) through the library's own path: FlashMLA's golden cases with
// >= 64 rows and random cases of the shapes it takes (one KV head, page 64, uniform query lengths, 64..256 rows),
// each checked against the float64 reference, with NaN in every unused cache slot and spare page and poisoned
// outputs. On sm_90 GPUs it is the default kernel for those shapes; elsewhere the cases still run (on the mma.sync
// kernel) and only the dispatch assertions are skipped. Needs built kernels; run by
// `bash scripts/gpu-host-run.sh sm90-wide`.
//   FLASHMLA_SM90W_CASES=n   random cases (default 200)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CudaBackend, createCudaBackend } from '../../src/backends/cuda/index.js';
import { flashMlaWithKvcache } from '../../src/index.js';
import type { MlaProblem } from '../../src/core/problem.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { goldenCaseNames, loadGolden, runGolden } from '../support/golden.js';
import { type CaseSpec, caseMatrix, caseReference, caseWork, makeCase, runCase, specName } from '../support/random.js';

const nRandom = Number(process.env.FLASHMLA_SM90W_CASES ?? 200);
/** Keys x query rows a random case may cost (the float64 reference runs on the host). */
const workBudget = 150_000;
let cuda: CudaBackend;
before(async () => { cuda = await createCudaBackend(); });
after(() => cuda?.dispose());

const onSm90 = (): boolean => cuda.info.details?.cc === '9.0';

/** The kernel a shape gets: what decodeKernel reads of the problem. */
function kernelFor(dtype: 'bf16' | 'f16', sQ: number, hQ: number, hKv = 1, page = 64, varlen = false): string {
  return cuda.decodeKernel({ dtype, sQ, hQ, nGroups: hQ / hKv, hKv, pageBlockSize: page, varlen, numSmParts: 1 } as unknown as MlaProblem);
}

test('dispatch: sm90w for >= 64 rows, one KV head, page 64, uniform query lengths; another kernel otherwise', (t) => {
  if (!onSm90()) return t.skip(`not an sm_90 GPU (${String(cuda.info.details?.cc)})`);
  assert.equal(kernelFor('bf16', 1, 64), 'mla_decode_sm90w_bf16');
  assert.equal(kernelFor('f16', 2, 128), 'mla_decode_sm90w_f16');
  assert.equal(kernelFor('bf16', 4, 16), 'mla_decode_sm90w_bf16');
  assert.equal(kernelFor('bf16', 3, 32), 'mla_decode_sm90w_bf16'); // 96 rows: the second tile is half empty
  assert.doesNotMatch(kernelFor('bf16', 1, 32), /sm90w/);
  assert.doesNotMatch(kernelFor('bf16', 1, 128, 2), /sm90w/);
  assert.doesNotMatch(kernelFor('bf16', 1, 64, 1, 32), /sm90w/);
  assert.doesNotMatch(kernelFor('bf16', 1, 64, 1, 64, true), /sm90w/);
});

test("kernel 'splitkv' keeps the mma.sync kernel on every shape", async (t) => {
  if (!onSm90()) return t.skip('not an sm_90 GPU');
  const mma = await createCudaBackend({ kernel: 'splitkv' });
  try {
    assert.doesNotMatch(mma.decodeKernel({ dtype: 'bf16', sQ: 2, hQ: 128, nGroups: 128, hKv: 1, pageBlockSize: 64, varlen: false, numSmParts: 1 } as unknown as MlaProblem), /sm90/);
  } finally {
    mma.dispose();
  }
});

describe('golden cases with >= 64 rows', () => {
  for (const name of goldenCaseNames()) {
    const g0 = loadGolden(name).params;
    if (g0.s_q * g0.h_q / g0.h_kv < 64) continue;
    test(name, async () => {
      const g = loadGolden(name), p = g.params;
      const k = kernelFor(p.dtype, p.s_q, p.h_q, p.h_kv, p.page_block_size);
      console.log(`# ${name}: ${k}`);
      if (onSm90() && p.h_kv === 1 && p.page_block_size === 64) assert.match(k, /sm90w/);
      const got = await runGolden(g, cuda);
      assertOutputsClose(got.out, got.lse, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tolerances.cuda, name);
    });
  }
});

/** A matrix case moved onto the kernel's shapes: one KV head, page 64, uniform sQ, 64..256 rows, within the budget. */
function wideSpec(s: CaseSpec, i: number): CaseSpec {
  const sQ = [1, 2, 3, 4][i % 4];
  const rows = [64, 128, 96, 256, 80, 192][i % 6];
  const hQ = Math.max(1, Math.ceil(rows / sQ));
  const w: CaseSpec = { ...s, hKv: 1, pageBlockSize: 64, qLens: undefined, sQ, hQ, seqlens: [...s.seqlens] };
  while (caseWork(w) > workBudget) {
    const k = w.seqlens.indexOf(Math.max(...w.seqlens));
    w.seqlens[k] = Math.floor(w.seqlens[k] / 2);
  }
  return w;
}

test(`${nRandom} random cases of the shapes the wide kernel takes`, async () => {
  const specs = caseMatrix(nRandom, 0x90b, { workBudget: 10 * workBudget }).map(wideSpec);
  let wide = 0;
  for (let i = 0; i < specs.length; i++) {
    const c = makeCase(specs[i], 70_000 + i);
    if (/sm90w/.test(kernelFor(c.dtype, c.sQ, c.hQ))) wide++;
    const r = await runCase(c, cuda, flashMlaWithKvcache, { numSms: i % 3 === 0 ? 132 : i % 3 === 1 ? 16 : 1 });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, specName(specs[i], i));
  }
  console.log(`# ${wide} of ${specs.length} cases ran the sm90w kernel`);
  if (onSm90()) assert.equal(wide, specs.length);
});

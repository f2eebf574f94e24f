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
/** FLASHMLA_SM90W_SHARD=i/n runs every n-th of the random cases from the i-th (processes side by side split them). */
const [shard, shards] = (process.env.FLASHMLA_SM90W_SHARD ?? '0/1').split('/').map(Number);
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

// Session 20 (h5): a build with kVarBQTma (decode_sm90_wide.cu; shipped since session 21 with kVarBQAll) reads Q through
// q's tensor map (launch.ts sm90QMap, 64-row boxes) from the view's first element. A view 8 elements (16 bytes) or one
// token row in must give q's own results, one off the 16-byte grid is a typed error. 96 rows: tile 1's box holds 32 of
// the next request's rows (and runs past q for the last request). A build without a map runs the same cases.
test('q as a view at an element offset (the wide kernel; q\'s tensor map where the build takes one)', async () => {
  const base = caseMatrix(4, 0x51b)[0];
  const shapes: Partial<CaseSpec>[] = [
    { seqlens: [65, 1500, 0], sQ: 1, hQ: 64, dtype: 'bf16' }, { seqlens: [700, 129], sQ: 3, hQ: 32, dtype: 'f16' },
    { seqlens: [1000], sQ: 2, hQ: 64, dtype: 'bf16' },
  ];
  for (const [k, sh] of shapes.entries()) {
    const spec: CaseSpec = { ...base, hKv: 1, pageBlockSize: 64, qLens: undefined, causal: sh.sQ! > 1, ...sh };
    const c = makeCase(spec, 71_000 + k);
    if (onSm90()) assert.match(kernelFor(c.dtype, c.sQ, c.hQ), /sm90w/);
    const ref = caseReference(c);
    for (const qOffset of [0, 8, 576 * c.hQ]) {
      const r = await runCase(c, cuda, flashMlaWithKvcache, { qOffset });
      assertOutputsClose(r.out, r.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, `${specName(spec, k)} q offset ${qOffset}`);
    }
    await assert.rejects(runCase(c, cuda, flashMlaWithKvcache, { qOffset: 4 }), /aligned to 16 bytes/);
  }
});

// Session 21 (n3): parts holding many items (few SMs), so a part walks split and unsplit requests, empty ones (no key
// tile) and ones with an odd tile count back to back. A build with kVarBQAll (decode_sm90_wide.cu) loads each item's Q by
// TMA: in the previous item's last pair where that item's output does not go through Q's region (split), else at the
// item's start; these cases walk every such hand-off. Any build runs them.
test('parts of many items: split, unsplit and empty requests in a row (each item\'s Q)', async () => {
  const base = caseMatrix(4, 0x5a3)[0];
  const shapes: Partial<CaseSpec>[] = [
    { seqlens: [300, 0, 65, 500, 64, 1, 350, 129, 1000, 5, 64, 200], sQ: 1, hQ: 64, dtype: 'bf16', causal: false },
    { seqlens: [500, 64, 0, 130, 350, 33, 700, 64], sQ: 2, hQ: 64, dtype: 'f16', causal: true },
    { seqlens: [260, 0, 450, 64, 129, 150], sQ: 2, hQ: 128, dtype: 'bf16', causal: true },
    { seqlens: [129, 350, 0, 1, 550, 200, 63], sQ: 3, hQ: 32, dtype: 'f16', causal: true },
  ];
  for (const [k, sh] of shapes.entries()) {
    const spec: CaseSpec = { ...base, hKv: 1, pageBlockSize: 64, qLens: undefined, softmaxScale: undefined, ...sh };
    const c = makeCase(spec, 72_000 + k);
    if (onSm90()) assert.match(kernelFor(c.dtype, c.sQ, c.hQ), /sm90w/);
    const ref = caseReference(c);
    for (const numSms of [2, 7, 20]) {
      const r = await runCase(c, cuda, flashMlaWithKvcache, { numSms });
      assertOutputsClose(r.out, r.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, `${specName(spec, k)} numSms ${numSms}`);
    }
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
  let ran = 0;
  for (let i = shard; i < specs.length; i += shards) {
    ran++;
    const c = makeCase(specs[i], 70_000 + i);
    if (/sm90w/.test(kernelFor(c.dtype, c.sQ, c.hQ))) wide++;
    const r = await runCase(c, cuda, flashMlaWithKvcache, { numSms: i % 3 === 0 ? 132 : i % 3 === 1 ? 16 : 1 });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, specName(specs[i], i));
  }
  console.log(`# ${wide} of ${ran} cases (shard ${shard}/${shards}) ran the sm90w kernel`);
  if (onSm90()) assert.equal(wide, ran);
});

// Session 36: 17-32 rows run on the wide kernel where the batch has at least half as many requests as the plan has SM
// parts (launch.ts sm90WideTakes; b = 128 on 132 SMs): the 64-row tile with the rows past the item's live rows dead.
// Random cases of such rows with few SM parts (numSms <= 2 b), each against the float64 reference, the kernel read
// from the problem the decode builds (b and the parts included).
const nNarrowRows = Math.max(20, Math.round(nRandom / 4));
test(`${nNarrowRows} random cases of 17-32 rows on the wide kernel (2 b >= SM parts)`, async () => {
  const shapes = [[1, 17], [1, 24], [1, 32], [2, 9], [2, 16], [3, 10], [4, 8], [1, 31]] as const;
  const specs = caseMatrix(nNarrowRows, 0x9017, { workBudget: 4 * workBudget }).map((s, i): CaseSpec => {
    const [sQ, hQ] = shapes[i % shapes.length];
    return { ...s, hKv: 1, pageBlockSize: 64, qLens: undefined, sQ, hQ };
  });
  let wide = 0, ran = 0;
  for (let i = shard; i < specs.length; i += shards) {
    ran++;
    const c = makeCase(specs[i], 73_000 + i);
    const numSms = Math.min(2 * c.b, [1, 2, 4, 8, 16][i % 5]);
    const p = { dtype: c.dtype, sQ: c.sQ, hQ: c.hQ, nGroups: c.hQ, hKv: 1, pageBlockSize: 64, varlen: false, b: c.b, totalQ: c.b * c.sQ, numSmParts: numSms };
    if (/sm90w/.test(cuda.decodeKernel(p as unknown as MlaProblem))) wide++;
    const r = await runCase(c, cuda, flashMlaWithKvcache, { numSms });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, `${specName(specs[i], i)} numSms ${numSms}`);
  }
  console.log(`# ${wide} of ${ran} 17-32-row cases (shard ${shard}/${shards}) ran the sm90w kernel`);
  if (onSm90()) assert.equal(wide, ran);
});

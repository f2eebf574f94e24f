// The Hopper kernel (decode_sm90.cu: the default on sm_90 for its shapes; createCudaBackend({ kernel: 'sm90' })) through the library's own
// path: FlashMLA's golden cases and random cases of the shapes it takes (one KV head, page 64, uniform query
// lengths, at most 32 rows per KV head), each checked against the float64 reference, with NaN in every unused cache
// slot and poisoned outputs. Needs an sm_90 GPU and built kernels; run by scripts/gpu-host-run.sh sm90.
//   FLASHMLA_SM90_CASES=n   random cases (default 300)
//   FLASHMLA_SM90_SHARD=i/n only random case k with k % n == i (the same cases, split over n processes)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CudaBackend, createCudaBackend } from '../../src/backends/cuda/index.js';
import { MlaDecoder, flashMlaWithKvcache } from '../../src/index.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { autoSchedule } from '../../src/core/scheduler.js';
import { fromArray } from '../../src/core/tensor.js';
import type { MlaProblem } from '../../src/core/problem.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { goldenCaseNames, loadGolden, runGolden } from '../support/golden.js';
import { type CaseSpec, caseMatrix, caseMetadata, caseReference, makeCase, runCase, specName } from '../support/random.js';

const nRandom = Number(process.env.FLASHMLA_SM90_CASES ?? 300);
const [shard, shards] = (process.env.FLASHMLA_SM90_SHARD ?? '0/1').split('/').map(Number);
let cuda: CudaBackend;
before(async () => { cuda = await createCudaBackend({ kernel: 'sm90' }); });
after(() => cuda?.dispose());

/** The kernel a shape gets: what decodeKernel reads of the problem. */
function kernelFor(dtype: 'bf16' | 'f16', rows: number, hKv = 1, page = 64, varlen = false): string {
  return cuda.decodeKernel({ dtype, sQ: 1, nGroups: rows, hKv, pageBlockSize: page, varlen, numSmParts: 1 } as unknown as MlaProblem);
}

test('dispatch: sm90 for at most 32 rows, one KV head, page 64; the split-KV kernel otherwise', (t) => {
  if (cuda.info.details?.cc !== '9.0') return t.skip(`not an sm_90 GPU (${String(cuda.info.details?.cc)})`);
  assert.match(kernelFor('bf16', 16), /sm90_bf16_n16/);
  assert.match(kernelFor('f16', 32), /sm90_f16_n32/);
  assert.doesNotMatch(kernelFor('bf16', 64), /sm90_/); // 64 rows: decode_sm90_wide.cu (mla_decode_sm90w_*) since sm90-wide
  assert.doesNotMatch(kernelFor('bf16', 16, 2), /sm90/);
  assert.doesNotMatch(kernelFor('bf16', 16, 1, 32), /sm90/);
  assert.doesNotMatch(kernelFor('bf16', 16, 1, 64, true), /sm90/);
});

test('default on sm_90: no kernel option takes sm90 for its shapes; kernel: \'splitkv\' never does', async (t) => {
  if (cuda.info.details?.cc !== '9.0') return t.skip(`not an sm_90 GPU (${String(cuda.info.details?.cc)})`);
  const p = { dtype: 'bf16', sQ: 1, nGroups: 16, hKv: 1, pageBlockSize: 64, varlen: false, numSmParts: 1 } as unknown as MlaProblem;
  const byDefault = await createCudaBackend();
  try { assert.match(byDefault.decodeKernel(p), /sm90/); } finally { byDefault.dispose(); }
  const splitkv = await createCudaBackend({ kernel: 'splitkv' });
  try { assert.doesNotMatch(splitkv.decodeKernel(p), /sm90/); } finally { splitkv.dispose(); }
});

describe('golden cases through the sm90 backend', () => {
  for (const name of goldenCaseNames()) {
    test(name, async () => {
      const g = loadGolden(name), p = g.params;
      const got = await runGolden(g, cuda);
      console.log(`# ${name}: ${kernelFor(p.dtype, p.s_q * p.h_q / p.h_kv, p.h_kv, p.page_block_size)}`);
      assertOutputsClose(got.out, got.lse, { out: g.refOut, lse: g.refLse }, p.dtype, { b: p.batch, sQ: p.s_q, hQ: p.h_q }, tolerances.cuda, name);
    });
  }
});

test(`${nRandom} random cases of the shapes the sm90 kernel takes`, async () => {
  const specs = caseMatrix(nRandom, 0x90a).map((s): CaseSpec => {
    const sQ = s.qLens ? 1 : s.sQ;
    return { ...s, hKv: 1, pageBlockSize: 64, qLens: undefined, sQ, hQ: Math.max(1, Math.min(s.hQ, Math.floor(32 / sQ))) };
  });
  let onSm90 = 0;
  let ran = 0;
  for (let i = 0; i < specs.length; i++) {
    if (i % shards !== shard) continue;
    ran++;
    const c = makeCase(specs[i], 50_000 + i);
    if (/sm90/.test(kernelFor(c.dtype, c.sQ * c.hQ))) onSm90++;
    const r = await runCase(c, cuda, flashMlaWithKvcache, { numSms: i % 3 === 0 ? 132 : i % 3 === 1 ? 16 : 1 });
    assertOutputsClose(r.out, r.lse, caseReference(c), c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, specName(specs[i], i));
  }
  console.log(`# ${onSm90} of ${ran} cases ran the sm90 kernel (shard ${shard}/${shards} of ${specs.length})`);
  if (cuda.info.details?.cc === '9.0') assert.equal(onSm90, ran);
});

// Since session 19 the library's entries read q through a tensor map (launch.ts sm90QMap) that starts at the view's
// first element: a view 8 elements (16 bytes) or one token row into its allocation must give q's own results; a
// view off the 16-byte grid is a typed error before any launch. Shapes: 16 and 32 rows with the map, 5 rows with too
// few rows in q for a box (the _ld entry), bf16 and f16.
test('q as a view at an element offset, with and without q\'s tensor map', async () => {
  const base = caseMatrix(4, 0x51a)[0];
  const shapes: Partial<CaseSpec>[] = [
    { seqlens: [65, 3001, 0], sQ: 1, hQ: 16, dtype: 'bf16' }, { seqlens: [2049, 128], sQ: 2, hQ: 16, dtype: 'f16' },
    { seqlens: [4097], sQ: 1, hQ: 5, dtype: 'bf16' }, { seqlens: [129, 2000], sQ: 3, hQ: 10, dtype: 'bf16' },
  ];
  for (const [k, sh] of shapes.entries()) {
    const spec: CaseSpec = { ...base, hKv: 1, pageBlockSize: 64, qLens: undefined, causal: sh.sQ! > 1, ...sh };
    const c = makeCase(spec, 70_000 + k);
    const ref = caseReference(c);
    for (const qOffset of [0, 8, 576 * c.hQ]) {
      const r = await runCase(c, cuda, flashMlaWithKvcache, { qOffset });
      assertOutputsClose(r.out, r.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, `${specName(spec, k)} q offset ${qOffset}`);
    }
    await assert.rejects(runCase(c, cuda, flashMlaWithKvcache, { qOffset: 4 }), /aligned to 16 bytes/);
  }
});

// Session 23: on sm_90 the backend plans 'auto' for MlaDecoder (whichever kernel) (core/scheduler.ts autoSchedule: 'fill' where its even
// share is <= 3 blocks a part, or 4 at <= 32 rows), and a request in more than 104 pieces is merged by
// mla_combine_t128 (launch.ts combineEntry). These shapes take both: fill with 64-128 pieces, FlashMLA's plan with 125.
test("the 'auto' plan and the 128-piece combine: MlaDecoder's default on sm_90 and caller metadata", async (t) => {
  if (cuda.info.details?.cc !== '9.0') return t.skip(`not an sm_90 GPU (${String(cuda.info.details?.cc)})`);
  const byDefault = await createCudaBackend();
  try { assert.equal(byDefault.info.schedule, 'auto'); } finally { byDefault.dispose(); }
  const splitkv = await createCudaBackend({ kernel: 'splitkv' });
  try { assert.equal(splitkv.info.schedule, 'auto'); } finally { splitkv.dispose(); } // sm_90: the mma.sync kernel too
  const fill = await createCudaBackend({ schedule: 'fill' });
  try { assert.equal(fill.info.schedule, 'fill'); } finally { fill.dispose(); }
  await assert.rejects(createCudaBackend({ schedule: 'even' as 'fill' }), (e: unknown) => e instanceof FlashMlaError && e.argument === 'schedule');
  const base = caseMatrix(4, 0x523)[0];
  const shapes: Partial<CaseSpec>[] = [
    { seqlens: [16384], sQ: 1, hQ: 16, dtype: 'bf16', causal: false }, // fill: 128 pieces (t128)
    { seqlens: [8192], sQ: 1, hQ: 16, dtype: 'f16', causal: false }, // fill: 64 pieces
    { seqlens: [9000, 7000], sQ: 2, hQ: 16, dtype: 'bf16', causal: true }, // fill at 32 rows
    { seqlens: [5000, 63, 4000], sQ: 1, hQ: 32, dtype: 'f16', causal: false }, // fill
    { seqlens: [40000], sQ: 1, hQ: 16, dtype: 'bf16', causal: false }, // FlashMLA's plan: 125 pieces (t128)
  ];
  const dec = new MlaDecoder(cuda, { hQ: 16, dtype: 'bf16' });
  try { assert.equal(dec.plan(Int32Array.of(8192), fromArray('i32', [1, 128], new Int32Array(128))).schedule, 'auto'); } finally { dec.dispose(); }
  for (const [k, sh] of shapes.entries()) {
    const spec: CaseSpec = { ...base, hKv: 1, pageBlockSize: 64, qLens: undefined, softmaxScale: undefined, ...sh };
    const c = makeCase(spec, 73_000 + k);
    const ref = caseReference(c);
    const md = caseMetadata(c, 132, 'auto');
    const pieces = Math.max(...Array.from({ length: c.b }, (_, i) => md.numSplits.host()[i + 1] - md.numSplits.host()[i]));
    console.log(`# ${specName(spec, k)}: 'auto' plans ${autoSchedule(c.cacheSeqlens, 132, c.sQ * c.hQ)}, ${pieces} pieces in the largest request`);
    const r = await runCase(c, cuda, flashMlaWithKvcache, { numSms: 132, schedule: 'auto' });
    assertOutputsClose(r.out, r.lse, ref, c.dtype, { b: c.b, sQ: c.sQ, hQ: c.hQ }, tolerances.cuda, `${specName(spec, k)} auto`);
  }
});

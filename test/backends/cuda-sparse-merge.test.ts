// CPU-only checks of which split merge the sparse runner launches (sparse.ts): sparse_mma.cu's combineTrip where the
// step's most-split request is in more than 4 pieces (host plans; through the backend's PDL launcher), else combine;
// FLASHMLA_CUDA_SPARSE_COMBINE's trip / old (SparseMmaHost.combineTrip) force one. The GPU runs: test/gpu/sparse.test.ts,
// bench/cuda/hopper/sparse-combine-trip-bitexact.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SparseMmaRunner, mergeOf, sparseCombineTripTakes } from '../../src/backends/cuda/sparse.js';
import type { DenseFp8Call } from '../../src/core/dense-fp8.js';
import { planSparseSchedule } from '../../src/core/sparse-scheduler.js';
import { fromArray } from '../../src/core/tensor.js';
import { fakeSparseRunner } from '../support/fake-sparse-runner.js';

test('mergeOf and the pieces rule', () => {
  assert.deepEqual(mergeOf(Int32Array.of(0, 1, 6, 7), 3), { need: true, maxPieces: 5 });
  assert.deepEqual(mergeOf(Int32Array.of(0, 1, 2), 2), { need: false, maxPieces: 1 });
  assert.deepEqual(mergeOf(undefined, 2), { need: true }, 'numSplits on the device: a merge, pieces unknown');
  assert.ok(!sparseCombineTripTakes(4));
  assert.ok(sparseCombineTripTakes(5));
  assert.ok(!sparseCombineTripTakes(undefined), 'unknown pieces keep the old merge');
});

test('the runner launches combineTrip through launchMerge where a request is in 5+ pieces, combine elsewhere', () => {
  const sm90 = 232448;
  const dev = { device: 'cuda' } as never;
  const call = (seqlens: number[]): DenseFp8Call => ({
    format: 'v32', dtype: 'bf16', b: seqlens.length, sQ: 1, hQ: 64, dQk: 576, pageBlockSize: 64, maxBlocksPerSeq: 80, numBlocks: 80,
    blockStride: 64 * 656, numSmParts: 8, causal: true, softmaxScale: 0.04, q: dev, kCache: dev, out: dev, lse: dev,
    blockTable: fromArray('i32', [seqlens.length, 80], new Int32Array(seqlens.length * 80)),
    cacheSeqlens: fromArray('i32', [seqlens.length], Int32Array.from(seqlens)),
    tileSchedulerMetadata: fromArray('i32', [8, 8], new Int32Array(64)), numSplits: fromArray('i32', [seqlens.length + 1], new Int32Array(seqlens.length + 1)),
  });
  const pieces = (seqlens: number[]) => {
    const ns = planSparseSchedule({ b: seqlens.length, topk: Math.max(...seqlens), topkLength: Int32Array.from(seqlens), extraTopk: 0 }, 8).numSplits;
    return mergeOf(ns, seqlens.length);
  };
  const long = [5000], short = [700, 700, 700, 700];
  assert.ok(pieces(long).maxPieces! > 4, `one long request over 8 parts: ${pieces(long).maxPieces} pieces`);
  assert.ok(pieces(short).need && pieces(short).maxPieces! <= 4, `four short ones: ${pieces(short).maxPieces} pieces`);
  for (const force of [undefined, true, false]) {
    for (const lens of [long, short]) {
      const { launches, host } = fakeSparseRunner({ 'sparse_sm90.fatbin': 'sp90' }, sm90);
      const viaMerge: string[] = [];
      const names = new Map<bigint, string>();
      const h = host(true, { denseOnSparse: true, ...(force === undefined ? {} : { combineTrip: force }) });
      const fn = h.fn;
      const runner = new SparseMmaRunner({
        ...h, fn: (m, name, smem) => { const f = fn(m, name, smem); names.set(f, name); return f; },
        launchMerge: (l) => { viaMerge.push(names.get(l.fn)!); return 0; },
      });
      assert.ok(runner.dense(call(lens)));
      const trip = force ?? lens === long;
      const want = trip ? 'mla_sparse_mma_combine_trip_bf16' : 'mla_sparse_mma_combine_bf16';
      const plain = launches.map((x) => x.name.split(':')[1]);
      if (trip) {
        assert.deepEqual(viaMerge, [want], `force ${force} lens ${lens}: the merge is a PDL-capable launch`);
        assert.ok(!plain.some((n) => n.startsWith('mla_sparse_mma_combine')));
      } else {
        assert.deepEqual(viaMerge, []);
        assert.equal(plain.filter((n) => n.startsWith('mla_sparse_mma_combine')).join(), want, `force ${force} lens ${lens}`);
      }
    }
  }
});

// Validation at the public boundary: one test per bad input, each expecting a FlashMlaError whose code and
// `argument` name what was wrong. A valid small problem is built once and one thing is broken per test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { type DecodeOptions, flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { FlashMlaError, type FlashMlaErrorCode } from '../../src/core/errors.js';
import type { Backend } from '../../src/core/problem.js';
import { type DeviceStorage, Tensor, fromArray } from '../../src/core/tensor.js';
import { assertOutputsClose, tolerances } from '../support/compare.js';
import { type CaseSpec, caseMetadata, caseReference, caseTensors, makeCase, poisonedOutputs } from '../support/random.js';

const backend = new InlineCpuBackend();

const baseSpec: CaseSpec = { name: 'base', dtype: 'bf16', hQ: 4, hKv: 2, pageBlockSize: 16, seqlens: [20, 33], sQ: 1, causal: true };
const base = makeCase(baseSpec, 1);

interface Args {
  q: Tensor; kCache: Tensor; blockTable: Tensor; cacheSeqlens: Tensor; headDimV: number;
  tileSchedulerMetadata: Tensor; numSplits: Tensor; opts: DecodeOptions;
}

/** The valid call, with `change` applied. */
function args(change: (a: Args) => void = () => {}, c = base): Args {
  const t = caseTensors(c);
  const md = caseMetadata(c);
  const a: Args = {
    q: t.q, kCache: t.kCache, blockTable: t.blockTable, cacheSeqlens: t.cacheSeqlens, headDimV: 512,
    tileSchedulerMetadata: md.tileSchedulerMetadata, numSplits: md.numSplits, opts: { backend, qIndptr: t.qIndptr },
  };
  change(a);
  return a;
}

const call = (a: Args) => flashMlaWithKvcache(a.q, a.kCache, a.blockTable, a.cacheSeqlens, a.headDimV, a.tileSchedulerMetadata, a.numSplits, a.opts);

/** Expect a FlashMlaError with this code whose argument is `argument` (or matches it). */
async function rejects(a: Args, argument: string | RegExp, code: FlashMlaErrorCode = 'invalid_argument', check?: (e: FlashMlaError) => void): Promise<void> {
  let err: unknown;
  try { await call(a); } catch (e) { err = e; }
  assert.ok(err instanceof FlashMlaError, `expected a FlashMlaError, got ${err === undefined ? 'success' : String(err)}`);
  assert.equal(err.code, code, err.message);
  if (typeof argument === 'string') assert.equal(err.argument, argument, err.message);
  else assert.match(err.argument ?? '', argument, err.message);
  if (code === 'invalid_argument') assert.match(err.message, /expected .+, got /, 'the message says what was expected and what came');
  check?.(err);
}

const i32 = (shape: number[], values: number[]) => fromArray('i32', shape, Int32Array.from(values));
const bits = (dtype: 'bf16' | 'f16', shape: number[]) => fromArray(dtype, shape, new Uint16Array(shape.reduce((x, y) => x * y, 1)));

test('the unbroken base call succeeds (so every rejection below is caused by its one change)', async () => {
  const { out, lse } = await call(args());
  assert.deepEqual(out.shape, [2, 1, 4, 512]);
  assert.deepEqual(lse.shape, [2, 4, 1]);
});

describe('dtypes', () => {
  test('q f32', () => rejects(args((a) => { a.q = fromArray('f32', base.qShape, new Float32Array(a.q.numel)); }), 'q'));
  test('kCache f16 while q is bf16', () => rejects(args((a) => { a.kCache = fromArray('f16', a.kCache.shape, a.kCache.host() as Uint16Array); }), 'kCache'));
  test('kCache f32', () => rejects(args((a) => { a.kCache = fromArray('f32', a.kCache.shape, new Float32Array(a.kCache.numel)); }), 'kCache'));
  test('blockTable f32', () => rejects(args((a) => { a.blockTable = fromArray('f32', a.blockTable.shape, Float32Array.from(a.blockTable.host())); }), 'blockTable'));
  test('cacheSeqlens f64', () => rejects(args((a) => { a.cacheSeqlens = fromArray('f64', [2], Float64Array.of(20, 33)); }), 'cacheSeqlens'));
  test('numSplits f32', () => rejects(args((a) => { a.numSplits = fromArray('f32', a.numSplits.shape, Float32Array.from(a.numSplits.host())); }), 'numSplits'));
  test('tileSchedulerMetadata f32', () => rejects(args((a) => {
    a.tileSchedulerMetadata = fromArray('f32', a.tileSchedulerMetadata.shape, Float32Array.from(a.tileSchedulerMetadata.host()));
  }), 'tileSchedulerMetadata'));
  test('out of another dtype', () => rejects(args((a) => { a.opts.out = bits('f16', [2, 1, 4, 512]); }), 'out'));
  test('lse not f32', () => rejects(args((a) => { a.opts.lse = fromArray('f64', [2, 4, 1], new Float64Array(8)); }), 'lse'));
});

describe('ranks and shapes', () => {
  test('q rank 3 without qIndptr', () => rejects(args((a) => { a.q = a.q.reshape([2, 4, 576]); }), 'q'));
  test('q rank 4 with qIndptr', () => rejects(args((a) => { a.opts.qIndptr = i32([3], [0, 1, 2]); }), 'q'));
  test('kCache rank 3', () => rejects(args((a) => { a.kCache = a.kCache.reshape([a.kCache.shape[0], 16 * 2, 576]); }), 'kCache'));
  test('blockTable rank 1', () => rejects(args((a) => { a.blockTable = a.blockTable.reshape([a.blockTable.numel]); }), 'blockTable'));
  test('cacheSeqlens rank 2', () => rejects(args((a) => { a.cacheSeqlens = a.cacheSeqlens.reshape([2, 1]); }), 'cacheSeqlens'));
  test('q batch differs from cacheSeqlens', () => rejects(args((a) => { a.q = bits('bf16', [3, 1, 4, 576]); }), 'q'));
  test('blockTable rows differ from cacheSeqlens', () => rejects(args((a) => {
    a.blockTable = i32([3, base.maxBlocksPerSeq], [...a.blockTable.host() as Int32Array, ...new Array(base.maxBlocksPerSeq).fill(-1)]);
  }), 'blockTable'));
  test('head dim 512 (q and kCache): d must be 576', () => rejects(args((a) => {
    a.q = bits('bf16', [2, 1, 4, 512]);
    a.kCache = bits('bf16', [base.numBlocks, 16, 2, 512]);
  }), 'kCache'));
  test('q head dim differs from kCache', () => rejects(args((a) => { a.q = bits('bf16', [2, 1, 4, 575]); }), 'q'));
  test('headDimV 576: dv must be 512', () => rejects(args((a) => { a.headDimV = 576; }), 'headDimV'));
  test('headDimV 256', () => rejects(args((a) => { a.headDimV = 256; }), 'headDimV'));
  test('hQ % hKv != 0 (hQ 3, hKv 2)', () => rejects(args((a) => { a.q = bits('bf16', [2, 1, 3, 576]); }), 'q'));
  test('sQ 0', () => rejects(args((a) => { a.q = bits('bf16', [2, 0, 4, 576]); }), /^q sQ/));
  test('pageBlockSize 257 (> 256)', () => rejects(args((a) => { a.kCache = bits('bf16', [1, 257, 2, 576]); }), /^kCache pageBlockSize/));
  test('pageBlockSize 0', () => rejects(args((a) => { a.kCache = bits('bf16', [4, 0, 2, 576]); }), /^kCache pageBlockSize/));
  test('hKv 0', () => rejects(args((a) => { a.kCache = bits('bf16', [4, 16, 0, 576]); }), /^kCache hKv/));
  test('out of the wrong shape', () => rejects(args((a) => { a.opts.out = bits('bf16', [2, 1, 4, 576]); }), 'out'));
  test('lse of the out layout [b, sQ, hQ]', () => rejects(args((a) => { a.opts.lse = fromArray('f32', [2, 1, 4, 1], new Float32Array(8)); }), 'lse'));
});

describe('values', () => {
  test('a block id out of range in the used part of the table', () => rejects(args((a) => {
    const t = Int32Array.from(a.blockTable.host() as Int32Array);
    t[1 * base.maxBlocksPerSeq + 2] = base.numBlocks; // sequence 1 (33 keys, page 16) uses pages 0..2
    a.blockTable = i32([2, base.maxBlocksPerSeq], [...t]);
  }), 'blockTable[1, 2]', 'invalid_argument', (e) => assert.match(e.message, /page id in 0\.\./)));
  test('a negative block id in the used part of the table', () => rejects(args((a) => {
    const t = Int32Array.from(a.blockTable.host() as Int32Array);
    t[0] = -1;
    a.blockTable = i32([2, base.maxBlocksPerSeq], [...t]);
  }), 'blockTable[0, 0]'));
  test('out-of-range ids past each sequence\'s pages are fine (the base case has them)', () => {
    const t = base.blockTable;
    const unused = [2, 3].filter((j) => j < base.maxBlocksPerSeq).map((j) => t[j]); // sequence 0 uses pages 0..1
    assert.ok(unused.every((v) => v < 0 || v >= base.numBlocks), `unused slots ${unused}`);
  });
  test('a seqlen needing more pages than a table row', () => rejects(args((a) => {
    const long = base.maxBlocksPerSeq * 16 + 1;
    a.cacheSeqlens = i32([2], [20, long]);
    const md = getMlaMetadata(Int32Array.of(20, long), 4, 2);
    a.tileSchedulerMetadata = md.tileSchedulerMetadata; a.numSplits = md.numSplits;
  }), 'cacheSeqlens[1]'));
  test('a negative seqlen', () => rejects(args((a) => { a.cacheSeqlens = i32([2], [20, -1]); }), 'cacheSeqlens[1]'));
  test('metadata planned for other seqlens (same split counts)', () => rejects(args((a) => {
    const md = getMlaMetadata(Int32Array.of(20, 30), 4, 2);
    a.tileSchedulerMetadata = md.tileSchedulerMetadata; a.numSplits = md.numSplits;
  }), 'tileSchedulerMetadata', 'metadata_mismatch'));
  test('metadata planned for other seqlens (other split counts)', async () => {
    const c = makeCase({ ...baseSpec, seqlens: [2000, 33] }, 2);
    await rejects(args((a) => {
      const md = getMlaMetadata(Int32Array.of(20, 33), c.numHeadsPerHeadK, 2, { numSms: 132 });
      a.tileSchedulerMetadata = md.tileSchedulerMetadata; a.numSplits = md.numSplits;
    }, c), 'numSplits', 'metadata_mismatch');
  });
  test('metadata planned for another batch size', () => rejects(args((a) => {
    const md = getMlaMetadata(Int32Array.of(20, 33, 5), 4, 2);
    a.tileSchedulerMetadata = md.tileSchedulerMetadata; a.numSplits = md.numSplits;
  }), 'numSplits'));
  test('tileSchedulerMetadata [n, 7]', () => rejects(args((a) => {
    a.tileSchedulerMetadata = i32([3, 7], new Array(21).fill(0));
  }), 'tileSchedulerMetadata'));
  test('tileSchedulerMetadata [0, 8]', () => rejects(args((a) => { a.tileSchedulerMetadata = i32([0, 8], []); }), 'tileSchedulerMetadata'));
  test('numSplits [b] instead of [b + 1]', () => rejects(args((a) => { a.numSplits = i32([2], [0, 1]); }), 'numSplits'));
  for (const s of [NaN, Infinity, -Infinity, 0, -0.1]) {
    test(`softmaxScale ${s}`, () => rejects(args((a) => { a.opts.softmaxScale = s; }), 'softmaxScale'));
  }
});

describe('varlen qIndptr', () => {
  const vspec: CaseSpec = { ...baseSpec, name: 'varlen', qLens: [2, 3] };
  const v = makeCase(vspec, 3);
  test('the unbroken varlen call succeeds', async () => {
    const { out, lse } = await call(args(undefined, v));
    assert.deepEqual(out.shape, [5, 4, 512]);
    assert.deepEqual(lse.shape, [5, 4]);
  });
  test('not monotone', () => rejects(args((a) => { a.opts.qIndptr = i32([3], [0, 3, 2]); a.q = bits('bf16', [2, 4, 576]); }, v), 'qIndptr[2]'));
  test('wrong last value', () => rejects(args((a) => { a.opts.qIndptr = i32([3], [0, 2, 4]); }, v), 'qIndptr[b]'));
  test('first value not 0', () => rejects(args((a) => { a.opts.qIndptr = i32([3], [1, 2, 5]); }, v), 'qIndptr[0]'));
  test('wrong length', () => rejects(args((a) => { a.opts.qIndptr = i32([2], [0, 5]); }, v), 'qIndptr'));
  test('wrong dtype', () => rejects(args((a) => { a.opts.qIndptr = fromArray('f32', [3], Float32Array.of(0, 2, 5)); }, v), 'qIndptr'));
  test('lse shaped [b, hQ, sQ] for a varlen call', () => rejects(args((a) => { a.opts.lse = fromArray('f32', [2, 4, 3], new Float32Array(24)); }, v), 'lse'));
});

describe('devices', () => {
  // A device tensor that no backend owns: validation must reject it by its device, never by reading it.
  const fake = (device: 'cuda' | 'webgpu', t: Tensor): Tensor => {
    const storage: DeviceStorage = { device, byteLength: t.byteLength };
    return new Tensor(t.dtype, t.shape, storage);
  };
  test('q on cuda, kCache on the host', () => rejects(args((a) => { a.q = fake('cuda', a.q); }), 'kCache'));
  test('kCache on webgpu, q on the host', () => rejects(args((a) => { a.kCache = fake('webgpu', a.kCache); }), 'kCache'));
  test('q and kCache on cuda, blockTable on webgpu', () => rejects(args((a) => {
    a.q = fake('cuda', a.q); a.kCache = fake('cuda', a.kCache); a.blockTable = fake('webgpu', a.blockTable);
  }), 'blockTable'));
  test('host tensors with a backend of another device', () => {
    const gpuish = { ...backend, kind: 'cuda', info: { ...backend.info, kind: 'cuda' } } as unknown as Backend;
    return rejects(args((a) => { a.opts.backend = gpuish; }), 'q');
  });
});

describe('no work is done before validation passes', () => {
  test('a rejected call leaves the NaN-poisoned outputs untouched', async () => {
    const { out, lse } = poisonedOutputs(base);
    await rejects(args((a) => { a.opts.out = out; a.opts.lse = lse; a.opts.softmaxScale = -1; }), 'softmaxScale');
    assert.ok(out.host().every((x) => x === 0x7fc0));
    assert.ok(lse.host().every((x) => Number.isNaN(x)));
  });
});

describe('allowed corner inputs', () => {
  test('causal with sQ > seqlen: rows that see no key give out 0 and lse +inf (matches the reference)', async () => {
    const c = makeCase({ name: 'sq>seqlen', dtype: 'f16', hQ: 3, hKv: 1, pageBlockSize: 64, seqlens: [1, 0, 3, 2], sQ: 4, causal: true }, 4);
    const { out, lse } = poisonedOutputs(c);
    await call(args((a) => { a.opts.out = out; a.opts.lse = lse; }, c));
    const ref = caseReference(c);
    assertOutputsClose(out.host(), lse.host(), ref, c.dtype, c, tolerances.cpu, c.spec.name);
    // Sequence 0 (1 key, 4 queries): queries 0..2 see nothing, query 3 sees key 0.
    for (let h = 0; h < 3; h++) {
      assert.deepEqual(Array.from(lse.host().subarray(h * 4, h * 4 + 4)).map((x) => x === Infinity), [true, true, true, false]);
    }
    assert.ok(out.host().subarray(0, 3 * 3 * 512).every((x) => x === 0), 'queries 0..2 of sequence 0 are zero');
  });
  test('non-causal sQ > seqlen: every query sees every key', async () => {
    const c = makeCase({ name: 'noncausal', dtype: 'bf16', hQ: 2, hKv: 1, pageBlockSize: 1, seqlens: [1, 2], sQ: 3, causal: false }, 5);
    const { out, lse } = poisonedOutputs(c);
    await call(args((a) => { a.opts.out = out; a.opts.lse = lse; a.opts.causal = false; }, c));
    assertOutputsClose(out.host(), lse.host(), caseReference(c), c.dtype, c, tolerances.cpu, c.spec.name);
    assert.ok(lse.host().every(Number.isFinite));
  });
  test('hQ 1 and odd hQ with hKv 1, page size 1 and 256', async () => {
    for (const [hQ, page] of [[1, 1], [7, 256], [127, 100]]) {
      const c = makeCase({ name: `hQ${hQ}`, dtype: 'bf16', hQ, hKv: 1, pageBlockSize: page, seqlens: [3, 70], sQ: 1, causal: true }, hQ);
      const { out, lse } = poisonedOutputs(c);
      await call(args((a) => { a.opts.out = out; a.opts.lse = lse; }, c));
      assertOutputsClose(out.host(), lse.host(), caseReference(c), c.dtype, c, tolerances.cpu, c.spec.name);
    }
  });
});

describe('argument errors stay short whatever the bad value is', () => {
  test('a typed array where a count belongs is named by its kind and size, not printed', async () => {
    const { fp8CacheTensor } = await import('../../src/core/sparse.js');
    const bytes = new Uint8Array(1 << 20).fill(7);
    // (a common slip: the bytes passed where numBlocks goes)
    assert.throws(() => fp8CacheTensor('v32', bytes as unknown as number, 64), (e: unknown) => e instanceof FlashMlaError && e.argument === 'numBlocks'
      && e.got === 'Uint8Array(1048576)' && e.message.length < 200);
  });
  test('any over-long "got" is cut (a message never carries a whole tensor)', async () => {
    const { invalidArgument, maxGotLength, describeValue } = await import('../../src/core/errors.js');
    const e = invalidArgument('x', 'something short', 'y'.repeat(100_000));
    assert.ok(e.got!.length <= maxGotLength && e.message.length < 300, e.message.slice(0, 300));
    assert.match(e.got!, /\.\.\. \(100000 characters\)$/);
    assert.equal(invalidArgument('x', 'e', 'short').got, 'short');
    assert.deepEqual([describeValue(3.5), describeValue('ab'), describeValue([1, 2]), describeValue(new Float32Array(3)), describeValue({}), describeValue(undefined)],
      ['3.5', '"ab"', 'Array(2)', 'Float32Array(3)', 'Object', 'undefined']);
  });
});

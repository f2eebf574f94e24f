// KvCacheManager: page accounting, appends across page boundaries, exhaustion, randomized alloc/free, and
// decoding through its block tables against the float64 reference on independent contiguous copies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InlineCpuBackend } from '../../src/backends/cpu/inline.js';
import { flashMlaWithKvcache, getMlaMetadata } from '../../src/index.js';
import { type DType, type HostArray, bf16ToF32, f32ToBf16, f32ToF16, hostArrayFor } from '../../src/core/dtype.js';
import { FlashMlaError } from '../../src/core/errors.js';
import { KvCacheManager } from '../../src/core/kvcache.js';
import type { Backend } from '../../src/core/problem.js';
import { referenceDecode } from '../../src/core/reference.js';
import { type DeviceStorage, Tensor, fromArray } from '../../src/core/tensor.js';

const D = 576;

/** Seeded generator (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBits(r: () => number, n: number): Uint16Array {
  return Uint16Array.from({ length: n }, () => f32ToBf16(r() * 4 - 2));
}

/**
 * A stand-in for a GPU backend: its tensors are DeviceStorage without host elements, so the manager can only
 * reach them through write() (with an offset), as it must for CUDA / WebGPU caches.
 */
class FakeDeviceBackend {
  readonly kind = 'webgpu' as const;
  readonly info = { kind: 'webgpu' as const, device: 'fake device', numSms: 4 };
  readonly memory = new Map<DeviceStorage, HostArray>();
  writes = 0;
  failWrites = false;
  empty(dtype: DType, shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const mem = hostArrayFor(dtype, n).fill(0xffff as never); // garbage until written
    const storage: DeviceStorage = { device: 'webgpu', byteLength: mem.byteLength, owner: this };
    this.memory.set(storage, mem);
    return new Tensor(dtype, shape, storage);
  }
  upload(): Tensor { throw new Error('not used'); }
  write(dst: Tensor, src: Tensor<HostArray>, dstOffset = 0): void {
    if (this.failWrites && this.writes > 0) throw new FlashMlaError('driver_error', 'fake write failure');
    this.writes++;
    assert.equal(dst.dtype, src.dtype);
    assert.ok(dstOffset >= 0 && dstOffset + src.numel <= dst.numel, 'write in bounds');
    this.memory.get(dst.data as DeviceStorage)!.set(src.host() as never, dst.offset + dstOffset);
  }
  async download(t: Tensor): Promise<Tensor<HostArray>> {
    return fromArray(t.dtype, t.shape, this.memory.get(t.data as DeviceStorage)!.slice(t.offset, t.offset + t.numel));
  }
  decode(): void { throw new Error('not used'); }
  async synchronize(): Promise<void> {}
  async timeMs(): Promise<number[]> { return []; }
  freed = 0;
  free(): void { this.freed++; }
  dispose(): void {}
}

/** Rows of a sequence as stored in the pool, in key order: [seqlen, hKv, 576]. */
function readSequence(cache: Uint16Array, kv: KvCacheManager, id: number): Uint16Array {
  const per = kv.hKv * D, page = kv.pageBlockSize, pages = kv.pages(id), n = kv.seqlen(id);
  const out = new Uint16Array(n * per);
  for (let t = 0; t < n; t++) {
    const row = (pages[Math.floor(t / page)] * page + (t % page)) * per;
    out.set(cache.subarray(row, row + per), t * per);
  }
  return out;
}

function pushAll(dst: number[], src: ArrayLike<number>): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]);
}

function checkInvariants(kv: KvCacheManager, expected: Map<number, number[]>): void {
  const owner = new Map<number, number>();
  let used = 0;
  for (const id of kv.sequenceIds) {
    const pages = kv.pages(id);
    assert.equal(pages.length, Math.ceil(kv.seqlen(id) / kv.pageBlockSize), `sequence ${id} holds exactly the pages its length needs`);
    for (const pg of pages) {
      assert.ok(pg >= 0 && pg < kv.numBlocks, `page ${pg} in range`);
      assert.ok(!owner.has(pg), `page ${pg} shared by sequences ${owner.get(pg)} and ${id}`);
      owner.set(pg, id);
    }
    used += pages.length;
    assert.equal(kv.seqlen(id), expected.get(id)!.length / (kv.hKv * D));
  }
  const st = kv.stats();
  assert.equal(st.pagesUsed, used);
  assert.equal(st.pagesUsed + st.pagesFree, kv.numBlocks, 'every page is either free or owned');
  assert.deepEqual(new Set(kv.sequenceIds), new Set(expected.keys()));
}

describe('KvCacheManager', () => {
  for (const page of [1, 3, 64, 256]) {
    it(`appends across page boundaries (pageBlockSize ${page})`, async () => {
      const be = new FakeDeviceBackend();
      const r = rng(page);
      const hKv = page === 3 ? 2 : 1;
      const kv = new KvCacheManager({ backend: be as unknown as Backend, numBlocks: 2 * (Math.ceil((5 * page + 26) / page) + 1), pageBlockSize: page, hKv }); // 5 pages + 26 tokens each
      const a = kv.addSequence(), b = kv.addSequence();
      const want = new Map<number, number[]>([[a, []], [b, []]]);
      // Chunk sizes that start and end inside, on and across page boundaries; the two sequences interleave.
      for (const n of [1, page - 1, 2, page, 3 * page + 1, 5, 0, 17].filter((x) => x >= 0)) {
        for (const id of [a, b]) {
          const bits = randomBits(r, n * hKv * D);
          const before = kv.pagesNeeded(id, n);
          const pagesBefore = kv.pages(id).length;
          assert.equal(kv.append(id, bits), want.get(id)!.length / (hKv * D) + n);
          assert.equal(kv.pages(id).length, pagesBefore + before);
          pushAll(want.get(id)!, bits);
        }
      }
      checkInvariants(kv, want);
      const cache = (await be.download(kv.kCache)).host() as Uint16Array;
      for (const id of [a, b]) assert.deepEqual(readSequence(cache, kv, id), Uint16Array.from(want.get(id)!));
      const st = kv.stats();
      assert.equal(st.bytesPerToken, hKv * D * 2);
      assert.equal(st.tokens, (want.get(a)!.length + want.get(b)!.length) / (hKv * D));
      assert.equal(st.freeTokens, kv.numBlocks * page - st.tokens);
    });
  }

  it('rounds Float32Array tokens to the cache dtype (bf16 and f16)', async () => {
    for (const dtype of ['bf16', 'f16'] as const) {
      const kv = new KvCacheManager({ backend: new InlineCpuBackend(), numBlocks: 2, pageBlockSize: 4, dtype });
      const id = kv.addSequence();
      const vals = Float32Array.from({ length: 3 * D }, (_, i) => Math.sin(i) * 3.3);
      kv.append(id, vals);
      const enc = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
      assert.deepEqual(readSequence(kv.kCache.host() as Uint16Array, kv, id), Uint16Array.from(vals, (x) => enc(x)));
    }
  });

  it('fails on a full pool with out_of_memory and changes nothing', async () => {
    const be = new FakeDeviceBackend();
    const kv = new KvCacheManager({ backend: be as unknown as Backend, numBlocks: 5, pageBlockSize: 8 });
    const a = kv.addSequence(), b = kv.addSequence();
    kv.append(a, randomBits(rng(1), 20 * D)); // 3 pages
    kv.append(b, randomBits(rng(2), 9 * D)); // 2 pages: pool full, b's last page has 7 free slots
    const cacheBefore = ((await be.download(kv.kCache)).host() as Uint16Array).slice();
    const statsBefore = kv.stats(), pagesA = kv.pages(a), pagesB = kv.pages(b);
    const writes = be.writes;
    assert.throws(() => kv.append(a, randomBits(rng(3), 5 * D)), (e: unknown) => e instanceof FlashMlaError && e.code === 'out_of_memory' && /needs 1 more page/.test(e.message));
    assert.throws(() => kv.append(b, randomBits(rng(3), 8 * D)), (e: unknown) => e instanceof FlashMlaError && e.code === 'out_of_memory');
    assert.equal(be.writes, writes, 'nothing written after a refused append');
    assert.deepEqual(kv.stats(), statsBefore);
    assert.deepEqual(kv.pages(a), pagesA);
    assert.deepEqual(kv.pages(b), pagesB);
    assert.deepEqual((await be.download(kv.kCache)).host(), cacheBefore);
    // What still fits does fit: b's tail page takes 7 more tokens without a new page.
    kv.append(b, randomBits(rng(4), 7 * D));
    assert.equal(kv.seqlen(b), 16);
    assert.equal(kv.stats().pagesFree, 0);
    // Freeing returns pages; the failed request now succeeds.
    kv.freeSequence(b);
    assert.equal(kv.stats().pagesFree, 2);
    kv.append(a, randomBits(rng(3), 5 * D));
    assert.equal(kv.seqlen(a), 25);
  });

  it('leaves the sequence unchanged when a device write fails mid-append', () => {
    const be = new FakeDeviceBackend();
    const kv = new KvCacheManager({ backend: be as unknown as Backend, numBlocks: 8, pageBlockSize: 4 });
    const id = kv.addSequence();
    kv.append(id, randomBits(rng(5), 2 * D));
    const before = { stats: kv.stats(), pages: kv.pages(id) };
    be.failWrites = true; // the first write of the next append succeeds, the second throws
    be.writes = 1;
    assert.throws(() => kv.append(id, randomBits(rng(6), 9 * D)), /fake write failure/);
    assert.deepEqual(kv.stats(), before.stats);
    assert.deepEqual(kv.pages(id), before.pages);
  });

  it('never shares a page among live sequences under random add / append / free', async () => {
    const r = rng(42);
    for (const page of [1, 5, 16]) {
      const be = new FakeDeviceBackend();
      const kv = new KvCacheManager({ backend: be as unknown as Backend, numBlocks: 40, pageBlockSize: page });
      const want = new Map<number, number[]>();
      let ooms = 0;
      for (let step = 0; step < 400; step++) {
        const ids = [...want.keys()];
        const x = r();
        if (x < 0.15 || ids.length === 0) want.set(kv.addSequence(), []);
        else if (x < 0.3) {
          const id = ids[Math.floor(r() * ids.length)];
          kv.freeSequence(id);
          want.delete(id);
        } else {
          const id = ids[Math.floor(r() * ids.length)];
          const n = Math.floor(r() * 3 * page) + 1;
          const bits = randomBits(r, n * D);
          try {
            kv.append(id, bits);
            pushAll(want.get(id)!, bits);
          } catch (e) {
            assert.ok(e instanceof FlashMlaError && e.code === 'out_of_memory');
            assert.ok(kv.pagesNeeded(id, n) > kv.stats().pagesFree);
            ooms++;
          }
        }
        checkInvariants(kv, want);
      }
      assert.ok(ooms > 0, 'the pool filled up at some point (the test exercised exhaustion)');
      const cache = (await be.download(kv.kCache)).host() as Uint16Array;
      for (const [id, bits] of want) assert.deepEqual(readSequence(cache, kv, id), Uint16Array.from(bits));
    }
  });

  it('builds block tables: pages in order, unused slots out of range, fixed width on request', () => {
    const kv = new KvCacheManager({ backend: new InlineCpuBackend(), numBlocks: 10, pageBlockSize: 2 });
    const a = kv.addSequence(), b = kv.addSequence(), c = kv.addSequence();
    kv.append(a, new Uint16Array(3 * D));
    kv.append(b, new Uint16Array(1 * D));
    kv.append(a, new Uint16Array(2 * D)); // a: 5 tokens over pages taken before and after b's
    const t = kv.batch([c, a, b]);
    assert.deepEqual(t.blockTable.shape, [3, 3]);
    assert.deepEqual(Array.from(t.cacheSeqlens), [0, 5, 1]);
    const row = (i: number) => Array.from(t.blockTable.host().subarray(i * 3, i * 3 + 3));
    assert.deepEqual(row(0), [-1, -1, -1]);
    assert.deepEqual(row(1), kv.pages(a));
    assert.deepEqual(row(2), [...kv.pages(b), -1, -1]);
    assert.equal(KvCacheManager.noPage, -1);
    assert.deepEqual(kv.batch([b], { maxBlocksPerSeq: 7 }).blockTable.shape, [1, 7]);
    assert.throws(() => kv.batch([a], { maxBlocksPerSeq: 2 }), /maxBlocksPerSeq: expected an integer >= 3/);
    assert.throws(() => kv.batch([]), /ids/);
  });

  it('rejects bad arguments with messages naming them', () => {
    const backend = new InlineCpuBackend();
    assert.throws(() => new KvCacheManager({ backend, numBlocks: 0 }), /numBlocks/);
    assert.throws(() => new KvCacheManager({ backend, numBlocks: 1, pageBlockSize: 257 }), /pageBlockSize: expected an integer in 1\.\.256/);
    assert.throws(() => new KvCacheManager({ backend, numBlocks: 1, pageBlockSize: 0 }), /pageBlockSize/);
    const kv = new KvCacheManager({ backend, numBlocks: 2, pageBlockSize: 4, hKv: 2 });
    const id = kv.addSequence();
    assert.throws(() => kv.append(id, new Uint16Array(D)), /multiple of hKv \* 576 = 1152/);
    assert.throws(() => kv.append(id, [1, 2] as unknown as Float32Array), /tokens/);
    assert.throws(() => kv.append(99, new Uint16Array(2 * D)), /id: expected a live sequence id/);
    kv.freeSequence(id);
    assert.throws(() => kv.seqlen(id), /live sequence/);
    assert.throws(() => kv.freeSequence(id), /live sequence/);
    kv.dispose();
    assert.throws(() => kv.addSequence(), (e: unknown) => e instanceof FlashMlaError && e.code === 'disposed');
  });

  it('frees its pool on dispose', () => {
    const be = new FakeDeviceBackend();
    const kv = new KvCacheManager({ backend: be as unknown as Backend, numBlocks: 2 });
    kv.dispose();
    kv.dispose();
    assert.equal(be.freed, 1);
  });

  for (const [page, hQ, hKv, sQ] of [[1, 16, 1, 1], [16, 8, 2, 2], [64, 3, 1, 1], [256, 16, 1, 1]] as const) {
    it(`decodes through its tables like the reference on contiguous copies (page ${page}, hQ ${hQ}, hKv ${hKv}, sQ ${sQ})`, async () => {
      const r = rng(page * 31 + hQ);
      const backend = new InlineCpuBackend();
      const lens = [130, 0, 257, 65];
      const kv = new KvCacheManager({ backend, numBlocks: Math.ceil(900 / page) + 8, pageBlockSize: page, hKv });
      // Interleaved appends and a freed sequence scatter the pages, so tables are not the identity.
      const ids = lens.map(() => kv.addSequence());
      const junk = kv.addSequence();
      const want = lens.map(() => [] as number[]);
      for (let round = 0; round < 3; round++) {
        kv.append(junk, randomBits(r, 7 * hKv * D));
        ids.forEach((id, i) => {
          const n = Math.ceil(lens[i] / 3) - (round === 2 ? Math.ceil(lens[i] / 3) * 3 - lens[i] : 0);
          const bits = randomBits(r, n * hKv * D);
          kv.append(id, bits);
          pushAll(want[i], bits);
        });
      }
      kv.freeSequence(junk);
      assert.deepEqual(ids.map((id) => kv.seqlen(id)), lens);
      // Poison the free pages: a table entry that pointed at them would show as NaN.
      const cache = kv.kCache.host() as Uint16Array;
      const owned = new Set(ids.flatMap((id) => kv.pages(id)));
      for (let pg = 0; pg < kv.numBlocks; pg++) if (!owned.has(pg)) cache.fill(0x7fc0, pg * page * hKv * D, (pg + 1) * page * hKv * D);

      const { blockTable, cacheSeqlens } = kv.batch(ids);
      const b = ids.length;
      const q = fromArray('bf16', [b, sQ, hQ, D], randomBits(r, b * sQ * hQ * D));
      const md = getMlaMetadata(cacheSeqlens, (sQ * hQ) / hKv, hKv, { numSms: 6 });
      const { out, lse } = await flashMlaWithKvcache(q, kv.kCache, blockTable, fromArray('i32', [b], cacheSeqlens), 512, md.tileSchedulerMetadata, md.numSplits, { backend });
      const o = out.host() as Uint16Array, l = lse.host() as Float32Array;
      for (let i = 0; i < b; i++) {
        // The reference sees sequence i alone, its tokens contiguous: no block table of the manager involved.
        const ref = referenceDecode({
          q: (q.host() as Uint16Array).slice(i * sQ * hQ * D, (i + 1) * sQ * hQ * D), kCache: lens[i] ? Uint16Array.from(want[i]) : new Uint16Array(hKv * D),
          blockTable: new Int32Array([0]), cacheSeqlens: new Int32Array([lens[i]]), dtype: 'bf16', b: 1, sQ, hQ, hKv,
          pageBlockSize: Math.max(1, lens[i]), maxBlocksPerSeq: 1,
        });
        let dot = 0, norm = 0;
        for (let k = 0; k < ref.out.length; k++) {
          const x = bf16ToF32(o[i * sQ * hQ * 512 + k]), y = ref.out[k];
          assert.ok(!Number.isNaN(x), `out of sequence ${i} is not NaN at ${k}`);
          dot += x * y; norm += x * x + y * y;
        }
        if (lens[i] === 0) assert.equal(norm, 0, 'an empty sequence gives zeros');
        else assert.ok(1 - (2 * dot) / norm < 1e-5, `sequence ${i}: cosine diff ${1 - (2 * dot) / norm}`);
        for (let k = 0; k < hQ * sQ; k++) {
          const got = l[i * hQ * sQ + k], exp = ref.lse[k];
          if (exp === Infinity) assert.equal(got, Infinity);
          else assert.ok(Math.abs(got - exp) < 1e-3, `lse of sequence ${i} row ${k}: ${got} vs ${exp}`);
        }
      }
    });
  }
});

describe('FP8 pages (FlashMLA formats)', () => {
  for (const format of ['v32', 'model1'] as const) {
    it(`${format}: appends quantize exactly as quantizeCache does, across page boundaries; sparse decode reads them`, async () => {
      const { quantizeCache, fp8BlockStride, fp8Layouts } = await import('../../src/core/fp8.js');
      const { getSparseMlaMetadata } = await import('../../src/core/sparse.js');
      const { flashMlaSparseWithKvcache } = await import('../../src/core/sparse-api.js');
      const { referenceSparseDecode } = await import('../../src/core/reference-sparse.js');
      const L = fp8Layouts[format], B = 3, r = rng(format.length + 11);
      const kv = new KvCacheManager({ backend: new InlineCpuBackend(), numBlocks: 7, pageBlockSize: B, format });
      assert.deepEqual(kv.kCache.shape, [7, B, 1, L.bytesPerToken]);
      const s = kv.stats();
      assert.equal(s.bytesPerToken, L.bytesPerToken);
      assert.equal(s.poolBytes, 7 * fp8BlockStride(format, B));
      const a = kv.addSequence(), bSeq = kv.addSequence();
      const ta = randomBits(r, 5 * L.dQk), tb = randomBits(r, 4 * L.dQk);
      kv.append(a, ta.subarray(0, 2 * L.dQk));
      kv.append(bSeq, tb);
      kv.append(a, ta.subarray(2 * L.dQk)); // fills a's first page, then a fresh one
      // Expected bytes of each page: the sequence's tokens quantized into a contiguous cache.
      const bytes = kv.kCache.data as Uint8Array, stride = fp8BlockStride(format, B);
      for (const [id, toks] of [[a, ta], [bSeq, tb]] as const) {
        const want = quantizeCache(format, toks, B);
        kv.pages(id).forEach((pg, i) => {
          const used = Math.min(B, kv.seqlen(id) - i * B);
          for (let t = 0; t < used; t++) {
            const ranges = format === 'v32' ? [[t * 656, (t + 1) * 656]] : [[t * 576, (t + 1) * 576], [B * 576 + t * 8, B * 576 + (t + 1) * 8]];
            for (const [lo, hi] of ranges) {
              assert.deepEqual(bytes.subarray(pg * stride + lo, pg * stride + hi), want.subarray(i * stride + lo, i * stride + hi), `seq ${id} page ${i} token ${t}`);
            }
          }
        });
      }
      // Sparse decode over the pool, with positions mapped to physical ids by the manager.
      const hQ = 3, topk = 4;
      const pos = [[4, 0, -1, 2], [3, 1, 2, -1]];
      const indices = new Int32Array(2 * topk);
      indices.set(kv.tokenIds(a, pos[0]), 0);
      indices.set(kv.tokenIds(bSeq, pos[1]), topk);
      const q = randomBits(r, 2 * hQ * L.dQk);
      const { out, lse } = await flashMlaSparseWithKvcache(fromArray('bf16', [2, 1, hQ, L.dQk], q), kv.kCache, fromArray('i32', [2, 1, topk], indices), 512,
        getSparseMlaMetadata({ b: 2, sQ: 1, hQ, topk }));
      const ref = referenceSparseDecode({ q, dtype: 'bf16', b: 2, sQ: 1, hQ, dQk: L.dQk, cache: { kind: format, data: bytes, pageBlockSize: B }, indices, topk });
      const o = out.host() as Uint16Array;
      for (let i = 0; i < o.length; i++) assert.ok(Math.abs(bf16ToF32(o[i]) - ref.out[i]) <= 2 ** -7 * Math.abs(ref.out[i]) + 1e-6, `out[${i}]`);
      (lse.host() as Float32Array).forEach((x, i) => assert.ok(Math.abs(x - ref.lse[i]) < 1e-4));
      assert.throws(() => kv.tokenIds(a, [5]), FlashMlaError);
      assert.throws(() => new KvCacheManager({ backend: new InlineCpuBackend(), numBlocks: 1, hKv: 2, format }), FlashMlaError);
    });
  }
  it('an unknown format is refused by name, inherited property names too (KvCacheManager, quantizeCache, fp8CacheTensor)', async () => {
    const { quantizeCache } = await import('../../src/core/fp8.js');
    const { fp8CacheTensor } = await import('../../src/core/sparse.js');
    for (const format of ['v3', 'toString', '__proto__', 'constructor', 7, null]) {
      const named = (e: unknown) => e instanceof FlashMlaError && e.code === 'invalid_argument' && e.argument === 'format';
      assert.throws(() => new KvCacheManager({ backend: new InlineCpuBackend(), numBlocks: 1, format: format as 'v32' }), named, String(format));
      assert.throws(() => quantizeCache(format as 'v32', new Uint16Array(576), 1), named, String(format));
      assert.throws(() => fp8CacheTensor(format as 'v32', 1, 1), named, String(format));
    }
  });
});

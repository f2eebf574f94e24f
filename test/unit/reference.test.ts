// The float64 oracle: it must agree with FlashMLA's own float64 reference (torch, CPU) on every golden case, and
// with answers worked out by hand on tiny cases (one key, two keys, masks, head groups, paging, varlen layout).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HalfDType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/core/dtype.js';
import { type ReferenceInputs, referenceDecode } from '../../src/core/reference.js';
import { fullGoldenDir, goldenCaseNames, loadGolden } from '../support/golden.js';
import { compareOutputs, tolerances } from '../support/compare.js';
import { Rng, caseMatrix, caseReference, makeCase, nanBits } from '../support/random.js';

const D = 576, DV = 512;

describe('referenceDecode reproduces FlashMLA\'s float64 reference (ref_out_f64, ref_lse_f64)', () => {
  // FlashMLA's own reference is only in the full set (the in-repository fixtures recompute it with this oracle).
  if (!fullGoldenDir) {
    test('the full golden set', (t) => {
      if (process.env.CI) assert.fail('CI needs the full golden set: ../shared/golden or $FLASHMLA_GOLDEN');
      t.skip('no full golden set here (../shared/golden or $FLASHMLA_GOLDEN); the fixtures in test/fixtures/golden carry no FlashMLA reference');
    });
    return;
  }
  for (const name of goldenCaseNames(fullGoldenDir)) {
    test(name, () => {
      const g = loadGolden(name, fullGoldenDir), p = g.params;
      assert.equal(g.refSource, 'flashmla');
      const r = referenceDecode({
        q: g.q, kCache: g.kcache, blockTable: g.blockTable, cacheSeqlens: g.cacheSeqlens, dtype: p.dtype,
        b: p.batch, sQ: p.s_q, hQ: p.h_q, hKv: p.h_kv, pageBlockSize: p.page_block_size, maxBlocksPerSeq: g.maxBlocksPerSeq,
        softmaxScale: p.softmax_scale, causal: p.causal,
      });
      assert.equal(r.out.length, g.refOut.length);
      assert.equal(r.lse.length, g.refLse.length);
      // Relative to the largest |ref|: elementwise relative error of near-zero outputs is ill-conditioned.
      let maxRef = 0, maxDiff = 0, at = -1;
      for (let i = 0; i < r.out.length; i++) {
        assert.ok(Number.isFinite(r.out[i]), `out[${i}] = ${r.out[i]}`);
        maxRef = Math.max(maxRef, Math.abs(g.refOut[i]));
        const d = Math.abs(r.out[i] - g.refOut[i]);
        if (d > maxDiff) { maxDiff = d; at = i; }
      }
      assert.ok(maxRef > 0);
      assert.ok(maxDiff / maxRef < 1e-12, `max |diff| ${maxDiff} / max |ref| ${maxRef} at out[${at}]`);
      let infs = 0;
      for (let k = 0; k < r.lse.length; k++) {
        if (g.refLse[k] === Infinity) { assert.equal(r.lse[k], Infinity, `lse[${k}]`); infs++; continue; }
        assert.ok(Number.isFinite(g.refLse[k]));
        assert.ok(Math.abs(r.lse[k] - g.refLse[k]) <= 1e-12 * Math.max(1, Math.abs(g.refLse[k])), `lse[${k}]: ${r.lse[k]} vs ${g.refLse[k]}`);
      }
      if (name.includes('zero_len')) assert.equal(infs, p.h_q, 'the empty sequence gives +inf for every head');
    });
  }
});

/** A tiny problem built from explicit f32 values (each rounded to `dtype` first). */
function tiny(opts: {
  dtype?: HalfDType; hQ?: number; hKv?: number; page?: number; sQ?: number; causal?: boolean; scale?: number;
  q: (token: number, head: number, d: number) => number;
  k: (key: number, kvHead: number, d: number) => number;
  seqlen: number;
}): { inputs: ReferenceInputs; q: (t: number, h: number, d: number) => number; k: (t: number, g: number, d: number) => number } {
  const dtype = opts.dtype ?? 'bf16', hQ = opts.hQ ?? 1, hKv = opts.hKv ?? 1, page = opts.page ?? 64, sQ = opts.sQ ?? 1;
  const round = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  const pages = Math.max(1, Math.ceil(opts.seqlen / page));
  // Pages stored in reverse order, so the table is not the identity.
  const numBlocks = pages + 1;
  const blockTable = Int32Array.from({ length: pages }, (_, j) => numBlocks - 1 - j);
  const kCache = new Uint16Array(numBlocks * page * hKv * D).fill(nanBits[dtype]);
  for (let t = 0; t < opts.seqlen; t++) {
    for (let g = 0; g < hKv; g++) {
      const off = ((blockTable[Math.floor(t / page)] * page + (t % page)) * hKv + g) * D;
      for (let d = 0; d < D; d++) kCache[off + d] = round(opts.k(t, g, d));
    }
  }
  const q = new Uint16Array(sQ * hQ * D);
  for (let t = 0; t < sQ; t++) for (let h = 0; h < hQ; h++) for (let d = 0; d < D; d++) q[(t * hQ + h) * D + d] = round(opts.q(t, h, d));
  const dec = (bits: number) => (dtype === 'bf16' ? bf16ToF32(bits) : bits);
  return {
    inputs: {
      q, kCache, blockTable, cacheSeqlens: Int32Array.of(opts.seqlen), dtype, b: 1, sQ, hQ, hKv, pageBlockSize: page,
      maxBlocksPerSeq: pages, softmaxScale: opts.scale, causal: opts.causal,
    },
    // Values as stored (after rounding), for the hand computation.
    q: (t, h, d) => (dtype === 'bf16' ? dec(q[(t * hQ + h) * D + d]) : Math.fround(opts.q(t, h, d))),
    k: (t, g, d) => (dtype === 'bf16' ? bf16ToF32(round(opts.k(t, g, d))) : Math.fround(opts.k(t, g, d))),
  };
}

const dot = (a: (d: number) => number, b: (d: number) => number) => { let s = 0; for (let d = 0; d < D; d++) s += a(d) * b(d); return s; };
const close = (x: number, y: number, what: string, tol = 1e-13) => assert.ok(Math.abs(x - y) <= tol * Math.max(1, Math.abs(y)), `${what}: ${x} vs ${y}`);

describe('hand-checked cases', () => {
  // Values that are exact in bf16 and f16: small multiples of 1/8.
  const qv = (_t: number, h: number, d: number) => ((d * 7 + h * 3) % 11 - 5) / 8;
  const kv = (t: number, g: number, d: number) => ((d * 5 + t * 13 + g * 17) % 9 - 4) / 8;

  for (const dtype of ['bf16', 'f16'] as const) {
    test(`${dtype}: a single key gives out = v and lse = the scaled score`, () => {
      const c = tiny({ dtype, q: qv, k: kv, seqlen: 1 });
      const r = referenceDecode(c.inputs);
      for (let d = 0; d < DV; d++) assert.equal(r.out[d], c.k(0, 0, d));
      close(r.lse[0], dot((d) => c.q(0, 0, d), (d) => c.k(0, 0, d)) / Math.sqrt(D), 'lse');
    });
  }

  test('two keys: softmax weights in closed form, custom scale', () => {
    const scale = 0.3;
    const c = tiny({ q: qv, k: kv, seqlen: 2, scale });
    const r = referenceDecode(c.inputs);
    const s0 = scale * dot((d) => c.q(0, 0, d), (d) => c.k(0, 0, d));
    const s1 = scale * dot((d) => c.q(0, 0, d), (d) => c.k(1, 0, d));
    const w0 = 1 / (1 + Math.exp(s1 - s0)), w1 = 1 - w0;
    for (let d = 0; d < DV; d++) close(r.out[d], w0 * c.k(0, 0, d) + w1 * c.k(1, 0, d), `out[${d}]`);
    close(r.lse[0], Math.log(Math.exp(s0) + Math.exp(s1)), 'lse');
  });

  test('huge scores do not overflow (max subtracted first)', () => {
    const c = tiny({ q: () => 4, k: (t) => (t === 0 ? 4 : 3.5), seqlen: 2, scale: 10 });
    const r = referenceDecode(c.inputs);
    const s0 = 10 * 16 * D, s1 = 10 * 14 * D;
    close(r.lse[0], s0 + Math.log1p(Math.exp(s1 - s0)), 'lse');
    for (let d = 0; d < DV; d++) close(r.out[d], 4, `out[${d}]`, 1e-12);
  });

  test('causal, sQ = 3, seqlen 2: query 0 sees nothing (0, +inf), 1 sees key 0, 2 sees both', () => {
    const c = tiny({ sQ: 3, q: qv, k: kv, seqlen: 2, page: 1 });
    const r = referenceDecode(c.inputs);
    // lse [b, hQ, sQ] = [1, 1, 3]; out [1, 3, 1, 512]
    assert.equal(r.lse[0], Infinity);
    for (let d = 0; d < DV; d++) assert.equal(r.out[d], 0);
    for (let d = 0; d < DV; d++) assert.equal(r.out[DV + d], c.k(0, 0, d));
    close(r.lse[1], dot((d) => c.q(1, 0, d), (d) => c.k(0, 0, d)) / Math.sqrt(D), 'lse query 1');
    const s0 = dot((d) => c.q(2, 0, d), (d) => c.k(0, 0, d)) / Math.sqrt(D);
    const s1 = dot((d) => c.q(2, 0, d), (d) => c.k(1, 0, d)) / Math.sqrt(D);
    close(r.lse[2], Math.log(Math.exp(s0) + Math.exp(s1)), 'lse query 2');
  });

  test('non-causal, sQ = 3: every query sees every key', () => {
    const c = tiny({ sQ: 3, q: qv, k: kv, seqlen: 2, causal: false });
    const r = referenceDecode(c.inputs);
    for (let j = 0; j < 3; j++) {
      const s0 = dot((d) => c.q(j, 0, d), (d) => c.k(0, 0, d)) / Math.sqrt(D);
      const s1 = dot((d) => c.q(j, 0, d), (d) => c.k(1, 0, d)) / Math.sqrt(D);
      close(r.lse[j], Math.log(Math.exp(s0) + Math.exp(s1)), `lse query ${j}`);
    }
  });

  test('seqlen 0: out 0 and lse +inf for every head', () => {
    const c = tiny({ hQ: 3, q: qv, k: kv, seqlen: 0 });
    const r = referenceDecode(c.inputs);
    assert.deepEqual(Array.from(r.lse), [Infinity, Infinity, Infinity]);
    assert.ok(r.out.every((x) => x === 0));
  });

  test('head groups: query head h reads KV head floor(h / (hQ / hKv))', () => {
    const c = tiny({ hQ: 6, hKv: 3, q: qv, k: kv, seqlen: 1 });
    const r = referenceDecode(c.inputs);
    for (let h = 0; h < 6; h++) {
      for (let d = 0; d < DV; d++) assert.equal(r.out[h * DV + d], c.k(0, Math.floor(h / 2), d), `head ${h} col ${d}`);
      close(r.lse[h], dot((d) => c.q(0, h, d), (d) => c.k(0, Math.floor(h / 2), d)) / Math.sqrt(D), `lse head ${h}`);
    }
  });

  test('page size and page order do not change the answer (NaN in unused slots never read)', () => {
    const a = referenceDecode(tiny({ q: qv, k: kv, seqlen: 5, page: 1 }).inputs);
    for (const page of [2, 3, 4, 64]) {
      const b = referenceDecode(tiny({ q: qv, k: kv, seqlen: 5, page }).inputs);
      assert.deepEqual(Array.from(b.out), Array.from(a.out), `page ${page}`);
      assert.deepEqual(Array.from(b.lse), Array.from(a.lse), `page ${page}`);
      assert.ok(b.out.every(Number.isFinite));
    }
  });
});

describe('varlen layout', () => {
  test('qIndptr requests equal the same requests decoded one by one (out [totalQ, hQ, 512], lse [totalQ, hQ])', () => {
    const spec = { name: 'varlen', dtype: 'bf16' as const, hQ: 3, hKv: 1, pageBlockSize: 16, seqlens: [5, 0, 40, 2], sQ: 1, qLens: [2, 1, 3, 4], causal: true };
    const c = makeCase(spec, 9);
    const r = caseReference(c);
    const ip = c.qIndptr!;
    for (let i = 0; i < c.b; i++) {
      const len = ip[i + 1] - ip[i];
      const one = referenceDecode({
        q: c.q.subarray(ip[i] * c.hQ * D, ip[i + 1] * c.hQ * D), kCache: c.kCache,
        blockTable: c.blockTable.subarray(i * c.maxBlocksPerSeq, (i + 1) * c.maxBlocksPerSeq), cacheSeqlens: c.cacheSeqlens.subarray(i, i + 1),
        dtype: c.dtype, b: 1, sQ: len, hQ: c.hQ, hKv: c.hKv, pageBlockSize: c.pageBlockSize, maxBlocksPerSeq: c.maxBlocksPerSeq,
      });
      for (let j = 0; j < len; j++) {
        for (let h = 0; h < c.hQ; h++) {
          const lv = r.lse[(ip[i] + j) * c.hQ + h], lo = one.lse[h * len + j];
          assert.equal(lv, lo, `request ${i} query ${j} head ${h} lse`);
          for (let d = 0; d < DV; d++) assert.equal(r.out[((ip[i] + j) * c.hQ + h) * DV + d], one.out[(j * c.hQ + h) * DV + d]);
        }
      }
    }
    // Request 3 (seqlen 2, 4 queries): queries 0 and 1 see nothing.
    assert.equal(r.lse[(ip[3] + 0) * c.hQ], Infinity);
    assert.equal(r.lse[(ip[3] + 1) * c.hQ], Infinity);
    assert.ok(Number.isFinite(r.lse[(ip[3] + 2) * c.hQ]));
  });

  test('random cases have finite outputs wherever a row sees a key', () => {
    const rng = new Rng(4);
    const c = makeCase({ name: 'r', dtype: 'f16', hQ: 5, hKv: 1, pageBlockSize: 1, seqlens: [rng.int(2, 30), 0, 3], sQ: 2, causal: true }, 5);
    const r = caseReference(c);
    assert.ok(r.out.every(Number.isFinite));
    assert.equal(r.lse.filter((x) => x === Infinity).length, 5 * 2, 'only the rows of the empty sequence are empty');
  });
});

describe('the random case generator (test/support/random.ts) is as hostile as it promises', () => {
  const specs = caseMatrix(60, 77);
  test('same (spec, seed) gives the same bits; another seed other bits', () => {
    const a = makeCase(specs[3], 1), b = makeCase(specs[3], 1), c = makeCase(specs[3], 2);
    assert.deepEqual(a.kCache, b.kCache);
    assert.deepEqual(a.blockTable, b.blockTable);
    assert.notDeepEqual(a.q, c.q);
  });
  test('used pages are distinct and in range, unused table slots out of range, every other cache slot NaN', () => {
    for (const [i, spec] of specs.entries()) {
      const c = makeCase(spec, i);
      const nan = nanBits[c.dtype], row = c.hKv * D;
      const live = new Uint8Array(c.numBlocks * c.pageBlockSize); // which (page, slot) holds a key
      const seen = new Set<number>();
      for (let s = 0; s < c.b; s++) {
        const need = Math.ceil(c.cacheSeqlens[s] / c.pageBlockSize);
        for (let j = 0; j < c.maxBlocksPerSeq; j++) {
          const blk = c.blockTable[s * c.maxBlocksPerSeq + j];
          if (j >= need) { assert.ok(blk < 0 || blk >= c.numBlocks, `${spec.name}: unused slot [${s}, ${j}] = ${blk} is a real page`); continue; }
          assert.ok(blk >= 0 && blk < c.numBlocks && !seen.has(blk), `${spec.name}: page ${blk}`);
          seen.add(blk);
          for (let t = j * c.pageBlockSize; t < Math.min(c.cacheSeqlens[s], (j + 1) * c.pageBlockSize); t++) live[blk * c.pageBlockSize + (t % c.pageBlockSize)] = 1;
        }
      }
      assert.ok(seen.size < c.numBlocks, `${spec.name}: spare pages exist`);
      for (let slot = 0; slot < live.length; slot++) {
        const first = c.kCache[slot * row], last = c.kCache[slot * row + row - 1];
        if (live[slot]) assert.ok(first !== nan && last !== nan, `${spec.name}: live slot ${slot} holds NaN`);
        else assert.ok(first === nan && last === nan, `${spec.name}: dead slot ${slot} is not NaN`);
      }
    }
  });
  test('block tables are shuffled (not the identity order)', () => {
    const c = makeCase({ name: 'shuffle', dtype: 'bf16', hQ: 1, hKv: 1, pageBlockSize: 1, seqlens: [50], sQ: 1, causal: true }, 1);
    const used = Array.from(c.blockTable.subarray(0, 50));
    assert.notDeepEqual(used, [...used].sort((x, y) => x - y));
  });
  test('q and cache values are N(0, 1)-ish and already rounded to the dtype', () => {
    const c = makeCase({ name: 'stats', dtype: 'f16', hQ: 8, hKv: 1, pageBlockSize: 64, seqlens: [64], sQ: 1, causal: true }, 1);
    let sum = 0, sq = 0;
    for (const h of c.q) { const x = f16ToF32(h); sum += x; sq += x * x; assert.equal(f32ToF16(x), h); }
    const n = c.q.length, mean = sum / n, varc = sq / n - mean * mean;
    assert.ok(Math.abs(mean) < 0.05 && Math.abs(varc - 1) < 0.05, `mean ${mean}, var ${varc}`);
  });
});

describe('compareOutputs (test/support/compare.ts) fails when it should', () => {
  const c = makeCase({ name: 'cmp', dtype: 'bf16', hQ: 3, hKv: 1, pageBlockSize: 16, seqlens: [40, 0, 2], sQ: 3, causal: true }, 8);
  const ref = caseReference(c);
  const good = () => ({ out: Uint16Array.from(ref.out, (x) => f32ToBf16(x)), lse: Float32Array.from(ref.lse) });
  const check = (mutate: (o: { out: Uint16Array; lse: Float32Array }) => void, pattern?: RegExp) => {
    const o = good();
    mutate(o);
    const r = compareOutputs(o.out, o.lse, ref, 'bf16', c, tolerances.cpu);
    assert.ok(!r.ok, 'the comparison should fail');
    if (pattern) assert.match(r.message, pattern);
  };
  // Flat index of out (batch 2, query 2, head 1, col 7): token 2 * 3 + 2 = 8.
  const at = (8 * 3 + 1) * 512 + 7;
  test('the rounded reference itself passes', () => {
    const o = good();
    assert.ok(compareOutputs(o.out, o.lse, ref, 'bf16', c, tolerances.cpu).ok);
  });
  test('one NaN element, located as (batch, query, head, col)', () => check((o) => { o.out[at] = 0x7fc0; }, /NaN, first at \(batch 2, query 2, head 1, col 7\)/));
  test('one element 3 ulp off', () => check((o) => { o.out[at] += 3; }, /\(batch 2, query 2, head 1, col 7\)/));
  test('a row with no keys that is not zero', () => check((o) => { o.out[(1 * 3 * 3) * 512] = 0x3f80; }, /expected 0/));
  test('+inf lse replaced by a finite value', () => check((o) => { o.lse[1 * 9] = 0; }, /expected \+Infinity/));
  test('a finite lse replaced by +inf', () => check((o) => { o.lse[0 * 9 + 2] = Infinity; }, /lse \(batch 0, query 2, head 0\)/));
  test('lse off by 2e-3', () => check((o) => { o.lse[2] += 2e-3; }));
  test('NaN lse', () => check((o) => { o.lse[2] = NaN; }));
  test('an output of another length', () => check((o) => { o.out = o.out.subarray(0, 512); }));
  test('a globally scaled output fails the cosine bound even where elements are small', () => {
    check((o) => { for (let i = 0; i < o.out.length; i++) o.out[i] = f32ToBf16(bf16ToF32(o.out[i]) * 1.01); }, /cosine|ulp/);
  });
});

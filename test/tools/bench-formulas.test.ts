// The benchmark statistics and formulas every bench routine shares (src/bench): one median rule, FlashMLA's
// FLOP and byte counts, and the roofline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBytes, decodeFlop, decodeRates, roofline } from '../../src/bench/formulas.js';
import { median } from '../../src/bench/stats.js';

test('median: middle value, mean of the two middle ones for an even count, order-free', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5]), 5);
  assert.ok(Number.isNaN(median([])));
  let s = 7;
  for (let t = 0; t < 100; t++) {
    const n = 1 + (t % 17);
    const xs = Array.from({ length: n }, () => ((s = (s * 48271) % 2147483647) / 2147483647));
    const m = median(xs);
    assert.equal(xs.filter((x) => x < m).length, xs.filter((x) => x > m).length, `median of ${n} values splits them evenly`);
  }
});

test('FlashMLA formulas: b=128 s_k=4096 h_q=128 s_q=2', () => {
  const s = { b: 128, sQ: 2, hQ: 128, hKv: 1, totalSeqlen: 128 * 4096 };
  // bench_flashmla.py: FLOP = 2 * s_q * total * h_q * (d + dv); bytes = 2 * (total * h_kv * d + b*s_q*h_q*d + b*s_q*h_q*dv)
  assert.equal(decodeFlop(s), 2 * 2 * 524288 * 128 * 1088);
  assert.equal(decodeBytes(s), 2 * (524288 * 576 + 128 * 2 * 128 * 576 + 128 * 2 * 128 * 512));
  const r = decodeRates(s, 0.5);
  assert.ok(Math.abs(r.GBps - decodeBytes(s) / 0.5e6) < 1e-9);
  assert.ok(Math.abs(r.TFLOPS - decodeFlop(s) / 0.5e9) < 1e-9);
});

test('roofline picks the slower ceiling', () => {
  const c = { copy_GBps: 1000, f32_fma_TFLOPS: 10 };
  assert.deepEqual(roofline(c, 1e9, 1e9, 2), { bound: 'memory', roofline_fraction: 0.5 }); // 1 ms memory, 0.1 ms f32
  assert.deepEqual(roofline(c, 1e11, 1e6, 20), { bound: 'f32', roofline_fraction: 0.5 }); // 10 ms f32
});

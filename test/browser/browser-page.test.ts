// The browser page's pure parts, in Node: number formatting (no real figure may read as 0.0), the inputs
// (presets, parsing, drawing, scaling for a software adapter) and the plan model and drawing checked against
// getMlaMetadata on random batches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIn, formatMs, formatSI, formatSig } from '../../examples/browser/format.js';
import { decodeCost, drawSeqlens, parseSeqlens, presets, scaleShape, softwareBudget } from '../../examples/browser/inputs.js';
import { planModel, planSvg } from '../../examples/browser/plan.js';
import { getMlaMetadata } from '../../src/index.js';
import { rng } from '../../examples/browser/inputs.js';

const printedZero = /(?<![\d.])[-−]?0\.0+(?![\d])/;

/** Read back what formatSig printed ("1.23", "−4.50 × 10⁻⁷"). */
function parseSig(s: string): number {
  const sup: Record<string, string> = { '⁻': '-', '⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9' };
  const t = s.replace('−', '-');
  const m = /^(-?[\d.]+)(?: × 10(.+))?$/.exec(t);
  assert.ok(m, `unparseable "${s}"`);
  return Number(m[1]) * (m[2] ? 10 ** Number([...m[2]].map((c) => sup[c]).join('')) : 1);
}

test('formatSig keeps 3 significant digits at every magnitude and never prints a real figure as 0.0', () => {
  const r = rng(7);
  for (let i = 0; i < 5000; i++) {
    const x = (r() < 0.5 ? -1 : 1) * 10 ** (-14 + 28 * r());
    const s = formatSig(x);
    assert.equal(printedZero.exec(s), null, `${x} printed as ${s}`);
    const back = parseSig(s);
    assert.ok(Math.abs(back - x) <= 0.005 * Math.abs(x) + 1e-300, `${x} → ${s} → ${back}`);
  }
  assert.equal(formatSig(0), '0');
  assert.equal(formatSig(0.0094), '0.00940');
  assert.equal(formatSig(1.2), '1.20');
  assert.equal(formatSig(123.456), '123');
  assert.equal(formatSig(0.00012345), '0.000123');
  assert.equal(formatSig(0.000012345), '1.23 × 10⁻⁵');
  assert.equal(formatSig(1234567), '1.23 × 10⁶');
  assert.equal(formatSig(-0.5), '−0.500');
  assert.equal(formatSig(0.99999), '1.00');
  assert.equal(formatSig(NaN), '—');
  assert.equal(formatSig(Infinity), '∞');
  assert.equal(formatSig(1234.5, 2), '1200');
});

test('formatSI, formatMs and formatIn: the issue\'s figures read correctly', () => {
  // "1254.450 ms median …, 0.0 GB/s, 0.4 GFLOP/s" from the old page, re-printed.
  assert.equal(formatMs(1254.45), '1.25 s');
  assert.equal(formatMs(893.009), '893 ms');
  assert.equal(formatMs(0.0412), '41.2 µs');
  assert.equal(formatIn(0.0094, 'GB/s'), '0.00940 GB/s');
  assert.equal(formatIn(0.00000543, 'TFLOPS'), '5.43 × 10⁻⁶ TFLOPS');
  assert.equal(formatSI(9.4e6, 'B/s'), '9.40 MB/s');
  assert.equal(formatSI(999.96, 'B/s'), '1.00 kB/s');
  assert.equal(formatSI(3.35e12, 'B/s'), '3.35 TB/s');
  assert.equal(formatSI(4.12e8, 'FLOP/s'), '412 MFLOP/s');
  assert.equal(formatSI(0, 'B/s'), '0 B/s');
  for (const x of [1e-9, 3e-6, 0.02, 7, 512, 1e5, 2.5e9, 7.7e14]) {
    assert.equal(printedZero.exec(formatSI(x, 'B/s')), null);
    assert.equal(printedZero.exec(formatMs(x)), null);
  }
});

test('parseSeqlens, drawSeqlens and the presets', () => {
  assert.deepEqual(parseSeqlens('4641, 45118 1730;1696').seqlens, [4641, 45118, 1730, 1696]);
  assert.deepEqual(parseSeqlens(' 0,\n12 ').seqlens, [0, 12]);
  assert.match(parseSeqlens('').error!, /at least one/);
  assert.match(parseSeqlens('12, -3').error!, /"-3"/);
  assert.match(parseSeqlens('1.5').error!, /"1.5"/);
  assert.match(parseSeqlens('abc').error!, /"abc"/);
  for (const dist of ['fixed', 'uniform', 'lognormal'] as const) {
    const a = drawSeqlens(4000, 500, dist, 3);
    assert.deepEqual(a, drawSeqlens(4000, 500, dist, 3), 'a seed draws the same lengths');
    assert.equal(a.length, 4000);
    assert.ok(a.every((v) => Number.isInteger(v) && v >= 1));
    const mean = a.reduce((x, y) => x + y, 0) / a.length;
    assert.ok(Math.abs(mean - 500) < 40, `${dist}: mean ${mean}`);
  }
  assert.ok(drawSeqlens(10, 1e9, 'fixed', 1, 4096).every((v) => v === 4096));
  const uneven = presets.find((p) => p.id === 'uneven')!;
  assert.deepEqual(uneven.full.seqlens, [4641, 45118, 1730, 1696]);
  for (const s of [1024, 4096, 8192]) {
    const p = presets.find((x) => x.id === `bench-${s}`)!;
    assert.equal(p.full.seqlens.length, 128);
    assert.ok(p.full.seqlens.every((v) => v === s));
    assert.equal(p.full.hQ, 128);
  }
});

test('scaleShape fits a FlashMLA benchmark shape into a software adapter\'s budget and says by how much', () => {
  const cost = (s: { seqlens: number[]; hQ: number; sQ: number }) => s.seqlens.reduce((a, v) => a + v, 0) * s.hQ * s.sQ;
  for (const p of presets) {
    const r = scaleShape(p.full, softwareBudget, 1 << 16);
    assert.ok(cost(r.shape) <= softwareBudget, `${p.id}: cost ${cost(r.shape)}`);
    assert.equal(r.shape.hQ, p.full.hQ / r.headDiv);
    assert.equal(r.shape.seqlens.length, Math.ceil(p.full.seqlens.length / r.batchDiv));
    r.shape.seqlens.forEach((v, i) => assert.equal(v, Math.ceil(p.full.seqlens[i * r.batchDiv] / r.lenDiv)));
  }
  const u = scaleShape(presets.find((p) => p.id === 'uneven')!.full, softwareBudget);
  assert.deepEqual(u.shape.seqlens, [146, 1410, 55, 53]);
  assert.deepEqual([u.headDiv, u.batchDiv, u.lenDiv], [8, 1, 32]);
  const small = presets.find((p) => p.id === 'small')!.full;
  assert.deepEqual(scaleShape(small, softwareBudget).shape, small, 'a shape that fits is left alone');
  // Only the key cap binds: the batch is thinned first.
  const k = scaleShape({ seqlens: Array(128).fill(4096), hQ: 16, sQ: 1, pageBlockSize: 64, dtype: 'bf16' }, Infinity, 1 << 16);
  assert.deepEqual([k.headDiv, k.batchDiv, k.lenDiv, k.shape.seqlens.length], [1, 8, 1, 16]);
});

test('decodeCost follows FlashMLA\'s benchmark formulas', () => {
  const c = decodeCost([4641, 45118, 1730, 1696], 128, 1);
  const total = 4641 + 45118 + 1730 + 1696;
  assert.equal(c.bytes, (total * 576 + 4 * 128 * 576 + 4 * 128 * 512) * 2);
  assert.equal(c.flop, 2 * total * 128 * (576 + 512));
});

test('the plan model and drawing agree with getMlaMetadata on random batches', () => {
  const r = rng(11);
  const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;
  for (let trial = 0; trial < 120; trial++) {
    const b = 1 + Math.floor(r() * 40);
    const seqlens = Int32Array.from({ length: b }, () => (r() < 0.1 ? 0 : Math.floor(r() ** 3 * 20000)));
    const hQ = [16, 32, 64, 128][Math.floor(r() * 4)], sQ = 1 + Math.floor(r() * 2), numSms = 1 + Math.floor(r() * 140);
    const md = getMlaMetadata(seqlens, sQ * hQ, 1, { numSms });
    const meta = md.tileSchedulerMetadata.host(), ns = md.numSplits.host();
    const m = planModel(meta, ns, seqlens);
    const parts = md.tileSchedulerMetadata.shape[0];
    assert.equal(m.parts.length, parts);
    let cuts = 0, splitSeqs = 0;
    for (let i = 0; i < b; i++) { const k = ns[i + 1] - ns[i]; cuts += k - 1; if (k > 1) splitSeqs++; }
    assert.equal(m.splitPoints, cuts);
    assert.equal(m.split.length, splitSeqs);
    // Every sequence's keys are covered once, in order, by its pieces; piece indices count 0, 1, 2, ...
    const pieces = new Map<number, { kBegin: number; kEnd: number; piece: number }[]>();
    for (const p of m.parts) {
      assert.equal(p.fields.beginIdx, meta[p.part * 8]);
      assert.equal(p.fields.endSeqlen, meta[p.part * 8 + 3]);
      for (const w of p.items) pieces.set(w.batch, [...(pieces.get(w.batch) ?? []), w]);
    }
    for (let i = 0; i < b; i++) {
      const ps = pieces.get(i) ?? [];
      assert.equal(ps.length, ns[i + 1] - ns[i], `seq ${i}: pieces`);
      let k = 0;
      ps.forEach((w, j) => { assert.equal(w.kBegin, k); assert.equal(w.piece, ps.length > 1 ? j : 0); k = w.kEnd; });
      assert.equal(k, seqlens[i], `seq ${i}: keys covered`);
    }
    assert.ok(m.balance >= 1 - 1e-12);
    assert.ok(Math.abs(m.maxCost - Math.max(...m.parts.map((p) => p.cost))) < 1e-9);
    for (const width of [360, 800]) {
      const svg = planSvg(m, seqlens, width);
      assert.equal(count(svg, /<g class="part"/g), parts);
      assert.equal(count(svg, /class="split-point"/g), cuts);
      assert.equal(count(svg, /<g class="combine"/g), splitSeqs);
      assert.ok(!/NaN|undefined|Infinity/.test(svg), 'no NaN / undefined in the markup');
      assert.match(svg, new RegExp(`viewBox="0 0 ${width} `));
    }
  }
});

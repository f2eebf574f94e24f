// CPU-only checks of the split-KV combine's host side (combine.cu): which combine the library launches for a shape
// (launch.ts combinePick, FLASHMLA_CUDA_COMBINE=warps), the grids cover every row, and combineWarps' lane / column
// map and its split weights, emulated here the way the kernel computes them. The kernels run in the GPU suites
// (test/gpu/*.test.ts) and in bench/cuda/hopper/harness_gap.cu's `check`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  combineEntry, combineLaunch, combineOneTripSplits, combinePick, combineQ32Covers, combineQ32Launch, combineQuarterDefault, combineQuarterLaunch, combineQuarterTakes, combineRows, combineWaves,
  combineWarpsLaunch, combineWarpsRowSplits, combineWarpsSplits, combineWarpsSplitsPerWave,
} from '../../src/backends/cuda/kernels/launch.js';

type Shape = Parameters<typeof combineRows>[0];
const shape = (b: number, sQ: number, hQ: number): Shape => ({ b, sQ, hQ, hKv: 1, nGroups: hQ }) as unknown as Shape;

test('combinePick: combineWarps only when asked and a combine CTA would merge more than one row', () => {
  const big = shape(128, 1, 128), one = shape(1, 1, 128);
  assert.equal(combineRows(big, 132), 32);
  assert.equal(combineRows(one, 132), 1);
  assert.deepEqual(combinePick(big, 32, false), { name: 'mla_combine', launch: combineLaunch(big, 32) });
  assert.deepEqual(combinePick(big, 32, true), { name: 'mla_combine_warps', launch: { grid: [128, 16, 1], block: [256, 1, 1], smem: 0 } });
  assert.deepEqual(combinePick(one, 1, true), { name: 'mla_combine', launch: combineLaunch(one, 1) });
  // 256 rows (sQ 2): 32 CTAs of 8 rows a request
  assert.deepEqual(combineWarpsLaunch(shape(128, 2, 128)).grid, [128, 32, 1]);
});

test('combineEntry: t128 above 104 pieces, one warp a row for <= 10 pieces a wave (and <= 24) over more than one wave, else the CTA merge', () => {
  assert.equal(combineOneTripSplits, 104);
  assert.equal(combineWarpsSplitsPerWave, 10);
  assert.equal(combineWarpsSplits, 24);
  assert.equal(combineEntry('mla_combine', 25, 9), 'mla_combine'); // more than 24 pieces: never timed with one warp a row
  assert.equal(combineEntry('mla_combine', 24, 2.59), 'mla_combine_warps');
  assert.equal(combineEntry('mla_combine', undefined, 9), 'mla_combine'); // numSplits not on the host
  assert.equal(combineEntry('mla_combine', 2), 'mla_combine');
  assert.equal(combineEntry('mla_combine', 104, 0.2), 'mla_combine');
  assert.equal(combineEntry('mla_combine', 105, 0.2), 'mla_combine_t128');
  assert.equal(combineEntry('mla_combine', 128, 5), 'mla_combine_t128');
  assert.equal(combineEntry('mla_combine', 133, 5), 'mla_combine_t128'); // two trips either way; the wider one takes fewer
  assert.equal(combineEntry('mla_combine', 2, 1), 'mla_combine'); // one wave: the CTA merge
  // session 23's thirteen shapes (pieces, waves of 396 CTAs): one warp a row where it measured faster, else the CTA merge
  const w = 'mla_combine_warps', c = 'mla_combine';
  for (const [pieces, ctas, want] of [[6, 1024, w], [2, 2048, w], [11, 512, w], [22, 512, c], [7, 2048, w], [16, 448, c], [16, 768, w],
    [14, 512, c], [22, 640, c], [26, 512, c], [32, 512, c], [4, 1536, w], [13, 2048, w]] as const) {
    assert.equal(combineEntry('mla_combine', pieces, ctas / 396), want, `${pieces} pieces, ${ctas} CTAs`);
  }
  // session 28's hold-out of call 1 (pieces, waves): one warp a row measured 0.89-0.99x the CTA merge on every one
  for (const [pieces, waves] of [[12, 1.45], [13, 1.45], [12, 1.62], [16, 1.94], [15, 2.59], [16, 2.26], [14, 1.45], [12, 1.29], [19, 1.94],
    [19, 2.26], [22, 2.59], [22, 3.23]] as const) {
    assert.equal(combineEntry('mla_combine', pieces, waves), w, `${pieces} pieces, ${waves} waves`);
  }
  assert.equal(combineEntry('mla_combine_warps', 128, 5), 'mla_combine_warps');
  // session 23's shapes on 132 SMs: b = 16 h16 (1024 CTAs, 2.6 waves), b = 8 (512 CTAs, 1.3), b = 1 (64 CTAs, 0.16)
  assert.equal(combineWaves(combineLaunch(shape(16, 1, 16), 1), 132), 1024 / 396);
  assert.ok(combineWaves(combineLaunch(shape(8, 1, 16), 1), 132) > 1);
  assert.ok(combineWaves(combineLaunch(shape(1, 1, 16), 1), 132) < 1);
});

test('combine.cu: mla_combine merges <= 104 pieces in one trip (13 partials a lane), mla_combine_t128 <= 128 (16)', () => {
  const src = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/combine.cu', import.meta.url)), 'utf8');
  const lib = src.slice(src.indexOf('#if MLA_COMBINE_ONE_TRIP == 3'), src.indexOf('#elif MLA_COMBINE_ONE_TRIP'));
  assert.match(lib, /mla_combine_bf16\(const MlaParams p\) \{[^}]*combineOneTrip<__nv_bfloat16, 13, false>/);
  assert.equal(13 * 8, combineOneTripSplits);
  assert.match(src, /__launch_bounds__\(256, 2\) mla_combine_t128_bf16\(const MlaParams p\) \{ mla::combineOneTrip<__nv_bfloat16, 16, false>\(p\); \}/);
  assert.match(src, /__launch_bounds__\(256, 2\) mla_combine_t128_f16\(const MlaParams p\) \{ mla::combineOneTrip<__half, 16, false>\(p\); \}/);
  assert.match(src, /#define MLA_COMBINE_ONE_TRIP 3\n/);
});

test('combineWarpsLaunch: 8 warps a CTA cover every row j * hQ + h of a request exactly once', () => {
  for (const [sQ, hQ] of [[1, 16], [1, 128], [2, 128], [3, 40], [5, 16], [1, 1], [4, 7]]) {
    const l = combineWarpsLaunch(shape(3, sQ, hQ));
    const warps = l.block[0] / 32;
    const seen = new Array(sQ * hQ).fill(0);
    for (let y = 0; y < l.grid[1]; y++) for (let w = 0; w < warps; w++) { const r = y * warps + w; if (r < sQ * hQ) seen[r]++; }
    assert.ok(seen.every((n) => n === 1), `sQ ${sQ} hQ ${hQ}`);
    assert.ok((l.grid[1] - 1) * warps < sQ * hQ, 'no CTA without a row');
  }
});

test('combineWarps: lane l owns columns 4l + 128c .. +3 (c = 0..3): each of the 512 columns once, 16-byte aligned', () => {
  const seen = new Array(512).fill(0);
  for (let lane = 0; lane < 32; lane++) for (let c = 0; c < 4; c++) for (let e = 0; e < 4; e++) seen[4 * lane + 128 * c + e]++;
  assert.ok(seen.every((n) => n === 1));
});

/** The kernel's arithmetic for one column: kRowSplits partials at a time, weights exp(lse_s - lse), weight 0 skipped. */
function emulate(lses: number[], parts: number[], k: number): { out: number; lse: number } {
  const mx = Math.max(-Infinity, ...lses);
  if (mx === -Infinity) return { out: 0, lse: Infinity };
  const lse = mx + Math.log(lses.reduce((a, x) => a + Math.exp(x - mx), 0));
  let acc = 0;
  for (let s0 = 0; s0 < lses.length; s0 += k) {
    for (let u = 0; u < k; u++) {
      const s = s0 + u;
      const w = s < lses.length ? Math.exp(lses[s] - lse) : 0;
      if (w !== 0) acc += w * parts[s];
    }
  }
  return { out: acc, lse };
}

test('combineWarps arithmetic: the softmax-weighted merge, splits that saw no key (lse -inf, partial unwritten: NaN) ignored', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let trial = 0; trial < 200; trial++) {
    const n = 2 + (trial % 37); // 2..38 splits: one chunk of 4, several, and more than the 32 lanes the lse loop takes at once
    const lses: number[] = [], parts: number[] = [];
    for (let s = 0; s < n; s++) {
      const empty = rnd() < 0.15;
      lses.push(empty ? -Infinity : (rnd() - 0.5) * 40);
      parts.push(empty ? NaN : (rnd() - 0.5) * 4);
    }
    // float64 reference: out = sum_s softmax(lse)_s o_s over the splits that saw keys
    const live = lses.map((x, s) => [x, parts[s]] as const).filter(([x]) => x !== -Infinity);
    for (const k of [4, 2]) {
      const got = emulate(lses, parts, k);
      if (live.length === 0) { assert.deepEqual(got, { out: 0, lse: Infinity }); continue; }
      const m = Math.max(...live.map(([x]) => x));
      const z = live.reduce((a, [x]) => a + Math.exp(x - m), 0);
      const ref = live.reduce((a, [x, o]) => a + (Math.exp(x - m) / z) * o, 0);
      assert.ok(Number.isFinite(got.out), `trial ${trial} k ${k}: ${got.out}`);
      assert.ok(Math.abs(got.out - ref) <= 1e-12 * Math.max(1, Math.abs(ref)), `trial ${trial} k ${k}: ${got.out} vs ${ref}`);
      assert.ok(Math.abs(got.lse - (m + Math.log(z))) <= 1e-12 * Math.max(1, Math.abs(m)));
    }
  }
});

test('combine.cu has both combines for both dtypes, combineWarps without shared memory or CTA barriers', () => {
  const src = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/combine.cu', import.meta.url)), 'utf8');
  for (const n of ['mla_combine_bf16', 'mla_combine_f16', 'mla_combine_t128_bf16', 'mla_combine_t128_f16', 'mla_combine_warps_bf16', 'mla_combine_warps_f16']) {
    assert.match(src, new RegExp(`extern "C" __global__ void __launch_bounds__\\(256, \\d\\) ${n}\\(const MlaParams p\\)`));
  }
  const body = src.slice(src.indexOf('__device__ void combineWarps'), src.indexOf('} // namespace mla'));
  assert.doesNotMatch(body, /__shared__|__syncthreads/);
  assert.match(body, /pdlWait\(\)/);
});

test('combineQuarter: 8 warps a CTA, 4 a row, cover every quarter of every row j * hQ + h exactly once; taken for 5+ pieces where on', () => {
  for (const [sQ, hQ] of [[1, 16], [2, 16], [1, 32], [3, 5], [2, 128], [1, 1]] as const) {
    const g = combineQuarterLaunch(shape(3, sQ, hQ));
    assert.deepEqual([g.grid[0], g.grid[2], g.block[0]], [3, 1, 256]);
    const seen = new Map<string, number>();
    for (let y = 0; y < g.grid[1]; y++) for (let warp = 0; warp < 8; warp++) {
      const w = y * 8 + warp, r = w >> 2, quarter = w & 3; // combine.cu combineQuarter
      if (r >= sQ * hQ) continue;
      seen.set(`${r}:${quarter}`, (seen.get(`${r}:${quarter}`) ?? 0) + 1);
    }
    assert.equal(seen.size, sQ * hQ * 4, `sQ ${sQ} hQ ${hQ}: every quarter of every row`);
    assert.ok([...seen.values()].every((n) => n === 1));
  }
  assert.equal(combineWarpsRowSplits, 4);
  assert.equal(combineQuarterTakes(5), true);
  assert.equal(combineQuarterTakes(4), false, 'combineWarps takes 4 pieces in one trip already');
  assert.equal(combineQuarterTakes(undefined), false, 'pieces unknown (device metadata)');
  assert.equal(combineQuarterDefault, true, 'on since session 38');
  const src = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/combine.cu', import.meta.url)), 'utf8');
  assert.match(src, new RegExp(`constexpr int kRowSplits = ${combineWarpsRowSplits};`));
  assert.match(src, /constexpr int kQuarterSplits = 16;/);
  for (const n of ['mla_combine_quarter_bf16', 'mla_combine_quarter_f16']) assert.match(src, new RegExp(`extern "C" __global__ void __launch_bounds__\\(256, 2\\) ${n}\\(const MlaParams p\\)`));
  const body = src.slice(src.indexOf('__device__ void combineQuarter'), src.indexOf('} // namespace mla'));
  assert.doesNotMatch(body, /__shared__|__syncthreads/);
  assert.match(body, /pdlWait\(\)/);
});

test('combineQ32Launch: a CTA of four warps a row, one warp a quarter, every quarter of every row once; combineQ32Covers 5-64 pieces', () => {
  for (const [sQ, hQ] of [[1, 16], [4, 16], [2, 128], [3, 5]]) {
    const g = combineQ32Launch(shape(3, sQ, hQ));
    assert.deepEqual([g.grid[0], g.grid[1], g.grid[2], g.block[0], g.smem], [3, sQ * hQ, 1, 128, 0]);
    const seen = new Map<string, number>();
    for (let y = 0; y < g.grid[1]; y++) for (let warp = 0; warp < 4; warp++) {
      const w = y * 4 + warp, r = w >> 2, quarter = w & 3; // combine.cu combineQuarter with blockDim 128
      seen.set(`${r}:${quarter}`, (seen.get(`${r}:${quarter}`) ?? 0) + 1);
    }
    assert.equal(seen.size, sQ * hQ * 4);
    assert.ok([...seen.values()].every((n) => n === 1));
  }
  assert.deepEqual([4, 5, 32, 33, 64, 65].map(combineQ32Covers), [false, true, true, true, true, false]);
  assert.equal(combineQ32Covers(undefined), false);
  const src = readFileSync(fileURLToPath(new URL('../../src/backends/cuda/kernels/combine.cu', import.meta.url)), 'utf8');
  for (const [n, t] of [['mla_combine_q32_bf16', '__nv_bfloat16'], ['mla_combine_q32_f16', '__half']]) {
    assert.match(src, new RegExp(`extern "C" __global__ void __launch_bounds__\\(128, 3\\) ${n}\\(const MlaParams p\\) \\{ mla::combineQuarter<${t}, 32>\\(p\\); \\}`));
  }
});

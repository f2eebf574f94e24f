// What CI can check of dense_fp8_sm90.cu without a GPU: its e4m3 -> bf16 bit trick (emulated bit for bit: prmt with
// sign-replicated bytes, shift, mask, one bf16x2 multiply) against the reference decoder for every byte and every
// scale the fast path takes; which scales and bytes leave the fast path; the permuted Q^T dimension order against the
// registers each thread fills; the V tile's stores (each value once, no bank conflicts); the dispatch rule; the
// shared memory sizes against the kernel's static_asserts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { f32ToBf16, bf16ToF32, fp8e4m3ToF32 } from '../../src/core/dtype.js';
import {
  denseFp8Sm90Entry, denseFp8Sm90KernelName, denseFp8Sm90Launch, denseFp8Sm90Nr, denseFp8Sm90Smem, denseFp8Sm90Threads16, denseFp8Sm90TilesPerPart,
  denseFp8Sm90W3Name, denseFp8Sm90W3Tiles, useDenseFp8Sm90,
} from '../../src/backends/cuda/kernels/dense-fp8-sm90-launch.js';
import { chooseSparseMma, sparseMmaKernelName } from '../../src/backends/cuda/kernels/sparse-mma-launch.js';
import { SparseMmaRunner } from '../../src/backends/cuda/sparse.js';
import type { DenseFp8Call } from '../../src/core/dense-fp8.js';
import { fakeSparseRunner } from '../support/fake-sparse-runner.js';
import { fromArray } from '../../src/core/tensor.js';

const src = readFileSync(new URL('../../src/backends/cuda/kernels/dense_fp8_sm90.cu', import.meta.url), 'utf8');
const f32Bits = (x: number) => { const v = new DataView(new ArrayBuffer(4)); v.setFloat32(0, x); return v.getUint32(0); };

/** PTX prmt.b32 d, a, 0, sel (default mode): byte i of d = byte sel[i] of {0, a}, or its sign replicated (bit 3). */
function prmt(a: number, sel: number): number {
  let d = 0;
  for (let i = 0; i < 4; i++) {
    const s = (sel >>> (4 * i)) & 0xf, idx = s & 7, byte = idx < 4 ? (a >>> (8 * idx)) & 0xff : 0;
    d |= ((s & 8 ? (byte & 0x80 ? 0xff : 0) : byte) << (8 * i)) >>> 0;
  }
  return d >>> 0;
}
/** mul.rn.bf16x2 of one half: the exact product rounded once to bf16 (products of two bf16 are exact in f32 here). */
const mulBf16 = (a: number, b: number) => f32ToBf16(Math.fround(bf16ToF32(a) * bf16ToF32(b)));
/** The kernel's fast pair: two bytes of w -> two bf16 (e4m3 * 2^-120), times the scale's bf16 (scale * 2^120). */
function fastPair(w: number, sel: number, scaleBits: number): [number, number] {
  const x = ((prmt(w, sel) << 4) & 0x87f087f0) >>> 0;
  const s16 = ((scaleBits >>> 16) & 0x8000) | ((((scaleBits >>> 23) & 0xff) + 120) << 7);
  return [mulBf16(x & 0xffff, s16), mulBf16(x >>> 16, s16)];
}
/** The kernel's fast-path condition for one scale and its bytes. */
function fastOk(scaleBits: number, words: number[]): boolean {
  const ex = (scaleBits >>> 23) & 0xff;
  let nan = 0;
  for (const v of words) nan |= ((v & 0x7f7f7f7f) + 0x01010101) >>> 0;
  return (scaleBits & 0x007fffff) === 0 && ex >= 1 && ex <= 134 && (nan & 0x80808080) === 0;
}

test('the kernel uses the constants emulated here', () => {
  for (const s of ['prmt.b32 %0, %1, 0, %2', '(x << 4) & 0x87f087f0u', 'e4m3PairScaled<0x9180>', 'e4m3PairScaled<0xB3A2>', '+ 120u) << 7)',
    'ex >= 1 && ex <= 134', '(v.x & 0x7f7f7f7fu) + 0x01010101u', '(nanAcc & 0x80808080u) == 0', 'mul.rn.bf16x2']) {
    assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
  }
});

test('fast e4m3 -> bf16: every byte in every position, every power-of-two scale the fast path takes, equals the reference', () => {
  let checked = 0;
  for (let e = -126; e <= 7; e++) {
    for (const sign of [1, -1]) {
      const scale = sign * 2 ** e, bits = f32Bits(scale);
      for (let b = 0; b < 256; b++) {
        if ((b & 0x7f) === 0x7f) continue; // NaN bytes leave the fast path (below)
        const want = f32ToBf16(Math.fround(fp8e4m3ToF32(b) * scale));
        const w = (b | ((b ^ 0x80) << 8) | (((b + 3) & 0x7e) << 16) | (b << 24)) >>> 0; // b in bytes 0 and 3, others around
        assert.ok(fastOk(bits, [w]) || (((b ^ 0x80) & 0x7f) === 0x7f), `scale 2^${e}`);
        const [lo0, lo1] = fastPair(w, 0x9180, bits), [hi0, hi1] = fastPair(w, 0xb3a2, bits);
        assert.equal(lo0, want, `byte ${b} (position 0) scale ${scale}: got ${lo0.toString(16)} want ${want.toString(16)}`);
        assert.equal(hi1, want, `byte ${b} (position 3) scale ${scale}`);
        assert.equal(lo1, f32ToBf16(Math.fround(fp8e4m3ToF32(b ^ 0x80) * scale)), `byte ${b ^ 0x80} (position 1)`);
        const b2 = (b + 3) & 0x7e;
        assert.equal(hi0, f32ToBf16(Math.fround(fp8e4m3ToF32(b2) * scale)), `byte ${b2} (position 2)`);
        checked++;
      }
    }
  }
  assert.equal(checked, 134 * 2 * 254);
});

test('the fast path refuses NaN bytes and every scale it cannot take exactly', () => {
  const one = f32Bits(1);
  for (let pos = 0; pos < 4; pos++) {
    for (let b = 0; b < 256; b++) assert.equal(fastOk(one, [0x11111111 & ~(0xff << (8 * pos)) | (b << (8 * pos))]), (b & 0x7f) !== 0x7f, `byte ${b} at ${pos}`);
  }
  for (const s of [1.37, 0.75, 2 ** 8, 2 ** 100, 0, -0, 2 ** -127, 2 ** -149, Infinity, -Infinity, NaN, 3]) assert.equal(fastOk(f32Bits(s), [0]), false, `scale ${s}`);
  for (const s of [1, 2 ** 7, -(2 ** 7), 2 ** -126, 2 ** -9]) assert.equal(fastOk(f32Bits(s), [0]), true, `scale ${s}`);
});

// The kernel's qDim (Q^T's dimension order), mirrored: element c of logical k-step ks.
function qDim(ks: number, c: number): number {
  const w = Math.floor(ks / 18), l = ks - w * 18, tq = (c & 7) >> 1, e = (c & 1) + ((c >> 3) << 1);
  if (l < 16) return 128 * (2 * w + (l >> 3)) + 32 * tq + 4 * ((l & 7) ^ (tq >= 2 ? 4 : 0)) + e;
  return 512 + 32 * w + 8 * tq + 4 * (l - 16) + e;
}

test('qDim matches the kernel and orders all 576 dims once', () => {
  assert.ok(src.includes('return 128 * g + 32 * tq + 4 * s + e;') && src.includes('return 512 + 32 * w + 8 * tq + 4 * (l - 16) + e;'));
  const seen = new Set<number>();
  for (let ks = 0; ks < 36; ks++) for (let c = 0; c < 16; c++) seen.add(qDim(ks, c));
  assert.equal(seen.size, 576);
  assert.equal(Math.min(...seen), 0);
  assert.equal(Math.max(...seen), 575);
});

test('each thread\'s A registers hold the dims qDim names; the V stores write each value once without bank conflicts', () => {
  // Emulate the loads: thread (wg, warp, lane) of a tile reads, for tokens r0 = 16 warp + gq and r0 + 8, NoPE group
  // 2 wg + gi bytes 32 tq .. 32 tq + 31 (halves swapped for tq >= 2) and RoPE dims 32 wg + 8 tq .. + 7.
  const vWritten = new Map<string, string>();
  for (let wg = 0; wg < 2; wg++) for (let warp = 0; warp < 4; warp++) {
    const banks: number[][] = [];
    for (let lane = 0; lane < 32; lane++) {
      const gq = lane >> 2, tq = lane & 3, r0 = 16 * warp + gq, swap = tq >= 2;
      for (let tk = 0; tk < 2; tk++) {
        const r = r0 + 8 * tk;
        for (let gi = 0; gi < 2; gi++) {
          // d[k] (bf16x2): dims of word k >> 1, pair k & 1, of the (swapped) 32-byte run.
          const runDim = (k: number) => { const word = k >> 1, half = word >> 2, srcHalf = swap ? 1 - half : half; return 128 * (2 * wg + gi) + 32 * tq + 16 * srcHalf + 4 * (word & 3) + 2 * (k & 1); };
          for (let k = 0; k < 16; k++) {
            const ks = 18 * wg + 8 * gi + (k >> 1), reg = tk + 2 * (k & 1);
            // register reg of A for k-step ks: row (key) gq + 8 (reg & 1), k columns 2 tq + 8 (reg >> 1) + {0, 1}
            const c = 2 * tq + 8 * (reg >> 1);
            assert.equal(qDim(ks, c), runDim(k), `wg ${wg} lane ${lane} ks ${ks} reg ${reg}`);
            assert.equal(qDim(ks, c + 1), runDim(k) + 1);
          }
          for (let j = 0; j < 4; j++) {
            const slice = 4 * wg + 2 * gi + (tq >> 1), u = 4 * (tq & 1) + (j ^ (swap ? 2 : 0));
            const addr = slice * 8192 + r * 128 + ((u ^ (r & 7)) << 4);
            for (let e = 0; e < 8; e++) {
              const col = runDim(4 * j) + e; // unit j = d[4j .. 4j + 3], 8 consecutive dims
              assert.equal(Math.floor(col / 64), slice);
              assert.equal(col % 64, 8 * u + e, 'the unit holds its columns');
              const key = `${r},${col}`;
              assert.ok(!vWritten.has(key), `V (${key}) written twice`);
              vWritten.set(key, `${addr + 2 * e}`);
            }
            (banks[tk * 8 + gi * 4 + j] ??= [])[lane] = (addr >> 4) & 7;
          }
        }
        for (let s = 0; s < 2; s++) for (const reg of [0, 1, 2, 3]) assert.equal(qDim(18 * wg + 16 + s, 2 * tq + 8 * (reg >> 1)), 512 + 32 * wg + 8 * tq + 4 * s + 2 * (reg >> 1));
      }
    }
    // Each 16-byte store is served 8 lanes a phase: those 8 lanes hit 8 different 16-byte bank groups.
    for (const st of banks) for (let ph = 0; ph < 4; ph++) assert.equal(new Set(st.slice(8 * ph, 8 * ph + 8)).size, 8, `store phase ${ph}`);
  }
  assert.equal(vWritten.size, 64 * 512);
});

test('dispatch: V3.2, bf16, page 64 contiguous, sQ * hQ <= 32 on sm_90 builds only', () => {
  const base = { format: 'v32', dtype: 'bf16', dQk: 576, sQ: 1, hQ: 16, pageBlockSize: 64, blockStride: 64 * 656 } as const;
  const max = 232448;
  assert.equal(useDenseFp8Sm90(base, true, max), true);
  assert.equal(useDenseFp8Sm90(base, false, max), false);
  assert.equal(useDenseFp8Sm90({ ...base, hQ: 32 }, true, max), true);
  assert.equal(useDenseFp8Sm90({ ...base, sQ: 4, hQ: 8 }, true, max), true);
  assert.equal(useDenseFp8Sm90({ ...base, sQ: 3, hQ: 11 }, true, max), false);
  assert.equal(useDenseFp8Sm90({ ...base, hQ: 64 }, true, max), false);
  assert.equal(useDenseFp8Sm90({ ...base, dtype: 'f16' }, true, max), false);
  assert.equal(useDenseFp8Sm90({ ...base, format: 'model1', dQk: 512 }, true, max), false);
  assert.equal(useDenseFp8Sm90({ ...base, pageBlockSize: 16, blockStride: 16 * 656 }, true, max), false);
  assert.equal(useDenseFp8Sm90({ ...base, blockStride: 64 * 656 + 16 }, true, max), false);
  assert.equal(useDenseFp8Sm90(base, true, 200000), false);
  assert.deepEqual([denseFp8Sm90Nr(1), denseFp8Sm90Nr(16), denseFp8Sm90Nr(17), denseFp8Sm90Nr(32), denseFp8Sm90Nr(33)], [16, 16, 32, 32, undefined]);
  assert.equal(denseFp8Sm90KernelName(32), 'mla_dense_fp8_sm90_v32_bf16_n32');
  assert.ok(src.includes('mla_dense_fp8_sm90_v32_bf16_n16(') && src.includes('mla_dense_fp8_sm90_v32_bf16_n32('));
  assert.deepEqual(denseFp8Sm90Launch(132, 16), { grid: [132, 1, 1], block: [384, 1, 1], smem: denseFp8Sm90Smem(16) });
  // a three-consumer A/B folder (manifest denseFp8Sm90Threads16 512): 512 threads at 16 rows only
  assert.deepEqual(denseFp8Sm90Launch(132, 16, 512).block, [512, 1, 1]);
  assert.deepEqual(denseFp8Sm90Launch(132, 32, 512).block, [384, 1, 1]);
  assert.throws(() => denseFp8Sm90Launch(132, 16, 256), RangeError);
  assert.ok(src.includes('__launch_bounds__(MLA_DFP8_N16_THREADS, 1) mla_dense_fp8_sm90_v32_bf16_n16(') && src.includes('#define MLA_DFP8_N16_THREADS (MLA_DFP8_W3 ? 512 : 384)'));
});

test('shared memory sizes match the kernel\'s static_assert', () => {
  const m = src.match(/Layout<16>::SMEM == (\d+) && mla::dfp8::Layout<32>::SMEM == (\d+)/);
  assert.ok(m, 'the static_assert is there');
  assert.equal(denseFp8Sm90Smem(16), Number(m![1]));
  assert.equal(denseFp8Sm90Smem(32), Number(m![2]));
  assert.ok(denseFp8Sm90Smem(16) <= 232448 && denseFp8Sm90Smem(32) <= 232448);
});

test('build variants: the shipped build is MLA_DENSE_FP8_SHIPPED (the alternating-tile design, within the launch); VAR 0 keeps the exact assert; ab.sh uses bits the kernel takes', () => {
  const ship = src.match(/#define MLA_DENSE_FP8_SHIPPED (\d+)\n#ifndef MLA_DENSE_FP8_VAR\n#define MLA_DENSE_FP8_VAR MLA_DENSE_FP8_SHIPPED\n#endif/);
  assert.ok(ship, 'the default build is the shipped bits');
  assert.ok((Number(ship![1]) & 64) !== 0, 'the shipped bits take the alternating-tile design');
  assert.match(src, /#if MLA_DENSE_FP8_VAR == 0\nstatic_assert\(mla::dfp8::Layout<16>::SMEM == \d+ && mla::dfp8::Layout<32>::SMEM == \d+/);
  const mask = src.match(/static_assert\(!\(static_cast<long long>\(MLA_DENSE_FP8_VAR\) & ~(\d+)LL\)/);
  assert.ok(mask, 'the bit mask assert is there');
  const within = (v: bigint) => (v & ~BigInt(mask![1])) === 0n; // (bits past 2^31: BigInt, not 32-bit JS bit operations)
  assert.ok(within(BigInt(ship![1])));
  assert.equal(denseFp8Sm90Threads16, (BigInt(ship![1]) & 2199023255552n) !== 0n ? 512 : 384, 'the launch\'s 16-row threads are the shipped build\'s');
  assert.equal(denseFp8Sm90W3Tiles !== undefined, (BigInt(ship![1]) & 4398046511104n) !== 0n, 'a dispatch threshold exactly where the shipped build has the n16w3 entry');
  const ab = readFileSync(new URL('../../bench/cuda/dense-fp8/ab.sh', import.meta.url), 'utf8');
  assert.ok(ab.includes("SHIP=$(sed -n 's/^#define MLA_DENSE_FP8_SHIPPED"), 'ab.sh reads the shipped bits from the kernel');
  const lists = [ab.match(/VARS=\$\{1:-\$\{VARS:-([\d ]+)\}\}/), ab.match(/for v in \$SHIP \$\{3:-([\d ]+)\}/)];
  for (const l of lists) {
    assert.ok(l, 'ab.sh names its variants');
    for (const v of l![1].trim().split(/\s+/).map(BigInt)) assert.ok(v >= 0n && within(v), `variant ${v} within the kernel's bits`);
  }
});

test('the runner launches dense_fp8_sm90.cu from its own fatbin for the shapes it takes, sparse_mma.cu otherwise', () => {
  const max = 232448;
  const { launches, host: fakeHost } = fakeSparseRunner({ 'dense_fp8_sm90.fatbin': 'dense90' }, max);
  const host = (denseFp8Sm90: boolean) => fakeHost(denseFp8Sm90, { denseFp8Sm90 });
  const dev = { device: 'cuda' } as never;
  const call = (sQ: number, hQ: number, split: boolean, format: 'v32' | 'model1' = 'v32'): DenseFp8Call => ({
    format, dtype: 'bf16', b: 2, sQ, hQ, dQk: format === 'v32' ? 576 : 512, pageBlockSize: 64, maxBlocksPerSeq: 4, numBlocks: 8,
    blockStride: format === 'v32' ? 64 * 656 : 65 * 576, numSmParts: 33, causal: true, softmaxScale: 0.04,
    q: dev, kCache: dev, out: dev, lse: dev,
    blockTable: fromArray('i32', [2, 4], new Int32Array(8)), cacheSeqlens: fromArray('i32', [2], Int32Array.of(200, 100)),
    tileSchedulerMetadata: fromArray('i32', [33, 8], new Int32Array(33 * 8)),
    numSplits: fromArray('i32', [3], split ? Int32Array.of(0, 2, 3) : Int32Array.of(0, 1, 2)),
  });
  const r = new SparseMmaRunner(host(true));
  assert.ok(r.dense(call(1, 16, false)));
  assert.deepEqual(launches, [{ name: `dense90:${denseFp8Sm90KernelName(16)}`, grid: [33, 1, 1], block: 384, smem: denseFp8Sm90Smem(16) }], 'one piece: no combine');
  assert.equal(r.kernelForDense(call(1, 16, false)), denseFp8Sm90KernelName(16));
  launches.length = 0;
  assert.ok(r.dense(call(2, 16, true)));
  assert.deepEqual(launches.map((l) => l.name), [`dense90:${denseFp8Sm90KernelName(32)}`, 'mma:mla_sparse_mma_combine_bf16'], 'split rows: sparse_mma.cu\'s combine');
  assert.equal(launches[0].smem, denseFp8Sm90Smem(32));
  launches.length = 0;
  assert.ok(r.dense(call(1, 64, true)));
  const m64 = sparseMmaKernelName(chooseSparseMma('v32', 'bf16', 576, 64, max)!);
  assert.deepEqual(launches.map((l) => l.name), [`mma:${m64}`, 'mma:mla_sparse_mma_combine_bf16'], '64 rows stay on sparse_mma.cu');
  assert.equal(r.kernelForDense(call(1, 64, false)), m64);
  launches.length = 0;
  assert.ok(r.dense(call(1, 16, false, 'model1')));
  assert.equal(launches[0].name.split(':')[0], 'mma', 'MODEL1: sparse_mma.cu');
  launches.length = 0;
  assert.ok(new SparseMmaRunner(host(false)).dense(call(1, 16, false)));
  assert.equal(launches[0].name.split(':')[0], 'mma', 'no Hopper build: sparse_mma.cu');
  // a kernel folder whose manifest names 512 threads at 16 rows (ab.sh's three-consumer build): 512 there, 384 at 32 rows
  launches.length = 0;
  const r3 = new SparseMmaRunner(fakeHost(true, { denseFp8Sm90: true, denseFp8Sm90Threads16: 512 }));
  assert.ok(r3.dense(call(1, 16, false)) && r3.dense(call(2, 16, false)));
  assert.deepEqual(launches.map((l) => [l.name, l.block]), [[`dense90:${denseFp8Sm90KernelName(16)}`, 512], [`dense90:${denseFp8Sm90KernelName(32)}`, 384]]);
  // a dispatch folder (bit 4398046511104, manifest denseFp8Sm90W3Tiles): n16w3 with 512 threads from that many tiles an
  // SM part at 16 rows (host lengths 200 and 100: 4 + 2 tiles over 33 parts), the shipped entries otherwise
  for (const [w3, want] of [[0.1, denseFp8Sm90W3Name], [0.2, denseFp8Sm90KernelName(16)]] as const) {
    launches.length = 0;
    const rd = new SparseMmaRunner(fakeHost(true, { denseFp8Sm90: true, denseFp8Sm90W3Tiles: w3 }));
    assert.ok(rd.dense(call(1, 16, false)) && rd.dense(call(2, 16, false)));
    assert.deepEqual(launches.map((l) => [l.name, l.block]), [[`dense90:${want}`, want === denseFp8Sm90W3Name ? 512 : 384], [`dense90:${denseFp8Sm90KernelName(32)}`, 384]]);
    assert.equal(rd.kernelForDense(call(1, 16, false)), want);
  }
  // the shipped build (since session 18: the n16w3 entry) takes denseFp8Sm90W3Tiles where the manifest names none; a
  // folder whose manifest writes null (ab.sh, a build without the entry) never takes n16w3
  assert.equal(denseFp8Sm90W3Tiles, 48);
  const long = (sQ: number): DenseFp8Call => ({ ...call(sQ, 16, false), numSmParts: 1, cacheSeqlens: fromArray('i32', [2], Int32Array.of(48 * 64, 64)) });
  for (const [w3, want] of [[undefined, denseFp8Sm90W3Name], [null, denseFp8Sm90KernelName(16)], [50, denseFp8Sm90KernelName(16)]] as const) {
    launches.length = 0;
    const rs = new SparseMmaRunner(fakeHost(true, { denseFp8Sm90: true, denseFp8Sm90W3Tiles: w3 }));
    assert.ok(rs.dense(long(1)) && rs.dense(long(2)));
    assert.deepEqual(launches.map((l) => [l.name, l.block]), [[`dense90:${want}`, want === denseFp8Sm90W3Name ? 512 : 384], [`dense90:${denseFp8Sm90KernelName(32)}`, 384]], `manifest threshold ${w3}`);
  }
});

test('the 16-row dispatch: tiles an SM part, the n16w3 entry from the threshold', () => {
  assert.equal(denseFp8Sm90TilesPerPart(128, 132, 128), 128 * 128 / 132);
  assert.equal(denseFp8Sm90TilesPerPart(2, 1, 99, Int32Array.of(65, 0)), 2);
  assert.deepEqual(denseFp8Sm90Entry(16, 124, 48), { name: denseFp8Sm90W3Name, threads16: 512 });
  assert.deepEqual(denseFp8Sm90Entry(16, 15.5, 48), { name: denseFp8Sm90KernelName(16), threads16: 384 });
  assert.deepEqual(denseFp8Sm90Entry(32, 124, 48), { name: denseFp8Sm90KernelName(32), threads16: 384 });
  assert.ok(src.includes(`__launch_bounds__(512, 1) ${denseFp8Sm90W3Name}(`));
});

// What CI can check without a GPU of dense_fp8_sm90.cu's converter-fed design (DenseFp8Cv, MLA_DENSE_FP8_VAR bit
// 65536): the converter warps' placement and conversion, emulated bit for bit on random pages (bit trick + bf16x2
// multiply on fast threads, the exact cvt path elsewhere), read back through the 128-byte swizzle the consumers'
// wgmma descriptors assume (chunk c = dims 64c..64c+63, row = key, unit u of a row at u ^ (key % 8)), against the
// page decoded by the reference decoder; every byte of the 9 chunks written exactly once; conflict-free stores; the
// shared-memory layout within the launch; the register split inside the launch allocation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bf16ToF32, f32ToBf16, fp8e4m3ToF32 } from '../../src/core/dtype.js';
import { denseFp8Sm90Smem } from '../../src/backends/cuda/kernels/dense-fp8-sm90-launch.js';

const src = readFileSync(new URL('../../src/backends/cuda/kernels/dense_fp8_sm90.cu', import.meta.url), 'utf8');

/** PTX prmt.b32 d, a, 0, sel (default mode): byte i of d = byte sel[i] & 7 of {0, a}, or its sign copy (bit 3). */
function prmt(a: number, sel: number): number {
  let d = 0;
  for (let i = 0; i < 4; i++) {
    const s = (sel >>> (4 * i)) & 0xf, idx = s & 7, byte = idx < 4 ? (a >>> (8 * idx)) & 0xff : 0;
    d |= ((s & 8 ? (byte & 0x80 ? 0xff : 0) : byte) << (8 * i)) >>> 0;
  }
  return d >>> 0;
}
const mulBf16x2 = (x: number, s: number) =>
  (f32ToBf16(Math.fround(bf16ToF32(x & 0xffff) * bf16ToF32(s & 0xffff))) | (f32ToBf16(Math.fround(bf16ToF32(x >>> 16) * bf16ToF32(s >>> 16))) << 16)) >>> 0;
const pairScaled = (w: number, sel: number) => ((prmt(w, sel) << 4) & 0x87f087f0) >>> 0;
/** The reference's value of an e4m3 byte times an f32 scale, as the kernel's bf16 (exact path: f32 product, one rounding). */
const exactBf16 = (b: number, scale: number) => f32ToBf16(Math.fround(fp8e4m3ToF32(b) * scale));

/** A random V3.2 page: some tokens with non-power-of-two or huge scales or NaN bytes (the exact path). */
function randomPage(seed: number) {
  let x = seed >>> 0;
  const rnd = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x; };
  const page = new Uint8Array(64 * 656), view = new DataView(page.buffer);
  for (let t = 0; t < 64; t++) {
    for (let d = 0; d < 512; d++) page[t * 656 + d] = rnd() & 0xff; // NaN bytes (0x7f / 0xff) included
    for (let g = 0; g < 4; g++) {
      const k = rnd() % 8;
      const scale = k === 0 ? 1.37 * 2 ** ((rnd() % 20) - 10) : k === 1 ? 2 ** 20 : (rnd() & 1 ? -1 : 1) * 2 ** ((rnd() % 40) - 30);
      view.setFloat32(t * 656 + 512 + 4 * g, scale, true);
    }
    for (let d = 0; d < 64; d++) view.setUint16(t * 656 + 528 + 2 * d, f32ToBf16(((rnd() % 2001) - 1000) / 256), true);
  }
  return { page, view };
}

/** The kernel's converter, every thread and step of one tile: 9 chunks of 64 keys x 128 bytes, as 16-bit words. */
function convertTile(page: Uint8Array, view: DataView) {
  const chunks = new Uint16Array(9 * 4096), writes = new Uint8Array(9 * 4096);
  const stores: number[][] = []; // [instruction key] -> byte addresses of a warp (bank check)
  const sts = (key: string, addr: number, words: number[]) => {
    for (let i = 0; i < 4; i++) {
      chunks[addr / 2 + 2 * i] = words[i] & 0xffff, chunks[addr / 2 + 2 * i + 1] = words[i] >>> 16;
      writes[addr / 2 + 2 * i]++, writes[addr / 2 + 2 * i + 1]++;
    }
    (stores as unknown as Record<string, number[]>)[key] ??= [];
    (stores as unknown as Record<string, number[]>)[key].push(addr);
  };
  for (let ct = 0; ct < 128; ct++) {
    const r = ct >> 1, h = ct & 1, sw = r & 7, warp = ct >> 5;
    for (let s = 0; s < 10; s++) {
      const c = s < 8 ? s : 8, dst = c * 8192 + r * 128;
      const off = s < 8 ? 64 * s + 32 * h : 528 + 64 * h + 32 * (s - 8); // cvLoad
      const tok = r * 656;
      const words = (o: number) => [0, 1, 2, 3].map((k) => view.getUint32(tok + o + 4 * k, true));
      const A = words(off), B = words(off + 16);
      if (s < 8) {
        const sb = view.getUint32(tok + 512 + 4 * (s >> 1), true), ex = (sb >>> 23) & 0xff;
        const nan = (w: number) => ((((w & 0x7f7f7f7f) + 0x01010101) >>> 0) & 0x80808080) !== 0;
        const fast = (sb & 0x7fffff) === 0 && ex >= 1 && ex <= 134 && ![...A, ...B].some(nan);
        const s2 = ((((sb + (120 << 23)) >>> 0) >>> 16) * 0x10001) >>> 0;
        const scale = view.getFloat32(tok + 512 + 4 * (s >> 1), true);
        for (let half = 0; half < 2; half++) {
          const w = half === 0 ? A : B, o: number[] = [];
          for (let k = 0; k < 4; k++) {
            if (fast) o.push(mulBf16x2(pairScaled(w[k], 0x9180), s2), mulBf16x2(pairScaled(w[k], 0xb3a2), s2));
            else {
              const by = (i: number) => (w[k] >>> (8 * i)) & 0xff;
              o.push((exactBf16(by(0), scale) | (exactBf16(by(1), scale) << 16)) >>> 0, (exactBf16(by(2), scale) | (exactBf16(by(3), scale) << 16)) >>> 0);
            }
          }
          sts(`${warp}.${s}.${2 * half}`, dst + (((4 * h + 2 * half) ^ sw) << 4), o.slice(0, 4));
          sts(`${warp}.${s}.${2 * half + 1}`, dst + (((4 * h + 2 * half + 1) ^ sw) << 4), o.slice(4));
        }
      } else {
        const u = 4 * h + 2 * (s - 8);
        sts(`${warp}.${s}.0`, dst + (((u + 0) ^ sw) << 4), A);
        sts(`${warp}.${s}.1`, dst + (((u + 1) ^ sw) << 4), B);
      }
    }
  }
  return { chunks, writes, stores: stores as unknown as Record<string, number[]> };
}

test('the kernel uses the placement and constants emulated here', () => {
  for (const s of ['const int off = s < 8 ? 64 * s + 32 * h : 528 + 64 * h + 32 * (s - 8);', 'if (s < 8) sc = ldgNc32(tok + 512 + 4 * (s >> 1));',
    'const int ct = static_cast<int>(threadIdx.x) - 256, lane = ct & 31, r = ct >> 1, h = ct & 1;', 'const uint32_t rowOff = r * 128, sw = r & 7;',
    'sts128(dst + ((((4 * h) + 2 * half) ^ sw) << 4), o[0], o[1], o[2], o[3]);', 'sts128(dst + ((((4 * h) + 2 * half + 1) ^ sw) << 4), o[4], o[5], o[6], o[7]);',
    'const int u = 4 * h + 2 * (s - 8);', 'ex >= 1u && ex <= 134u && (nanBits(A[k]) | nanBits(B[k])) == 0',
    'cvFast(w, ((sb + (120u << 23)) >> 16) * 0x10001u, o);', 'e4m3PairScaled<0x9180>(x[k])', 'e4m3PairScaled<0xB3A2>(x[k])',
    'descSw128(slotAddr[c] + kk * 32), descOf<NR>(qBase + (4 * c + kk) * 2 * NR * 16)', 'descSw128(slotAddr[s] + kk * 2048)',
    'static constexpr int CREG = (504 - PREG) / 2 / 8 * 8;',
    // bit 524288: the L1 prefetch takes the same 32 bytes the step's loads read
    'prefetchL1(page + r * kTok + (s < 8 ? 64 * s + 32 * h : 528 + 64 * h + 32 * (s - 8)));',
    // bit 262144: hi at N row r, lo at r + 16 of one 32-row P^T; O^T column r + 16 folded into r
    'sp + canonOff<32>(r + 16, k0)) = __float2bfloat16_rn(p0 - __bfloat162float(h0));', 'for (int e = 0; e < 4; ++e) o[s][i][e] += o[s][i + NI][e];']) {
    assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
  }
});

test('converted pages read back through the 128-byte swizzle equal the reference, every byte written once', () => {
  let fastWords = 0, exactWords = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const { page, view } = randomPage(seed * 7919);
    const { chunks, writes } = convertTile(page, view);
    assert.ok(writes.every((w) => w === 1), 'every 16-bit word of the 9 chunks written exactly once');
    for (let key = 0; key < 64; key++) {
      for (let d = 0; d < 576; d++) {
        const c = d >> 6, u = (d & 63) >> 3, at = c * 4096 + key * 64 + ((u ^ (key & 7)) << 3) + (d & 7);
        const got = chunks[at];
        let want: number;
        if (d >= 512) want = view.getUint16(key * 656 + 528 + 2 * (d - 512), true);
        else want = exactBf16(page[key * 656 + d], view.getFloat32(key * 656 + 512 + 4 * (d >> 7), true));
        if (Number.isNaN(bf16ToF32(want))) assert.ok(Number.isNaN(bf16ToF32(got)), `seed ${seed} key ${key} dim ${d}: NaN`);
        else assert.equal(got, want, `seed ${seed} key ${key} dim ${d}: ${got.toString(16)} vs ${want.toString(16)}`);
        if (d < 512) {
          const sb = view.getUint32(key * 656 + 512 + 4 * (d >> 7), true);
          if ((sb & 0x7fffff) === 0) fastWords++; else exactWords++;
        }
      }
    }
  }
  assert.ok(fastWords > 0 && exactWords > 0, `both paths taken (${fastWords} / ${exactWords})`);
});

test('each converter store instruction of a warp takes the minimum 4 shared-memory wavefronts (no bank conflicts)', () => {
  const { page, view } = randomPage(5);
  const { stores } = convertTile(page, view);
  for (const [key, addrs] of Object.entries(stores)) {
    assert.equal(addrs.length, 32, key);
    // 16-byte stores: a wavefront serves 8 threads whose units fall in 8 distinct 16-byte bank groups (addr / 16 % 8)
    const perGroup = new Map<number, number>();
    for (const a of addrs) perGroup.set((a >> 4) & 7, (perGroup.get((a >> 4) & 7) ?? 0) + 1);
    assert.ok([...perGroup.values()].every((n) => n === 4), `${key}: ${[...perGroup.entries()]}`);
  }
});

test('the converter-fed layout fits the launch, and the register split fits the launch allocation', () => {
  // CvLayout: SLOTS chunk slots of 8 KB, Q^T, 2 P^T, 2 reductions, the merge's maxima and sums, 2 mbarriers a slot, 1 KB alignment
  // (bit 131072, P^T hi + lo: one slot fewer, two P^T a warpgroup)
  for (const nr of [16, 32] as const) {
    for (const hiLo of [false, true]) {
      const slots = (nr === 16 ? 25 : 22) - (hiLo ? 1 : 0);
      const smem = slots * 8192 + nr * 576 * 2 + 2 * (hiLo ? 2 : 1) * nr * 64 * 2 + 2 * 4 * nr * 4 + 3 * nr * 4 + 16 * slots + 1024;
      assert.ok(smem <= denseFp8Sm90Smem(nr), `rows ${nr}${hiLo ? ' hi + lo' : ''}: ${smem} <= ${denseFp8Sm90Smem(nr)}`);
    }
  }
  assert.ok(src.includes('static constexpr int SLOTS = (NR == 16 ? 25 : 22) - (kCvHiLo ? 1 : 0);'));
  assert.ok(src.includes('static constexpr int P_BYTES = (kCvHiLo ? 2 : 1) * NR * kBN * 2;'));
  const preg = Number(/#define MLA_DFP8_CV_PREG (\d+)/.exec(src)?.[1]), preg32 = Number(/#define MLA_DFP8_CV_PREG32 (\d+)/.exec(src)?.[1]);
  for (const p of [preg, preg32]) {
    const c = Math.floor((504 - p) / 2 / 8) * 8;
    assert.ok(p % 8 === 0 && p >= 24 && 2 * c + p <= 384 * 168 / 128, `setmaxnreg ${p} / ${c}: within 384 x 168 registers`);
  }
});

/**
 * The chunk ring's mbarrier protocol (session 11 round 2, bit 8388608: one release a tile), emulated with random
 * interleavings: one converter (steps 0..9 a tile, the empty wait before steps 0..8, its arrivals per step or once a
 * tile) and two consumer warpgroups taking alternate tiles (wait for the 9 full barriers, release the RoPE chunk after
 * S^T, the other 8 after O^T). An mbarrier is its count of completed phases; `try_wait.parity P` passes when the phase
 * of parity P has completed, i.e. when (completed & 1) != P. Returns 'deadlock' when nothing can run before the end,
 * 'stale' when a consumer passes its waits while a chunk of its tile is not (or no longer) in its slot: a parity wait
 * cannot tell phase u + 1 from u - 1, so the slot of a tile's chunk 0 must have its previous use (chunk 9k - S) in tile
 * k - 2 or earlier, which the consumer's own previous tile guarantees complete: S >= 10 (then chunk 0's wait blocks until
 * tile k is being released, and the converter finished tile k - 1 before that).
 */
function ringRun(S: number, tiles: number, tileRelease: boolean, seed: number): 'ok' | 'deadlock' | 'stale' {
  let x = seed >>> 0;
  const rnd = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32; };
  const full = new Array<number>(S).fill(0), empty = new Array<number>(S).fill(0);
  const fullArr = new Array<number>(S).fill(0);
  const tag = new Array<number>(S).fill(-1), halves = new Array<number>(S).fill(0); // chunk sequence number in a slot; RoPE halves written
  const pass = (bar: number[], slot: number, parity: number) => (bar[slot] & 1) !== parity;
  const arriveFull = (slot: number) => { if (++fullArr[slot] === 1) { fullArr[slot] = 0; full[slot]++; } }; // (the 4 warps as one)
  // converter state: tile k, step s
  let ck = 0, cs = 0;
  // consumer states: next tile, phase 0 = waiting full, 1 = after S^T (RoPE released), 2 = done with the tile
  const cons = [{ k: 0, ph: 0 }, { k: 1, ph: 0 }];
  const tileOk = (k: number, chunks: number) => {
    for (let c = 0; c < chunks; c++) {
      const m = 9 * k + c, slot = m % S;
      if (tag[slot] !== m || (c === 8 && halves[slot] !== 2)) return false;
    }
    return true;
  };
  let stale = false;
  for (;;) {
    const runnable: (() => void)[] = [];
    if (ck < tiles) {
      const n = 9 * ck, c = Math.min(cs, 8), m = n + c, slot = m % S;
      if (cs > 8 || pass(empty, slot, (Math.floor(m / S) & 1) ^ 1)) {
        runnable.push(() => {
          if (cs < 8) { tag[slot] = m; halves[slot] = 0; }
          else if (cs === 8) { tag[slot] = m; halves[slot] = 1; }
          else halves[slot] = 2;
          if (tileRelease) { if (cs === 9) for (let cc = 0; cc < 9; cc++) arriveFull((n + cc) % S); }
          else if (cs !== 8) arriveFull(slot);
          if (++cs === 10) { cs = 0; ck++; }
        });
      }
    }
    for (const w of cons) {
      if (w.k >= tiles) continue;
      const n = 9 * w.k;
      if (w.ph === 0) {
        let ready = true;
        for (let c = 0; c < 9 && ready; c++) ready = pass(full, (n + c) % S, Math.floor((n + c) / S) & 1);
        if (ready) runnable.push(() => { stale ||= !tileOk(w.k, 9); empty[(n + 8) % S]++; w.ph = 1; });
      } else {
        runnable.push(() => {
          stale ||= !tileOk(w.k, 8);
          for (let c = 0; c < 8; c++) empty[(n + c) % S]++;
          w.k += 2; w.ph = 0;
        });
      }
    }
    if (stale) return 'stale';
    if (runnable.length === 0) return ck >= tiles && cons.every((w) => w.k >= tiles) ? 'ok' : 'deadlock';
    runnable[Math.floor(rnd() * runnable.length)]();
  }
}

test('bit 8388608 (one release a tile): the converters arrive on the 9 chunks once, after one proxy fence; the ring protocol neither deadlocks nor overwrites', () => {
  for (const s of ['if (s == 9) {\n            fenceProxyAsync();\n            __syncwarp();\n            if (lane == 0)\n#pragma unroll\n              for (int cc = 0; cc < 9; ++cc) mbarArrive(fullBar + 8 * ((n + cc) % S));',
    'if (s <= 8) mbarWait(emptyBar + 8 * slot, (((n + c) / S) & 1) ^ 1);', 'for (int c = 0; c < 9; ++c) mbarWait(fullBar + 8 * ((n + c) % S), ((n + c) / S) & 1);',
    'if (lane == 0) mbarArrive(emptyBar + 8 * ((n + 8) % S)); // the RoPE chunk is not read again', 'for (int c = 0; c < 8; ++c) mbarArrive(emptyBar + 8 * ((n + c) % S));',
    'static constexpr int SLOTS = (NR == 16 ? 25 : 22) - (kCvHiLo ? 1 : 0);']) {
    assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
  }
  // the kernel's ring sizes (16 / 32 rows, bf16 P or hi + lo), both release modes, random interleavings
  for (const S of [25, 24, 22, 21]) {
    for (const tileRelease of [false, true]) {
      for (let seed = 1; seed <= 20; seed++) assert.equal(ringRun(S, 23, tileRelease, seed * 31 + S), 'ok', `S ${S} ${tileRelease ? 'tile' : 'step'} release seed ${seed}`);
    }
  }
  // the emulation can fail: with 9 slots a consumer's parity wait can pass on the slot's previous phase, and with one
  // release a tile a ring of fewer than 9 slots cannot take a tile at all
  for (const tileRelease of [false, true]) {
    for (let seed = 1; seed <= 20; seed++) assert.equal(ringRun(10, 23, tileRelease, seed), 'ok', `S 10 seed ${seed}`);
    assert.ok(Array.from({ length: 20 }, (_, i) => ringRun(9, 23, tileRelease, i + 1)).includes('stale'), `S 9 ${tileRelease}: some interleaving reads a stale chunk`);
  }
  assert.equal(ringRun(8, 7, true, 5), 'deadlock');
});

// What CI can check without a GPU of dense_fp8_sm90.cu's alternating-tile design (DenseFp8Alt, MLA_DENSE_FP8_VAR bit
// 64): the registers each thread builds for both wgmma products, emulated bit for bit on a random page (two-word prmt
// with sign copies, shift, mask, bf16x2 / f16x2 multiply), against the page decoded by the reference decoder: the
// S^T operand holds, for each fragment position, the key and cache dimension that qDimAlt names, the O^T operand the
// key and value column the output stores assume; the f16 bit trick (bit 512) for every byte and every scale its fast
// path takes; the fast path's scale range; conflict-free 16-byte loads; the shared-memory layout within the launch.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bf16ToF32, f32ToBf16, f32ToF16, f16ToF32, fp8e4m3ToF32 } from '../../src/core/dtype.js';
import { denseFp8Sm90Smem } from '../../src/backends/cuda/kernels/dense-fp8-sm90-launch.js';

const src = readFileSync(new URL('../../src/backends/cuda/kernels/dense_fp8_sm90.cu', import.meta.url), 'utf8');
const f32Bits = (x: number) => { const v = new DataView(new ArrayBuffer(4)); v.setFloat32(0, x); return v.getUint32(0); };

/** PTX prmt.b32 d, a, b, sel (default mode): byte i of d = byte sel[i] & 7 of {b, a} (a = bytes 0-3), or its sign (bit 3). */
function prmt2(a: number, b: number, sel: number): number {
  let d = 0;
  for (let i = 0; i < 4; i++) {
    const s = (sel >>> (4 * i)) & 0xf, idx = s & 7, byte = idx < 4 ? (a >>> (8 * idx)) & 0xff : (b >>> (8 * (idx - 4))) & 0xff;
    d |= ((s & 8 ? (byte & 0x80 ? 0xff : 0) : byte) << (8 * i)) >>> 0;
  }
  return d >>> 0;
}
const mulBf16x2 = (x: number, s: number) =>
  (f32ToBf16(Math.fround(bf16ToF32(x & 0xffff) * bf16ToF32(s & 0xffff))) | (f32ToBf16(Math.fround(bf16ToF32(x >>> 16) * bf16ToF32(s >>> 16))) << 16)) >>> 0;
const mulF16x2 = (x: number, s: number) =>
  (f32ToF16(Math.fround(f16ToF32(x & 0xffff) * f16ToF32(s & 0xffff))) | (f32ToF16(Math.fround(f16ToF32(x >>> 16) * f16ToF32(s >>> 16))) << 16)) >>> 0;
/** The kernel's pair conversions: bf16 (e4m3 * 2^-120) and f16 (e4m3 * 2^-8) of the two selected bytes. */
const pairBf16 = (a: number, b: number, sel: number) => ((prmt2(a, b, sel) << 4) & 0x87f087f0) >>> 0;
const pairF16 = (a: number, b: number, sel: number) => ((prmt2(a, b, sel) << 7) & 0xbf80bf80) >>> 0;
const scale16 = (sb: number) => ((sb >>> 16) & 0x8000) | ((((sb >>> 23) & 0xff) + 120) << 7);
const scale16h = (sb: number) => ((sb >>> 16) & 0x8000) | ((((sb >>> 23) & 0xff) - 104) << 10);
/** The alt fast path's scale condition with bit 512 (f16): a power of two 2^-15 .. 2^7. */
const scaleFastF16 = (sb: number) => { const ex = (sb >>> 23) & 0xff; return (sb & 0x7fffff) === 0 && ex >= 112 && ex <= 134; };

function qDimAlt(ks: number, c: number): number {
  const tq = (c & 7) >> 1, e = (c & 1) + ((c >> 3) << 1);
  return ks < 32 ? 128 * (ks >> 3) + 32 * tq + 4 * (ks & 7) + e : 512 + 16 * tq + 4 * (ks - 32) + e;
}

// Selectors: byte p of the first word and byte p of the second, each with its sign copy (O^T pairs), and one word's
// bytes 0, 1 / 2, 3 (S^T pairs: prmt with b = 0).
const SEL2 = [0xc480, 0xd591, 0xe6a2, 0xf7b3];

test('the kernel uses the constants emulated here', () => {
  for (const s of ['return (x << 7) & 0xbf80bf80u;', '(x << 4) & 0x87f087f0u', '- 104u) << 10)', 'ex >= (kAltF16 ? 112u : 1u) && ex <= 134',
    'e4m3Pair2H<0xC480>', 'e4m3Pair2H<0xD591>', 'e4m3Pair2H<0xE6A2>', 'e4m3Pair2H<0xF7B3>', 'e4m3Pair2<0xC480>', 'e4m3Pair2<0xF7B3>',
    'return 128 * (ks >> 3) + 32 * tq + 4 * (ks & 7) + e;', 'return 512 + 16 * tq + 4 * (ks - 32) + e;',
    'const int T = 16 * kk + 2 * tq + (k & 1) + 8 * (k >> 1);', 'const uint32_t colOff = 128 * warp + 16 * gq;', 'mul.rn.f16x2']) {
    assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
  }
  for (let p = 0; p < 4; p++) assert.equal(SEL2[p], p | ((8 | p) << 4) | ((4 + p) << 8) | ((12 + p) << 12));
});

test('f16 pairs (bit 512): every byte of either token, every position, every scale of the fast path, equals the reference', () => {
  let checked = 0;
  for (let e = -15; e <= 7; e++) {
    for (const sign of [1, -1]) {
      const bits = f32Bits(sign * 2 ** e);
      assert.ok(scaleFastF16(bits));
      const s2 = (scale16h(bits) | (scale16h(bits) << 16)) >>> 0;
      for (let b = 0; b < 256; b++) {
        if ((b & 0x7f) === 0x7f) continue; // NaN: the exact path (the S phase's check sends the tile there)
        const b1 = (b * 37 + 11) & 0xff;
        for (let p = 0; p < 4; p++) {
          const x = mulF16x2(pairF16((b << (8 * p)) >>> 0, (b1 << (8 * p)) >>> 0, SEL2[p]), s2);
          assert.equal(x & 0xffff, f32ToF16(fp8e4m3ToF32(b) * sign * 2 ** e), `byte ${b} position ${p} scale 2^${e}`);
          if ((b1 & 0x7f) !== 0x7f) assert.equal(x >>> 16, f32ToF16(fp8e4m3ToF32(b1) * sign * 2 ** e), `byte ${b1} (second token)`);
          checked++;
        }
      }
    }
  }
  assert.equal(checked, 23 * 2 * 254 * 4);
  // exact: e4m3 * 2^-15 is a multiple of 2^-24 and 448 * 2^7 < 65504; outside, the fast path is refused
  for (const s of [2 ** -16, 2 ** 8, 1.37, 0, Infinity, NaN, 2 ** -126]) assert.equal(scaleFastF16(f32Bits(s)), false, `scale ${s}`);
});

/** A random V3.2 page (64 tokens x 656 bytes), no NaN bytes, power-of-two scales in the f16 range; its decoded values. */
function randomPage(seed: number) {
  let x = seed >>> 0;
  const rnd = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x; };
  const page = new Uint8Array(64 * 656), view = new DataView(page.buffer);
  const val = (t: number, d: number) => {
    if (d >= 512) return bf16ToF32(view.getUint16(t * 656 + 528 + 2 * (d - 512), true));
    return fp8e4m3ToF32(page[t * 656 + d]) * view.getFloat32(t * 656 + 512 + 4 * (d >> 7), true);
  };
  for (let t = 0; t < 64; t++) {
    for (let d = 0; d < 512; d++) { let b = rnd() & 0xff; if ((b & 0x7f) === 0x7f) b ^= 1; page[t * 656 + d] = b; }
    for (let g = 0; g < 4; g++) view.setFloat32(t * 656 + 512 + 4 * g, (rnd() & 1 ? -1 : 1) * 2 ** ((rnd() % 23) - 15), true);
    for (let d = 0; d < 64; d++) view.setUint16(t * 656 + 528 + 2 * d, f32ToBf16(((rnd() % 2001) - 1000) / 256), true);
  }
  const w32 = (off: number) => view.getUint32(off, true);
  return { page, view, val, w32 };
}

test('S^T operand: every fragment element holds K[key][qDimAlt(ks, k)] (bf16, 64 keys x 36 k-steps, 128 threads)', () => {
  const { val, w32 } = randomPage(7);
  const seen = new Set<number>();
  for (let ks = 0; ks < 36; ks++) for (let c = 0; c < 16; c++) seen.add(qDimAlt(ks, c));
  assert.equal(seen.size, 576);
  for (let warp = 0; warp < 4; warp++) {
    for (let lane = 0; lane < 32; lane++) {
      const gq = lane >> 2, tq = lane & 3, r0 = 16 * warp + gq;
      for (let ks = 0; ks < 36; ks++) {
        const b = ks >> 2, j = ks & 3, a = [0, 0, 0, 0];
        for (let tk = 0; tk < 2; tk++) {
          const base = (r0 + 8 * tk) * 656;
          if (b < 8) { // group b >> 1, half b & 1: word j of the thread's 16 bytes, times the token's scale
            const g = b >> 1, w = w32(base + 128 * g + 32 * tq + 16 * (b & 1) + 4 * j), s = scale16(w32(base + 512 + 4 * g));
            const s2 = (s | (s << 16)) >>> 0;
            a[tk] = mulBf16x2(pairBf16(w, 0, 0x9180), s2);
            a[tk + 2] = mulBf16x2(pairBf16(w, 0, 0xb3a2), s2);
          } else { // RoPE: load j >> 1 (16 bytes at 528 + 32 tq + 16 h), words 2u and 2u + 1
            const u = j & 1, off = base + 528 + 32 * tq + 16 * (j >> 1);
            a[tk] = w32(off + 8 * u);
            a[tk + 2] = w32(off + 8 * u + 4);
          }
        }
        // m64k16 A fragment: a0 (row gq, k 2tq..), a1 (row gq + 8, k 2tq..), a2 (row gq, k 2tq + 8..), a3 (row gq + 8, k 2tq + 8..)
        for (let ri = 0; ri < 4; ri++) {
          const row = r0 + 8 * (ri & 1), k = 2 * tq + 8 * (ri >> 1);
          for (let h = 0; h < 2; h++) {
            const want = f32ToBf16(val(row, qDimAlt(ks, k + h)));
            assert.equal((a[ri] >>> (16 * h)) & 0xffff, want, `warp ${warp} lane ${lane} ks ${ks} reg ${ri}.${h}`);
          }
        }
      }
    }
  }
});

test('O^T operand: every fragment element holds V[key 16kk + k][column 128 warp + 16 gq + 2s + row half] (f16 and bf16)', () => {
  const { val, w32 } = randomPage(11);
  const cols = new Set<number>();
  for (const f16 of [true, false]) {
    for (let warp = 0; warp < 4; warp++) {
      for (let lane = 0; lane < 32; lane++) {
        const gq = lane >> 2, tq = lane & 3, colOff = 128 * warp + 16 * gq;
        for (let kk = 0; kk < 4; kk++) {
          const T = [0, 1, 2, 3].map((k) => 16 * kk + 2 * tq + (k & 1) + 8 * (k >> 1));
          const sc = T.map((t) => (f16 ? scale16h : scale16)(w32(t * 656 + 512 + 4 * warp)));
          const sp01 = (sc[0] | (sc[1] << 16)) >>> 0, sp23 = (sc[2] | (sc[3] << 16)) >>> 0;
          for (let s = 0; s < 8; s++) {
            const x = T.map((t) => w32(t * 656 + colOff + 4 * (s >> 1))), p = 2 * (s & 1);
            const pair = f16 ? pairF16 : pairBf16, mul = f16 ? mulF16x2 : mulBf16x2;
            const a = [mul(pair(x[0], x[1], SEL2[p]), sp01), mul(pair(x[0], x[1], SEL2[p + 1]), sp01),
              mul(pair(x[2], x[3], SEL2[p]), sp23), mul(pair(x[2], x[3], SEL2[p + 1]), sp23)];
            for (let ri = 0; ri < 4; ri++) {
              const col = colOff + 2 * s + (ri & 1), k = 2 * tq + 8 * (ri >> 1); // M row gq + 8 (ri & 1) of slice s
              cols.add(s * 64 + 16 * warp + gq + 8 * (ri & 1) + 512 * col);
              for (let h = 0; h < 2; h++) {
                const v = val(16 * kk + k + h, col);
                const want = f16 ? f32ToF16(v) : f32ToBf16(v);
                assert.equal((a[ri] >>> (16 * h)) & 0xffff, want, `${f16 ? 'f16' : 'bf16'} warp ${warp} lane ${lane} kk ${kk} slice ${s} reg ${ri}.${h}`);
              }
            }
          }
        }
      }
    }
  }
  // slice s, M row m <-> value column: a bijection of the 512 columns onto (8 slices x 64 rows)
  const bySlot = new Map<number, number>();
  for (const v of cols) bySlot.set(v % 512, Math.floor(v / 512));
  assert.equal(bySlot.size, 512);
  assert.equal(new Set(bySlot.values()).size, 512);
});

test('16-byte loads of both phases are free of bank conflicts (8 lanes a phase: distinct 16-byte units mod 128 bytes)', () => {
  for (let warp = 0; warp < 4; warp++) {
    for (let quarter = 0; quarter < 4; quarter++) {
      for (let off = 0; off < 4; off++) {
        const sUnits = new Set<number>(), oUnits = new Set<number>();
        for (let lane = 8 * quarter; lane < 8 * quarter + 8; lane++) {
          const gq = lane >> 2, tq = lane & 3;
          // S phase: token 16 warp + gq (+ 8), bytes 128 g + 32 tq + 16 h (and RoPE 528 + 32 tq + 16 h)
          const sAddr = (16 * warp + gq) * 656 + (off < 2 ? 128 * off + 32 * tq : 528 + 32 * tq + 16 * (off - 2));
          sUnits.add((sAddr % 128) >> 4);
          // O phase: token 16 kk + 2 tq (+ 1, 8, 9), bytes 128 warp + 16 gq
          const oAddr = (16 * off + 2 * tq) * 656 + 128 * warp + 16 * gq;
          oUnits.add((oAddr % 128) >> 4);
        }
        assert.equal(sUnits.size, 8, `S warp ${warp} quarter ${quarter}`);
        assert.equal(oUnits.size, 8, `O warp ${warp} quarter ${quarter}`);
      }
    }
  }
});

test('the alt layout fits the shipped launch', () => {
  const layout = (nr: number) => {
    const raw = 4 * 64 * 656, q = nr * 576 * 2, p = 2 * (2 * nr * 64 * 2), red = 2 * 4 * nr * 4, ml = 3 * nr * 4;
    return raw + q + p + red + ml + 16 * 4 + 1024;
  };
  for (const nr of [16, 32] as const) {
    assert.ok(layout(nr) <= denseFp8Sm90Smem(nr), `rows ${nr}: ${layout(nr)} <= ${denseFp8Sm90Smem(nr)}`);
    assert.ok(4 * (nr / 8) * 4 * 128 * 4 + nr * 4 <= nr * 576 * 2, 'the merge exchange fits in Q^T');
  }
  assert.ok(src.includes('static_assert(mla::dfp8::AltLayout<16>::SMEM <= 231984 && mla::dfp8::AltLayout<32>::SMEM <= 229408'));
});

/** The kernel's NaN-byte screen of four words: bit 7 of a byte set where that byte of some word is S.1111.111. */
const nanBytes = (ws: number[]) => ws.reduce((acc, w) => (acc | (((w & 0x7f7f7f7f) + 0x01010101) >>> 0)) >>> 0, 0);
const scaleFastAlt = scaleFastF16; // with bit 512 (the shipped 1600 and every candidate): 2^-15 .. 2^7

test('bit 8192: the screening warps (96 threads) decide the fast path exactly as the S phase vote does', () => {
  for (const s of ['for (int tk = st >> 5; tk < live; tk += 3) nan |= nanBytes(lds128(raw + tk * kTok + 16 * (st & 31)));',
    'sc = lds128(raw + st * kTok + 512);', 'ok = scaleFast(sc.x) && scaleFast(sc.y) && scaleFast(sc.z) && scaleFast(sc.w);',
    'const int live = min(kBN, itm.tileEnd - (itm.kBegin + t * kBN)); // as the consumer\'s', 'bad = (f.x | f.y | f.z) != 0;',
    "screen(p, meta, beginIdx, endIdx, rawBase, fullBar, base + L::CK_OFF, static_cast<int>(threadIdx.x) - 288);",
    'return (!dead0 && !ok0) || (!dead1 && !ok1) || (((dead0 ? 0u : nan0) | (dead1 ? 0u : nan1)) & 0x80808080u) != 0;']) {
    assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
  }
  let x = 12345;
  const rnd = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x; };
  let fast = 0, slow = 0;
  for (let trial = 0; trial < 200; trial++) {
    const page = new Uint8Array(64 * 656), view = new DataView(page.buffer);
    for (let i = 0; i < page.length; i++) { let b = rnd() & 0xff; if ((b & 0x7f) === 0x7f) b ^= 1; page[i] = b; }
    for (let t = 0; t < 64; t++) for (let g = 0; g < 4; g++) view.setFloat32(t * 656 + 512 + 4 * g, (rnd() & 1 ? -1 : 1) * 2 ** ((rnd() % 23) - 15), true);
    const live = trial % 3 === 0 ? 64 : 1 + (rnd() % 64);
    // the faults: a NaN byte or an odd scale, in a live or a dead token (dead ones must not count), or none
    const kind = trial % 5;
    const tok = kind === 4 || (trial & 8) === 0 || live === 64 ? rnd() % live : live + (rnd() % (64 - live));
    if (kind === 1) page[tok * 656 + (rnd() % 512)] |= 0x7f;
    if (kind === 2) view.setFloat32(tok * 656 + 512 + 4 * (rnd() % 4), [1.37, 2 ** 9, 2 ** -20, NaN, Infinity, 0][rnd() % 6], true);
    if (kind === 3) for (let t = live; t < 64; t++) for (let d = 0; d < 656; d++) page[t * 656 + d] = 0xff; // NaN-poisoned dead tokens
    const w32 = (off: number) => view.getUint32(off, true);
    // The S phase (bit 8192 off): thread (warp, gq, tq) checks tokens 16 warp + gq (+ 8): 32 bytes of each NoPE group
    // (two 16-byte loads, b = 0..7) and the group's scale; the vote is the OR over the 128 threads.
    let vote = false;
    for (let warp = 0; warp < 4; warp++) for (let lane = 0; lane < 32; lane++) {
      const gq = lane >> 2, tq = lane & 3, r0 = 16 * warp + gq;
      const dead0 = r0 >= live, dead1 = r0 + 8 >= live;
      let nan0 = 0, nan1 = 0, ok0 = true, ok1 = true;
      for (let b = 0; b < 8; b++) {
        const off = 128 * (b >> 1) + 32 * tq + 16 * (b & 1);
        nan0 |= nanBytes([0, 4, 8, 12].map((k) => w32(r0 * 656 + off + k)));
        nan1 |= nanBytes([0, 4, 8, 12].map((k) => w32((r0 + 8) * 656 + off + k)));
        if ((b & 1) === 0) {
          ok0 = ok0 && scaleFastAlt(w32(r0 * 656 + 512 + 4 * (b >> 1)));
          ok1 = ok1 && scaleFastAlt(w32((r0 + 8) * 656 + 512 + 4 * (b >> 1)));
        }
      }
      vote ||= (!dead0 && !ok0) || (!dead1 && !ok1) || (((dead0 ? 0 : nan0) | (dead1 ? 0 : nan1)) & 0x80808080) !== 0;
    }
    // The screening warps: thread st = 0..95 takes column st % 32 of tokens st / 32, + 3, .. < live, and token st's scales.
    const units = new Uint8Array(64 * 32);
    const warpBad = [false, false, false];
    for (let st = 0; st < 96; st++) {
      let nan = 0, ok = true;
      for (let tk = st >> 5; tk < live; tk += 3) { // unit u = 32 tk + st % 32 = st + 96 j
        units[32 * tk + (st & 31)]++;
        nan |= nanBytes([0, 4, 8, 12].map((k) => w32(tk * 656 + 16 * (st & 31) + k)));
      }
      if (st < live) ok = [0, 1, 2, 3].every((g) => scaleFastAlt(w32(st * 656 + 512 + 4 * g)));
      warpBad[st >> 5] ||= (nan & 0x80808080) !== 0 || !ok;
    }
    for (let u = 0; u < 64 * 32; u++) assert.equal(units[u], u < 32 * live ? 1 : 0, `unit ${u} (live ${live})`);
    const bad = warpBad[0] || warpBad[1] || warpBad[2];
    assert.equal(bad, vote, `trial ${trial}: kind ${kind}, live ${live}, token ${tok}`);
    // and both equal the definition: some live token has a NaN NoPE byte or a scale the fast path does not take
    let want = false;
    for (let t = 0; t < live; t++) {
      for (let d = 0; d < 512; d++) want ||= (page[t * 656 + d] & 0x7f) === 0x7f;
      for (let g = 0; g < 4; g++) want ||= !scaleFastAlt(w32(t * 656 + 512 + 4 * g));
    }
    assert.equal(bad, want, `trial ${trial}`);
    if (bad) slow++; else fast++;
  }
  assert.ok(fast > 50 && slow > 50, `both outcomes exercised (${fast} fast, ${slow} slow)`);
});

test('bits 8192 and 16384: the checked barriers, flags and scale arrays fit the launch', () => {
  // everything on: the raw ring, Q^T, P^T, red, ml, full / empty, bit 2048's maxima, bit 8192's barriers and flags, bit 16384's scale arrays
  // (and since session 31 the consumer warpgroups' exact-path mbarriers: 8 bytes each, three at most, 8-byte aligned)
  const layout = (nr: number) => 4 * 64 * 656 + nr * 576 * 2 + 2 * (2 * nr * 64 * 2) + 2 * 4 * nr * 4 + 3 * nr * 4 + 16 * 4 + 2 * 2 * nr * 4 + 4 * 8 + 4 * 16 + 4 * 1024 + 8 + 3 * 8 + 1024;
  for (const nr of [16, 32] as const) assert.ok(layout(nr) <= denseFp8Sm90Smem(nr), `rows ${nr}: ${layout(nr)} <= ${denseFp8Sm90Smem(nr)}`);
  for (const s of ['static constexpr int CKF_OFF = (CK_OFF + 8 * RAW_SLOTS + 15) / 16 * 16;',
    'static constexpr int SC_OFF = kAltScan ? CKF_OFF + 16 * RAW_SLOTS : CK_OFF;',
    'static constexpr int EX_OFF = (SC_OFF + (kAltScanSc ? 1024 * RAW_SLOTS : 0) + 7) / 8 * 8;',
    'static constexpr int SMEM = EX_OFF + 8 * NCW + 1024;']) assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
});

test('bits 8192 and 16384: the flags (one 16-byte load a slot) are 16-byte aligned with 4 slots and with 3 (bit 72057594037927936)', () => {
  // AltLayout<nr> of the second pass (n32: bits 2048, 8192, 16384; two consumer warpgroups) with rs raw slots. Session 21's
  // F read the flags at CK_OFF + 8 rs, 8 mod 16 with 3 slots (CUDA_ERROR_MISALIGNED_ADDRESS); CKF_OFF rounds it up.
  const alt = (nr: number, rs: number) => {
    const qOff = rs * 64 * 656, pOff = qOff + nr * 576 * 2, redOff = pOff + 2 * (2 * nr * 64 * 2), mlOff = redOff + 2 * 4 * nr * 4;
    const barOff = mlOff + 3 * nr * 4, msOff = barOff + 8 * (rs + rs), ckOff = msOff + 2 * 2 * nr * 4;
    const old = ckOff + 8 * rs, ckf = Math.ceil((ckOff + 8 * rs) / 16) * 16, sc = ckf + 16 * rs;
    return { ckOff, old, ckf, sc, oldSc: ckOff + 24 * rs };
  };
  for (const nr of [16, 32]) {
    const a4 = alt(nr, 4);
    assert.equal(a4.ckf, a4.old, `rows ${nr}, 4 slots: the flags where they were (the default build unchanged)`);
    assert.equal(a4.sc, a4.oldSc, `rows ${nr}, 4 slots: the scale arrays where they were`);
    assert.equal(a4.ckf % 16, 0);
  }
  const a3 = alt(32, 3);
  assert.equal(a3.old % 16, 8, 'the fault: 3 slots put the flags at 8 mod 16');
  assert.equal(a3.ckf % 16, 0, 'CKF_OFF: 16-byte aligned with 3 slots');
  assert.equal(a3.ckf + 16 * 3 <= a3.sc, true);
  assert.equal(a3.ckOff + 8 * 3 <= a3.ckf, true, 'the checked barriers before the flags');
  for (const s of ['const uint4 f = lds128(base + L::CKF_OFF + 16 * slot);',
    'stShared(ck + (L::CKF_OFF - L::CK_OFF) + 16 * slot + 4 * w, static_cast<uint32_t>(bad));',
    'static_assert(CKF_OFF % 16 == 0 && SC_OFF % 16 == 0,']) assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
});

test('bit 16384: the scale arrays the screening warps write give each consumer thread the operands it computed before', () => {
  for (const s of ['sts16(scs + 128 * g, static_cast<uint16_t>(st < live ? scale16(sb) : 0u));',
    'sts16(scs + 512 + 128 * g, static_cast<uint16_t>(st < live ? (kAltF16 ? scale16h(sb) : scale16(sb)) : 0u));',
    'const uint32_t scs = ck + (L::SC_OFF - L::CK_OFF) + 1024 * slot + 2 * st;', 'const uint32_t scs = base + L::SC_OFF + 1024 * slot;',
    'return kAltScanSc ? lds16u(scs + 2 * (64 * g + r)) : lds32(tokA + 512 + 4 * g);',
    'if ((k & 1) == 0) sc[k] = lds32(scs + 512 + 2 * (64 * warp + T));', 'if (kAltScanSc) s0 = cs0 * 0x10001u, s1 = cs1 * 0x10001u;',
    'static constexpr int SC_OFF = kAltScan ? CKF_OFF + 16 * RAW_SLOTS : CK_OFF;']) {
    assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
  }
  const { view, w32 } = randomPage(23);
  for (const live of [64, 37, 1]) {
    const arr = new DataView(new ArrayBuffer(1024)); // one slot's arrays: S scales [4][64] bf16, then V scales [4][64] f16
    for (let st = 0; st < 64; st++) for (let g = 0; g < 4; g++) {
      const sb = w32(st * 656 + 512 + 4 * g);
      arr.setUint16(2 * st + 128 * g, st < live ? scale16(sb) : 0, true);
      arr.setUint16(2 * st + 512 + 128 * g, st < live ? scale16h(sb) : 0, true);
    }
    for (let warp = 0; warp < 4; warp++) for (let lane = 0; lane < 32; lane++) {
      const gq = lane >> 2, tq = lane & 3, r0 = 16 * warp + gq;
      for (let g = 0; g < 4; g++) for (const r of [r0, r0 + 8]) { // the S phase: bf16 of scale * 2^120 (live tokens; dead rows are masked)
        if (r < live) assert.equal(arr.getUint16(2 * (64 * g + r), true), scale16(w32(r * 656 + 512 + 4 * g)));
      }
      for (let kk = 0; kk < 4; kk++) { // the O phase: sp01 / sp23 as the per-thread conversion built them (dead tokens 0)
        const T = [0, 1, 2, 3].map((k) => 16 * kk + 2 * tq + (k & 1) + 8 * (k >> 1));
        const s = T.map((t) => (t >= live ? 0 : scale16h(w32(t * 656 + 512 + 4 * warp))));
        assert.equal(arr.getUint32(512 + 2 * (64 * warp + T[0]), true), (s[0] | (s[1] << 16)) >>> 0, `warp ${warp} lane ${lane} kk ${kk} sp01 (live ${live})`);
        assert.equal(arr.getUint32(512 + 2 * (64 * warp + T[2]), true), (s[2] | (s[3] << 16)) >>> 0, `sp23`);
      }
    }
  }
  void view;
});

test('bit 2147483648: the cp.async Q^T fill copies each (row, k-step, pair) of the loop it replaces once, from the same cache dims', () => {
  for (const s of ['const int r = tq0 % NR, pr0 = tq0 / NR;', 'for (int k = 0; k < NR * 36 * 8 / 256; ++k) {',
    'const int pr = pr0 + 256 / NR * k, ks = pr / 8, c2 = 2 * (pr % 8);', 'cp.async.ca.shared.global [%0], [%1], 4, %2;',
    '"r"(qBase + canonOff<NR>(r, 16 * ks + c2)), "l"(qr + qDimAlt(ks, c2)), "r"(nb)', 'const uint32_t nb = on ? 4u : 0u;',
    'const int r = e % NR, pr = e / NR, ks = pr / 8, c2 = 2 * (pr % 8);', 'for (int e = threadIdx.x; e < NR * 36 * 8; e += 256) {',
    '#if MLA_DENSE_FP8_VAR & 2147483648\n#define MLA_DFP8_P2E 2147483648']) {
    assert.ok(src.includes(s), `dense_fp8_sm90.cu contains ${s}`);
  }
  const canonOff = (nr: number, n: number, k: number) => ((k >> 3) * nr + n) * 16 + (k & 7) * 2; // sm90_narrow.cuh
  for (const nr of [16, 32]) {
    // the old loop: element e of 0 .. nr * 288 - 1 (256 consumer threads), one 4-byte word each
    const old = new Map<number, string>();
    for (let e = 0; e < nr * 36 * 8; e++) {
      const r = e % nr, pr = Math.floor(e / nr), ks = pr >> 3, c2 = 2 * (pr % 8);
      old.set(canonOff(nr, r, 16 * ks + c2), `${r}:${qDimAlt(ks, c2)}`);
    }
    assert.equal(old.size, nr * 288, 'the old loop writes every word of Q^T once');
    const seen = new Map<number, string>();
    for (let t = 0; t < 256; t++) {
      const r = t % nr, pr0 = Math.floor(t / nr);
      for (let k = 0; k < (nr * 36 * 8) / 256; k++) {
        const pr = pr0 + (256 / nr) * k, ks = pr >> 3, c2 = 2 * (pr % 8), dst = canonOff(nr, r, 16 * ks + c2);
        assert.ok(!seen.has(dst), `rows ${nr}: thread ${t} copy ${k} writes word ${dst} a second time`);
        assert.ok(qDimAlt(ks, c2) % 2 === 0 && ks < 36, 'a 4-byte aligned source pair inside the row');
        seen.set(dst, `${r}:${qDimAlt(ks, c2)}`);
      }
    }
    assert.deepEqual(seen, old, `rows ${nr}: the same words from the same (row, dim)`);
  }
});

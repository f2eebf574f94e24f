#!/usr/bin/env python3
"""Offline (CPU, numpy) check of dense_fp8_sm90.cu bit 140737488355328, the O side by cvt (docs/notes/cuda-dense-fp8.md,
"Session 20 (helper s20-h3)"): on a fast tile the new A registers equal the shipped ones (bit 512's bit trick) bit for bit.
Shipped: per register prmt (SEL 0xC480 / 0xD591 / 0xE6A2 / 0xF7B3: a byte of each key and its sign copy), (x << 7) &
0xbf80bf80 (f16 of e4m3 x 2^-8), mul.rn.f16x2 by the keys' pair of f16(scale x 2^8) (scale16h; dead keys 0).
New: prmt 0x5140 (bytes 0, 1) / 0x7362 (bytes 2, 3) of the two keys' words, cvt.rn.f16x2.e4m3x2 of each half, mul.rn.f16x2
by the pair of f16(scale) (__float2half_rn; dead keys 0) after the dead keys' words were zeroed.
Covered: every byte pair of the two keys at each of the 4 byte positions, both halves of the slice pair, every fast
scale (+-2^-15 .. +-2^7) for each key, dead keys (either or both, their bytes anything, NaN included): new == shipped
except the sign of a dead key's zero (shipped -0 for a negative byte, new +0: the product P x 0 adds nothing either way),
and a live NaN byte (the tile takes the exact path, as before). python3 bench/cuda/dense-fp8/s20_h3_ocheck.py"""
import numpy as np


def prmt(a, b, sel):  # PTX prmt.b32 default mode, vectorized over uint32 arrays
    src = (b.astype(np.uint64) << 32) | a.astype(np.uint64)
    out = np.zeros(a.shape, np.uint64)
    for i in range(4):
        n = (sel >> (4 * i)) & 15
        byte = (src >> np.uint64(8 * (n & 7))) & np.uint64(0xFF)
        if n & 8:
            byte = np.where(byte & np.uint64(0x80), np.uint64(0xFF), np.uint64(0))
        out |= byte << np.uint64(8 * i)
    return out.astype(np.uint32)


E4M3 = np.zeros(256)
for v in range(256):
    s = -1.0 if v & 0x80 else 1.0
    e, m = (v >> 3) & 15, v & 7
    E4M3[v] = np.nan if (e == 15 and m == 7) else s * (m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))


def cvt_e4m3x2(h16):  # cvt.rn.f16x2.e4m3x2: low byte -> low f16, high byte -> high f16 (exact, NaN stays NaN)
    lo = E4M3[h16 & 0xFF].astype(np.float16).view(np.uint16).astype(np.uint32)
    hi = E4M3[(h16 >> 8) & 0xFF].astype(np.float16).view(np.uint16).astype(np.uint32)
    return lo | (hi << 16)


def mul_f16x2(a, b):  # mul.rn.f16x2 (the product of two f16 is exact in f32: one rounding)
    def half(x, k):
        return ((x >> (16 * k)) & 0xFFFF).astype(np.uint16).view(np.float16).astype(np.float32)
    with np.errstate(all="ignore"):
        lo = (half(a, 0) * half(b, 0)).astype(np.float16).view(np.uint16).astype(np.uint32)
        hi = (half(a, 1) * half(b, 1)).astype(np.float16).view(np.uint16).astype(np.uint32)
    return lo | (hi << 16)


def f32bits(x):
    return np.array(x, np.float32).view(np.uint32).astype(np.uint32)


def scale16h(sb):  # the shipped f16 of (f32 scale) x 2^8
    return ((sb >> 16) & 0x8000) | ((((sb >> 23) & 0xFF) - 104) << 10) & 0xFFFF


def scale_f16(sb):  # the new f16(scale) (__float2half_rn)
    return sb.view(np.float32).astype(np.float16).view(np.uint16).astype(np.uint32)


def same_or_dead_zero(new, old, dead0, dead1):
    """new == old per half, except a dead key's half where old is -0 and new +0"""
    ok = np.ones(new.shape, bool)
    for k, dead in ((0, dead0), (1, dead1)):
        n, o = (new >> (16 * k)) & 0xFFFF, (old >> (16 * k)) & 0xFFFF
        ok &= (n == o) | (dead & (n == 0) & (o == 0x8000))
    return ok


import sys
STEP = int(sys.argv[1]) if len(sys.argv) > 1 else 1  # (scale pairs: every key-0 scale, every 7th key-1 scale)
rng = np.random.default_rng(20)
bp = np.arange(65536, dtype=np.uint32)
b0, b1 = bp & 0xFF, bp >> 8  # key 0's byte, key 1's byte
scales = [s * 2.0 ** k for k in range(-15, 8) for s in (1.0, -1.0)]
sbs = f32bits(scales)
# the shipped selectors of a[0] / a[1] (slice s even: bytes 0, 1; odd: bytes 2, 3) and the new one
cases = [(0, 0xC480, 0xD591, 0x5140), (2, 0xE6A2, 0xF7B3, 0x7362)]
checked = mism = nanlive = 0
for d, sel0, sel1, seln in cases:
    for pos_other in range(2):  # the other bytes of the words: random, or NaN bytes (0x7f / 0xff)
        fill0 = rng.integers(0, 2 ** 32, 65536, dtype=np.uint64).astype(np.uint32) if pos_other == 0 else np.full(65536, 0x7F7F7F7F, np.uint32)
        fill1 = rng.integers(0, 2 ** 32, 65536, dtype=np.uint64).astype(np.uint32) if pos_other == 0 else np.full(65536, 0xFFFFFFFF, np.uint32)
        for x in (0, 1):  # which column of the pair carries the enumerated bytes (byte d or d + 1)
            sh = 8 * (d + x)
            m = np.uint32(~(0xFF << sh) & 0xFFFFFFFF)
            x0 = (fill0 & m) | (b0 << sh)
            x1 = (fill1 & m) | (b1 << sh)
            live = ~(np.isnan(E4M3[b0]) | np.isnan(E4M3[b1]))
            nanlive += int(np.sum(~live))
            for si in range(0, len(sbs), STEP):
                for sj in range(si % 7, len(sbs), 7 * STEP):
                    for dead0, dead1 in ((False, False), (True, False), (False, True), (True, True)):
                        s0 = np.uint32(0) if dead0 else sbs[si]
                        s1 = np.uint32(0) if dead1 else sbs[sj]
                        spo = (np.uint32(0) if dead0 else scale16h(sbs[si])) | ((np.uint32(0) if dead1 else scale16h(sbs[sj])) << 16)
                        spn = (np.uint32(0) if dead0 else scale_f16(np.array([sbs[si]]))[0]) | ((np.uint32(0) if dead1 else scale_f16(np.array([sbs[sj]]))[0]) << 16)
                        old = mul_f16x2((prmt(x0, x1, sel0 if x == 0 else sel1) << 7) & 0xBF80BF80, np.uint32(spo))
                        z0 = np.zeros_like(x0) if dead0 else x0
                        z1 = np.zeros_like(x1) if dead1 else x1
                        y = prmt(z0, z1, seln)
                        new = mul_f16x2(cvt_e4m3x2((y >> (16 * x)) & 0xFFFF), np.uint32(spn))
                        # the cases the fast path runs: live keys' bytes not NaN (a dead key's byte may be anything)
                        run = ((np.isnan(E4M3[b0]) == False) | dead0) & ((np.isnan(E4M3[b1]) == False) | dead1)
                        ok = same_or_dead_zero(new, old, dead0, dead1)
                        # and the value itself: e4m3 x scale per half, 0 for a dead key
                        want0 = np.where(dead0, 0.0, E4M3[b0] * np.array(sbs[si]).view(np.float32))
                        want1 = np.where(dead1, 0.0, E4M3[b1] * np.array(sbs[sj]).view(np.float32))
                        got0 = (new & 0xFFFF).astype(np.uint16).view(np.float16).astype(np.float64)
                        got1 = (new >> 16).astype(np.uint16).view(np.float16).astype(np.float64)
                        ok &= (got0 == want0) & (got1 == want1)
                        checked += int(np.sum(run))
                        mism += int(np.sum(run & ~ok))
print(f"O-side registers checked (fast-path cases): {checked}, new != shipped or != e4m3 x scale: {mism}")
# f16(scale) of the fast path's scales: exact, 2^-15 the only subnormal
fs = scale_f16(sbs).astype(np.uint16).view(np.float16).astype(np.float64)
print("f16(scale) exact for +-2^-15 .. +-2^7:", bool(np.all(fs == np.array(scales))), "| f16(2^-15) bits", hex(int(scale_f16(f32bits([2.0 ** -15]))[0])))
assert mism == 0 and np.all(fs == np.array(scales))
print("OK")

#!/usr/bin/env python3
"""Offline (CPU, numpy) checks of the exactness claims of dense_fp8_sm90.cu bit 35184372088832, the f16 score path
(docs/notes/cuda-dense-fp8.md, "Session 19 (helper s19-h3)", round 2): e4m3 -> f16 exact; f16(e4m3) x f16(scale) exact for
the fast path's power-of-two scales 2^-15 .. 2^7; bf16 q -> f16 exact in [2^-14, 2^15), at most 2^-25 off below; the fit
test on bf16 bits; the rescale exponent keeps every finite q 2^-e under 2^15.  python3 bench/cuda/dense-fp8/s19_h3_f16check.py"""
import numpy as np
def e4m3(b):  # value of an e4m3 byte (NaN for S.1111.111)
    s = -1.0 if b & 0x80 else 1.0; e = (b >> 3) & 15; m = b & 7
    if e == 15 and m == 7: return float('nan')
    return s * (m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))
vals = np.array([e4m3(b) for b in range(256)])
fin = ~np.isnan(vals)
# 1. e4m3 -> f16 exact (what cvt.rn.f16x2.e4m3x2 returns)
assert np.all(vals[fin].astype(np.float16).astype(np.float64) == vals[fin]); print("e4m3 -> f16 exact: 254 finite bytes")
# 2. f16(e4m3) * f16(scale) exact for every power-of-two scale 2^-15 .. 2^7 (the fast path's scales)
bad = 0
for k in range(-15, 8):
    sc = np.float16(2.0 ** k); assert float(sc) == 2.0 ** k
    prod = (vals[fin].astype(np.float16) * sc).astype(np.float64)
    bad += int(np.sum(prod != vals[fin] * 2.0 ** k))
print("f16 products e4m3 x 2^k, k = -15..7, inexact:", bad, "| largest", np.nanmax(np.abs(vals)) * 2 ** 7, "smallest", 2.0 ** -9 * 2 ** -15)
# 3. bf16 -> f16: exact for 2^-14 <= |q| < 2^15; below, error <= 2^-25
bits = np.arange(65536, dtype=np.uint32)
with np.errstate(all="ignore"):
    q = (bits << 16).view(np.float32).astype(np.float64)
ok = np.isfinite(q)
with np.errstate(all="ignore"):
    h = q[ok].astype(np.float32).astype(np.float16).astype(np.float64)
a = np.abs(q[ok])
inr = (a >= 2.0 ** -14) & (a < 2.0 ** 15)
print("bf16 -> f16 exact in [2^-14, 2^15):", bool(np.all(h[inr] == q[ok][inr])), "| max error below 2^-14:", np.max(np.abs(h - q[ok])[a < 2.0 ** -14]), "(2^-25 =", 2.0 ** -25, ")")
# 4. fit test: qFit = max bf16 magnitude bits < 142 << 7  <=>  |q| < 2^15
mag = bits & 0x7fff
print("fit test == |q| < 2^15 (finite):", bool(np.all((mag[:32768] < (142 << 7)) == (np.abs(q[:32768]) < 2.0 ** 15))))
# 5. rescale: e = max(0, E - 141) with E the largest finite bf16 exponent field: every finite q 2^-e < 2^15
worst = 0.0
for E in range(1, 255):
    e = max(0, E - 141); mx = (2.0 - 2.0 ** -7) * 2.0 ** (E - 127)
    worst = max(worst, mx * 2.0 ** -e)
print("largest q 2^-e after the rescale:", worst, "< 2^15:", worst < 2 ** 15, "| 2^e as f32 for e <= 113:", 2.0 ** 113 < 3.4e38)

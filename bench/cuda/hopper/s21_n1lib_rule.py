#!/usr/bin/env python3
"""Session 21 n1, the lead's library A/B: the ≤ 32-row kernel's lazy reference maximum (decode_sm90.cu kNVarLazy, the
library's bits 11 -> 75) through the package, written in docs/notes/cuda-hopper-decode.md ("Session 21 (n1), the library
A/B") before its run.

  python3 bench/cuda/hopper/s21_n1lib_rule.py DIR          (s21_n1lib_slot.sh's work folder)

Arms: A = dist/cuda (decode_sm90.fatbin of bits 11), N = dist/cuda with the bits-75 build (manifest rehashed). DIR holds
sm90.tap and cuda.tap (through N), san-{memcheck,synccheck}.{txt,rc} (flashmla bench --check 2 of s21_n1lib_san.json
through N) and bench-A-<n>.json / bench-N-<n>.json (s21_n1lib_configs.json: six 32-row rows, three 16-row rows, b=1,
uneven at 32 rows). SHIP x75 when every check passed, each arm ran >= 2 times, the geometric mean of N / A over the six
32-row b=128 rows is <= 0.970, every 16-row row <= 1.005, and b=1 and the uneven batch <= 1.010.
Last line: SHIP x75 (...) or KEEP x11 (...).
"""
import math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s19_h5r5_rule import checks, ratios  # noqa: E402

NAMES = ("8192 h32 s1", "8192 h16 s2", "4096 h32 s1", "4096 h16 s2", "1024 h32 s1", "1024 h16 s2",
         "8192 h16 s1", "4096 h16 s1", "1024 h16 s1", "b=1 s_k 32768", "uneven 32 rows")
LIMITS = (1.01,) * 6 + (1.005,) * 3 + (1.01,) * 2
GEO = 0.970


def decide(d, out=print):
    fails, a, n = checks(d, ("sm90", "cuda"), len(NAMES), out)
    if len(a) < 2 or len(n) < 2:
        fails.append("too few bench runs (A %d, N %d of 2)" % (len(a), len(n)))
        return "KEEP x11 (" + "; ".join(fails[:3]) + ")"
    out("library bench (us, each run), N / A:")
    qs = ratios(a, n, NAMES, LIMITS, fails, out)
    geo = math.exp(sum(math.log(q) for q in qs[:6]) / 6)
    out("geometric mean of the six 32-row rows: %.4f (limit %.3f)" % (geo, GEO))
    if geo > GEO:
        fails.append("32-row geomean %.4f > %.3f" % (geo, GEO))
    if fails:
        return "KEEP x11 (" + "; ".join(fails[:3]) + ")"
    return "SHIP x75 (checks pass; 32-row geomean %.4f, 16-row worst %.3f)" % (geo, max(qs[6:9]))


if __name__ == "__main__":
    print(decide(sys.argv[1]))

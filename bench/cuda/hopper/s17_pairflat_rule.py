#!/usr/bin/env python3
"""The ship rule of sparse_sm90.cu's bits 60 / 61 (the pair entries' straight-line store phase), written in
docs/notes/cuda-sparse-decode.md ("Session 16, after the device time: bits 60 / 61") before any run; s17_pairflat_slot.sh's
last step. Reuses s16_h2_rule.py's helpers (check lines, build times, the per-class test).

  python3 bench/cuda/hopper/s17_pairflat_rule.py AB12.json AB.txt

AB12.json: sparse-sm90-final-ab.js --json on FlashMLA's 12 shapes (shipped and the candidate 4472673940909383688);
AB.txt: sparse-sm90-final-ab.sh's stdout (check lines). Per pair class (V3.2: its four h_q 128 shapes; MODEL1 h_q 128: its
four), the class's bit ships if the candidate passed its checks, the class geomean is >= 0.5 % faster than shipped and no
shape of the class > 0.5 % slower; KEEP if a one-CTA shape (shipped's code) moves > 1.5 % (noise).
Last line: SHIP <mode> (...) or KEEP 1013909427088842760 (...).
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, qualifies, times  # noqa: E402

SHIPPED = 1013909427088842760
B60, B61 = 1 << 60, 1 << 61
CAND = SHIPPED + B60 + B61


def decide(ab12, ab_txt, out=print, shipped=SHIPPED, cand=CAND, bits=(B60, B61), what="bits 60 / 61", mem=None):
    """bits: the V3.2 pair class's bit and the MODEL1 pair class's (one build, cand, carries both; each class's entries are
    code-identical to the build with its bit alone). mem: memcheck's error count on cand (None: not run); errors: KEEP.
    Session 18's s18_h2_rule.py calls it for bits 56 / 55."""
    SHIPPED, CAND = shipped, cand
    shapes = ab12.get("shapes", [])
    a, c = times(ab12, "shipped"), times(ab12, "m%d" % CAND)
    if not a or not c or len(a) != len(shapes) or len(c) != len(shapes):
        out("KEEP %d (timing incomplete)" % SHIPPED)
        return SHIPPED
    r = [c[i] / a[i] for i in range(len(shapes))]
    ok = checks_ok(ab_txt, CAND) and not mem
    out("checks %s | time / shipped: %s" % ("pass" if ok else "FAIL/missing", " ".join("%.3f" % x for x in r)))
    one = [i for i, s in enumerate(shapes) if " h64 " in s]
    noise = max(abs(r[i] - 1) for i in one) > 0.015
    out("one-CTA (same code): max |1 - r| %.4f%s" % (max(abs(r[i] - 1) for i in one), " NOISE" if noise else ""))
    mode = SHIPPED
    for name, prefix, bit in (("V3.2 pair", "V3.2", bits[0]), ("MODEL1 pair", "M1", bits[1])):
        ix = [i for i, s in enumerate(shapes) if s.startswith(prefix) and " h128 " in s]
        q = ok and not noise and qualifies([r[i] for i in ix])
        out("%s: geomean %.4f max %.4f -> %s" % (name, gm([r[i] for i in ix]), max(r[i] for i in ix), "qualifies" if q else "no"))
        if q:
            mode += bit
    out("SHIP %d (%s as qualified)" % (mode, what) if mode != SHIPPED else "KEEP %d (no class qualifies%s)" % (SHIPPED, "; memcheck: %d errors" % mem if mem else ""))
    return mode


if __name__ == "__main__":
    try:
        ab12 = json.load(open(sys.argv[1]))
    except Exception as e:  # no timing file: the A/B did not get that far
        print("KEEP %d (no timing: %s)" % (SHIPPED, e))
        sys.exit()
    decide(ab12, open(sys.argv[2]).read())

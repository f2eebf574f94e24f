#!/usr/bin/env python3
"""Session 20, helper s20-s1: the rule of s20_s1_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 20, helper
s20-s1") before any run.

  python3 bench/cuda/hopper/s20_s1_rule.py AB.txt OUT_DIR M1PAIR_1.json M1PAIR_2.json [M1ITEMS.json]      # or --self-test

Bit 4 (m6881325685400201752 = the shipped 6881325685400201736 + 16: the MODEL1 pair producer's e4m3 -> bf16 conversions by
bit operations, dq4x) changes only the MODEL1 pair entries. It counts only if its checks passed (AB.txt: goldens all,
both precisions, random sm90 cases at h_q 64 / 128, 0 failures), memcheck at h_q 128 ended with 0 errors
(OUT_DIR/san128) and sparse-sm90-bitexact.js found every case's out / lse bytes identical to shipped's
(OUT_DIR/bitexact.txt: `bitexact: N of N identical`). It qualifies when the two --shapes m1pair runs (3 rounds of 10 each; run 1 shipped first, run 2 the
candidate first) give
  - the four MODEL1 pair shapes a pooled geomean time / shipped <= 0.99 (each shape: the mean of its two runs' ratios),
  - no pooled shape > 1.005, each run's own geomean <= 0.995,
  - the guard (MODEL1 h_q 64 k1024, a one-CTA entry: the same code) within 1.5 % in each run (else noise: KEEP).
M1ITEMS.json (the item fit, logged only): us a tile and an item per build (s19_h2r3_rule.items).
Last line: SHIP 6881325685400201752 (...) or KEEP 6881325685400201736 (...).
S20_RULE_BIT=6 (s20_s2_slot.sh): the same rule for bit 6 (m6881325685400201800, the MODEL1 pair producer's division by a
magic number and one index load a round): CAND = shipped + 2^S20_RULE_BIT, the lines name that bit.
"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s19_h2r3_rule import items  # noqa: E402

SHIPPED = 6881325685400201736
BIT = int(os.environ.get("S20_RULE_BIT", "4"))
CAND = SHIPPED + (1 << BIT)
NAME = "bit %d" % BIT
GM_MAX, ONE_MAX, RUN_MAX, GUARD = 0.99, 1.005, 0.995, 0.015


def bitexact(d):
    """(identical, cases) from OUT_DIR/bitexact.txt, None if it did not finish."""
    f = os.path.join(d or "", "bitexact.txt")
    m = re.search(r"^bitexact: (\d+) of (\d+) identical", open(f, errors="replace").read(), re.M) if d and os.path.exists(f) else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def decide(ab_txt, d, j1=None, j2=None, m1i=None, out=print):
    if m1i:
        items(m1i, out, CAND, NAME)
    else:
        out("item probe: not timed")
    ok = checks_ok(ab_txt, CAND)
    m128 = memcheck(os.path.join(d, "san128") if d else None, CAND)
    bx = bitexact(d)
    counts = ok and m128 == 0 and bx is not None and bx[1] > 0 and bx[0] == bx[1]
    out("%s m%d: checks %s | memcheck h_q 128 %s | bitexact %s -> %s" % (
        NAME, CAND, "pass" if ok else "FAIL/missing", "not finished" if m128 is None else "%d errors" % m128,
        "not finished" if bx is None else "%d of %d identical" % bx,
        "counts" if counts else "does not count"))
    runs, noisy = [], False
    for k, j in enumerate((j1, j2)):
        sp, cp = times(j or {}, "shipped"), times(j or {}, "m%d" % CAND)
        if sp and cp and len(sp) >= 5 and len(cp) >= 5 and None not in sp[:5] + cp[:5]:
            r = [c / s for c, s in zip(cp[:4], sp[:4])]
            g = cp[4] / sp[4]
            noisy = noisy or abs(g - 1) > GUARD
            runs.append(r)
            fm = (j or {}).get("flashmlaUs") or []
            vs = ""
            if len(fm) >= 4 and all(isinstance(f, (int, float)) for f in fm[:4]):
                vs = " | vs FlashMLA shipped %.4f, %s %.4f" % (gm([f / s for f, s in zip(fm[:4], sp[:4])]), NAME, gm([f / c for f, c in zip(fm[:4], cp[:4])]))
            out("MODEL1 pair run %d (%s first): time / shipped %.4f (%s), guard %.3f | us shipped %s, %s %s%s" % (
                k + 1, "shipped" if k == 0 else NAME, gm(r), " ".join("%.3f" % x for x in r), g,
                " ".join("%.1f" % x for x in sp[:4]), NAME, " ".join("%.1f" % x for x in cp[:4]), vs))
        else:
            out("MODEL1 pair run %d: not timed" % (k + 1))
    if len(runs) < 2:
        return "KEEP %d (%s: %s)" % (SHIPPED, NAME, "the MODEL1 pair shapes not timed twice" if counts else "does not count")
    pooled = [(a + b) / 2 for a, b in zip(*runs)]
    tag = "MODEL1 pair %.4f of shipped (%s; runs %.4f / %.4f)" % (gm(pooled), " ".join("%.3f" % x for x in pooled), gm(runs[0]), gm(runs[1]))
    if noisy:
        return "KEEP %d (noise: the guard moved > 1.5 %%; %s)" % (SHIPPED, tag)
    q = gm(pooled) <= GM_MAX and max(pooled) <= ONE_MAX and all(gm(r) <= RUN_MAX for r in runs)
    if counts and q:
        return "SHIP %d (%s qualifies: %s)" % (CAND, NAME, tag)
    return "KEEP %d (%s %s: %s)" % (SHIPPED, NAME, "does not count" if not counts else "does not qualify", tag)


def self_test():
    import tempfile
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, "san128", "san-m%d" % CAND))
    open(os.path.join(d, "san128", "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    open(os.path.join(d, "bitexact.txt"), "w").write("case 0: identical\nbitexact: 8 of 8 identical\n")
    d2 = tempfile.mkdtemp()
    os.makedirs(os.path.join(d2, "san128", "san-m%d" % CAND))
    open(os.path.join(d2, "san128", "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    open(os.path.join(d2, "bitexact.txt"), "w").write("case 3: DIFFERS (out byte 12, lse byte -1)\nbitexact: 7 of 8 identical\n")
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
    vs = [115.6, 202.8, 224.6, 157.3, 140.4]
    fm = [102.5, 175.6, 203.4, 149.2, 132.8]
    quiet = lambda *_: None

    def j(f, g=1.0):
        f = f if isinstance(f, list) else [f] * 4
        return {"flashmlaUs": fm, "builds": [{"name": "shipped", "us": vs}, {"name": "m%d" % CAND, "us": [x * y for x, y in zip(vs, f)] + [vs[4] * g]}]}
    assert decide(txt, d, j(0.97), j(0.975), out=quiet).startswith("SHIP %d " % CAND)
    assert decide(txt, d, j(0.98), j(0.998), out=quiet).startswith("KEEP")  # the swapped run did not confirm
    assert decide(txt, d, j(0.992), j(0.992), out=quiet).startswith("KEEP")  # not 1 % faster
    assert decide(txt, d, j([0.96, 0.96, 0.96, 1.01]), j([0.96, 0.96, 0.96, 1.01]), out=quiet).startswith("KEEP")  # one shape slower
    assert decide(txt, d, j(0.97, g=1.02), j(0.97), out=quiet).startswith("KEEP %d (noise" % SHIPPED)
    assert decide(txt.replace("fail 0", "fail 1"), d, j(0.97), j(0.97), out=quiet).startswith("KEEP")
    assert decide(txt, None, j(0.97), j(0.97), out=quiet).startswith("KEEP")  # memcheck missing
    assert decide(txt, d2, j(0.97), j(0.97), out=quiet).startswith("KEEP")  # one case's bytes differ
    assert decide(txt, d, j(0.97), None, out=quiet).startswith("KEEP")
    assert decide("", None, out=quiet).startswith("KEEP")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    a = sys.argv[1:]
    ab_txt = open(a[0]).read() if a and os.path.exists(a[0]) else ""
    j1 = load_arg(3) if len(sys.argv) > 3 else None
    j2 = load_arg(4) if len(sys.argv) > 4 else None
    m1i = load_arg(5) if len(sys.argv) > 5 else None
    print(decide(ab_txt, a[1] if len(a) > 1 else None, j1, j2, m1i))

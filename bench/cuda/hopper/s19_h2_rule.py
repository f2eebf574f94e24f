#!/usr/bin/env python3
"""Session 19, helper h2: the rule of s19_h2_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 19, helper h2")
before any run. Three parts, one last line.

  python3 bench/cuda/hopper/s19_h2_rule.py M1PAIR.json M1ITEMS.json AB12.json AB.txt OUT_DIR      # or --self-test

1. Bit 51 confirmed (M1PAIR.json: --shapes m1pair, shipped = 6881255316622467080 and m6879003516808781832 = shipped
   without 51, 4 rounds of 10): s51 = geomean over the four MODEL1 pair shapes of shipped / m6879003516808781832.
   s51 >= 1.003 (51 at least 0.3 % slower) with the guard shape (MODEL1 h_q 64 k1024, the same code) within 1.5 %:
   REVERT 51; otherwise 51 stays (s51 <= 0.997: confirmed; else level).
2. The producer alone (M1ITEMS.json: --shapes m1items, shipped, m6879003516808781832, the probe m6881396054110822408 = + bit
   47): T and P the fitted us a tile of shipped and of the probe; logged: P/T >= 0.90 VERDICT producer (the chain's length is
   the lever), P/T <= 0.80 VERDICT coupling (the hand-off between producer and consumers waits), else VERDICT mixed.
3. Bit 46 (AB12.json: FlashMLA's 12 shapes, shipped and m6881325685366644744 = + 46): counts only if its checks passed
   (AB.txt: goldens all, random sm90 cases at h_q 64 / 128 with 0 failures) and memcheck at h_q 64 and at h_q 128 finished
   with 0 errors (OUT_DIR/san64, OUT_DIR/san128). The changed class (the 8 shapes of the V3.2 pair and one-CTA MODEL1 entries:
   0-3, 4, 5, 8, 10) qualifies with a geomean time / shipped <= 0.995 and no shape > 1.005 (s16_h2_rule.qualifies); the
   MODEL1 pair shapes (6, 7, 9, 11, the same code) are the guard: |geomean - 1| > 0.01 -> too noisy, no qualification.
Last line: 46 qualifies and 51 stays: SHIP 6881325685366644744; 46 qualifies and 51 reverts: SHIP 6879073885552959496 (46
without 51: its entries are those of the two measured builds, compared offline); 51 reverts alone: SHIP
6879003516808781832; else KEEP 6881255316622467080.
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, qualifies, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s18_h2r2_rule import tiles  # noqa: E402

SHIPPED = 6881255316622467080
NO51 = 6879003516808781832
CAND = SHIPPED + (1 << 46)
PROBE = SHIPPED + (1 << 47)
CAND_NO51 = NO51 + (1 << 46)
CHANGED, GUARD = (0, 1, 2, 3, 4, 5, 8, 10), (6, 7, 9, 11)


def bit51(m1p, out):
    sp, no = times(m1p, "shipped"), times(m1p, "m%d" % NO51)
    if not sp or not no or len(sp) < 5 or len(no) < 5:
        out("bit 51: not timed (kept)")
        return False
    r = [s / n for s, n in zip(sp[:4], no[:4])]
    g = sp[4] / no[4]
    s51 = gm(r)
    rev = s51 >= 1.003 and abs(g - 1) <= 0.015
    out("bit 51: shipped / without 51 %.4f (%s) | guard %.3f -> %s" % (
        s51, " ".join("%.3f" % x for x in r), g, "REVERT 51" if rev else "confirmed" if s51 <= 0.997 else "level (kept)"))
    return rev


def probe(items, out):
    try:
        x = tiles(items)
    except Exception as e:
        out("producer alone: not read (%s)" % e.__class__.__name__)
        return
    out("item probe: " + ", ".join("%s %.3f us a tile, %.2f an item" % (n, v[0], v[1]) for n, v in x.items()))
    t, p = x.get("shipped"), x.get("m%d" % PROBE)
    if not t or not p:
        out("producer alone: not timed")
        return
    pt = p[0] / t[0]
    out("producer alone: P %.3f / T %.3f us a tile = %.3f -> VERDICT %s" % (
        p[0], t[0], pt, "producer" if pt >= 0.90 else "coupling" if pt <= 0.80 else "mixed"))


def cand(ab12, ab_txt, d, out):
    ok = checks_ok(ab_txt, CAND)
    m64, m128 = memcheck(os.path.join(d, "san64") if d else None, CAND), memcheck(os.path.join(d, "san128") if d else None, CAND)
    line = "bit 46 m%d: checks %s | memcheck h_q 64 %s, h_q 128 %s" % (
        CAND, "pass" if ok else "FAIL/missing", *("not finished" if m is None else "%d errors" % m for m in (m64, m128)))
    sp, tc = times(ab12, "shipped"), times(ab12, "m%d" % CAND)
    if not sp or not tc or len(sp) < 12 or len(tc) < 12:
        out(line + " | 12 shapes not timed")
        return False
    r = [tc[i] / sp[i] for i in CHANGED]
    gd = gm([tc[i] / sp[i] for i in GUARD])
    fm = ab12.get("flashmlaUs") or []
    vs = ""
    if len(fm) >= 12 and all(isinstance(f, (int, float)) for f in fm[:12]):
        vs = " | 12 shapes vs FlashMLA shipped %.4f, m46 %.4f" % (gm([f / s for f, s in zip(fm, sp)]), gm([f / s for f, s in zip(fm, tc)]))
    counts = ok and m64 == 0 and m128 == 0
    q = counts and qualifies(r) and abs(gd - 1) <= 0.01
    out(line + " | changed 8 time / shipped %.4f (%s; V3.2 pair %.4f, MODEL1 h_q 64 %.4f) | guard (MODEL1 pair, same code) %.4f%s -> %s" % (
        gm(r), " ".join("%.3f" % x for x in r), gm(r[:4]), gm(r[4:]), gd, vs,
        ("qualifies" if q else "noise" if abs(gd - 1) > 0.01 and qualifies(r) else "no") if counts else "does not count"))
    return q


def decide(m1p, items, ab12, ab_txt, d, out=print):
    rev = bit51(m1p, out)
    probe(items, out)
    q = cand(ab12, ab_txt, d, out)
    if q and not rev:
        return "SHIP %d (bit 46 qualifies; bit 51 stays)" % CAND
    if q and rev:
        return "SHIP %d (bit 46 qualifies; bit 51 reverted: 46 without 51, entries as measured)" % CAND_NO51
    if rev:
        return "SHIP %d (bit 51 reverted; bit 46 does not qualify)" % NO51
    return "KEEP %d (bit 46 does not qualify; bit 51 stays)" % SHIPPED


def self_test():
    import tempfile
    d = tempfile.mkdtemp()
    for h in ("san64", "san128"):
        os.makedirs(os.path.join(d, h, "san-m%d" % CAND))
        open(os.path.join(d, h, "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
    v12 = [193.9, 379.1, 101.7, 193.5, 84.0, 141.4, 117.2, 204.0, 98.8, 226.4, 122.1, 156.4]
    vp = [116.7, 203.8, 225.9, 158.0, 141.6]

    def mk(f46=1.0, fg=1.0, f51=1.0, g51=1.0, t=txt, dd=d):
        m1p = {"builds": [{"name": "shipped", "us": vp}, {"name": "m%d" % NO51, "us": [x / f51 for x in vp[:4]] + [vp[4] / g51]}]}
        tc = [x * (fg if i in GUARD else f46) for i, x in enumerate(v12)]
        ab12 = {"builds": [{"name": "shipped", "us": v12}, {"name": "m%d" % CAND, "us": tc}]}
        return decide(m1p, {}, ab12, t, dd, out=lambda *_: None)

    assert mk().startswith("KEEP %d " % SHIPPED)
    assert mk(f46=0.99).startswith("SHIP %d " % CAND)
    assert mk(f46=0.996).startswith("KEEP")
    assert mk(f46=0.99, fg=1.02).startswith("KEEP")  # guard moved: noise
    assert mk(f46=0.99, f51=1.004).startswith("SHIP %d " % CAND_NO51)
    assert mk(f51=1.004).startswith("SHIP %d " % NO51)
    assert mk(f51=1.004, g51=1.02).startswith("KEEP")  # 51's guard moved
    assert mk(f51=1.002).startswith("KEEP")
    assert mk(f46=0.99, t=txt.replace("fail 0", "fail 1")).startswith("KEEP")
    assert mk(f46=0.99, dd=None).startswith("KEEP")  # memcheck missing
    assert decide({}, {}, {}, "", None, out=lambda *_: None).startswith("KEEP")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    m1p, items, ab12 = load_arg(1), load_arg(2), load_arg(3)
    ab_txt = open(sys.argv[4]).read() if len(sys.argv) > 4 and os.path.exists(sys.argv[4]) else ""
    print(decide(m1p, items, ab12, ab_txt, sys.argv[5] if len(sys.argv) > 5 else None))

#!/usr/bin/env python3
"""Session 19, helper h2, round 3: the rule of s19_h2r3_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 19,
helper h2, round 3") before any run.

  python3 bench/cuda/hopper/s19_h2r3_rule.py AB12.json AB.txt OUT_DIR M1PAIR.json [M1ITEMS.json]      # or --self-test

Bit 25 (m6881325685400199176 = shipped 6881325685366644744 + 25: the MODEL1 pair producer sends round 0's peer copy before
any own store, then round 1 (both copies), then round 0's own copy) counts only if its checks passed (AB.txt: goldens all,
random sm90 cases at h_q 64 / 128, 0 failures) and memcheck at h_q 64 and at h_q 128 ended with 0 errors (OUT_DIR/san64,
OUT_DIR/san128). It changes only the MODEL1 pair entries. It qualifies when
  (a) M1PAIR.json (--shapes m1pair, 6 rounds of 10): the four MODEL1 pair shapes' geomean time / shipped <= 0.995 and no
      shape > 1.005 (s16_h2_rule.qualifies), the guard shape (MODEL1 h_q 64 k1024, the same code) within 1.5 %;
  (b) AB12.json (FlashMLA's 12 shapes, 2 rounds): the eight shapes of the same code within 1 % (else noise), and the four
      MODEL1 pair shapes (6, 7, 9, 11) at a geomean <= 1.000 (the short run does not contradict (a)).
M1ITEMS.json (the item probe, logged only): T (shipped), T25 and pair probe 6's tile (p6: bit 25's order taken to the end).
Last line: SHIP 6881325685400199176 (...) or KEEP 6881325685366644744 (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, qualifies, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s18_h2r2_rule import tiles  # noqa: E402

SHIPPED = 6881325685366644744
CAND = SHIPPED + (1 << 25)
CHANGED, SAME = (6, 7, 9, 11), (0, 1, 2, 3, 4, 5, 8, 10)


def items(j, out, cand=CAND, tag="bit 25"):
    """The item probe's tiles: shipped against the candidate (and pair probe 6 if timed). s20_s1_rule reuses it."""
    try:
        x = tiles(j)
    except Exception as e:
        out("item probe: not read (%s)" % e.__class__.__name__)
        return
    t, c, p6 = x.get("shipped"), x.get("m%d" % cand), x.get("p6")
    if t and c:
        out("item probe: shipped %.3f us a tile (%.2f an item), %s %.3f (%.2f an item): drop %.3f us a tile%s" % (
            t[0], t[1], tag, c[0], c[1], t[0] - c[0],
            "; pair probe 6 (both rounds' peer copies first) %.3f (%.2f an item): drop %.3f" % (p6[0], p6[1], t[0] - p6[0]) if p6 else ""))
    else:
        out("item probe: not timed")


def decide(ab12, ab_txt, d, m1p=None, m1i=None, out=print):
    if m1i:
        items(m1i, out)
    ok = checks_ok(ab_txt, CAND)
    m64, m128 = memcheck(os.path.join(d, "san64") if d else None, CAND), memcheck(os.path.join(d, "san128") if d else None, CAND)
    counts = ok and m64 == 0 and m128 == 0
    out("bit 25 m%d: checks %s | memcheck h_q 64 %s, h_q 128 %s -> %s" % (
        CAND, "pass" if ok else "FAIL/missing", *("not finished" if m is None else "%d errors" % m for m in (m64, m128)),
        "counts" if counts else "does not count"))
    pp, pc = times(m1p or {}, "shipped"), times(m1p or {}, "m%d" % CAND)
    qa = False
    if pp and pc and len(pp) >= 5 and len(pc) >= 5 and None not in pp[:5] + pc[:5]:
        r = [c / s_ for c, s_ in zip(pc[:4], pp[:4])]
        g = pc[4] / pp[4]
        qa = qualifies(r) and abs(g - 1) <= 0.015
        out("(a) MODEL1 pair shapes (6 rounds): time / shipped %.4f (%s) | guard %.3f -> %s" % (
            gm(r), " ".join("%.3f" % x for x in r), g, "qualifies" if qa else "no" if abs(g - 1) <= 0.015 else "noise"))
    else:
        out("(a) MODEL1 pair shapes: not timed")
        r = None
    sp, tc = times(ab12, "shipped"), times(ab12, "m%d" % CAND)
    qb = False
    if sp and tc and len(sp) >= 12 and len(tc) >= 12 and None not in sp[:12] + tc[:12]:
        r12 = [tc[i] / sp[i] for i in CHANGED]
        g8 = gm([tc[i] / sp[i] for i in SAME])
        qb = abs(g8 - 1) <= 0.01 and gm(r12) <= 1.0
        fm = ab12.get("flashmlaUs") or []
        vs = ""
        if len(fm) >= 12 and all(isinstance(f, (int, float)) for f in fm[:12]):
            vs = " | vs FlashMLA: 12 shapes shipped %.4f, bit 25 %.4f; MODEL1 pair shipped %.4f, bit 25 %.4f" % (
                gm([f / s_ for f, s_ in zip(fm, sp)]), gm([f / s_ for f, s_ in zip(fm, tc)]),
                gm([fm[i] / sp[i] for i in CHANGED]), gm([fm[i] / tc[i] for i in CHANGED]))
        out("(b) 12 shapes: MODEL1 pair time / shipped %.4f (%s) | the same code (8 shapes) %.4f%s -> %s" % (
            gm(r12), " ".join("%.3f" % x for x in r12), g8, vs, "ok" if qb else "noise" if abs(g8 - 1) > 0.01 else "contradicts"))
    else:
        out("(b) 12 shapes: not timed")
    tag = "MODEL1 pair %.4f of shipped" % gm(r) if r else "MODEL1 pair not timed"
    if counts and qa and qb:
        return "SHIP %d (bit 25 qualifies: %s)" % (CAND, tag)
    return "KEEP %d (bit 25 %s: %s)" % (SHIPPED, "does not count" if not counts else "does not qualify", tag)


def self_test():
    import tempfile
    d = tempfile.mkdtemp()
    for h in ("san64", "san128"):
        os.makedirs(os.path.join(d, h, "san-m%d" % CAND))
        open(os.path.join(d, h, "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
    v12 = [190.9, 374.4, 99.4, 191.5, 83.4, 140.2, 116.8, 202.5, 97.6, 225.2, 120.3, 156.0]
    vp = [116.9, 202.5, 223.9, 156.6, 140.2]

    def mk(f=1.0, fs=1.0, f12=None, one=None, g=1.0, t=txt, dd=d, no12=False):
        tc = [x * ((f if f12 is None else f12) if i in CHANGED else fs) for i, x in enumerate(v12)]
        pc = [x * f for x in vp[:4]] + [vp[4] * g]
        if one is not None:
            pc[1] = vp[1] * one
        ab12 = {} if no12 else {"builds": [{"name": "shipped", "us": v12}, {"name": "m%d" % CAND, "us": tc}]}
        m1p = {"builds": [{"name": "shipped", "us": vp}, {"name": "m%d" % CAND, "us": pc}]}
        return decide(ab12, t, dd, m1p, out=lambda *_: None)

    assert mk().startswith("KEEP %d " % SHIPPED)
    assert mk(0.985).startswith("SHIP %d " % CAND)
    assert mk(0.996).startswith("KEEP")
    assert mk(0.985, one=1.01).startswith("KEEP")  # one shape slower
    assert mk(0.985, fs=1.015).startswith("KEEP")  # the same code moved: noise
    assert mk(0.985, g=1.02).startswith("KEEP")  # the guard moved
    assert mk(0.985, f12=1.004).startswith("KEEP")  # the 12-shape run contradicts
    assert mk(0.985, f12=0.999).startswith("SHIP")
    assert mk(0.985, no12=True).startswith("KEEP")
    assert mk(0.985, t=txt.replace("fail 0", "fail 1")).startswith("KEEP")
    assert mk(0.985, dd=None).startswith("KEEP")  # memcheck missing
    assert decide({}, "", None, out=lambda *_: None).startswith("KEEP")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    ab12 = load_arg(1)
    ab_txt = open(sys.argv[2]).read() if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else ""
    m1p = load_arg(4) if len(sys.argv) > 4 else {}
    m1i = load_arg(5) if len(sys.argv) > 5 else None
    print(decide(ab12, ab_txt, sys.argv[3] if len(sys.argv) > 3 else None, m1p, m1i))

#!/usr/bin/env python3
"""Session 20, helper s20-h2 (prepared at session 19's end): the rule of s20_h2_slot.sh, written in
docs/notes/cuda-sparse-decode.md ("Session 19's end, helper s20-h2") before any run.

  python3 bench/cuda/hopper/s20_h2_rule.py AB.txt OUT_DIR M1H64.json M1H64ITEMS.json      # or --self-test

Two candidates on the shipped 6881325685400199176, both in the one-CTA MODEL1 entries only: A = + bit 9 (bit 53's staged
output by bulk copies), AB = + bits 9 and 10 (and bit 62's L2 prefetch of the next item's Q). A candidate counts only if
its checks passed (AB.txt: goldens all, random sm90 cases at h_q 64 / 128, 0 failures) and memcheck at h_q 64 and at
h_q 128 ended with 0 errors (OUT_DIR/san64, OUT_DIR/san128). It qualifies when M1H64.json (--shapes m1h64, 6 rounds of
10) gives the four MODEL1 h_q 64 shapes a geomean time / shipped <= 0.99 with no shape > 1.005 and the guard (MODEL1
h_q 128 k512, a pair entry: the same code) within 1.5 %. If both qualify, AB ships only when its geomean is at least
0.005 below A's (the prefetch must pay for itself), else A; if one qualifies, that one.
The item fit (logged only; M1H64ITEMS.json): y = us an item, x = us a tile per build (s19_h2r4_rule.fit), expected: y
falls, x unchanged.
Last line: SHIP <mode> (...) or KEEP 6881325685400199176 (...).

  python3 bench/cuda/hopper/s20_h2_rule.py --v32 AB.txt OUT_DIR V32H64_1.json V32H64_2.json     (s20_h2v_slot.sh)

Slot 2: V = + bit 11 (bit 9's block in the one-CTA V3.2 entries). It counts on the same checks and memcheck terms; it
qualifies when the four V3.2 h_q 64 shapes (--shapes v32h64, two processes of 3 rounds with the builds' order swapped)
give a geomean time / shipped <= 0.99 over the pooled ratios (each shape: the mean of its two runs' ratios), no shape
> 1.005, and each run's own geomean <= 0.995 (no same-code guard in that set: the swapped second run stands in).
Last line: SHIP 6881325685400201224 (...) or KEEP 6881325685400199176 (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s19_h2r4_rule import cls_time, fit  # noqa: E402

SHIPPED = 6881325685400199176
A = SHIPPED + (1 << 9)
AB = SHIPPED + (1 << 9) + (1 << 10)
V = SHIPPED + (1 << 11)
CANDS = ((A, "A (bit 9)"), (AB, "AB (bits 9 + 10)"))
GM_MAX, ONE_MAX, GUARD, AB_EDGE = 0.99, 1.005, 0.015, 0.005


def items(m1i, m1h, out):
    """The one-CTA MODEL1 item fit per build: {name: (y, x)}."""
    res = {}
    for name in ["shipped"] + ["m%d" % c for c, _ in CANDS]:
        f = fit(m1i or {}, "m1h64items", name, cls_time(m1i, "m1h64items", m1h, name)) if m1i else None
        if f is None:
            out("one-CTA MODEL1 items %s: not timed" % name)
            continue
        y, x, fixed, ours = f
        res[name] = (y, x)
        out("one-CTA MODEL1 items %s: %s | %.2f us an item, %.3f us a tile, non-tile %.1f us at M1 b128 h64 k1024 (%.1f us)" % (
            name, " ".join("%.1f" % u for u in times(m1i, name)[:4]), y, x, fixed, ours))
    if "shipped" in res:
        for c, tag in CANDS:
            n = "m%d" % c
            if n in res:
                out("  %s: item %+.2f us, tile %+.3f us against shipped" % (tag, res[n][0] - res["shipped"][0], res[n][1] - res["shipped"][1]))
    return res


def decide(ab_txt, d, m1h=None, m1i=None, out=print):
    items(m1i, m1h, out)
    sp = times(m1h or {}, "shipped")
    fm = (m1h or {}).get("flashmlaUs") or []
    if sp and len(fm) >= 4 and None not in sp[:4] and all(isinstance(f, (int, float)) for f in fm[:4]):
        out("shipped vs FlashMLA (four h_q 64 shapes): %.4f" % gm([f / s for f, s in zip(fm[:4], sp[:4])]))
    good = {}
    for c, tag in CANDS:
        ok = checks_ok(ab_txt, c)
        m64, m128 = memcheck(os.path.join(d, "san64") if d else None, c), memcheck(os.path.join(d, "san128") if d else None, c)
        counts = ok and m64 == 0 and m128 == 0
        cp = times(m1h or {}, "m%d" % c)
        line = "%s m%d: checks %s | memcheck h_q 64 %s, h_q 128 %s" % (
            tag, c, "pass" if ok else "FAIL/missing", *("not finished" if m is None else "%d errors" % m for m in (m64, m128)))
        if sp and cp and len(sp) >= 5 and len(cp) >= 5 and None not in sp[:5] + cp[:5]:
            r = [x / s for x, s in zip(cp[:4], sp[:4])]
            g = cp[4] / sp[4]
            q = gm(r) <= GM_MAX and max(r) <= ONE_MAX and abs(g - 1) <= GUARD
            vs = " | vs FlashMLA %.4f" % gm([f / x for f, x in zip(fm[:4], cp[:4])]) if len(fm) >= 4 and all(isinstance(f, (int, float)) for f in fm[:4]) else ""
            line += " | MODEL1 h_q 64 time / shipped %.4f (%s), guard %.3f%s -> %s" % (
                gm(r), " ".join("%.3f" % x for x in r), g, vs,
                ("qualifies" if q else "no" if abs(g - 1) <= GUARD else "noise") + ("" if counts else ", does not count"))
            if q and counts:
                good[c] = gm(r)
        else:
            line += " | MODEL1 h_q 64 shapes not timed"
        out(line)
    if A in good and AB in good:
        pick = AB if good[AB] <= good[A] - AB_EDGE else A
    elif good:
        pick = next(iter(good))
    else:
        return "KEEP %d (neither candidate counts and qualifies)" % SHIPPED
    return "SHIP %d (%s: MODEL1 h_q 64 %.4f of shipped%s)" % (
        pick, dict(CANDS)[pick], good[pick], "; A %.4f, AB %.4f" % (good[A], good[AB]) if len(good) == 2 else "")


def decide_v32(ab_txt, d, j1=None, j2=None, out=print):
    ok = checks_ok(ab_txt, V)
    m64, m128 = memcheck(os.path.join(d, "san64") if d else None, V), memcheck(os.path.join(d, "san128") if d else None, V)
    counts = ok and m64 == 0 and m128 == 0
    out("V (bit 11) m%d: checks %s | memcheck h_q 64 %s, h_q 128 %s -> %s" % (
        V, "pass" if ok else "FAIL/missing", *("not finished" if m is None else "%d errors" % m for m in (m64, m128)),
        "counts" if counts else "does not count"))
    runs = []
    for k, j in enumerate((j1, j2)):
        sp, cp = times(j or {}, "shipped"), times(j or {}, "m%d" % V)
        if sp and cp and len(sp) >= 4 and len(cp) >= 4 and None not in sp[:4] + cp[:4]:
            r = [c / x for c, x in zip(cp[:4], sp[:4])]
            runs.append(r)
            out("V3.2 h_q 64 run %d (%s first): time / shipped %.4f (%s)" % (k + 1, "shipped" if k == 0 else "V", gm(r), " ".join("%.3f" % x for x in r)))
        else:
            out("V3.2 h_q 64 run %d: not timed" % (k + 1))
    if len(runs) < 2:
        return "KEEP %d (V: %s)" % (SHIPPED, "V3.2 h_q 64 not timed twice" if counts else "does not count")
    pooled = [(a + b) / 2 for a, b in zip(*runs)]
    q = gm(pooled) <= GM_MAX and max(pooled) <= ONE_MAX and all(gm(r) <= 0.995 for r in runs)
    tag = "V3.2 h_q 64 %.4f of shipped (%s; runs %.4f / %.4f)" % (gm(pooled), " ".join("%.3f" % x for x in pooled), gm(runs[0]), gm(runs[1]))
    if counts and q:
        return "SHIP %d (V qualifies: %s)" % (V, tag)
    return "KEEP %d (V %s: %s)" % (SHIPPED, "does not count" if not counts else "does not qualify", tag)


def self_test_v32():
    import tempfile
    d = tempfile.mkdtemp()
    for h in ("san64", "san128"):
        os.makedirs(os.path.join(d, h, "san-m%d" % V))
        open(os.path.join(d, h, "san-m%d" % V, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % V
    vs = [127.3, 245.3, 84.9, 127.3]
    quiet = lambda *_: None

    def j(f):
        f = f if isinstance(f, list) else [f] * 4
        return {"builds": [{"name": "shipped", "us": vs}, {"name": "m%d" % V, "us": [x * y for x, y in zip(vs, f)]}]}
    assert decide_v32(txt, d, j(0.98), j(0.985), out=quiet).startswith("SHIP %d " % V)
    assert decide_v32(txt, d, j(0.98), j(0.998), out=quiet).startswith("KEEP")  # the swapped run did not confirm
    assert decide_v32(txt, d, j(0.992), j(0.992), out=quiet).startswith("KEEP")
    assert decide_v32(txt, d, j([0.97, 0.97, 0.97, 1.01]), j([0.97, 0.97, 0.97, 1.01]), out=quiet).startswith("KEEP")
    assert decide_v32(txt.replace("fail 0", "fail 1"), d, j(0.98), j(0.98), out=quiet).startswith("KEEP")
    assert decide_v32(txt, None, j(0.98), j(0.98), out=quiet).startswith("KEEP")
    assert decide_v32(txt, d, j(0.98), None, out=quiet).startswith("KEEP")
    assert decide_v32("", None, out=quiet).startswith("KEEP")


def self_test():
    import tempfile
    d = tempfile.mkdtemp()
    for h in ("san64", "san128"):
        for c, _ in CANDS:
            os.makedirs(os.path.join(d, h, "san-m%d" % c))
            open(os.path.join(d, h, "san-m%d" % c, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    txt = "".join("m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % c for c, _ in CANDS)
    vs = [83.5, 140.5, 98.4, 121.6, 116.8]
    fm = [77.3, 132.8, 90.2, 115.3, 102.5]
    quiet = lambda *_: None

    def mk(fa=1.0, fab=1.0, one=None, g=1.0, t=txt, dd=d):
        bl = [{"name": "shipped", "us": vs}]
        for c, f in ((A, fa), (AB, fab)):
            cp = [x * f for x in vs[:4]] + [vs[4] * g]
            if one is not None and c == one[0]:
                cp[1] = vs[1] * one[1]
            bl.append({"name": "m%d" % c, "us": cp})
        return decide(t, dd, {"flashmlaUs": fm, "builds": bl}, out=quiet)

    assert mk().startswith("KEEP %d " % SHIPPED)
    assert mk(0.98, 1.0).startswith("SHIP %d " % A)
    assert mk(1.0, 0.98).startswith("SHIP %d " % AB)
    assert mk(0.98, 0.977).startswith("SHIP %d " % A)  # AB not 0.005 better
    assert mk(0.98, 0.97).startswith("SHIP %d " % AB)
    assert mk(0.992, 0.992).startswith("KEEP")
    assert mk(0.98, 1.0, one=(A, 1.006)).startswith("KEEP")  # one shape slower
    assert mk(0.98, 0.98, g=1.02).startswith("KEEP")  # the guard moved: noise
    assert mk(0.98, 0.97, t=txt.replace("m%d: checks pass 21 fail 0" % AB, "m%d: checks pass 20 fail 1" % AB)).startswith("SHIP %d " % A)
    assert mk(0.98, 0.97, dd=None).startswith("KEEP")  # memcheck missing
    assert decide("", None, out=quiet).startswith("KEEP")
    # the item fit per build: 32 tiles as 1, 2, 4 items, then the peak (3 items, 576 tiles); class shape from m1h64
    def run(y, x, ours):
        return [10.0 + n * y + 32 * x for n in (1, 2, 4)] + [ours + (3 - 2) * y + (576 - 32) * x]
    m1i = {"sched": [dict(items=n, tiles=32) for n in (1, 2, 4)] + [dict(items=3, tiles=576)],
           "builds": [{"name": "shipped", "us": run(7.2, 3.576, 140.5)}, {"name": "m%d" % A, "us": run(5.0, 3.576, 136.0)}]}
    m1h = {"builds": [{"name": "shipped", "us": [83.5, 140.5, 98.4, 121.6, 116.8]}, {"name": "m%d" % A, "us": [80.0, 136.0, 95.0, 119.0, 116.8]}]}
    r = items(m1i, m1h, quiet)
    assert abs(r["shipped"][0] - 7.2) < 1e-6 and abs(r["m%d" % A][0] - 5.0) < 1e-6 and abs(r["m%d" % A][1] - 3.576) < 1e-6, r
    assert "m%d" % AB not in r
    self_test_v32()
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    if sys.argv[1:2] == ["--v32"]:
        a = sys.argv[2:]
        ab_txt = open(a[0]).read() if a and os.path.exists(a[0]) else ""
        j1 = load_arg(4) if len(sys.argv) > 4 else None
        j2 = load_arg(5) if len(sys.argv) > 5 else None
        print(decide_v32(ab_txt, a[1] if len(a) > 1 else None, j1, j2))
        sys.exit(0)
    ab_txt = open(sys.argv[1]).read() if len(sys.argv) > 1 and os.path.exists(sys.argv[1]) else ""
    m1h = load_arg(3) if len(sys.argv) > 3 else {}
    m1i = load_arg(4) if len(sys.argv) > 4 else None
    print(decide(ab_txt, sys.argv[2] if len(sys.argv) > 2 else None, m1h, m1i))

#!/usr/bin/env python3
"""Session 19, helper h2, round 4: the rule of s19_h2r4_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 19,
helper h2, round 4") before any run.

  python3 bench/cuda/hopper/s19_h2r4_rule.py AB.txt OUT_DIR M1H64.json [V32ITEMS.json M1H64ITEMS.json]      # or --self-test

Bit 43 (m6881334481493221384 = shipped 6881325685400199176 + 43: the one-CTA MODEL1 entries' 64 validity flags a tile
written by producer warp 0 after the rounds, bit 50's detail) counts only if its checks passed (AB.txt: goldens all,
random sm90 cases at h_q 64 / 128, 0 failures) and memcheck at h_q 64 and at h_q 128 ended with 0 errors (OUT_DIR/san64,
OUT_DIR/san128). It qualifies when M1H64.json (--shapes m1h64, 6 rounds of 10) gives the four MODEL1 h_q 64 shapes a
geomean time / shipped <= 0.995 with no shape > 1.005 (s16_h2_rule.qualifies) and the guard (MODEL1 h_q 128 k512, a pair
entry: the same code) within 1.5 %.
The item probes (logged only): per class (the V3.2 pair entries, V32ITEMS.json; the one-CTA MODEL1 entries, M1H64ITEMS.json)
y = µs an item (slope over 1, 2, 4 items of 32 tiles), x = µs a tile from the peak case and the class's FlashMLA shape
(CLASSES: our time there from call C4, the same code), x_F FlashMLA's the same way (its JSON's rows), and the class shape's
gap to FlashMLA split into a tile share tiles * (x - x_F) and the rest (items, Q, epilogue, launch): VERDICT per-tile when
the tile share is >= 60 % of the gap, item-boundary when <= 40 %, else both.
Last line: SHIP 6881334481493221384 (...) or KEEP 6881325685400199176 (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, qualifies, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from sparse_sm90_items_s13 import slope  # noqa: E402

SHIPPED = 6881325685400199176
CAND = SHIPPED + (1 << 43)
# Per class: the FlashMLA shape of the 12 (label), its largest part (items, tiles: src/core/sparse-scheduler.ts, as
# sparse-sm90-final-ab.js's `sched`), our µs there (call C4, results/gpu-host/bench/hopper/s19_callC4/h2r3.txt: the mean of
# the shipped and bit-25 columns, the same code for these entries), FlashMLA's µs there and at the peak (session 18 call A's
# JSON, results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json).
CLASSES = {
    "v32items": dict(name="V3.2 pair (h_q 128)", shape="V3.2 b128 h128 s2 k2048", items=4, tiles=128, ours=375.8, fm=362.4, fm_peak=3025.5),
    "m1h64items": dict(name="one-CTA MODEL1 (h_q 64)", shape="M1 b128 h64 s2 k1024", items=2, tiles=32, ours=140.3, fm=132.8, fm_peak=2039.0),
}


def fit(d, cls, name="shipped", cls_us=None):
    """(y us an item, x us a tile, fixed us at the class shape: items + Q + epilogue + launch, our us there) of one build,
    or None. Our time at the class shape: cls_us (this call), else CLASSES' (call C4)."""
    us, sched = times(d, name), d.get("sched") or []
    if not us or len(us) < 4 or len(sched) < 4 or any(u is None for u in us[:4]) or any(s["tiles"] != 32 for s in sched[:3]):
        return None
    c, pk = CLASSES[cls], sched[3]
    t = cls_us if cls_us else c["ours"]
    y = slope([s["items"] for s in sched[:3]], us[:3])
    x = (us[3] - t - y * (pk["items"] - c["items"])) / (pk["tiles"] - c["tiles"])
    return y, x, t - c["tiles"] * x, t


def cls_time(d, cls, m1h, name):
    """Our µs at the class shape in this call: v32items' fifth shape, m1h64's second (None if not timed)."""
    j, i = (d, 4) if cls == "v32items" else (m1h, 1)
    us = times(j or {}, name)
    return us[i] if us and len(us) > i and us[i] else None


def items(d, cls, out, m1h=None):
    c = CLASSES[cls]
    f = fit(d or {}, cls, "shipped", cls_time(d, cls, m1h, "shipped"))
    if f is None:
        out("%s: item probe not timed" % c["name"])
        return None
    y, x, fixed, ours = f
    pk = d["sched"][3]
    xf = (c["fm_peak"] - c["fm"]) / (pk["tiles"] - c["tiles"])  # FlashMLA's per-item cost unknown: taken as 0 here
    ff = c["fm"] - c["tiles"] * xf
    gap = ours - c["fm"]
    ts = c["tiles"] * (x - xf)
    v = "no-gap" if gap <= 0 else "per-tile" if ts >= 0.6 * gap else "item-boundary" if ts <= 0.4 * gap else "both"
    us = times(d, "shipped")
    out("%s: shipped %s | %.2f us an item, %.3f us a tile (FlashMLA %.3f); at %s (%d items, %d tiles a part): ours %.1f, "
        "FlashMLA %.1f, gap %.1f us = tile share %.1f (%.0f %%) + the rest %.1f (fixed ours %.1f, FlashMLA %.1f) -> VERDICT %s" % (
            c["name"], " ".join("%.1f" % u for u in us[:4]), y, x, xf, c["shape"], c["items"], c["tiles"], ours, c["fm"], gap, ts,
            100 * ts / gap if gap else 0, gap - ts, fixed, ff, v))
    g = fit(d, cls, "m%d" % CAND, cls_time(d, cls, m1h, "m%d" % CAND))
    if g is not None:
        out("%s: bit 43 %s | %.2f us an item, %.3f us a tile" % (c["name"], " ".join("%.1f" % u for u in times(d, "m%d" % CAND)[:4]), g[0], g[1]))
    return v


def decide(ab_txt, d, m1h=None, v32i=None, m1i=None, out=print):
    verdicts = [items(j, cls, out, m1h) for j, cls in ((v32i, "v32items"), (m1i, "m1h64items"))]
    ok = checks_ok(ab_txt, CAND)
    m64, m128 = memcheck(os.path.join(d, "san64") if d else None, CAND), memcheck(os.path.join(d, "san128") if d else None, CAND)
    counts = ok and m64 == 0 and m128 == 0
    out("bit 43 m%d: checks %s | memcheck h_q 64 %s, h_q 128 %s -> %s" % (
        CAND, "pass" if ok else "FAIL/missing", *("not finished" if m is None else "%d errors" % m for m in (m64, m128)),
        "counts" if counts else "does not count"))
    sp, cp = times(m1h or {}, "shipped"), times(m1h or {}, "m%d" % CAND)
    q, r = False, None
    if sp and cp and len(sp) >= 5 and len(cp) >= 5 and None not in sp[:5] + cp[:5]:
        r = [c / s_ for c, s_ in zip(cp[:4], sp[:4])]
        g = cp[4] / sp[4]
        q = qualifies(r) and abs(g - 1) <= 0.015
        fm = (m1h or {}).get("flashmlaUs") or []
        vs = ""
        if len(fm) >= 4 and all(isinstance(f, (int, float)) for f in fm[:4]):
            vs = " | vs FlashMLA: shipped %.4f, bit 43 %.4f" % (gm([f / s_ for f, s_ in zip(fm, sp)]), gm([f / c for f, c in zip(fm, cp)]))
        out("MODEL1 h_q 64 shapes (6 rounds): time / shipped %.4f (%s) | guard %.3f%s -> %s" % (
            gm(r), " ".join("%.3f" % x for x in r), g, vs, "qualifies" if q else "no" if abs(g - 1) <= 0.015 else "noise"))
    else:
        out("MODEL1 h_q 64 shapes: not timed")
    tag = ("MODEL1 h_q 64 %.4f of shipped" % gm(r) if r else "MODEL1 h_q 64 not timed") + "; items: V3.2 pair %s, one-CTA MODEL1 %s" % tuple(
        v or "-" for v in verdicts)
    if counts and q:
        return "SHIP %d (bit 43 qualifies: %s)" % (CAND, tag)
    return "KEEP %d (bit 43 %s: %s)" % (SHIPPED, "does not count" if not counts else "does not qualify", tag)


def self_test():
    import tempfile
    d = tempfile.mkdtemp()
    for h in ("san64", "san128"):
        os.makedirs(os.path.join(d, h, "san-m%d" % CAND))
        open(os.path.join(d, h, "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
    vs = [83.4, 140.3, 97.4, 120.9, 116.0]
    fm = [77.3, 132.8, 90.2, 115.3, 102.5]
    quiet = lambda *_: None

    def mk(f=1.0, one=None, g=1.0, t=txt, dd=d):
        cp = [x * f for x in vs[:4]] + [vs[4] * g]
        if one is not None:
            cp[1] = vs[1] * one
        m1h = {"flashmlaUs": fm, "builds": [{"name": "shipped", "us": vs}, {"name": "m%d" % CAND, "us": cp}]}
        return decide(t, dd, m1h, out=quiet)

    assert mk().startswith("KEEP %d " % SHIPPED)
    assert mk(0.99).startswith("SHIP %d " % CAND)
    assert mk(0.996).startswith("KEEP")
    assert mk(0.99, one=1.006).startswith("KEEP")  # one shape slower
    assert mk(0.99, g=1.02).startswith("KEEP")  # the guard moved: noise
    assert mk(0.99, t=txt.replace("fail 0", "fail 1")).startswith("KEEP")
    assert mk(0.99, dd=None).startswith("KEEP")  # memcheck missing
    assert decide("", None, out=quiet).startswith("KEEP")

    # the item fit: a class's times from (y, x) and our time at the class shape; the verdict follows the tile share
    def itm(cls, y, x, gap, here=False):
        c = dict(CLASSES[cls])
        pk = dict(items=5, tiles=1151) if cls == "v32items" else dict(items=3, tiles=576)
        CLASSES[cls]["ours"] = ours = c["fm"] + gap
        us = [10.0 + n * y + 32 * x for n in (1, 2, 4)] + [ours + (pk["items"] - c["items"]) * y + (pk["tiles"] - c["tiles"]) * x]
        m1h = None
        if here:  # the class shape timed in this call: the constant (call C4) is not used
            CLASSES[cls]["ours"] = ours + 50
            if cls == "v32items":
                us.append(ours)
            else:
                m1h = {"builds": [{"name": "shipped", "us": [1.0, ours, 1.0, 1.0, 1.0]}]}
        j = {"sched": [dict(items=n, tiles=32) for n in (1, 2, 4)] + [pk], "builds": [{"name": "shipped", "us": us}]}
        got = fit(j, cls, "shipped", cls_time(j, cls, m1h, "shipped"))
        assert abs(got[0] - y) < 1e-6 and abs(got[1] - x) < 1e-6, got
        v = items(j, cls, quiet, m1h)
        CLASSES[cls].update(c)
        return v
    xf = (CLASSES["v32items"]["fm_peak"] - CLASSES["v32items"]["fm"]) / (1151 - 128)
    assert itm("v32items", 1.0, xf + 0.1, 13.0) == "per-tile"  # 12.8 of the 13 us gap is the tile
    assert itm("v32items", 1.0, xf, 13.0) == "item-boundary"
    assert itm("v32items", 1.0, xf + 0.05, 13.0) == "both"
    assert itm("v32items", 1.0, xf, -1.0) == "no-gap"
    assert itm("v32items", 1.0, xf + 0.1, 13.0, here=True) == "per-tile"
    assert itm("v32items", 1.0, xf, 13.0, here=True) == "item-boundary"
    xf = (CLASSES["m1h64items"]["fm_peak"] - CLASSES["m1h64items"]["fm"]) / (576 - 32)
    assert itm("m1h64items", 2.0, xf + 0.2, 7.5) == "per-tile"
    assert itm("m1h64items", 2.0, xf + 0.05, 7.5) == "item-boundary"
    assert itm("m1h64items", 2.0, xf + 0.2, 7.5, here=True) == "per-tile"
    assert items({}, "v32items", quiet) is None
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    ab_txt = open(sys.argv[1]).read() if len(sys.argv) > 1 and os.path.exists(sys.argv[1]) else ""
    m1h = load_arg(3) if len(sys.argv) > 3 else {}
    v32i = load_arg(4) if len(sys.argv) > 4 else None
    m1i = load_arg(5) if len(sys.argv) > 5 else None
    print(decide(ab_txt, sys.argv[2] if len(sys.argv) > 2 else None, m1h, v32i, m1i))

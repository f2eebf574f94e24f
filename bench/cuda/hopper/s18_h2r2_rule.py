#!/usr/bin/env python3
"""Session 18, helper h2 round 2: the verdict of the bit-55 decomposition probe (s18_h2r2_slot.sh), written in
docs/notes/cuda-sparse-decode.md ("Session 18, helper h2, round 2") before any run. A probe: nothing ships, the last line is
always KEEP 6877596141925228552 (...).

  python3 bench/cuda/hopper/s18_h2r2_rule.py M1ITEMS.json [M1ITEMS2.json ...]        # or --self-test

Each JSON: sparse-sm90-final-ab.js --shapes m1items (shipped and the four probes of the slot). Per build, the steady tile
x (us a tile, sparse_sm90_items_s13.py's fit: the peak case's time less its item boundaries, over its tiles), the mean over
the passes (and their spread). Bit 55's MODEL1 cost, A - shipped, splits into
  order    Z - shipped (the halves' store order, the extra arrival, the consumers' waits),
  fence    Y - Z       (the fence between the halves),
  early S  A - Y       (S's first half started on the first half);
and `gather order` X - A. VERDICT: the part that is >= 50 % of A - shipped (else `spread`), and the gather order `level` if
|X - A| <= 1 % of shipped's x, else `moves`.
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sparse_sm90_items_s13 import slope  # noqa: E402

SHIPPED = 6877596141925228552
A, X, Y, Z = 6913624938944192520, 6913627137967448072, 6913629336990703624, 6913638133083725832
NAMES = {"shipped": "shipped", "m%d" % A: "A (+55)", "m%d" % X: "X (+55+41)", "m%d" % Y: "Y (+55+42)", "m%d" % Z: "Z (+55+42+43)"}


def tiles(d):
    """{build name: (x us a tile, y us an item)} of one m1items JSON (the s13 fit)."""
    sched = d["sched"]
    items, pk = [s["items"] for s in sched[:3]], sched[3]
    res = {}
    for b in d["builds"]:
        us = b["us"]
        if len(us) < 4 or any(u is None for u in us[:4]):
            continue
        y = slope(items, us[:3])
        res[b["name"]] = ((us[3] - y * pk["items"]) / pk["tiles"], y)
    return res


def decide(ds, out=print):
    runs = [tiles(d) for d in ds]
    runs = [r for r in runs if r]
    if not runs:
        out("KEEP %d (probe: no item-probe timing)" % SHIPPED)
        return None
    x = {}
    for n, label in NAMES.items():
        xs = [r[n][0] for r in runs if n in r]
        ys = [r[n][1] for r in runs if n in r]
        if xs:
            x[n] = sum(xs) / len(xs)
            out("%-14s x %.3f us a tile (passes %s), y %.2f us an item" % (label, x[n], " ".join("%.3f" % v for v in xs), sum(ys) / len(ys)))
    need = ["shipped", "m%d" % A, "m%d" % Y, "m%d" % Z]
    if any(n not in x for n in need):
        out("KEEP %d (probe: builds missing: %s)" % (SHIPPED, " ".join(n for n in need if n not in x)))
        return None
    s, a, y, z = (x[n] for n in need)
    total = a - s
    parts = {"order": z - s, "fence": y - z, "early S": a - y}
    out("bit 55's MODEL1 cost A - shipped %+.3f us a tile (%+.1f %%): " % (total, 100 * total / s)
        + ", ".join("%s %+.3f" % kv for kv in parts.items()))
    big = [k for k, v in parts.items() if total > 0 and v >= 0.5 * total]
    v = big[0] if big else "spread"
    g = None
    if "m%d" % X in x:
        g = "level" if abs(x["m%d" % X] - a) <= 0.01 * s else "moves"
        out("gather order X - A %+.3f us a tile: %s" % (x["m%d" % X] - a, g))
    out("VERDICT %s%s" % (v, "" if g is None else " | gather order %s" % g))
    out("KEEP %d (probe: bits 41-43 never ship)" % SHIPPED)
    return v, g


def self_test():
    sched = [dict(items=1, tiles=32), dict(items=2, tiles=32), dict(items=4, tiles=32), dict(items=5, tiles=1160)]

    def us(xt, yi=5.0, z=40.0):
        return [z + yi * n + 32 * xt for n in (1, 2, 4)] + [z + 5 * yi + 1160 * xt]

    def mk(s, a, xx, y, z):
        b = [dict(name="shipped", us=us(s))] + [dict(name="m%d" % m, us=us(v)) for m, v in ((A, a), (X, xx), (Y, y), (Z, z)) if v is not None]
        return dict(sched=sched, builds=b)
    q = lambda *_: None
    assert decide([mk(2.77, 3.35, 3.35, 2.80, 2.78)], q) == ("early S", "level")
    assert decide([mk(2.77, 3.35, 3.30, 3.30, 2.80)], q) == ("fence", "moves")
    assert decide([mk(2.77, 3.35, 3.35, 3.30, 3.25)], q) == ("order", "level")
    assert decide([mk(2.77, 3.35, 3.35, 3.10, 2.95)], q) == ("spread", "level")
    assert decide([mk(2.77, 3.35, None, 2.80, 2.78), mk(2.77, 3.37, None, 2.80, 2.78)], q) == ("early S", None)
    assert decide([mk(2.77, 3.35, 3.35, None, 2.78)], q) is None
    assert decide([], q) is None
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    ds = []
    for f in sys.argv[1:]:
        try:
            ds.append(json.load(open(f)))
        except Exception as e:  # a pass cut off before its JSON was written
            print("no %s (%s)" % (f, e.__class__.__name__))
    decide(ds)

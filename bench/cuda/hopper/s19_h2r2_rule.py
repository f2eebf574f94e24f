#!/usr/bin/env python3
"""Session 19, helper h2, round 2: the rule of s19_h2r2_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 19,
helper h2, round 2") before any run. Probes only: the last line is always KEEP 6881325685366644744 (probe: VERDICT ...).

  python3 bench/cuda/hopper/s19_h2r2_rule.py M1ITEMS.json M1ITEMS-SYNC.json M1PAIR.json      # or --self-test

The steady MODEL1 pair tile (s18_h2r2_rule.tiles: the s13 item fit) of each build. M1ITEMS.json: shipped (T), p47 (the
producer alone, P), p1 (no P V), p2 (no S), p5 (the consumers alone, C); M1ITEMS-SYNC.json: shipped again (T'), p3 (no
release to the peer CTA), p4 (the peer's bytes waited for after the math). Drops D1 = T - p1, D2 = T - p2, D3 = T' - p3,
D4 = T' - p4 (us a tile), each also as a share of the coupling T - P.
VERDICT, in this order: C >= 0.90 T -> `consumers` (the consumers' own chain is nearly the whole tile: not a coupling);
sync = max(D3, D4) >= 0.25 and >= max(D1, D2) -> `release` (D3 >= D4: the producer waiting for the peer CTA's hand-back) or
`peer-bytes` (the consumers waiting for the peer's st.async bytes); else max(D1, D2) >= 0.25 -> `pv` (D1 >= D2) or `s`
(the consumers' math on the tile's path: its length, or its contention with the producer); else `spread` (no single
piece: each < 0.25 us). M1PAIR.json (logged only): each build's geomean time / shipped on the four MODEL1 pair shapes.
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import gm, load_arg, times  # noqa: E402
from s18_h2r2_rule import tiles  # noqa: E402

SHIPPED = 6881325685366644744
LABELS = {"p47": "producer alone", "p1": "no P V", "p2": "no S", "p5": "consumers alone", "p3": "no peer release",
          "p4": "peer wait after the math"}


def safe_tiles(d, out):
    try:
        return tiles(d) if d else {}
    except Exception as e:
        out("item probe not read (%s)" % e.__class__.__name__)
        return {}


def decide(items, sync, m1p, out=print):
    a, b = safe_tiles(items, out), safe_tiles(sync, out)
    for name, x in (("m1items", a), ("m1items-sync", b)):
        if x:
            out("%s: " % name + ", ".join("%s %.3f us a tile (%.2f an item)" % (n, v[0], v[1]) for n, v in x.items()))
    sp = times(m1p, "shipped") if m1p else None
    if sp and len(sp) >= 4:
        rs = []
        for bld in m1p.get("builds", []):
            us = bld.get("us") or []
            if bld["name"] != "shipped" and len(us) >= 4 and all(u for u in us[:4]):
                rs.append("%s %.3f" % (bld["name"], gm([u / s for u, s in zip(us[:4], sp[:4])])))
        out("MODEL1 pair shapes, time / shipped: " + ", ".join(rs))
    t = a.get("shipped", (None,))[0]
    if t is None or "p47" not in a:
        return "KEEP %d (probe: no item-probe timing of shipped / the producer alone)" % SHIPPED
    p = a["p47"][0]
    c = a["p5"][0] if "p5" in a else None
    gap = t - p
    out("coupling: T %.3f - P %.3f = %.3f us a tile%s" % (t, p, gap, "" if c is None else "; C %.3f, T - max(P, C) = %.3f" % (c, t - max(p, c))))
    t2 = b.get("shipped", (None,))[0]
    d = {}
    for n, base, src in (("p1", t, a), ("p2", t, a), ("p3", t2, b), ("p4", t2, b)):
        if base is not None and n in src:
            d[n] = base - src[n][0]
    out("drops (us a tile; share of T - P): " + ", ".join(
        "%s %s %.3f (%.2f)" % (n, LABELS[n], v, v / gap if gap > 0 else float("nan")) for n, v in d.items()))
    if c is not None and c >= 0.90 * t:
        v = "consumers"
    else:
        sync = max(d.get("p3", -9), d.get("p4", -9))
        math = max(d.get("p1", -9), d.get("p2", -9))
        if sync >= 0.25 and sync >= math:
            v = "release" if d.get("p3", -9) >= d.get("p4", -9) else "peer-bytes"
        elif math >= 0.25:
            v = "pv" if d.get("p1", -9) >= d.get("p2", -9) else "s"
        else:
            v = "spread"
    return "KEEP %d (probe: VERDICT %s; T %.3f, P %.3f%s)" % (SHIPPED, v, t, p, "" if c is None else ", C %.3f" % c)


def self_test():
    sched = [{"items": 1, "tiles": 32}, {"items": 2, "tiles": 32}, {"items": 4, "tiles": 32}, {"items": 5, "tiles": 1151}]

    def it(**tile):  # us from a tile x and 5 us an item: fixed 20 + 5 items + 32 x (peak: 1151 x + 5 x 5)
        return {"sched": sched, "builds": [{"name": n, "us": [20 + 5 * i + 32 * x for i in (1, 2, 4)] + [1151 * x + 25]}
                                          for n, x in tile.items()]}

    q = lambda *_: None
    base = dict(shipped=2.76, p47=1.97, p5=1.7)
    v = lambda a, b: decide(it(**a), it(**b), {}, out=q).split("VERDICT ")[1].split(";")[0]
    assert v(dict(base, p1=2.3, p2=2.6), dict(shipped=2.76, p3=2.7, p4=2.7)) == "pv"
    assert v(dict(base, p1=2.6, p2=2.3), dict(shipped=2.76, p3=2.7, p4=2.7)) == "s"
    assert v(dict(base, p1=2.6, p2=2.6), dict(shipped=2.76, p3=2.3, p4=2.6)) == "release"
    assert v(dict(base, p1=2.6, p2=2.6), dict(shipped=2.76, p3=2.6, p4=2.3)) == "peer-bytes"
    assert v(dict(base, p1=2.3, p2=2.6), dict(shipped=2.76, p3=2.4, p4=2.7)) == "pv"  # math larger
    assert v(dict(base, p1=2.6, p2=2.6), dict(shipped=2.76, p3=2.6, p4=2.6)) == "spread"
    assert v(dict(base, p5=2.6, p1=2.3, p2=2.6), dict(shipped=2.76, p3=2.3)) == "consumers"
    assert v(dict(base, p1=2.3), {}) == "pv"  # the sync step cut
    assert decide({}, {}, {}, out=q).startswith("KEEP %d (probe: no" % SHIPPED)
    assert decide(it(shipped=2.76), {}, {}, out=q).startswith("KEEP %d (probe: no" % SHIPPED)
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    print(decide(load_arg(1), load_arg(2), load_arg(3)))

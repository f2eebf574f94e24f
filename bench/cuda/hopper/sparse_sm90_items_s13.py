#!/usr/bin/env python3
"""MODEL1 h_q 128 (the final call's worst sparse shapes, 0.72x / 0.74x): per item or per tile? Reads the JSON of
`sparse-sm90-final-ab.js ... --shapes m1items` (docs/notes/cuda-sparse-decode.md, "Next session's sparse slot, h1"):

    python3 bench/cuda/hopper/sparse_sm90_items_s13.py ITEMS.json      # or --self-test

The first three shapes give the largest part 32 tiles as 1, 2 and 4 items (b 33 / 66 / 128, topk 2048 / 1024 / 512);
the fourth is FlashMLA's b 148 topk 16384 case (1151 tiles a part, 5 items: its time is the steady tile). Per build:
  y = the least-squares slope of time over items at 32 tiles (µs an item boundary),
  x = (T_peak - y * items_peak) / tiles_peak (µs a tile),  fixed(k512) = T(b128 k512) - 32 x (launch + 4 items).
FlashMLA (its JSON, same rows): x_F = F_peak / tiles_peak, fixed_F = F(k512) - 32 x_F. The gap at b128 k512,
T - F, splits into a tile share 32 (x - x_F) and a fixed share fixed - fixed_F.
VERDICT (the shipped build): `item-boundary` when the fixed share is >= 60 % of the gap, `per-tile` when the tile
share is, else `both`; the item boundary's side: `consumers` when the consumers-alone probe's y is >= 70 % of the
shipped build's y, else `not the consumers alone`."""
import json
import sys


def slope(xs, ys):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)


def analyse(d, out=print):
    sched, fm = d["sched"], d["flashmlaUs"]
    labels = d["shapes"]
    if len(sched) < 4 or any(s["tiles"] != 32 for s in sched[:3]):
        raise SystemExit(f"not the m1items shapes: {labels} {sched}")
    items = [s["items"] for s in sched[:3]]
    pk = sched[3]
    res = {}
    for b in d["builds"]:
        us = b["us"]
        y = slope(items, us[:3])
        x = (us[3] - y * pk["items"]) / pk["tiles"]
        fixed = us[2] - 32 * x
        res[b["name"]] = dict(y=y, x=x, fixed=fixed, us=us)
        out(f"{b['name']}: " + " ".join(f"{l} {u:.1f}" for l, u in zip(labels, us))
            + f" | {y:.2f} us an item, {x:.3f} us a tile, fixed at k512 {fixed:.1f} us")
    if "shipped" not in res:
        raise SystemExit("no shipped build in the JSON")
    t = res["shipped"]
    if fm[2] is None or fm[3] is None:
        out("no FlashMLA rows for b128 k512 / peak: no split of the gap")
        return None
    xf = fm[3] / pk["tiles"]
    ff = fm[2] - 32 * xf
    gap = t["us"][2] - fm[2]
    tile_share, fixed_share = 32 * (t["x"] - xf), t["fixed"] - ff
    out(f"FlashMLA: k512 {fm[2]:.1f} us, peak {fm[3]:.1f} us: {xf:.3f} us a tile, fixed at k512 {ff:.1f} us")
    out(f"gap at b128 k512: {gap:.1f} us = tile share {tile_share:.1f} ({100 * tile_share / gap:.0f} %) + fixed share "
        f"{fixed_share:.1f} ({100 * fixed_share / gap:.0f} %); shipped vs FlashMLA on the peak case {fm[3] / t['us'][3]:.3f}x")
    v = "item-boundary" if fixed_share >= 0.6 * gap else "per-tile" if tile_share >= 0.6 * gap else "both"
    c = next((r for n, r in res.items() if n.endswith("277093474312")), None)
    side = None
    if c is not None and t["y"] > 0:
        side = "consumers" if c["y"] >= 0.7 * t["y"] else "not the consumers alone"
        out(f"item boundary: shipped {t['y']:.2f} us, consumers alone {c['y']:.2f} us: {side}")
    out(f"VERDICT {v}")
    return v, side


def self_test():
    base = dict(shapes=["M1 b33", "M1 b66", "M1 b128 k512", "M1 b148 peak"],
                sched=[dict(parts=33, items=1, tiles=32), dict(parts=33, items=2, tiles=32), dict(parts=33, items=4, tiles=32),
                       dict(parts=33, items=5, tiles=1151)],
                flashmlaUs=[None, None, 102.0, 2706.2])

    def mk(y, x, z, yc=None):
        us = lambda y, x: [z + y * n + 32 * x for n in (1, 2, 4)] + [z + 5 * y + 1151 * x]
        b = [dict(name="shipped", us=us(y, x))]
        if yc is not None:
            b.append(dict(name="m277093474312", us=us(yc, 2.3)))
        return dict(base, builds=b)
    quiet = lambda *a: None
    # per tile: FlashMLA's fixed, a slower tile
    assert analyse(mk(5.0, 3.0, 6.8), quiet)[0] == "per-tile"
    # item boundary: FlashMLA's tile (2.351), many µs an item
    assert analyse(mk(12.0, 2.40, 6.0, yc=11.0), quiet) == ("item-boundary", "consumers")
    # both: round 2's numbers (x 3.0, 4 y + z 46.5)
    assert analyse(mk(10.0, 3.0, 6.5, yc=3.0), quiet) == ("both", "not the consumers alone")
    # the fitted slope is exact on a straight line
    assert abs(slope([1, 2, 4], [10, 20, 40]) - 10) < 1e-12
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        analyse(json.load(open(sys.argv[1])))

#!/usr/bin/env python3
"""The reading of bench/cuda/dense-fp8/s22_f6_probe.sh (session 22, helper f6; docs/notes/cuda-dense-fp8.md "Session 22
(f6)", written before any run). Timing-only probes of the shipped build; nothing here ships.

  python3 s22_f6_probe_read.py AB.json        a block a shape, then a summary line
  python3 s22_f6_probe_read.py --self-test    synthetic timings through the same code

Per shape (ab.js --abba, one process): each arm's us and t / ship; a warpgroup's tile period
  period = NC x (t - F) / 128   (F = 6 us, the fixed part of session 21 call D's stamps; 128 tiles a part at s_k 8192,
                                 the stamps' convention; NC = 2 consumer warpgroups at 32 rows (n32), 3 at 16 (n16w3))
and the shares of the tile:
  with DRAM     S = (O0 - F) / (ship - F), O = (S0 - F) / (ship - F)   (the DRAM floor, ~180 us, caps what these show)
  without DRAM  S = (MO - F) / (M - F),    O = (MS - F) / (M - F)      (the consumer chain alone: the reading to use)
S + O near 1: the two sides run one after the other in a warpgroup (the V-split's overlap has room); well under 1:
they compete for one resource (issue slots or tensor cores), and splitting them across warpgroups gains less.
The summary's last line: the 32-row shares without DRAM and the V-split's predicted tile (max(S/2, O/2, memory)).
"""
import json, math, sys

F = 6.0
NC = {"32": 2, "16": 3}


def rows(shape):
    sk, hq, sq = shape.split("x")
    return int(hq) * int(sq)


def read(d):
    shapes = d["shapes"]
    arms = {b["name"]: b["us"] for b in d["builds"]}
    bf = d.get("bf16_us", [math.nan] * len(shapes))
    out, summary = [], {}
    for k, sh in enumerate(shapes):
        r = rows(sh)
        nc = NC["32"] if r > 16 else NC["16"]
        t = {n: v[k] for n, v in arms.items() if v[k] == v[k]}
        ship = t.get("ship", math.nan)
        out.append(f"# {sh}: bf16 {bf[k]:.1f} us; " + ", ".join(f"{n} {v:.1f} ({v / ship:.3f}, period {nc * (v - F) / 128:.2f})" for n, v in t.items()))

        def share(a, ref):
            return (t[a] - F) / (t[ref] - F) if a in t and ref in t else math.nan
        sD, oD = share("O0", "ship"), share("S0", "ship")
        sM, oM = share("MO", "M"), share("MS", "M")
        out.append(f"#   shares with DRAM: S {sD:.2f} O {oD:.2f} (sum {sD + oD:.2f}); without DRAM: S {sM:.2f} O {oM:.2f} (sum {sM + oM:.2f}); "
                   f"M / ship {t.get('M', math.nan) / ship:.3f}")
        summary[sh] = (sM, oM, t.get("M", math.nan), ship, bf[k])
    s32 = summary.get("8192x32x1")
    if s32:
        sM, oM, m, ship, b = s32
        per = 2 * (m - F) / 128  # a warpgroup's period without DRAM (NC = 2)
        # V-split: two S warpgroups alternate (S side per tile an SM = S x period / 2), two O warpgroups each do half of every
        # tile's O side (O x period / 2 each, in parallel); the DRAM floor ~1.36 us a tile (16 rows: 179 us)
        tile = max(sM * per / 2, oM * per / 2, 1.36)
        pred = F + 128 * tile
        out.append(f"summary: 8192x32x1 without DRAM: S {sM:.2f} O {oM:.2f} of a {per:.2f} us period; the V-split's tile "
                   f"max(S/2, O/2, DRAM) = {tile:.2f} us -> ~{pred:.0f} us ({b / pred:.2f}x bf16, before its hand-off costs)")
    else:
        out.append("summary: no 8192x32x1 timing")
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        d = {"shapes": ["8192x32x1", "8192x16x1"], "bf16_us": [306.0, 301.0],
             "builds": [{"name": "ship", "us": [266.0, 179.0]}, {"name": "O0", "us": [190.0, 178.0]}, {"name": "S0", "us": [185.0, 177.0]},
                        {"name": "M", "us": [258.0, 160.0]}, {"name": "MO", "us": [170.0, 110.0]}, {"name": "MS", "us": [120.0, 80.0]}]}
        for l in read(d):
            print(l)
        d["builds"] = d["builds"][:3]
        for l in read(d):
            print(l)
        return
    try:
        d = json.load(open(sys.argv[1]))
    except Exception as e:
        print(f"summary: no timing ({e})")
        return
    for l in read(d):
        print(l)


if __name__ == "__main__":
    main()

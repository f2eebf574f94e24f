#!/usr/bin/env python3
"""Rule of slot 1 (s19_h3.sh), re-targeted at session 19's end to the shipped F (109953712948800): the 16-row dispatch
threshold for F's own n16 and n16w3 codes (docs/notes/cuda-dense-fp8.md, "Next session's plan (dense FP8, written at
session 19's end)", written before any run). Inputs: the two passes' ab.js JSON (builds shipped, n16, sw3; shapes
s_k x 16 x 1 at b 128). us = the two passes' mean. Tiles an SM part x = 128 ceil(s_k / 64) / 132.
r(x) = sw3 us / n16 us (F's n16w3 against F's n16).
Crossover T: k = the first shape from which r <= 1 at every larger shape; T = the linear crossing of r = 1 between
shape k-1 and k, rounded up, kept within (floor(x_{k-1}), floor(x_k)]; floor(x_0) when k = 0; none when r(x_last) > 1.
Dispatch time D_T(x) = n16 us where x < T, else sw3 us. The shapes T changes: those with (x >= T) != (x >= 48).
Move the threshold to T when T exists, differs from 48, changes at least one shape, and over the changed shapes the
geomean of D_T / D_48 is <= 0.995, none is > 1.005, and each pass alone gives a geomean < 1.
Last line: `SHIP denseFp8Sm90W3Tiles=T (shipped build)`, else `KEEP denseFp8Sm90W3Tiles=48 (why)`.
Diagnostics (not gating): a least-squares line us = fixed + per tile x of n16 and of sw3 over x >= 46; the noise check,
`shipped` against the same-code folder (n16 below 48 tiles, sw3 from 48)."""
import json, math, sys

def load(f):
    try:
        return json.load(open(f))
    except (OSError, ValueError):
        return None

def geo(v):
    return math.exp(sum(math.log(t) for t in v) / len(v)) if v else math.nan

def main():
    js = [j for j in (load(a) for a in sys.argv[1:3]) if j]
    if not js:
        print("KEEP denseFp8Sm90W3Tiles=48 (no timing)"); return
    shapes = js[0]["shapes"]
    per = []  # per pass: {name: [us]}
    for j in js:
        per.append({b["name"]: b["us"] for b in j["builds"] if b.get("us") and all(isinstance(u, (int, float)) and u == u for u in b["us"])})
    us = {}
    for name in ("shipped", "n16", "sw3"):
        rows = [p[name] for p in per if name in p]
        if rows:
            us[name] = [sum(r[k] for r in rows) / len(rows) for k in range(len(shapes))]
    if "n16" not in us or "sw3" not in us:
        print("KEEP denseFp8Sm90W3Tiles=48 (n16 / sw3 not timed)"); return
    x = [128 * math.ceil(int(s.split("x")[0]) / 64) / 132 for s in shapes]
    bf = [v if isinstance(v, (int, float)) else math.nan for v in (js[0].get("bf16_us") or [None] * len(shapes))]
    r = [a / b for a, b in zip(us["sw3"], us["n16"])]
    sp = [max((abs(per[0][n][k] - per[1][n][k]) / us[n][k] for n in us if len(per) == 2 and n in per[0] and n in per[1]),
              default=math.nan) for k in range(len(shapes))]
    print("# shape      tiles    bf16  shipped     n16     sw3 | r=sw3/n16 | shipped/same code | pass spread")
    for k, s in enumerate(shapes):
        sh = us.get("shipped", [math.nan] * len(shapes))[k]
        same = us["n16"][k] if x[k] < 48 else us["sw3"][k]
        print(f"# {s:<10} {x[k]:5.1f} {bf[k]:7.1f} {sh:8.1f} {us['n16'][k]:7.1f} {us['sw3'][k]:7.1f} | {r[k]:.3f}     | {sh / same:.3f}"
              f"             | {sp[k]:.3f}")

    def cross(rc):
        if rc[-1] > 1:
            return None
        k = len(rc) - 1
        while k > 0 and rc[k - 1] <= 1:
            k -= 1
        if k == 0:
            return math.floor(x[0])
        t = x[k - 1] + (x[k] - x[k - 1]) * (rc[k - 1] - 1) / (rc[k - 1] - rc[k])
        return max(math.floor(x[k - 1]) + 1, min(math.floor(x[k]), math.ceil(t)))

    def fit(u):  # least squares us = a + b x over the shapes with x >= 46 (a diagnostic: the fixed part and the per-tile cost)
        ks = [k for k in range(len(shapes)) if x[k] >= 46]
        if len(ks) < 2:
            return math.nan, math.nan
        mx, mu = sum(x[k] for k in ks) / len(ks), sum(u[k] for k in ks) / len(ks)
        b = sum((x[k] - mx) * (u[k] - mu) for k in ks) / sum((x[k] - mx) ** 2 for k in ks)
        return mu - b * mx, b
    print("# fit over x >= 46 (us = fixed + per tile x): " + "; ".join(f"{n} {a:.1f} + {b:.3f} x" for n, (a, b) in
                                                                      ((n, fit(us[n])) for n in ("n16", "sw3"))))
    T = cross(r)
    print(f"# crossover T {T} (tiles an SM part; shipped 48)")
    if T is None:
        print(f"KEEP denseFp8Sm90W3Tiles=48 (no crossover up to {x[-1]:.1f} tiles: n16 at least as fast everywhere measured)"); return
    ch = [k for k in range(len(shapes)) if (x[k] >= T) != (x[k] >= 48)]
    d = lambda u, t, k: u["n16"][k] if x[k] < t else u["sw3"][k]
    q = [d(us, T, k) / d(us, 48, k) for k in ch]
    qp = [geo([d(p, T, k) / d(p, 48, k) for k in ch]) for p in per if "n16" in p and "sw3" in p]
    g, m = geo(q), max(q) if q else math.nan
    print(f"# T {T} changes {', '.join(shapes[k] for k in ch) or 'no shape'}: D_T/D_48 " + ", ".join(f"{v:.3f}" for v in q) +
          f"; geomean {g:.3f} (<= 0.995), max {m:.3f} (<= 1.005), per pass " + ", ".join(f"{v:.3f}" for v in qp) + " (< 1)")
    print("# shipped (48) -> T: " + ", ".join(
        f"{s} {d(us, 48, k):.1f}->{d(us, T, k):.1f} ({bf[k] / d(us, T, k):.2f}x bf16)" for k, s in enumerate(shapes)))
    if T != 48 and ch and g <= 0.995 and m <= 1.005 and all(v < 1 for v in qp):
        print(f"SHIP denseFp8Sm90W3Tiles={T} (shipped build)")
    else:
        why = "T is 48" if T == 48 else "no measured shape changes" if not ch else f"gain {g:.3f} / worst {m:.3f} / passes {qp} not by the rule"
        print(f"KEEP denseFp8Sm90W3Tiles=48 ({why})")

main()

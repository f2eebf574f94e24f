#!/usr/bin/env python3
"""Rule of session 19's dense FP8 threshold slot (s19_h3.sh; docs/notes/cuda-dense-fp8.md, "Session 19 (helper s19-h3)",
written before any run). Inputs: the two passes' ab.js JSON (builds shipped, n16, sw3, vw3; shapes s_k x 16 x 1 at b 128)
and ok (1 = vw3's checks passed). us = mean of the two passes. Tiles an SM part x = 128 * ceil(s_k / 64) / 132.
r_c(x) = c's n16w3 us / n16 us (c = S, the shipped n16w3 = sw3; c = V = vw3).
Crossover T_c: k = the first shape from which r_c <= 1 at every larger shape; T_c = the linear crossing of r_c = 1 between
shape k-1 and k, rounded up, kept within (floor(x_{k-1}), floor(x_k)]; floor(x_0) when k = 0; none when r_c(x_last) > 1.
Dispatch time D_c,T(x) = n16(x) where x < T, else c's n16w3 us.
1. The code: V when its 240 dense90 cases, memcheck, synccheck and racecheck's class rule pass (ok), and over the shapes
   with x >= min(T_V, 31) the geomean of vw3 / sw3 is <= 0.99 and none is > 1.005; else S.
2. The threshold for that code: T_c when the geomean over all seven shapes of D_c,T_c / D_c,48 is <= 0.995, else 48.
Last line: `SHIP v30788875748928 denseFp8Sm90W3Tiles=T` (code V, any T), `SHIP denseFp8Sm90W3Tiles=T (shipped build)`
(code S, T != 48), else `KEEP the shipped build (why)`."""
import json, math, sys

def load(f):
    try:
        j = json.load(open(f))
    except (OSError, ValueError):
        return None
    return j

def main():
    js = [j for j in (load(sys.argv[1]), load(sys.argv[2])) if j]
    ok = sys.argv[3] == "1"
    if not js:
        print("KEEP the shipped build (no timing)"); return
    shapes = js[0]["shapes"]
    us = {}
    for name in ("shipped", "n16", "sw3", "vw3"):
        rows = [next((b["us"] for b in j["builds"] if b["name"] == name), None) for j in js]
        rows = [r for r in rows if r]
        if rows:
            us[name] = [sum(r[k] for r in rows) / len(rows) for k in range(len(shapes))]
    if "n16" not in us or "sw3" not in us:
        print("KEEP the shipped build (n16 / sw3 not timed)"); return
    sk = [int(s.split("x")[0]) for s in shapes]
    x = [128 * math.ceil(s / 64) / 132 for s in sk]
    bf = js[0].get("bf16_us") or [math.nan] * len(shapes)
    geo = lambda v: math.exp(sum(math.log(t) for t in v) / len(v)) if v else math.nan
    spread = {n: [abs(js[0]["builds"][[b["name"] for b in js[0]["builds"]].index(n)]["us"][k] -
                      js[1]["builds"][[b["name"] for b in js[1]["builds"]].index(n)]["us"][k]) / us[n][k] for k in range(len(shapes))]
              for n in us} if len(js) == 2 else {}
    print("# shape      tiles    bf16  shipped     n16     sw3     vw3 | r_S   r_V   V/S  | pass spread (max of builds)")
    r = {"S": [a / b for a, b in zip(us["sw3"], us["n16"])]}
    if "vw3" in us:
        r["V"] = [a / b for a, b in zip(us["vw3"], us["n16"])]
    for k, s in enumerate(shapes):
        v = us.get("vw3", [math.nan] * len(shapes))[k]
        sp = max((spread[n][k] for n in spread), default=math.nan)
        print(f"# {s:<10} {x[k]:5.1f} {bf[k]:7.1f} {us['shipped'][k] if 'shipped' in us else math.nan:8.1f} {us['n16'][k]:7.1f} "
              f"{us['sw3'][k]:7.1f} {v:7.1f} | {r['S'][k]:.3f} {r.get('V', [math.nan] * 9)[k]:.3f} {v / us['sw3'][k]:.3f} | {sp:.3f}")

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

    def disp(c, t):
        w = us["sw3" if c == "S" else "vw3"]
        return [w[k] if t is not None and x[k] >= t else us["n16"][k] for k in range(len(shapes))]

    T = {c: cross(r[c]) for c in r}
    print(f"# crossover T_S {T['S']}, T_V {T.get('V')} (tiles an SM part; shipped 48)")
    code = "S"
    if "vw3" in us:
        lo = min(T["V"] if T["V"] is not None else 31, 31)
        vs = [us["vw3"][k] / us["sw3"][k] for k in range(len(shapes)) if x[k] >= lo]
        g, m = geo(vs), max(vs) if vs else math.nan
        good = ok and g <= 0.99 and m <= 1.005
        print(f"# code: V vs S over x >= {lo}: geomean {g:.3f} (<= 0.99), max {m:.3f} (<= 1.005), checks {'pass' if ok else 'FAIL/not run'} -> {'V' if good else 'S'}")
        if good:
            code = "V"
    t = T[code]
    gain = geo([a / b for a, b in zip(disp(code, t), disp(code, 48))]) if t is not None else math.nan
    move = t is not None and t != 48 and gain <= 0.995
    print(f"# threshold for {code}: T {t}, geomean D(T)/D(48) {gain:.3f} (<= 0.995) -> {t if move else 48}")
    tf = t if move else 48
    d = disp(code, tf)
    base = disp("S", 48)
    print("# shipped (modelled: n16 below 48, sw3 from 48) -> chosen: " + ", ".join(
        f"{s} {b:.1f}->{a:.1f} ({a / b:.3f}; {bf[k] / a:.2f}x bf16)" for k, (s, a, b) in enumerate(zip(shapes, d, base))))
    if code == "V":
        print(f"SHIP v30788875748928 denseFp8Sm90W3Tiles={tf}")
    elif move:
        print(f"SHIP denseFp8Sm90W3Tiles={tf} (shipped build)")
    else:
        print("KEEP the shipped build (V not better by the rule, threshold stays 48)")

main()

#!/usr/bin/env python3
"""The rule of bench/cuda/dense-fp8/s21_f5.sh (prepared in session 21 by helper s21-f5 for session 22;
docs/notes/cuda-dense-fp8.md, "Session 22 (f5), prepared in session 21", written before any run).

  python3 s21_f5_rule.py --checks CHECKS.txt     exit 0 when G's checks are clean (the slot times only then)
  python3 s21_f5_rule.py AB.json CHECKS.txt      a line a shape, the checks, then the verdict as the last line

G = v88070883935028800 (the shipped 16013289897100864 + 72057594037927936: n32's f16 score path on a 3-page ring, the
flags' alignment fixed). t = G us / shipped us of the same process (ab.js --abba).
  checks: dense90 (both shards) all pass, dense90q >= the shipped control's count (60 where it printed none),
          memcheck and synccheck clean.
  gains:  t(8192x32x1) <= 0.99, the geomean of t over 8192x32x1, 8192x16x2, 4096x32x1, 1024x32x1 <= 0.985, and no
          timed shape above 1.01.
  noise:  the guard 8192x16x1 (the same n16w3 .text in both arms) within 0.98 .. 1.02, else KEEP.
Verdict: `SHIP v88070883935028800 (...)` or `KEEP the shipped build (why)`; the lines before it say whether 8192x32x1
reached 3 % (t <= 0.97) and where it stands against issue #14's 1.6x of bf16.
"""
import json, math, sys

SV, G = 16013289897100864, 88070883935028800
S32 = ("8192x32x1", "8192x16x2", "4096x32x1", "1024x32x1")
GUARD = "8192x16x1"


def geo(v):
    v = [x for x in v if x == x]
    return math.exp(sum(map(math.log, v)) / len(v)) if v else math.nan


def checks(path):
    try:
        lines = open(path).read().splitlines()
    except Exception:
        lines = []
    d90, q, tool = [], {}, {}
    for l in lines:
        w = l.split()
        if len(w) >= 4 and w[0] == "dense90" and w[1] == "G":
            d90.append(w[3] == "1")
        elif len(w) >= 3 and w[0] == "dense90q":
            try:
                q[w[1]] = int(w[2])
            except ValueError:
                q[w[1]] = -1
        elif len(w) >= 3 and w[0] in ("memcheck", "synccheck") and w[1] == "G":
            tool[w[0]] = w[2] == "1"
    qref = q.get("ship", -1)
    qref = qref if qref >= 0 else 60
    ok = len(d90) >= 2 and all(d90) and q.get("G", -1) >= qref and tool.get("memcheck", False) and tool.get("synccheck", False)
    return ok, f"dense90 {d90}; dense90q {q} (control {qref}); tools {tool}"


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--checks":
        ok, what = checks(sys.argv[2])
        print(f"# G's checks: {what} -> {'clean' if ok else 'NOT clean'}")
        sys.exit(0 if ok else 1)
    ok, what = checks(sys.argv[2] if len(sys.argv) > 2 else "")
    print(f"# checks: {what} -> {ok}")
    if not ok:
        print("KEEP the shipped build (G's checks not clean: no timing)")
        return
    try:
        j = json.load(open(sys.argv[1]))
    except Exception as e:
        print(f"KEEP the shipped build (no timing: {e})")
        return
    us = {b["name"]: dict(zip(j["shapes"], b["us"])) for b in j["builds"]}
    bf = dict(zip(j["shapes"], j.get("bf16_us", [math.nan] * len(j["shapes"]))))
    if "shipped" not in us or "G" not in us:
        print(f"KEEP the shipped build (builds timed: {sorted(us)})")
        return

    def t(s):
        x, y = us["G"].get(s, math.nan), us["shipped"].get(s, math.nan)
        return x / y if x and y and x == x and y == y else math.nan

    for s in j["shapes"]:
        a, b = us["shipped"].get(s, math.nan), us["G"].get(s, math.nan)
        print(f"# {s}: bf16 {bf.get(s, math.nan):.1f} shipped {a:.1f} G {b:.1f} us; G/shipped {t(s):.3f}; "
              f"x bf16: shipped {bf.get(s, math.nan) / a:.3f} G {bf.get(s, math.nan) / b:.3f}")
    ts = {s: t(s) for s in S32 if s in us["G"]}
    g = geo(ts.values())
    worst = max((t(s) for s in j["shapes"] if t(s) == t(s)), default=math.nan)
    guard = t(GUARD) if GUARD in j["shapes"] else math.nan
    gain = len(ts) == len(S32) and all(v == v for v in ts.values()) and ts["8192x32x1"] <= 0.99 and g <= 0.985 and worst <= 1.01
    print("G (/ shipped): " + ", ".join(f"{s} {v:.3f}" for s, v in ts.items()) + f"; geomean {g:.3f}; worst {worst:.3f}; "
          f"guard {GUARD} {guard:.3f} -> gains {gain}")
    t32 = ts.get("8192x32x1", math.nan)
    x32 = bf.get("8192x32x1", math.nan) / us["G"].get("8192x32x1", math.nan)
    print(f"# 8192x32x1: t {t32:.3f} ({'reached' if t32 <= 0.97 else 'missed'} 3 %); G {x32:.2f}x bf16 (issue #14: 1.6x; not expected here)")
    if GUARD in j["shapes"] and not (0.98 <= guard <= 1.02):
        print(f"KEEP the shipped build (the guard {GUARD}, the same code in both arms, moved: {guard:.3f})")
        return
    if not gain:
        print(f"KEEP the shipped build (G: 8192x32x1 {t32:.3f}, geomean {g:.3f}, worst {worst:.3f}; needs <= 0.99, <= 0.985, <= 1.01)")
        return
    msg = ", ".join(f"{s} {us['G'][s]:.1f} us ({bf.get(s, math.nan) / us['G'][s]:.2f}x bf16, t {ts[s]:.3f})" for s in S32)
    print(f"SHIP v{G} (G: n32's f16 score path on a 3-page ring; geomean t {g:.3f}; measured: {msg})")


main()

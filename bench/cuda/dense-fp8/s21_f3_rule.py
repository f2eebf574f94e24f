#!/usr/bin/env python3
"""The rule of bench/cuda/dense-fp8/s21_f3.sh (session 21, helper s21-f3; docs/notes/cuda-dense-fp8.md, "Session 21
(f3)", written before any run). Reads ab.js's JSON (builds shipped, A, B) and the slot's check lines; prints a line a
bit, then the verdict as the last line.

  python3 s21_f3_rule.py AB.json CHECKS.txt

Bits (on the shipped 250691201304128): X = 2251799813685248 (the Q^T fill by 16-byte loads, n16 and n16w3),
Y = 4503599627370496 (X in n32), Z = 9007199254740992 (n16w3's merge in two phases). A = shipped + X; B = A + Y + Z.
Ratios t (candidate us / reference us, one process):
  X: A / shipped at 8192x16x1, 4096x16x1 (n16w3) and 1024x16x1 (n16). X gains when 8192x16x1 <= 0.99, the geomean of
     the three <= 0.99 and none > 1.005; X is eligible when none > 1.005.
  Y: B / shipped at 8192x32x1 and 1024x32x1 (A / shipped there is the same .text: printed as the noise control). Y gains
     when the geomean <= 0.99 and neither > 1.005.
  Z: B / A at 8192x16x1 and 4096x16x1 (1024x16x1: the same n16 .text, printed). Z gains when the mean <= 0.995 and
     neither > 1.003.
Checks (the slot's lines): X needs dense90 B and Aall (every shard), dense90q Aall and B >= the shipped control's count
(60 where the control printed none), memcheck B; Y needs dense90 B and memcheck B; Z needs dense90 Ball, dense90q Ball,
memcheck and synccheck Ball.
Verdict: X ships when it gains and its checks are clean; Y likewise, with or without X (its bit alone gives n32 the
fill, n16 / n16w3 the shipped .text); Z only with X (it was measured on top of X), when it gains and its checks are
clean. `SHIP v<shipped + bits> (...)` (every combination is prebuilt in the stage and its .text is A's, B's or the
shipped build's: v2502491014989376 X, v4754290828674624 Y, v7006090642359872 X+Y, v11509690269730368 X+Z,
v16013289897100864 X+Y+Z) or `KEEP the shipped build (why)`.
"""
import json, math, sys

SV, X, Y, Z = 250691201304128, 2251799813685248, 4503599627370496, 9007199254740992


def main():
    try:
        j = json.load(open(sys.argv[1]))
    except Exception as e:
        print(f"KEEP the shipped build (no timing: {e})")
        return
    lines = open(sys.argv[2]).read().splitlines() if len(sys.argv) > 2 else []
    us = {b["name"]: dict(zip(j["shapes"], b["us"])) for b in j["builds"]}
    bf = dict(zip(j["shapes"], j["bf16_us"]))
    if not all(k in us for k in ("shipped", "A", "B")):
        print(f"KEEP the shipped build (builds timed: {sorted(us)})")
        return

    def t(a, b, s):
        x, y = us[a].get(s, math.nan), us[b].get(s, math.nan)
        return x / y if x and y and x == x and y == y else math.nan

    def geo(v):
        v = [x for x in v if x == x]
        return math.exp(sum(map(math.log, v)) / len(v)) if v else math.nan

    for s in j["shapes"]:
        print(f"# {s}: bf16 {bf.get(s, math.nan):.1f} shipped {us['shipped'][s]:.1f} A {us['A'][s]:.1f} B {us['B'][s]:.1f} us; "
              f"A/shipped {t('A', 'shipped', s):.3f} B/shipped {t('B', 'shipped', s):.3f} B/A {t('B', 'A', s):.3f}; "
              f"x bf16: shipped {bf.get(s, math.nan) / us['shipped'][s]:.3f} B {bf.get(s, math.nan) / us['B'][s]:.3f}")

    # checks
    d90 = {}
    q = {}
    tool = {}
    for l in lines:
        w = l.split()
        if len(w) >= 4 and w[0] == "dense90":
            d90.setdefault(w[1], []).append(w[3] == "1")
        elif len(w) >= 3 and w[0] == "dense90q":
            q[w[1]] = int(w[2])
        elif len(w) >= 3 and w[0] in ("memcheck", "synccheck"):
            tool[(w[0], w[1])] = w[2] == "1"
    dok = lambda n: len(d90.get(n, [])) >= 2 and all(d90[n])
    qref = q.get("ship", -1)
    qref = qref if qref >= 0 else 60
    qok = lambda n: q.get(n, -1) >= qref
    tok = lambda k, n: tool.get((k, n), False)
    chX = dok("B") and dok("Aall") and qok("Aall") and qok("B") and tok("memcheck", "B")
    chY = dok("B") and tok("memcheck", "B")
    chZ = dok("Ball") and qok("Ball") and tok("memcheck", "Ball") and tok("synccheck", "Ball")
    print(f"# checks: dense90 B {d90.get('B')} Aall {d90.get('Aall')} Ball {d90.get('Ball')}; dense90q {q} (control {qref}); "
          f"tools {dict((f'{a} {b}', v) for (a, b), v in tool.items())} -> X {chX} Y {chY} Z {chZ}")

    s16 = [s for s in ("8192x16x1", "4096x16x1", "1024x16x1") if s in us["A"]]
    tx = {s: t("A", "shipped", s) for s in s16}
    gx = geo(tx.values())
    xElig = bool(tx) and all(v <= 1.005 for v in tx.values() if v == v) and all(v == v for v in tx.values())
    xGain = xElig and tx.get("8192x16x1", math.nan) <= 0.99 and gx <= 0.99
    print(f"X (A / shipped, 16 rows): " + ", ".join(f"{s} {v:.3f}" for s, v in tx.items()) + f"; geomean {gx:.3f} -> eligible {xElig}, gains {xGain}")

    s32 = [s for s in ("8192x32x1", "1024x32x1") if s in us["B"]]
    ty = {s: t("B", "shipped", s) for s in s32}
    gy = geo(ty.values())
    yGain = bool(ty) and all(v == v and v <= 1.005 for v in ty.values()) and gy <= 0.99
    ctrl = ", ".join(f"{s} {t('A', 'shipped', s):.3f}" for s in s32)
    print(f"Y (B / shipped, 32 rows): " + ", ".join(f"{s} {v:.3f}" for s, v in ty.items()) + f"; geomean {gy:.3f} -> gains {yGain} (control A / shipped, same .text: {ctrl})")

    sz = [s for s in ("8192x16x1", "4096x16x1") if s in us["B"]]
    tz = {s: t("B", "A", s) for s in sz}
    mz = sum(tz.values()) / len(tz) if tz else math.nan
    zGain = bool(tz) and all(v == v and v <= 1.003 for v in tz.values()) and mz <= 0.995
    print(f"Z (B / A, n16w3): " + ", ".join(f"{s} {v:.3f}" for s, v in tz.items()) + f"; mean {mz:.3f} -> gains {zGain} "
          f"(1024x16x1, the same n16 .text: {t('B', 'A', '1024x16x1'):.3f})")

    shipX = xGain and chX
    shipY = yGain and chY
    shipZ = shipX and zGain and chZ
    if not (shipX or shipY):
        why = []
        if not xGain:
            why.append(f"X: 8192x16x1 {tx.get('8192x16x1', math.nan):.3f}, geomean {gx:.3f}" + ("" if xElig else ", over 1.005 at a shape"))
        elif not chX:
            why.append("X's checks not clean")
        if not yGain:
            why.append(f"Y: geomean {gy:.3f}")
        elif not chY:
            why.append("Y's checks not clean")
        print(f"KEEP the shipped build ({'; '.join(why)}; Z {'gains' if zGain else 'no gain'} on top of X)")
        return
    v = SV + (X if shipX else 0) + (Y if shipY else 0) + (Z if shipZ else 0)
    est = {}
    for s in us["A"]:  # each shape's time under the shipped bits' build: the arm that ran the same .text
        if s.endswith("x32x1"):
            est[s] = us["B" if shipY else "shipped"][s]
        elif shipX:
            est[s] = us["B" if shipZ and not s.startswith("1024") else "A"][s]
        else:
            est[s] = us["shipped"][s]
    bits = [n for n, k in (("X", shipX), ("Y", shipY), ("Z", shipZ)) if k]
    left = [n for n, k in (("X", shipX), ("Y", shipY), ("Z", shipZ)) if not k]
    msg = ", ".join(f"{s} {est[s]:.1f} us ({bf.get(s, math.nan) / est[s]:.2f}x bf16)" for s in est)
    print(f"SHIP v{v} ({' + '.join(bits)}{'; not ' + ', '.join(left) if left else ''}; measured: {msg})")

main()

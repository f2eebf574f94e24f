#!/usr/bin/env python3
"""The rule of bench/cuda/dense-fp8/s22_f6.sh (session 22, helper f6; docs/notes/cuda-dense-fp8.md, "Session 22 (f6)",
written before any run).

  python3 s22_f6_rule.py --checks CHECKS.txt     exit 0 when C's checks are clean (the slot times only then)
  python3 s22_f6_rule.py AB.json CHECKS.txt      a line a shape, the checks, then the verdict as the last line
  python3 s22_f6_rule.py --self-test             synthetic inputs through the same code

C = v160128477972956736 (the shipped 16013289897100864 + 144115188075855872: the V-split 32-row entry n32s, every 32-row
launch on it through its folder's manifest). t = C us / shipped us of the same process (ab.js --abba).
  checks: dense90 (both shards) all pass, dense90q >= the shipped control's count (60 where it printed none),
          memcheck and synccheck clean.
  noise:  the guard 8192x16x1 (n16w3, the same .text in both arms) within 0.98 .. 1.02, else KEEP.
  gains:  t(8192x32x1) <= 0.97 and t(8192x16x2) <= 0.98 (the long 32-row items, n32s's reason), and t(4096x32x1) <= 1.0.
  then:   t(1024x32x1) <= 1.01  -> SHIP, every 32-row launch on n32s (denseFp8Sm90SplitTiles 0);
          else                  -> SHIP with n32s from 48 tiles an SM part (the 1024 rows, 15.5 tiles a part, stay on n32;
                                   4096 has 62, 8192 124).
Verdict: `SHIP v160128477972956736 (...)` or `KEEP the shipped build (why)`; the line before it gives 8192x32x1's t, its
ratio to bf16 and whether issue #14's 1.6x (<= bf16 / 1.6) is reached. To ship: MLA_DENSE_FP8_SHIPPED = 160128477972956736
(and the header's history), dense-fp8-sm90-launch.ts denseFp8Sm90SplitTiles = 0 or 48 as the verdict says, the test that
ties the threshold to the shipped bits follows; rebuild dist/cuda, compare-fatbins C's fatbin against it: SAME CODE.
"""
import json, math, sys

C = 160128477972956736
S32 = ("8192x32x1", "8192x16x2", "4096x32x1", "1024x32x1")
GUARD = "8192x16x1"


def checks(path):
    try:
        lines = open(path).read().splitlines()
    except Exception:
        lines = []
    d90, q, tool = [], {}, {}
    for l in lines:
        w = l.split()
        if len(w) >= 4 and w[0] == "dense90" and w[1] == "C":
            d90.append(w[3] == "1")
        elif len(w) >= 3 and w[0] == "dense90q":
            try:
                q[w[1]] = int(w[2])
            except ValueError:
                q[w[1]] = -1
        elif len(w) >= 3 and w[0] in ("memcheck", "synccheck") and w[1] == "C":
            tool[w[0]] = w[2] == "1"
    qref = q.get("ship", -1)
    qref = qref if qref >= 0 else 60
    ok = len(d90) >= 2 and all(d90) and q.get("C", -1) >= qref and tool.get("memcheck", False) and tool.get("synccheck", False)
    return ok, f"dense90 {d90}; dense90q {q} (control {qref}); tools {tool}"


def verdict(ab, ck):
    out = []
    ok, what = checks(ck)
    out.append(f"# checks: {what} -> {'clean' if ok else 'NOT clean'}")
    if not ok:  # (the slot may still have timed C as a diagnostic: its lines, then KEEP)
        try:
            out += [l for l in verdict_timed(ab) if l.startswith("#")]
        except Exception:
            pass
        out.append("KEEP the shipped build (C's checks are not clean: " + what + ")")
        return out
    return out + verdict_timed(ab)


def verdict_timed(ab):
    out = []
    try:
        d = json.load(open(ab))
        us = {b["name"]: b["us"] for b in d["builds"]}
        sh = d["shapes"]
        bf = d.get("bf16_us", [math.nan] * len(sh))
        t = {s: us["C"][k] / us["shipped"][k] for k, s in enumerate(sh)}
        c = {s: us["C"][k] for k, s in enumerate(sh)}
        b16 = {s: bf[k] for k, s in enumerate(sh)}
    except Exception as e:
        out.append(f"KEEP the shipped build (no timing: {e})")
        return out
    for s in sh:
        out.append(f"# {s}: shipped {c[s] / t[s]:.1f} us, C {c[s]:.1f} us, t {t[s]:.3f}, C vs bf16 {b16[s] / c[s]:.2f}x")
    need = [s for s in S32 + (GUARD,) if s not in t or not (t[s] == t[s])]
    if need:
        out.append(f"KEEP the shipped build (no timing of {', '.join(need)})")
        return out
    x = c["8192x32x1"]
    out.append(f"# 8192x32x1: t {t['8192x32x1']:.3f} ({'3 % or more' if t['8192x32x1'] <= 0.97 else 'under 3 %'}), C {x:.1f} us = "
               f"{b16['8192x32x1'] / x:.2f}x bf16: issue #14's 1.6x {'REACHED' if b16['8192x32x1'] / x >= 1.6 else 'not reached'} (<= {b16['8192x32x1'] / 1.6:.1f} us)")
    g = t[GUARD]
    if not 0.98 <= g <= 1.02:
        out.append(f"KEEP the shipped build (the guard {GUARD} at {g:.3f}, outside 0.98 .. 1.02: too noisy to ship from)")
        return out
    if not (t["8192x32x1"] <= 0.97 and t["8192x16x2"] <= 0.98 and t["4096x32x1"] <= 1.0):
        out.append(f"KEEP the shipped build (C: 8192x32x1 {t['8192x32x1']:.3f} (<= 0.97 needed), 8192x16x2 {t['8192x16x2']:.3f} (<= 0.98), "
                   f"4096x32x1 {t['4096x32x1']:.3f} (<= 1.0))")
        return out
    if t["1024x32x1"] <= 1.01:
        out.append(f"SHIP v{C} (every 32-row launch on n32s: denseFp8Sm90SplitTiles 0; 8192x32x1 {t['8192x32x1']:.3f}, 1024x32x1 {t['1024x32x1']:.3f})")
    else:
        out.append(f"SHIP v{C} with n32s from 48 tiles an SM part (denseFp8Sm90SplitTiles 48: 1024x32x1 stays on n32, t {t['1024x32x1']:.3f} there; "
                   f"8192x32x1 {t['8192x32x1']:.3f})")
    return out


def self_test():
    import os, tempfile
    dd = tempfile.mkdtemp()
    ck = os.path.join(dd, "ck.txt")
    clean = "dense90 C 0 1 x\ndense90 C 1 1 x\ndense90q C 60 x\ndense90q ship 60 x\nmemcheck C 1 x\nsynccheck C 1 x\n"

    def ab(vals, g=1.0):
        p = os.path.join(dd, f"ab{len(os.listdir(dd))}.json")
        sh = list(S32) + [GUARD]
        ship = [266.0, 270.0, 140.0, 46.0, 179.0]
        cc = [ship[k] * vals[k] for k in range(4)] + [179.0 * g]
        json.dump({"shapes": sh, "bf16_us": [306.0, 306.0, 156.0, 52.6, 301.0],
                   "builds": [{"name": "shipped", "us": ship}, {"name": "C", "us": cc}]}, open(p, "w"))
        return p
    cases = [
        ("SHIP all", clean, ab([0.75, 0.76, 0.82, 0.95]), "SHIP v160128477972956736 (every"),
        ("SHIP from 48", clean, ab([0.75, 0.76, 0.82, 1.08]), "SHIP v160128477972956736 with n32s from 48"),
        ("KEEP level", clean, ab([0.99, 0.99, 1.0, 1.0]), "KEEP the shipped build (C: 8192x32x1"),
        ("KEEP 4096 slower", clean, ab([0.9, 0.9, 1.03, 1.2]), "KEEP the shipped build (C: 8192x32x1"),
        ("KEEP noisy guard", clean, ab([0.75, 0.76, 0.82, 0.95], 1.03), "KEEP the shipped build (the guard"),
        ("KEEP checks", clean.replace("memcheck C 1", "memcheck C 0"), ab([0.75, 0.76, 0.82, 0.95]), "KEEP the shipped build (C's checks"),
        ("KEEP checks, timed", clean.replace("dense90 C 1 1", "dense90 C 1 0"), ab([0.7, 0.7, 0.8, 0.9]), "KEEP the shipped build (C's checks"),
        ("KEEP dense90q", clean.replace("dense90q C 60", "dense90q C 58"), ab([0.75, 0.76, 0.82, 0.95]), "KEEP the shipped build (C's checks"),
        ("KEEP no timing", clean, os.path.join(dd, "none.json"), "KEEP the shipped build (no timing"),
    ]
    for name, ckt, abp, want in cases:
        open(ck, "w").write(ckt)
        v = verdict(abp, ck)
        assert v[-1].startswith(want), (name, v)
        print(f"self-test {name}: {v[-1][:110]}")
    open(ck, "w").write(clean)
    print("\n".join(verdict(ab([0.72, 0.73, 0.8, 0.97]), ck)))
    assert checks(ck)[0] and not checks(os.path.join(dd, "missing"))[0]
    print("self-test: ok")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        self_test()
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--checks":
        ok, what = checks(sys.argv[2])
        print(f"# C's checks: {what} -> {'clean' if ok else 'NOT clean'}")
        sys.exit(0 if ok else 1)
    for l in verdict(sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2] if len(sys.argv) > 2 else ""):
        print(l)


if __name__ == "__main__":
    main()

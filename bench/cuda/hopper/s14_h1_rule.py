#!/usr/bin/env python3
"""Session 14 (h1) ship rule for kVarPBFirst (written in docs/notes/cuda-hopper-decode.md, "Session 14 (h1)", before any
run). Reads <out>/check.txt and <out>/ab.txt of s14_h1_slot.sh; prints one line per A/B row and candidate, then the
rule line last. Ratios are lib+w / entry from `abb` (> 1: the entry is faster). Other rounds (s14_h1r4_slot.sh): S14_ENTRIES
(the candidates, in order of preference), S14_Q4 (candidate and lib of the Q_SCALE 4 check), S14_SAN (the memchecks;
an entry not in call A's table needs its own, else the first), S14_BITS ("name=bits,...": an entry whose bits equal
S14_LIB is an A/A control, never shipped), S14_TAG (the rule line's tag, default s14h1: session 15's s15_h1_slot.sh sets s15h1)."""
import math, os, re, sys

o = sys.argv[1]
rd = lambda f: open(os.path.join(o, f)).read() if os.path.exists(os.path.join(o, f)) else ""
ab, chk = rd("ab.txt"), rd("check.txt")
# S14_LIB: the harness's kLibVar (session 14 round 2: 77071134 = x9962270 | kVarVis4, so vis = lib and pbfv = pbf there)
lib = int(os.environ.get("S14_LIB", "9962270"))
TAG = os.environ.get("S14_TAG", "s14h1")
ratio = {}  # entry -> [(rows, s_k, ratio)]
for l in ab.splitlines():
    m = re.search(r"s_k=(\d+),h_q=\d+,s_q=\d+ rows=(\d+)", l)
    if not m:
        continue
    for name, us, x in re.findall(r"\| (\S+)\+w ([\d.]+) us ([\d.]+)", l):
        if name != "lib":
            ratio.setdefault(name, []).append((int(m.group(2)), int(m.group(1)), float(x)))
            print("s14h1 A/B rows %s s_k %s: lib/%s %s" % (m.group(2), m.group(1), name, x))

def chk_of(tag):
    m = re.search(re.escape(tag) + r": (\d+) cases, (\d+) failed, worst rel ([0-9.e+-]+).*?rc=(\d+)", chk)
    return (int(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4))) if m else None

ENTRIES = os.environ.get("S14_ENTRIES", "pbf vis pbfw pbfv par").split()
Q4 = os.environ.get("S14_Q4", "pbf lib").split()
SAN = os.environ.get("S14_SAN", "pbf pbfv").split()
q4, q4l = chk_of("checkq4 %s+w" % Q4[0]), chk_of("checkq4 %s+w" % Q4[1])
q4ok = bool(q4 and q4l and q4[0] >= 5 and q4[1] == 0 and q4[3] == 0 and q4[2] <= max(1.5 * q4l[2], 3e-3))
memk = {k: re.search(r"memcheck %s\+w: .*ERROR SUMMARY: 0 errors.*rc=0" % k, chk) is not None for k in SAN}
need = {"pbf": ["pbf"], "pbfw": ["pbf"], "par": ["pbf"], "vis": ["pbfv"], "pbfv": ["pbfv"]}  # the memcheck that covers its code
need = {k: v for k, v in need.items() if all(m in memk for m in v)}
extra = {k: int(v) for k, v in (x.split("=") for x in os.environ.get("S14_BITS", "").split(",") if x)}
best, lines = None, []
for name in ENTRIES:  # the order of preference where two pass
    c = chk_of("check %s+w" % name)
    clean = bool(c and c[0] >= 15 and c[1] == 0 and c[3] == 0) and q4ok and all(memk.get(m, False) for m in need.get(name, [name] if name in SAN else SAN[:1]))
    rows = ratio.get(name, [])
    wide = [x for r, sk, x in rows if r >= 128]
    ctl = [x for r, sk, x in rows if r == 64]
    gm = math.exp(sum(math.log(x) for x in wide) / len(wide)) if wide else 0.0
    same = (name == "vis" and lib & 67108864) or extra.get(name) == lib  # = lib: an A/A control, never shipped
    ok = not same and clean and len(wide) == 6 and gm >= 1.010 and min(wide) >= 0.990 and len(ctl) == 1 and 0.990 <= ctl[0] <= 1.010
    lines.append("%s: checks clean %s (%s), 128/256-row geomean %.3f min %s (6 rows: %d), 64-row %s -> %s" % (
        name, clean, c, gm, "%.3f" % min(wide) if wide else "-", len(wide), "%.3f" % ctl[0] if ctl else "-",
        "passes" if ok else "fails"))
    if ok and name != "par" and (best is None or gm >= best[1] + 0.005):
        best = (name, gm)
for l in lines:
    print("s14h1 " + l)
pbf = lib | 16777216 | 32768 | 33554432
bits = {"pbf": (pbf, "kLibVar | kVarPAReg | kVarProd2 | kVarPBFirst"), "pbfw": (pbf | 16384, "pbf | kVarWalkA"),
        "vis": (lib | 67108864, "kLibVar | kVarVis4"), "pbfv": (pbf | 67108864, "pbf | kVarVis4")}
bits.update({k: (v, "x%d" % v) for k, v in extra.items()})
print("s14h1 Q_SCALE 4: " + Q4[0] + " %s, lib %s (ok %s); memcheck %s" % (q4, q4l, q4ok, memk))
if best:
    print(TAG + " rule: SHIP %s (geomean %.3f; library bits x%d = %s; the lead's final call must check the library build)" % (
        best[0], best[1], bits.get(best[0], (lib, "?"))[0], bits.get(best[0], (lib, "? (S14_BITS names no bits for it)"))[1]))
else:
    print(TAG + " rule: KEEP (no candidate passes: geomean >= 1.010 over the six 128/256-row rows, each >= 0.990, 64-row within 1 %%, checks clean) -> library bits stay x%d" % lib)

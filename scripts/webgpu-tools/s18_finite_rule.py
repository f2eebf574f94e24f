#!/usr/bin/env python3
"""Session 18 round 2, helper h1's rule (written before the run, docs/notes/webgpu-tensor-core.md, "Session 18, round 2").

    python3 scripts/webgpu-tools/s18_finite_rule.py OUTDIR      (the files h200-s18-finite.sh writes)

Configs: b1 s_k 32768 h16, uneven b4 (robust, the default device). SHIP finite (it becomes the default in a later step)
when
  1. the suite on fin (robust) passes every test with >= 100 random cases,
  2. Dawn's robust SPIR-V of fin has at most 1 loop guard (OpAll: the tile loop's) and bnd's more,
  3. base is within 5 % of call C's bnd (0.1247, 0.3441 ms: the same kernel, another call), and
  4. fin <= 0.96 x base at b1 and fin <= 1.00 x base on the uneven batch.
Else KEEP bounded. Either way it prints fin / base and the share of the robustness gap left after bounded that fin
closes, against call C's numbers: (bnd - fin') / (bnd - base-norob) with fin' = fin * (call C bnd / base).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s18_bounded_rule import bench_ms, suite_counts  # noqa: E402

d = sys.argv[1]
CALL_C = {"bnd": [0.1247, 0.3441], "base-norob": [0.1002, 0.3127]}
ms = bench_ms(d, ("base", "fin"), 5)

why = []
ratios = []
if all(len(ms.get(t, [])) == 2 for t in ("base", "fin")):
    base, fin = ms["base"], ms["fin"]
    ratios = [f / b for b, f in zip(base, fin)]
    vs_c = [b / c for b, c in zip(base, CALL_C["bnd"])]
    print("fin / base           ", " ".join(f"{x:.3f}" for x in ratios))
    print("base / call C's bnd  ", " ".join(f"{x:.3f}" for x in vs_c))
    gap = [(c - f * c / b) / (c - n) for b, f, c, n in zip(base, fin, CALL_C["bnd"], CALL_C["base-norob"])]
    print("gap closed (call C)  ", " ".join(f"{x:.2f}" for x in gap))
    if max(abs(x - 1) for x in vs_c) > 0.05:
        why.append(f"base vs call C {' '.join(f'{x:.3f}' for x in vs_c)} (> 5 %)")
    if ratios[0] > 0.96:
        why.append(f"fin / base at b1 {ratios[0]:.3f} > 0.96")
    if ratios[1] > 1.00:
        why.append(f"fin / base uneven {ratios[1]:.3f} > 1.00")
else:
    why.append("bench runs missing")

npass, nfail, ncases = suite_counts(os.path.join(d, "suite-fin.tap"))
print(f"suite fin (robust): pass {npass} fail {nfail}, {ncases} random cases")
if nfail != 0 or npass == 0 or ncases < 100:
    why.append(f"suite pass {npass} fail {nfail} cases {ncases}")

spv = ""
try:
    spv = open(os.path.join(d, "spv.txt")).read()
except OSError:
    pass
for line in spv.splitlines():
    print("spirv robust", line)
guards = {v: int(m[1]) for v, m in ((v, re.search(rf"^{v}: .*loop-guards (\d+)", spv, re.M)) for v in ("bnd", "fin")) if m}
if "fin" not in guards or guards["fin"] > 1 or guards.get("bnd", 0) <= guards["fin"]:
    why.append(f"loop guards {guards or 'no dump'}")

summary = " ".join(f"{x:.3f}" for x in ratios) or "-"
if not why:
    print(f"SHIP finite (fin / base {summary}, suite {npass}/{npass} with {ncases} random cases, loop guards {guards})")
else:
    print(f"KEEP bounded (fin / base {summary}; {'; '.join(why)})")

#!/usr/bin/env python3
"""Session 20, helper s20-h4's rule (written before any run, docs/notes/webgpu-tensor-core.md, "s20-h4").

    python3 scripts/webgpu-tools/s20_infsafe_rule.py OUTDIR      (the files h200-s20-infsafe.sh writes)

Configs: b128 s_k 8192 h16 / h128, b1 s_k 32768, uneven b4 (robust, the default device). SHIP infSafe (v5's
infinite-input fixes stay v5's default, the branch merges) when
  1. the GPU matrix suite (>= 100 random cases), webgpu-nan.test.js and webgpu-schedule.test.js pass every test on the
     fixed default, none skipped (webgpu-nan's skips printed, not counted), no `todo` (matrixV5Differs applies only
     with FLASHMLA_WEBGPU_MATRIX_INFSAFE=0), and
  2. fix / base <= 1.02 on each of the four configs (the fixes' cost in the tile loop: the infinity test of the key
     maxima's pass and one more operand of the softmax's flag).
Else, with 1 and not 2: KEEP default off (the fixes merge as opt-in, matrix.infSafe true); with 1 failing: KEEP base.
Prediction: suites all pass; fix / base 1.00 (0.99-1.02) at b128 (h16, h128) and 1.00 (0.98-1.02) at b1 and uneven.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s18_bounded_rule import bench_ms, suite_verdict  # noqa: E402

d = sys.argv[1]
ms = bench_ms(d, ("base", "fix"), 5)
why_suite = []
for f, label, cases in (("suite-matrix.tap", "matrix suite", 100), ("suite-nan.tap", "webgpu-nan", 0), ("suite-schedule.tap", "webgpu-schedule", 0)):
    w = suite_verdict(d, f, label, cases, "fixed v5, robust")
    if w and label == "webgpu-nan" and " fail 0 " in w + " " and " pass 0 " not in w + " ":
        w = None  # webgpu-nan last ran on a GPU in session 5: its skips (if any) are printed, not counted
    if w:
        why_suite.append(w)
    try:
        todo = int((re.search(r"^# todo (\d+)", open(os.path.join(d, f)).read(), re.M) or [0, 0])[1])
    except OSError:
        todo = 0
    if todo:
        why_suite.append(f"{label} todo {todo}")
why_cost = []
if all(len(ms.get(t, [])) == 4 for t in ("base", "fix")):
    r = [f / b for b, f in zip(ms["base"], ms["fix"])]
    print("fix / base           ", " ".join(f"{x:.3f}" for x in r))
    bad = [f"{x:.3f}" for x in r if x > 1.02]
    if bad:
        why_cost.append(f"fix / base {' '.join(bad)} > 1.02")
else:
    why_cost.append("bench runs missing")
if why_suite:
    print(f"KEEP base ({'; '.join(why_suite + why_cost)})")
elif why_cost:
    print(f"KEEP infSafe opt-in ({'; '.join(why_cost)})")
else:
    print("SHIP infSafe (suites pass with no todo, fix / base <= 1.02 on the four configs)")

#!/usr/bin/env python3
"""Session 19, helper h4's rule (written before the run, docs/notes/webgpu-tensor-core.md, "Session 19").

    python3 scripts/webgpu-tools/s19_combine_rule.py OUTDIR      (the files h200-s19-combine.sh writes)

ab.json: one process, the default decode path (v5 lazy + trim + bounded, robust device), the combine switched per arm:
base (the default combine), w4 / w8 (the wide combine, 4 / 8 lane groups), two alternating rounds; a variant's time is
the mean of its two arms. Configs: b128 s_k 8192 h16, b128 s_k 8192 h128, b1 s_k 32768, uneven b4. SHIP the wide combine
with 8 groups (made the default in a later step) when
  1. the GPU matrix suite with every combine wide (FLASHMLA_MATRIX_TEST_COMBINE=8) passes every test with >= 100 random
     cases,
  2. all four configs were timed and base's two arms agree within 3 % at each,
  3. w8 <= 0.95 x base at b1, w8 <= 1.00 x base on the uneven batch, and w8 <= 1.02 x base at both b128 configs
     (their rows have one split each: the combine returns at once there, so only a regression can show).
Else KEEP the default combine. Either way it prints w4 / base and w8 / base per config and base's drift.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s18_bounded_rule import suite_counts  # noqa: E402

d = sys.argv[1]
why = []
rows = []
try:
    rows = json.load(open(os.path.join(d, "ab.json")))["rows"]
except Exception as e:  # noqa: BLE001 - a missing run is reported, not fatal
    print(f"ab.json: none ({e})")
names = [f"b{r['b']} s{r.get('s_k', 'var')} h{r['h_q']} q{r['s_q']}" for r in rows]
ratios = {}
for n, r in zip(names, rows):
    m = r["mean_ms"]
    ratios[n] = {k: m[k] / m["base"] for k in m if k != "base"}
    print(f"{n:24s} base {m['base']:.4f} ms  " + "  ".join(f"{k} {m[k]:.4f} ({ratios[n][k]:.3f})" for k in m if k != "base")
          + f"  base drift {100 * r['drift']['base']:+.1f} %")
if len(rows) != 4:
    why.append(f"{len(rows)} of 4 configs timed")
else:
    drift = max(abs(r["drift"]["base"]) for r in rows)
    if drift > 0.03:
        why.append(f"base drift {100 * drift:.1f} % > 3 %")
    w8 = [ratios[n].get("w8", 9.0) for n in names]
    lim = [1.02, 1.02, 0.95, 1.00]
    for n, x, l in zip(names, w8, lim):
        if x > l:
            why.append(f"w8 / base {x:.3f} > {l:.2f} at {n}")

npass, nfail, ncases = suite_counts(os.path.join(d, "suite-w8.tap"))
print(f"suite (wide combine, 8 groups, robust): pass {npass} fail {nfail}, {ncases} random cases")
if nfail != 0 or npass == 0 or ncases < 100:
    why.append(f"suite pass {npass} fail {nfail} cases {ncases}")

summary = " ".join(f"{ratios[n].get('w8', float('nan')):.3f}" for n in names) or "-"
if not why:
    print(f"SHIP wide combine g8 (w8 / base {summary}; suite {npass}/{npass} with {ncases} random cases)")
else:
    print(f"KEEP default combine (w8 / base {summary}; {'; '.join(why)})")

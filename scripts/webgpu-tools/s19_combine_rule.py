#!/usr/bin/env python3
"""Session 19, helper h4's rule (written before the run, docs/notes/webgpu-tensor-core.md, "Session 19").

    python3 scripts/webgpu-tools/s19_combine_rule.py OUTDIR      (the files h200-s19-combine.sh writes)

ab.json: one process, the default decode path (v5 lazy + trim + bounded, robust device), the combine switched per arm:
base (the default combine), w4 / w8 (the wide combine, 4 / 8 lane groups), two alternating rounds; a variant's time is
the mean of its two arms. Configs: b128 s_k 8192 h16, b128 s_k 8192 h128, b1 s_k 32768, uneven b4. SHIP the wide combine
with 8 groups (made the default in a later step) when
  1. the GPU matrix suite with every combine wide (FLASHMLA_MATRIX_TEST_COMBINE=8) passes every test with >= 100 random
     cases (and no suite of it `not ok`: a suite that fails to load counts no failed test),
  2. all four configs were timed and base's two arms agree within 3 % at each,
  3. w8 <= 0.95 x base at b1, w8 <= 1.00 x base on the uneven batch, and w8 <= 1.02 x base at both b128 configs
     (their rows have one split each: the combine returns at once there, so only a regression can show).
Else KEEP the default combine. Either way it prints w4 / base and w8 / base per config and base's drift.
"""
import json
import os
import re
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
ratios = []
for n, r in zip(names, rows):
    m = r["mean_ms"]
    ratios.append({k: m[k] / m["base"] for k in m if k != "base"})  # nocomb is printed, never ruled on
    print(f"{n:24s} base {m['base']:.4f} ms  " + "  ".join(f"{k} {m[k]:.4f} ({ratios[-1][k]:.3f})" for k in m if k != "base")
          + f"  base drift {100 * r['drift']['base']:+.1f} %")
    if "nocomb" in m and "w8" in m:  # the probe: the default combine returning at once (timing only)
        work = m["base"] - m["nocomb"]
        print(f"{'':24s} the combine's work (base - nocomb) {1000 * work:.1f} us = {work / m['base']:.3f} of base;"
              f" w8 removes {(m['base'] - m['w8']) / work if work > 0 else float('nan'):.2f} of it")
# w8 / base limits by batch: b1 (many splits a row) 0.95, the uneven b4 1.00, b128 (one split a row) 1.02
limit = {1: 0.95, 4: 1.00, 128: 1.02}
if sorted(r["b"] for r in rows) != [1, 4, 128, 128]:
    why.append(f"{len(rows)} of 4 configs timed")
if rows:
    drift = max(abs(r["drift"]["base"]) for r in rows)
    if drift > 0.03:
        why.append(f"base drift {100 * drift:.1f} % > 3 %")
    for n, r, x in zip(names, rows, ratios):
        lim = limit.get(r["b"], 1.00)
        if x.get("w8", 9.0) > lim:
            why.append(f"w8 / base {x.get('w8', 9.0):.3f} > {lim:.2f} at {n}")

npass, nfail, ncases = suite_counts(os.path.join(d, "suite-w8.tap"))
try:
    notok = len(re.findall(r"^not ok", open(os.path.join(d, "suite-w8.tap")).read(), re.M))
except OSError:
    notok = 0
print(f"suite (wide combine, 8 groups, robust): pass {npass} fail {nfail}, {notok} top-level 'not ok', {ncases} random cases")
if nfail != 0 or npass == 0 or ncases < 100 or notok:
    why.append(f"suite pass {npass} fail {nfail} cases {ncases}")

summary = " ".join(f"{n} {x.get('w8', float('nan')):.3f}" for n, x in zip(names, ratios)) or "-"
if not why:
    print(f"SHIP wide combine g8 (w8 / base {summary}; suite {npass}/{npass} with {ncases} random cases)")
else:
    print(f"KEEP default combine (w8 / base {summary}; {'; '.join(why)})")

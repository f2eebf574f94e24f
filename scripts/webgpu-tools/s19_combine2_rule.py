#!/usr/bin/env python3
"""Session 19, helper h4's round-2 rule (written before the run, docs/notes/webgpu-tensor-core.md, "Session 19, round 2").

    python3 scripts/webgpu-tools/s19_combine2_rule.py OUTDIR      (the files h200-s19-combine2.sh writes)

ab.json: one process, the default decode path (robust device), the combine switched per arm: base (the opt-out,
`combine: 0`: the default combine on every launch, as shipped), new (the default choice: chooseCombine, the wide combine
with 8 groups where some request has >= 8 splits, the default one elsewhere, no combine pass where no request is split),
w8 (the wide combine forced, for reference), two alternating rounds; a variant's time is the mean of its two arms.
SHIP the new default choice when
  1. all six configs were timed (b1 s_k 32768, the uneven b4, b128 s_k 8192 h16 / h32 / h64 / h128), base's two arms
     within 3 % at each, and new ran the combine the plan predicts (mla_combine:bf16.g8 at b1 and b4, no combine pass at
     b128 h16 / h32 / h64, mla_combine:bf16 at b128 h128: 62 of its 128 requests in 2 splits),
  2. new / base <= 0.95 at b1, <= 1.00 on the uneven batch, <= 1.01 at every b128 row,
  3. the GPU matrix suite (>= 100 random cases) and test/backends/webgpu.test.ts pass every test, none skipped, no
     top-level `not ok` (a file that fails to load counts no failed test).
Else KEEP the opt-out behaviour (the default combine on every launch). Either way it prints new / base and w8 / base.
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


def name(r):
    return f"b{r['b']} s{r.get('s_k', 'var')} h{r['h_q']} q{r['s_q']}"


def expect(r):
    """(new / base limit, the combine pipeline new should run)"""
    if r["b"] == 1:
        return 0.95, "mla_combine:bf16.g8"
    if r["b"] == 4:
        return 1.00, "mla_combine:bf16.g8"
    return 1.01, "mla_combine:bf16" if r["h_q"] == 128 else "no combine pass"


summary = []
for r in rows:
    m, n = r["mean_ms"], name(r)
    lim, pipe = expect(r)
    x = {k: m[k] / m["base"] for k in m if k != "base"}
    got = {r.get("pipelines", {}).get(a, "?") for a in ("new", "new again")}
    print(f"{n:24s} base {m['base']:.4f} ms  " + "  ".join(f"{k} {m[k]:.4f} ({x[k]:.3f})" for k in x)
          + f"  base drift {100 * r['drift']['base']:+.1f} %  new ran [{' / '.join(sorted(got))}]")
    summary.append(f"{n} {x.get('new', float('nan')):.3f}")
    if abs(r["drift"]["base"]) > 0.03:
        why.append(f"base drift {100 * r['drift']['base']:.1f} % at {n}")
    if got != {pipe}:
        why.append(f"new ran {'/'.join(sorted(got))} at {n}, the plan says {pipe}")
    if x.get("new", 9.0) > lim:
        why.append(f"new / base {x.get('new', 9.0):.3f} > {lim:.2f} at {n}")
want = sorted(["b1 s32768 h16 q1", "b4 svar h16 q4"] + [f"b128 s8192 h{h} q1" for h in (16, 32, 64, 128)])
if sorted(name(r) for r in rows) != want:
    why.append(f"{len(rows)} of 6 configs timed")

for f, label, cases_min in (("suite-matrix.tap", "GPU matrix suite", 100), ("suite-webgpu.tap", "webgpu.test.ts", 0)):
    p = os.path.join(d, f)
    npass, nfail, ncases = suite_counts(p)
    try:
        tap = open(p).read()
    except OSError:
        tap = ""
    notok = len(re.findall(r"^not ok", tap, re.M))
    skipped = int((re.search(r"^# skipped (\d+)", tap, re.M) or [0, 0])[1])
    print(f"{label} (new default, robust): pass {npass} fail {nfail} skipped {skipped}, {notok} top-level 'not ok'"
          + (f", {ncases} random cases" if cases_min else ""))
    if nfail != 0 or npass == 0 or notok or skipped or ncases < cases_min:
        why.append(f"{label} pass {npass} fail {nfail} skipped {skipped}" + (f" cases {ncases}" if cases_min else ""))

s = " ".join(summary) or "-"
if not why:
    print(f"SHIP new default combine choice (new / base {s}; suites pass)")
else:
    print(f"KEEP opt-out behaviour (new / base {s}; {'; '.join(why)})")

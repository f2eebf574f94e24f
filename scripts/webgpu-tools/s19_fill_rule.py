#!/usr/bin/env python3
"""Session 19, helper h4's round-3 rule (written before the run, docs/notes/webgpu-tensor-core.md, "Session 19, round 3").

    python3 scripts/webgpu-tools/s19_fill_rule.py OUTDIR      (the files h200-s19-fill.sh writes)

ab.json: one process, the default decode path and combine choice (robust device), the split-KV plan switched per arm
(each arm's decoders planned by MlaDecoder with that `schedule`): main (`schedule: 'flashmla'`, getMlaMetadata's plan:
main's behaviour, the opt-out), fill (the WebGPU backend's new default plan: the payload floor one overhead and one
block), mainnc / fillnc (the nocomb probe on either plan: the decode pass alone), two alternating rounds; a variant's
time is the mean of its two arms.
SHIP the fill schedule (the WebGPU backend's default when MlaDecoder plans) when
  1. all five configs were timed (b1 s_k 32768, b1 s_k 8192, the uneven b4, b128 s_k 8192 h16 / h128), main's two
     arms within 3 % at each, the plans split as predicted (most splits a request, flashmla -> fill: b1 s_k 32768
     103 -> 128, b1 s_k 8192 26 -> 64, the others unchanged), and fill ran the wide combine (mla_combine:bf16.g8) at
     both b1 rows and the same combine as main elsewhere,
  2. fill / main <= 0.90 at both b1 rows, <= 1.00 on the uneven batch, <= 1.01 at both b128 rows,
  3. the GPU matrix suite (>= 100 random cases), test/backends/webgpu.test.ts and test/backends/webgpu-schedule.test.ts,
     all with the fill plan as the callers' metadata, pass every test, none skipped, no top-level `not ok`.
Else KEEP the flashmla schedule (main's behaviour). Either way it prints fill / main, and the decode pass alone
(mainnc, fillnc) with what the combine costs on each plan (main - mainnc, fill - fillnc).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s18_bounded_rule import suite_verdict  # noqa: E402

d = sys.argv[1]
why = []
rows = []
try:
    rows = json.load(open(os.path.join(d, "ab.json")))["rows"]
except Exception as e:  # noqa: BLE001 - a missing run is reported, not fatal
    print(f"ab.json: none ({e})")


def name(r):
    return f"b{r['b']} s{r.get('s_k', 'var')} h{r['h_q']} q{r['s_q']}"


# name -> (fill / main limit, (flashmla splits, fill splits) or None for "the same")
EXPECT = {
    "b1 s32768 h16 q1": (0.90, (103, 128)),
    "b1 s8192 h16 q1": (0.90, (26, 64)),
    "b4 svar h16 q4": (1.00, None),
    "b128 s8192 h16 q1": (1.01, None),
    "b128 s8192 h128 q1": (1.01, None),
}

summary = []
for r in rows:
    m, n = r["mean_ms"], name(r)
    lim, splits = EXPECT.get(n, (0.0, None))
    x = m["fill"] / m["main"]
    sp = r.get("splits", {})
    pipes = r.get("pipelines", {})
    pm = {pipes.get(a, "?") for a in ("main", "main again")}
    pf = {pipes.get(a, "?") for a in ("fill", "fill again")}
    extra = ""
    if "mainnc" in m and "fillnc" in m:
        extra = (f"  decode pass main {1e3 * m['mainnc']:.1f} us fill {1e3 * m['fillnc']:.1f} us ({m['fillnc'] / m['mainnc']:.3f});"
                 f" combine main {1e3 * (m['main'] - m['mainnc']):.1f} us fill {1e3 * (m['fill'] - m['fillnc']):.1f} us")
    print(f"{n:20s} main {m['main']:.4f} ms  fill {m['fill']:.4f} ({x:.3f})  main drift {100 * r['drift']['main']:+.1f} %"
          f"  splits {sp.get('flashmla', '?')} -> {sp.get('fill', '?')}  combine [{'/'.join(sorted(pm))} | {'/'.join(sorted(pf))}]{extra}")
    summary.append(f"{n} {x:.3f}")
    if abs(r["drift"]["main"]) > 0.03:
        why.append(f"main drift {100 * r['drift']['main']:.1f} % at {n}")
    want = splits or (sp.get("flashmla"), sp.get("flashmla"))
    if (sp.get("flashmla"), sp.get("fill")) != tuple(want):
        why.append(f"splits {sp.get('flashmla')} -> {sp.get('fill')} at {n}, predicted {want[0]} -> {want[1]}")
    if r["b"] == 1 and pf != {"mla_combine:bf16.g8"}:
        why.append(f"fill ran {'/'.join(sorted(pf))} at {n}, not the wide combine")
    if r["b"] != 1 and pf != pm:
        why.append(f"fill ran {'/'.join(sorted(pf))}, main {'/'.join(sorted(pm))} at {n}")
    if x > lim:
        why.append(f"fill / main {x:.3f} > {lim:.2f} at {n}")
if sorted(name(r) for r in rows) != sorted(EXPECT):
    why.append(f"{len(rows)} of {len(EXPECT)} configs timed")

for f, label, cases_min in (("suite-matrix.tap", "GPU matrix suite", 100), ("suite-webgpu.tap", "webgpu.test.ts", 0),
                            ("suite-schedule.tap", "webgpu-schedule.test.ts", 0)):
    bad = suite_verdict(d, f, label, cases_min, "fill plan, robust")
    if bad:
        why.append(bad)

s = " ".join(summary) or "-"
if not why:
    print(f"SHIP fill schedule (fill / main {s}; suites pass)")
else:
    print(f"KEEP flashmla schedule (fill / main {s}; {'; '.join(why)})")

#!/usr/bin/env python3
"""Session 26 (issue #13), call 4: the rule for firstEarly by the plan, written before the call
(results/gpu-host/bench/hopper/s26_webgpu/predictions.txt). Reads tile16-ab logs (arms dflt = the tree's default, which
takes firstEarly where a work item is short, and nofe = the same without it), each shape's median of its runs; judges
the shapes where dflt's pipeline key ends in .fe. SHIP when every CHECK line passes, their geomean dflt / nofe <= 0.99
and none is above 1.01. Prints one line a shape and the verdict (last line).
    python3 s26_fe_rule.py ab-1.txt [ab-2.txt ...]"""
import math, re, statistics, sys

runs, pipes, checks = {}, {}, []
for f in sys.argv[1:]:
    for line in open(f):
        if line.startswith('CHECK'):
            checks.append(' pass ' in line)
        m = re.match(r'\s+(b=.*?) (dflt|nofe)( again)? \(\d+ parts\): ([0-9.]+) ms\s+\[(\S+)\]', line)
        if m:
            runs.setdefault(m.group(1).strip(), {}).setdefault(m.group(2), []).append(float(m.group(4)))
            if m.group(2) == 'dflt': pipes[m.group(1).strip()] = m.group(5)
judged = []
for shape, r in runs.items():
    ratio = statistics.median(r['dflt']) / statistics.median(r['nofe'])
    on = pipes[shape].endswith('.fe')
    if on: judged.append(ratio)
    print(f"{shape:36s} {'fe ' if on else 'off'} dflt {statistics.median(r['dflt']):.4f} nofe {statistics.median(r['nofe']):.4f} ratio {ratio:.3f}")
geo = math.exp(sum(map(math.log, judged)) / len(judged)) if judged else float('nan')
ok = bool(checks) and all(checks) and bool(judged) and geo <= 0.99 and max(judged) <= 1.01
print(f"checks {sum(checks)}/{len(checks)}; geomean over {len(judged)} fe shapes {geo:.3f}, worst {max(judged) if judged else float('nan'):.3f}")
print('VERDICT', 'SHIP' if ok else 'KEEP')

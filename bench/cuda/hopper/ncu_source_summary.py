#!/usr/bin/env python3
"""Summaries of an ncu source page export (ncu -i R.ncu-rep --page source --csv --print-source sass > R.sass.csv):
where the warps' stall samples go, and the executed-instruction mix, over a range of SASS lines (one warpgroup's
copy of the loop, the producer, or the whole kernel).

  python3 ncu_source_summary.py R.sass.csv [--kernel K] [--lines LO:HI] [--per N] [--top T]

--per N divides the instruction counts (e.g. warps x tile pairs, to get instructions per warp per pair);
--top T lists the T instructions with the most samples. Samples are put in one of five classes: wgmma wait
(WARPGROUP.DEPBAR), mbarrier wait (long-scoreboard samples on the branch of a try_wait loop), named barrier wait,
HGMMA issue, other (math, softmax, issue)."""
import argparse, collections, csv, re

ap = argparse.ArgumentParser()
ap.add_argument("csv")
ap.add_argument("--kernel", type=int, default=0)
ap.add_argument("--lines", default="0:999999")
ap.add_argument("--per", type=float, default=1.0)
ap.add_argument("--top", type=int, default=0)
a = ap.parse_args()
kernels, hdr = [], None
for row in csv.reader(open(a.csv)):
    if not row:
        continue
    if row[0] == "Kernel Name":
        kernels.append([]); hdr = None; continue
    if row[0] == "Address":
        hdr = row; continue
    if hdr:
        kernels[-1].append(dict(zip(hdr, row)))
rows = kernels[a.kernel]
lo, hi = map(int, a.lines.split(":"))
num = lambda r, k: int(r.get(k) or 0)
cls, ops, tot, ins = collections.Counter(), collections.Counter(), 0, 0
sel = [(i, r) for i, r in enumerate(rows) if lo <= i < hi]
for i, r in sel:
    s = r["Source"].strip(); n = num(r, "Warp Stall Sampling (All Samples)"); tot += n
    e = num(r, "Instructions Executed"); ins += e
    op = re.sub(r"^@!?U?P\w+\s+", "", s).split(" ")[0].split(".")[0]
    ops[op] += e
    if "DEPBAR" in s: cls["wgmma wait (DEPBAR)"] += n
    elif re.match(r"@!?P\d\s+BRA", s) and num(r, "stall_long_sb") > n / 2: cls["mbarrier wait"] += n
    elif num(r, "stall_barrier") > n / 2: cls["named barrier wait"] += n
    elif "HGMMA" in s: cls["HGMMA issue"] += n
    else: cls["other (math, softmax, issue)"] += n
print(f"lines {lo}:{min(hi, len(rows))} of {len(rows)}: {tot} samples, {ins} warp instructions executed ({ins / a.per:.0f} per unit)")
for c, v in cls.most_common():
    print(f"  {c:30s} {100 * v / max(tot, 1):5.1f}%")
print("  mix per unit: " + "  ".join(f"{k} {v / a.per:.0f}" for k, v in ops.most_common(16)))
if a.top:
    for i, r in sorted(sorted(sel, key=lambda x: -num(x[1], "Warp Stall Sampling (All Samples)"))[: a.top]):
        n = num(r, "Warp Stall Sampling (All Samples)")
        print(f"  {i:5d} {100 * n / max(tot, 1):5.2f}%  {r['Source'].strip()[:80]}")

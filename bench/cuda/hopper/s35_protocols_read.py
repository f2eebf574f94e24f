#!/usr/bin/env python3
"""Session 35, call 3: ours under two flushed loops (DIR/ab-<i>-<P30|P1K>.json) against FlashMLA's do_bench and
flush_short times (FP.json from flashmla_protocols.py): per row the means, ours P1K / P30, FlashMLA flush_short /
do_bench, and the ratios FlashMLA do_bench / ours P1K (the same loop shape on both sides), FlashMLA do_bench / ours P30
(what sessions 32-34 recorded), FlashMLA flush_short / ours P30 (our old loop on both sides); geomeans over the 24 grid
rows.

  python3 bench/cuda/hopper/s35_protocols_read.py FP.json DIR
"""
import glob, json, math, os, sys


def key(r): return (r["b"], r.get("s_k") if r.get("s_k") is not None else tuple(r.get("seqlens", ())), r["h_q"], r["s_q"])


fp = {key(r): r for r in json.load(open(sys.argv[1]))["rows"]}
ours = {}
for f in sorted(glob.glob(os.path.join(sys.argv[2], "ab-*.json"))):
    arm = os.path.basename(f)[:-5].split("-", 2)[2]
    for r in json.load(open(f))["rows"]:
        ours.setdefault(arm, {}).setdefault(key(r), []).append(r["ms"])
mean = lambda v: sum(v) / len(v)
cols = {"do_bench/P1K": [], "do_bench/P30": [], "short/P30": [], "P1K/P30": [], "fm short/do_bench": []}
print(f"{'row':32s} {'FM do_bench':>11s} {'FM short':>9s} {'ours P30':>9s} {'ours P1K':>9s}   FM/P1K  FM/P30  short/P30  P1K/P30  FMshort/FM")
for k in ours["P30"]:
    f = fp.get(k, {}); fd = f.get("flashmla", {}).get("ms"); fs = f.get("flashmla_flush_short", {}).get("ms")
    p30, p1k = mean(ours["P30"][k]), mean(ours.get("P1K", {}).get(k, [float("nan")]))
    r = {"do_bench/P1K": fd / p1k if fd else math.nan, "do_bench/P30": fd / p30 if fd else math.nan,
         "short/P30": fs / p30 if fs else math.nan, "P1K/P30": p1k / p30, "fm short/do_bench": fs / fd if fs and fd else math.nan}
    if k[0] == 128:
        for c, v in r.items():
            if v == v: cols[c].append(math.log(v))
    us = lambda x: f"{x * 1e3:9.1f}" if x else "        -"
    print(f"{str(k):32s} {us(fd):>11s} {us(fs)} {us(p30)} {us(p1k)}   {r['do_bench/P1K']:.3f}   {r['do_bench/P30']:.3f}   {r['short/P30']:.3f}     {r['P1K/P30']:.3f}    {r['fm short/do_bench']:.3f}")
print("geomeans over the b=128 grid rows: " + ", ".join(f"{c} {math.exp(mean(v)):.4f} ({len(v)})" for c, v in cols.items() if v))

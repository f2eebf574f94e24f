#!/usr/bin/env python3
"""Session 35, call 2: ncu's one-pass metrics (cycles, SM clock, DRAM bytes) of the >= 64-row kernel and FlashMLA's,
after a 256 MB zeroing (dirty L2) and after ncu's own flush (clean). Reads DIR/ours-<build>-<mode>.csv (every launch of
our decode entry over six shapes, the same number of launches a shape, in order) and DIR/fm-<mode>.csv (a warm call,
then one call a shape), as `ncu --csv --page raw` printed them to stdout.

  python3 bench/cuda/hopper/s35_ncu_dirty.py DIR
"""
import csv, glob, io, os, statistics, sys

SHAPES = ["32x2 s_k1024", "64x2 s_k1024", "128x1 s_k1024", "128x2 s_k1024", "64x2 s_k4096", "64x2 s_k8192"]
COLS = {"cyc": "gpc__cycles_elapsed.max", "hz": "gpc__cycles_elapsed.avg.per_second",
        "rd": "dram__bytes_read.sum", "wr": "dram__bytes_write.sum"}


def launches(path):
    """The raw page's rows (one a profiled launch) as dicts of the four metrics in cycles, MHz and MB."""
    text = open(path, errors="replace").read().splitlines()
    start = next((i for i, l in enumerate(text) if l.startswith('"ID"')), None)
    if start is None: return []
    rows = list(csv.reader(io.StringIO("\n".join(text[start:]))))
    head, units, out = rows[0], rows[1], []
    for r in rows[2:]:
        if len(r) != len(head) or not r[0].strip().isdigit(): continue
        d = {}
        for k, c in COLS.items():
            j = head.index(c); v = float(r[j].replace(",", "")); u = units[j].lower()
            if k in ("rd", "wr"): v *= {"byte": 1e-6, "kbyte": 1e-3, "mbyte": 1.0, "gbyte": 1e3}.get(u, 1e-6)
            if k == "hz": v *= {"hz": 1e-6, "khz": 1e-3, "mhz": 1.0, "ghz": 1e3, "cycle/second": 1e-6, "cycle/nsecond": 1e3, "cycle/usecond": 1.0}.get(u, 1.0)
            d[k] = v
        d["us"] = d["cyc"] / d["hz"] if d["hz"] else float("nan")
        out.append(d)
    return out


def show(tag, per_shape):
    for s, ls in zip(SHAPES, per_shape):
        if not ls: print(f"  {tag:10s} {s:14s} (none)"); continue
        m = {k: statistics.median(x[k] for x in ls) for k in ("cyc", "hz", "rd", "wr", "us")}
        print(f"  {tag:10s} {s:14s} n={len(ls)}  cycles {m['cyc']:9.0f}  {m['hz']:6.0f} MHz  {m['us']:7.1f} us  DRAM read {m['rd']:7.1f} MB  write {m['wr']:6.1f} MB")


d = sys.argv[1]
for mode in ("dirty", "clean"):
    print(f"{mode}:")
    for f in sorted(glob.glob(os.path.join(d, f"ours-*-{mode}.csv"))):
        ls = launches(f); n = len(ls) // len(SHAPES)
        if n == 0 or len(ls) % len(SHAPES): print(f"  {os.path.basename(f)}: {len(ls)} launches, not {len(SHAPES)} x n; all:"); show(os.path.basename(f), [ls]); continue
        # the first launch of each shape may be its plan's first call: keep the later ones where there are several
        show(os.path.basename(f)[5:-len(mode) - 5], [ls[i * n + (1 if n > 1 else 0):(i + 1) * n] for i in range(len(SHAPES))])
    f = os.path.join(d, f"fm-{mode}.csv")
    if os.path.exists(f):
        ls = launches(f)
        if len(ls) == len(SHAPES) + 1: show("FlashMLA", [[x] for x in ls[1:]])
        else: print(f"  fm-{mode}: {len(ls)} launches"); show("FlashMLA", [ls])

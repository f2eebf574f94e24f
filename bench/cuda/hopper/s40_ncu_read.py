#!/usr/bin/env python3
"""Session 40: read ncu --csv files (metrics gpu__time_duration.sum, launch__grid_size, launch__block_size,
launch__registers_per_thread) of s40_call1.sh: each file's launches in order, runs of the same kernel and grid folded
into one line (count, median and min duration in us).   python3 s40_ncu_read.py DIR"""
import csv, glob, io, os, re, statistics, sys


def launches(path):
    rows = {}
    order = []
    lines = [l for l in open(path, errors='replace') if l.startswith('"')]
    if not lines:
        return []
    for r in csv.DictReader(io.StringIO(''.join(lines))):
        i = r.get('ID')
        if i is None or not i.isdigit():
            continue
        if i not in rows:
            rows[i] = {'name': r['Kernel Name']}
            order.append(i)
        try:
            rows[i][r['Metric Name']] = float(r['Metric Value'].replace(',', ''))
        except ValueError:
            rows[i][r['Metric Name']] = r['Metric Value']
    return [rows[i] for i in order]


def short(n):
    n = re.sub(r'\(.*', '', n)
    n = re.sub(r'^void ', '', n)
    return n[-70:]


for path in sorted(glob.glob(os.path.join(sys.argv[1], 'ncu-*.csv'))):
    ls = launches(path)
    print(f'== {os.path.basename(path)}: {len(ls)} launches')
    runs = []
    for l in ls:
        key = (short(l['name']), l.get('launch__grid_size'), l.get('launch__block_size'), l.get('launch__registers_per_thread'))
        d = l.get('gpu__time_duration.sum', float('nan')) / 1e3
        if runs and runs[-1][0] == key:
            runs[-1][1].append(d)
        else:
            runs.append((key, [d]))
    for (name, g, b, r), ds in runs:
        print(f'  {len(ds):3d} x {name:70s} grid {g!s:>7} block {b!s:>4} regs {r!s:>4}  median {statistics.median(ds):8.2f} us  min {min(ds):8.2f}')

#!/usr/bin/env python3
"""nvidia-smi's clock samples (--query-gpu=timestamp,pstate,clocks.sm,clocks.mem,utilization.gpu,power.draw
--format=csv,noheader) grouped by the phases a bench printed as `phase NAME... ISO-TIME` lines: for each phase its sample
count and the most common (pstate, SM clock, memory clock). Session 42 (calls 5 and 8).
    python3 bench/cuda/hopper/smi_phases.py SMI.csv BENCH-OUTPUT.txt"""
import sys, datetime, collections
rows = []
for l in open(sys.argv[1]):
    f = [x.strip() for x in l.split(',')]
    if len(f) < 6: continue
    try: t = datetime.datetime.strptime(f[0], '%Y/%m/%d %H:%M:%S.%f')
    except ValueError: continue
    rows.append((t, f[1], f[2], f[3], f[4], f[5]))
marks = []
for l in open(sys.argv[2]):
    if l.startswith('phase '):
        parts = l.split(); what, iso = ' '.join(parts[1:-1]), parts[-1]
        marks.append((what, datetime.datetime.strptime(iso.replace('Z', ''), '%Y-%m-%dT%H:%M:%S.%f')))
# nvidia-smi prints local time; the marks are UTC: align by the offset that is a whole number of hours
off = datetime.timedelta(0)
if rows and marks:
    d = (rows[0][0] - marks[0][1]).total_seconds(); off = datetime.timedelta(hours=round(d / 3600))
for k, (what, t0) in enumerate(marks):
    t1 = marks[k + 1][1] if k + 1 < len(marks) else t0 + datetime.timedelta(seconds=5)
    sel = [r for r in rows if t0 + off <= r[0] < t1 + off]
    c = collections.Counter((r[1], r[2], r[3]) for r in sel)
    print('clocks', what, len(sel), 'samples:', ', '.join(f'{p} {s} / {m} x{n}' for (p, s, m), n in c.most_common(4)))

#!/usr/bin/env python3
"""Session 33: the <= 32-row kernel's item end from harness `tracecall`'s <cfg>_end.csv files (cycles of each CTA from
its entry: o_wg0/1 = each warpgroup's last O^T, sums_wg0, merge_wg0, stores_wg0/1, end_wg0/1), one line a traced run:
per-CTA medians of merge - sums, stores - merge and end - warpgroup 1's last O^T, with the run's untraced time and its
last CTA's end (out.txt beside the csv).

  python3 bench/cuda/hopper/s33_end_read.py DIR   (DIR/<run>/..._end.csv and DIR/<run>/out.txt)
"""
import csv, glob, os, statistics as st, sys

for f in sorted(glob.glob(os.path.join(sys.argv[1], '*', '*_end.csv'))):
    rows = list(csv.DictReader(open(f)))

    def d(a, b):
        v = [int(r[a]) - int(r[b]) for r in rows if int(r[a]) > 0 and int(r[b]) > 0]
        return st.median(v) if v else float('nan')

    out = os.path.join(os.path.dirname(f), 'out.txt')
    ev = [l.strip()[-44:] for l in open(out) if 'untraced' in l or 'decode last CTA end' in l] if os.path.exists(out) else []
    print(os.path.basename(os.path.dirname(f))[:26], 'cycles: merge-sums', d('merge_wg0', 'sums_wg0'), 'stores-merge',
          d('stores_wg0', 'merge_wg0'), 'end-o1', d('end_wg0', 'o_wg1'), '|', ' '.join(ev))

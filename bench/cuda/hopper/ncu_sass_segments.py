#!/usr/bin/env python3
"""Session 34: read ncu's SASS source page (`ncu -i R --page source --csv --print-source sass`, gzipped or not) by segments:
runs of consecutive SASS lines executed the same number of times (a straight-line stretch of code, or a loop body). For
each segment with enough samples or lines: its line range, length, execution count (warp-level), warp-state samples,
no_instructions samples and the kinds of instruction it holds; then the samples of every stall reason over the kernel and
over code classes by execution count (`hot` >= 30 % of the most executed line, `warm` >= --warm, `cold` below, `never`).
Session 34 read the <= 32-row kernel's item end this way (docs/notes/cuda-hopper-decode.md, "Session 34").
  python3 bench/cuda/hopper/ncu_sass_segments.py SASS.csv[.gz] [--min-samples 8] [--min-lines 60] [--warm 6336]
      [--range A-B ...]   (stall reasons summed over SASS lines A..B, as the segment list numbers them)"""
import argparse
import collections
import csv
import gzip

KINDS = ('HGMMA', 'BAR', 'SYNCS', 'STG', 'STS', 'LDS', 'LDG', 'MUFU', 'SHFL', 'BRA', 'UTMA', 'WARPGROUP', 'STSM')


def load(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt') as f:
        rows = list(csv.reader(f))
    head = next(i for i, r in enumerate(rows) if r and r[0] == 'Address')
    hdr = rows[head]
    return {h: i for i, h in enumerate(hdr)}, hdr, rows[head + 1:]


def num(r, ix, name):
    v = r[ix[name]] if name in ix and ix[name] < len(r) else ''
    return int(v) if v not in ('', '-') else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('sass')
    ap.add_argument('--min-samples', type=int, default=8)
    ap.add_argument('--min-lines', type=int, default=60)
    ap.add_argument('--warm', type=int, default=6336, help='execution count from which a line is warm (default: 8 warps x 792)')
    ap.add_argument('--range', action='append', default=[])
    a = ap.parse_args()
    ix, hdr, data = load(a.sass)
    stalls = [h for h in hdr if h.startswith('stall_') and 'Not Issued' not in h]
    execs = [num(r, ix, 'Instructions Executed') for r in data]
    top = max(execs) if execs else 0
    segs, cur = [], None
    for n, (r, e) in enumerate(zip(data, execs)):
        src = r[ix['Source']].strip()
        op = (src.split()[1] if src.startswith('@') and len(src.split()) > 1 else src.split()[0]) if src else ''
        if cur is None or cur['exec'] != e:
            cur = {'first': n, 'last': n, 'exec': e, 'samples': 0, 'noinst': 0, 'ops': collections.Counter()}
            segs.append(cur)
        cur['last'] = n
        cur['samples'] += num(r, ix, '# Samples')
        cur['noinst'] += num(r, ix, 'stall_no_inst')
        if any(op.startswith(k) for k in KINDS):
            cur['ops'][op] += 1
    for s in segs:
        lines = s['last'] - s['first'] + 1
        if s['samples'] >= a.min_samples or lines >= a.min_lines:
            ops = ' '.join(f'{k}:{v}' for k, v in s['ops'].most_common(6))
            print(f"{s['first']:5d}-{s['last']:5d} n={lines:4d} exec={s['exec']:8d} samples={s['samples']:5d} noinst={s['noinst']:4d} {ops}")
    total, cls = collections.Counter(), collections.defaultdict(collections.Counter)
    for r, e in zip(data, execs):
        c = 'never' if e == 0 else 'hot' if e >= 0.3 * top else 'warm' if e >= a.warm else 'cold'
        cls[c]['lines'] += 1
        cls[c]['samples'] += num(r, ix, '# Samples')
        for h in stalls:
            v = num(r, ix, h)
            total[h] += v
            cls[c][h] += v
    print('all: ' + ', '.join(f'{h[6:]} {v}' for h, v in total.most_common(10)))
    for c in ('hot', 'warm', 'cold', 'never'):
        if c in cls:
            k = cls[c]
            print(f"  {c}: {k['lines']} lines, {k['samples']} samples: " + ', '.join(f'{h[6:]} {k[h]}' for h in sorted(stalls, key=lambda h: -k[h])[:7]))
    for rg in a.range:
        lo, hi = (int(x) for x in rg.split('-'))
        k = collections.Counter()
        for r in data[lo:hi + 1]:
            for h in stalls:
                k[h] += num(r, ix, h)
        print(f'lines {lo}-{hi}: ' + ', '.join(f'{h[6:]} {v}' for h, v in k.most_common(8)))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Session 32: read call 2's files (DIR): ours back to back (ours-b2b.json, ours-b2b2.json), ours with 256 MB written
before each repetition (ours-flush.json), FlashMLA by the anchor (flashmla.json, do_bench) and by
bench/cuda/flashmla_protocols.py (fp.json: b2b and do_bench); the clock / power samples (clk-*.txt). Prints per config the
times and the ratios FlashMLA / ours under each protocol, and their geomeans.
  python3 s32_protocols_read.py DIR"""
import glob, json, math, os, sys
d = sys.argv[1]
def load(n):
    p = os.path.join(d, n)
    return json.load(open(p)) if os.path.exists(p) else None
def key(r): return (r['b'], r.get('s_k') if 's_k' in r and r.get('s_k') is not None else tuple(r.get('seqlens', [])), r['h_q'], r['s_q'])
ob = [x for x in (load('ours-b2b.json'), load('ours-b2b2.json')) if x]
of = load('ours-flush.json'); fa = load('flashmla.json'); fp = load('fp.json')
ours_b2b = {}
for x in ob:
    for r in x['rows']: ours_b2b.setdefault(key(r), []).append(r['ms'])
ours_fl = {key(r): r['ms'] for r in (of or {'rows': []})['rows']}
fa_db = {key(r): r['flashmla']['ms'] for r in (fa or {'rows': []})['rows']}
# fp.json: bench/cuda/flashmla_protocols.py's rows (flashmla / flashmla_b2b), or its first form's (dobench_ms / b2b_ms)
fp_b2b = {key(r): r['flashmla_b2b']['ms'] if 'flashmla_b2b' in r else r['b2b_ms'] for r in (fp or {'rows': []})['rows']}
fp_db = {key(r): r['flashmla']['ms'] if 'flashmla' in r else r['dobench_ms'] for r in (fp or {'rows': []})['rows']}
g = {k: [] for k in ('cur', 'flush', 'b2b', 'ours_fl/b2b', 'fa_b2b/db')}
print(f"{'config':28s} {'ours b2b':>9s} {'ours fl':>8s} {'FA db':>8s} {'FA db2':>8s} {'FA b2b':>8s} | {'cur':>6s} {'flush':>6s} {'b2b':>6s} | ours fl/b2b  FA b2b/db")
for k, v in ours_b2b.items():
    o = sum(v) / len(v); of_ = ours_fl.get(k); a = fa_db.get(k); a2 = fp_db.get(k); ab = fp_b2b.get(k)
    cur = a / o if a else float('nan')                       # the grid's ratio: FlashMLA do_bench / ours back to back
    fl = a / of_ if a and of_ else float('nan')              # both with the flush (do_bench's protocol)
    bb = ab / o if ab else float('nan')                      # both back to back
    for n, x in (('cur', cur), ('flush', fl), ('b2b', bb), ('ours_fl/b2b', of_ / o if of_ else float('nan')), ('fa_b2b/db', ab / a2 if ab and a2 else float('nan'))):
        if x == x: g[n].append(math.log(x))
    f = lambda x: f"{x * 1e3:8.1f}" if x else '       -'
    print(f"{str(k):28s} {o * 1e3:9.1f} {f(of_)} {f(a)} {f(a2)} {f(ab)} | {cur:6.3f} {fl:6.3f} {bb:6.3f} | {of_ / o if of_ else float('nan'):.3f}  {ab / a2 if ab and a2 else float('nan'):.3f}")
print('geomeans: ' + ', '.join(f"{n} {math.exp(sum(v) / len(v)):.4f} ({len(v)})" for n, v in g.items() if v))
for f in sorted(glob.glob(os.path.join(d, 'clk-*.txt'))):
    s = []
    for line in open(f):
        p = [x.strip() for x in line.split(',')]
        try: s.append((float(p[1]), float(p[2])))
        except (ValueError, IndexError): pass
    busy = [x for x in s if x[1] > 250]
    if busy:
        print(f"{os.path.basename(f)}: {len(busy)} of {len(s)} samples over 250 W: SM clock mean {sum(x[0] for x in busy) / len(busy):.0f} MHz "
              f"(min {min(x[0] for x in busy):.0f}), power mean {sum(x[1] for x in busy) / len(busy):.0f} W (max {max(x[1] for x in busy):.0f})")
    else:
        print(f"{os.path.basename(f)}: {len(s)} samples, none over 250 W")

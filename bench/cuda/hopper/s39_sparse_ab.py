# Session 39: read `flashmla bench --mode sparse` runs of several arms (s29_common.sh s39_sparse_arms: FOLDER/sp-<i>-<arm>.json).
# A line a shape: each arm's times (us), every other arm's mean over A's, FlashMLA's time and A's ratio to it where the
# rows have one; then, per arm, the geometric mean of its ratio to A over the shapes whose requests are split (b in
# SPLIT_B, and the peak rows) and over the rest; last the dense rows' times per arm.
#   python3 bench/cuda/hopper/s39_sparse_ab.py FOLDER
import glob, json, math, os, sys

SPLIT_B = {1, 2, 74, 148}  # (b = 1: --grid small) FlashMLA's scheduler splits requests at these batches of bench_sparse.py's table (peak rows too)
runs, dense = {}, {}
key = lambda r: (r['label'], r['format'], r['b'], r['hQ'], r['sQ'], r['topk'], r.get('extraTopk', 0), r.get('extraBlockSize', 0))
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'sp-*-*.json'))):
    arm = os.path.basename(f)[:-5].split('-', 2)[2]
    d = json.load(open(f))
    runs.setdefault(arm, []).append({key(r): r for r in d['rows']})
    for r in d.get('dense', []):
        dense.setdefault((r['h_q'], r.get('kernel')), {}).setdefault(arm, []).append(r['us'])
mean = lambda v: sum(v) / len(v)
g = lambda v: math.exp(sum(math.log(x) for x in v) / len(v)) if v else float('nan')
ratios = {arm: {'split': [], 'whole': []} for arm in runs if arm != 'A'}
for k in runs['A'][0]:
    t = {arm: [r[k]['us'] for r in rs if k in r] for arm, rs in runs.items()}
    a = mean(t['A'])
    split = k[2] in SPLIT_B or k[0] == 'peak'
    rel = []
    for arm in ratios:
        if t[arm]:
            x = mean(t[arm]) / a
            ratios[arm]['split' if split else 'whole'].append(x)
            rel.append(f"{arm}/A {x:.3f}")
    fm = runs['A'][0][k].get('flashmla_us')
    vs = f" FlashMLA {fm:.1f} A {fm / a:.3f}x" + ''.join(f" {arm} {fm / mean(t[arm]):.3f}x" for arm in ratios if t[arm]) if fm else ''
    print(f"{'SPLIT' if split else '     '} {k[0]:20s} {k[1]:6s} b={k[2]:3d} h={k[3]:3d} s_q={k[4]} topk={k[5]}+{k[6]} "
          + ' '.join(f"{arm} {[round(x, 1) for x in v]}" for arm, v in t.items()) + ' ' + ' '.join(rel) + vs)
for arm, r in ratios.items():
    print(f"{arm}/A: split shapes {len(r['split'])} geomean {g(r['split']):.4f} max {max(r['split'], default=float('nan')):.3f}; "
          f"unsplit {len(r['whole'])} geomean {g(r['whole']):.4f}")
for (h, kern), t in dense.items():
    print(f"dense FP8 h_q {h} ({kern}) " + ' '.join(f"{arm} {[round(x, 1) for x in v]}" for arm, v in t.items()) + ' '
          + ' '.join(f"{arm}/A {mean(v) / mean(t['A']):.3f}" for arm, v in t.items() if arm != 'A' and 'A' in t))

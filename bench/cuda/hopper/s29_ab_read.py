# Session 29: read an interleaved A/B of library builds (bench JSONs named ab-<i>-<arm>.json in one folder): per shape
# each arm's time over the mean of the 'ship' runs, geomeans (all, small batches, b=128), shapes above 1.015 in every run.
#   python3 bench/cuda/hopper/s29_ab_read.py DIR [ARM...]
import glob, json, math, os, sys

d = sys.argv[1]
runs = {}
for f in sorted(glob.glob(os.path.join(d, 'ab-*.json'))):
    arm = os.path.basename(f)[:-5].split('-', 2)[2]
    rows = json.load(open(f))['rows']
    def key(r): return (r['b'], r.get('s_k') if 's_k' in r else tuple(r['seqlens']), r['h_q'], r['s_q'])
    runs.setdefault(arm, []).append({key(r): (r['ms'], r['kernel'], (r.get('check') or {}).get('ok')) for r in rows})
base = runs['ship']
keys = list(base[0].keys())
arms = sys.argv[2:] or [a for a in runs if a != 'ship']
def ms(run, k): return run[k][0]
for arm in arms:
    lines, lg, lgs, lgg, worst, best = [], [], [], [], [], []
    for k in keys:
        b = sum(ms(r, k) for r in base) / len(base)
        rs = [ms(r, k) / b for r in runs[arm]]
        aa = ms(base[-1], k) / ms(base[0], k)
        m = sum(rs) / len(rs)
        lg.append(math.log(m)); (lgg if k[0] == 128 else lgs).append(math.log(m))
        if min(rs) > 1.015: worst.append(k)
        if max(rs) < 0.985: best.append(k)
        ok = all(r[k][2] for r in runs[arm])
        lines.append(f"  {str(k):34s} {base[0][k][1]:26s} ship {b * 1000:7.1f} us  {arm} " + ' '.join(f'{x:.3f}' for x in rs) + f"  (A/A {aa:.3f}){'' if ok else '  CHECK FAILED'}")
    g = lambda v: math.exp(sum(v) / len(v)) if v else float('nan')
    print(f"{arm}: geomean all {g(lg):.4f} ({len(lg)}), small {g(lgs):.4f} ({len(lgs)}), b=128 {g(lgg):.4f} ({len(lgg)}); "
          f"above 1.015 in every run: {len(worst)}; below 0.985 in every run: {len(best)}")
    print('\n'.join(lines))

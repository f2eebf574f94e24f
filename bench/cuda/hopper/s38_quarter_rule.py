# Session 38, call 7: the rule written before the call for mla_combine_quarter (one warp a quarter row where a step's
# largest request is in 5+ pieces and its merge would be one warp a row). Reads two s35_arms folders (do_bench's loop and
# CUDA graphs) with arms 'ship' (the library: quarter off) and 'cq' (FLASHMLA_CUDA_COMBINE_QUARTER=1); a shape moved
# when cq's rows name mla_combine_quarter as their merge; r = mean cq time / mean ship time.
# PASS: moved shapes' geomean <= 0.98 in the loop and from graphs, none above 1.01 (loop) / 1.02 (graphs); unmoved
# shapes' geomean within 0.99-1.01 in the loop; every run's spot check passed.
# Session 39 (call 1) reads its arm `cqc` (FLASHMLA_CUDA_COMBINE_QUARTER=cta: also in place of the CTA merge) the same way.
#   python3 bench/cuda/hopper/s38_quarter_rule.py LOOP_DIR GRAPH_DIR [ARM (cq)]   (exit 0: PASS)
import glob, json, math, os, sys

def rkey(r): return (r['b'], tuple(r['seqlens']) if r.get('seqlens') else r['s_k'], r['h_q'], r['s_q'])
def load(d):
    runs = {}
    for f in sorted(glob.glob(os.path.join(d, 'ab-*.json'))):
        arm = os.path.basename(f)[:-5].split('-', 2)[2]
        runs.setdefault(arm, []).append({rkey(r): r for r in json.load(open(f))['rows']})
    return runs

ok = True
g = lambda v: math.exp(sum(math.log(r) for _, r in v) / len(v)) if v else float('nan')
for tag, d, gmax, rmax in (('loop', sys.argv[1], 0.98, 1.01), ('graphs', sys.argv[2], 0.98, 1.02)):
    runs = load(d)
    cq, base = runs[sys.argv[3] if len(sys.argv) > 3 else 'cq'], runs['ship']
    moved, rest = [], []
    for k in cq[0]:
        ms = lambda rs: sum(r[k]['ms'] for r in rs) / len(rs)
        r = ms(cq) / ms(base)
        if not all((x[k].get('check') or {}).get('ok', True) for x in cq + base): ok = False
        mv = any(x[k].get('merge') == 'mla_combine_quarter' for x in cq)
        (moved if mv else rest).append((k, r))
        print(f"{tag:6s} {'MOVED' if mv else '     '} {str(k):44s} {base[0][k].get('merge', '-'):22s} {cq[0][k].get('merge', '-'):22s} {r:.3f} {[round(x[k]['ms'] * 1000, 1) for x in cq]} {[round(x[k]['ms'] * 1000, 1) for x in base]}")
    mx = max((r for _, r in moved), default=float('nan'))
    print(f"{tag}: moved {len(moved)} geomean {g(moved):.4f} max {mx:.3f}; unmoved {len(rest)} geomean {g(rest):.4f}")
    if not moved or g(moved) > gmax or mx > rmax: ok = False
    if tag == 'loop' and rest and not (0.99 <= g(rest) <= 1.01): ok = False
print('RULE', 'PASS' if ok else 'FAIL')
sys.exit(0 if ok else 1)

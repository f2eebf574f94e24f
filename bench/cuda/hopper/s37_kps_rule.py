# Session 37, call 4: the rule written before the call for the short-item rule (17-32 rows of small batches on the wide
# kernel where the plan's keysPerSplit <= 160; launch.ts sm90WideTakes). Reads two s35_arms folders (do_bench's loop and
# CUDA graphs) with arms 'ship' (the candidate default) and 'kps0' (the batch rule alone, session 36's), and judges the
# shapes the rule moves (ship ran sm90w, kps0 the narrow n32 entry): r = mean ship time / mean kps0 time.
# New shapes: those after the first 13 of bench/cuda/hopper/s37-kps-shapes.json (session 36's 13 were what the bound was
# fitted to). PASS: new moved shapes' geomean <= 0.985 in the loop and <= 1.0 from graphs, none above 1.01 (loop) /
# 1.02 (graphs); session 36's moved shapes none above 1.01 in the loop; every run's spot check passed.
#   python3 bench/cuda/hopper/s37_kps_rule.py LOOP_DIR GRAPH_DIR SHAPES.json [OLD [BASE [swap]]]   (exit 0: PASS; OLD: how
#   many of SHAPES' first entries are old, default 13; BASE: the other arm, default kps0; swap: BASE is the candidate)
import glob, json, math, os, sys

shapes = json.load(open(sys.argv[3]))
nold = int(sys.argv[4]) if len(sys.argv) > 4 else 13 # (call 5: 0, every shape new)
base_arm = sys.argv[5] if len(sys.argv) > 5 else 'kps0' # the arm 'ship' is judged against (prepared s38_call1.sh: 'sf1' is the candidate)
swap = len(sys.argv) > 6 and sys.argv[6] == 'swap' # the candidate is base_arm, judged against 'ship'
def ckey(c): return (len(c['seqlens']) if 'seqlens' in c else c['b'], tuple(c['seqlens']) if 'seqlens' in c else c['s_k'], c['h_q'], c['s_q'])
old = {ckey(c) for c in shapes[:nold]}
def rkey(r): return (r['b'], tuple(r['seqlens']) if r.get('seqlens') else r['s_k'], r['h_q'], r['s_q'])

def load(d):
    runs = {}
    for f in sorted(glob.glob(os.path.join(d, 'ab-*.json'))):
        arm = os.path.basename(f)[:-5].split('-', 2)[2]
        runs.setdefault(arm, []).append({rkey(r): r for r in json.load(open(f))['rows']})
    return runs

ok = True
for tag, d, gmax, rmax in (('loop', sys.argv[1], 0.985, 1.01), ('graphs', sys.argv[2], 1.0, 1.02)):
    runs = load(d)
    ship, base = (runs[base_arm], runs['ship']) if swap else (runs['ship'], runs[base_arm])
    moved_new, moved_old, rest = [], [], []
    for k in ship[0]:
        ms = lambda rs: sum(r[k]['ms'] for r in rs) / len(rs)
        r = ms(ship) / ms(base)
        checks = all((x[k].get('check') or {}).get('ok', True) for x in ship + base)
        if not checks: ok = False
        moved = ship[0][k]['kernel'].startswith('mla_decode_sm90w') and base[0][k]['kernel'].startswith('mla_decode_sm90_')
        (moved_old if moved and k in old else moved_new if moved else rest).append((k, r))
        print(f"{tag:6s} {'old' if k in old else 'new'} {'MOVED' if moved else '     '} {str(k):44s} {ship[0][k]['kernel']:26s} {base[0][k]['kernel']:26s} {r:.3f} {[round(x[k]['ms'] * 1000, 1) for x in ship]} {[round(x[k]['ms'] * 1000, 1) for x in base]}{'' if checks else ' CHECK FAILED'}")
    g = lambda v: math.exp(sum(math.log(r) for _, r in v) / len(v)) if v else float('nan')
    mx = lambda v: max((r for _, r in v), default=float('nan'))
    print(f"{tag}: new moved {len(moved_new)} geomean {g(moved_new):.4f} max {mx(moved_new):.3f}; old moved {len(moved_old)} geomean {g(moved_old):.4f} max {mx(moved_old):.3f}; unmoved {len(rest)} geomean {g(rest):.4f}")
    if not moved_new or g(moved_new) > gmax or mx(moved_new) > rmax: ok = False
    if tag == 'loop' and moved_old and mx(moved_old) > 1.01: ok = False
print('RULE', 'PASS' if ok else 'FAIL')
sys.exit(0 if ok else 1)

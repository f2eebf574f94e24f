# Session 41: read two s35_arms folders (do_bench's loop and CUDA graphs) with arms 'ship' (the library) and 'q32'
# (FLASHMLA_CUDA_COMBINE_Q32=1), a line a shape: its merge in each arm, r = mean q32 time / mean library time in each
# protocol, the runs' times (µs); then the geomean of r over the shapes q32 moved (their q32 rows name mla_combine_q32)
# and over the others, and every run's spot check.
#   python3 bench/cuda/hopper/s41_q32_read.py LOOP_DIR GRAPH_DIR [ARM (q32)] [--invert]
# --invert (call 2: ARM nq32 is the library without q32's rule, 'ship' the library with it): r = mean ship time / mean
# ARM time, a shape moved where ship's rows name mla_combine_q32; then call 2's rule, written before the call: moved
# geomean <= 0.98 in the loop and from graphs, none above 1.01 (loop) / 1.02 (graphs), unmoved geomean within 0.99-1.01
# in the loop, every spot check passed -> RULE PASS (exit 0).
import glob, json, math, os, sys

def rkey(r): return (r['b'], tuple(r['seqlens']) if r.get('seqlens') else r['s_k'], r['h_q'], r['s_q'])
def load(d):
    runs = {}
    for f in sorted(glob.glob(os.path.join(d, 'ab-*.json'))):
        arm = os.path.basename(f)[:-5].split('-', 2)[2]
        runs.setdefault(arm, []).append({rkey(r): r for r in json.load(open(f))['rows']})
    return runs

inv = '--invert' in sys.argv
pos = [a for a in sys.argv[1:] if not a.startswith('--')]
arm = pos[2] if len(pos) > 2 else 'q32'
g = lambda v: math.exp(sum(math.log(x) for x in v) / len(v)) if v else float('nan')
res, checks = {}, True
for tag, d in (('loop', pos[0]), ('graphs', pos[1])):
    runs = load(d)
    if arm not in runs or 'ship' not in runs: print(f'{tag}: missing arms ({sorted(runs)})'); continue
    a, base = runs[arm], runs['ship']
    if inv: a, base = base, a # (new = ship, old = ARM)
    for k in a[0]:
        if not all(k in x for x in a + base): continue
        ms = lambda rs: sum(r[k]['ms'] for r in rs) / len(rs)
        if not all((x[k].get('check') or {}).get('ok', True) for x in a + base): checks = False
        res.setdefault(k, {})[tag] = (ms(a) / ms(base), base[0][k].get('merge', '-'), a[0][k].get('merge', '-'),
                                      [round(x[k]['ms'] * 1000, 1) for x in a], [round(x[k]['ms'] * 1000, 1) for x in base])
moved = {'loop': [], 'graphs': []}; rest = {'loop': [], 'graphs': []}
for k, v in res.items():
    line = f"{str(k):28s}"
    for tag in ('loop', 'graphs'):
        if tag not in v: continue
        r, mb, mq, ta, tb = v[tag]
        (moved if mq == 'mla_combine_q32' else rest)[tag].append(r)
        line += f" | {tag} {mb:20s} -> {mq:16s} {r:.3f} new {ta} old {tb}"
    print(line)
for tag in ('loop', 'graphs'):
    print(f"{tag}: moved {len(moved[tag])} geomean {g(moved[tag]):.4f} (min {min(moved[tag], default=float('nan')):.3f}, max {max(moved[tag], default=float('nan')):.3f}); unmoved {len(rest[tag])} geomean {g(rest[tag]):.4f}")
print('checks', 'ok' if checks else 'FAILED')
if inv:
    ok = checks and all(moved[t] for t in ('loop', 'graphs'))
    for tag, gmax, rmax in (('loop', 0.98, 1.01), ('graphs', 0.98, 1.02)):
        if moved[tag] and (g(moved[tag]) > gmax or max(moved[tag]) > rmax): ok = False
    if rest['loop'] and not (0.99 <= g(rest['loop']) <= 1.01): ok = False
    print('RULE', 'PASS' if ok else 'FAIL')
    sys.exit(0 if ok else 1)

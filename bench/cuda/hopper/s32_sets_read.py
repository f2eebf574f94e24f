#!/usr/bin/env python3
"""Session 32, calls 6-7: read s32_sets' files in OUT for TAG (b2b: ours eager, call 6; graph: ours from CUDA graphs,
call 7): per set (full, small-batch, combine-holdout) the geomean of FlashMLA / ours, and where FlashMLA was timed
several ways (call 6) how its eager and do_bench times compare with its graph replay; then every row.
  python3 s32_sets_read.py OUT TAG"""
import json, math, os, sys

o, tag = sys.argv[1], sys.argv[2]
g = lambda v: math.exp(sum(map(math.log, v)) / len(v)) if v else float('nan')
for set in ('full', 'small-batch', 'combine-holdout'):
    if not os.path.exists(os.path.join(o, f'{tag}-{set}.json')): continue # (a call that timed some sets only)
    fp = json.load(open(os.path.join(o, f'fp-{set}.json'))); d = json.load(open(os.path.join(o, f'{tag}-{set}.json')))
    v = [r['ratio_vs_flashmla'] for r in d['rows'] if 'ratio_vs_flashmla' in r]
    vb = [r['ratio_vs_flashmla'] for r in d['rows'] if r['b'] == 128 and 'ratio_vs_flashmla' in r]
    lo = min(d['rows'], key=lambda r: r.get('ratio_vs_flashmla', 9))
    line = (f"{set}: ours {d.get('protocol')} graph_calls {d.get('graph_calls')} / FlashMLA {d.get('flashmla_protocol')} matched "
            f"{d.get('protocol_matched')}: geomean {g(v):.4f} ({len(v)}), b=128 {g(vb):.4f} ({len(vb)}), lowest "
            f"{lo.get('ratio_vs_flashmla', float('nan')):.3f} (b={lo['b']} s_k={lo.get('s_k')} h_q={lo['h_q']} s_q={lo['s_q']})")
    if all('flashmla_b2b_eager' in r and 'flashmla' in r for r in fp['rows']):
        eg = [r['flashmla_b2b_eager']['ms'] / r['flashmla_b2b']['ms'] for r in fp['rows']]
        db = [r['flashmla']['ms'] / r['flashmla_b2b']['ms'] for r in fp['rows']]
        line += f"; FlashMLA ({sorted({r.get('b2b_method') for r in fp['rows']})}) eager / graph {g(eg):.3f} (max {max(eg):.2f}), do_bench / graph {g(db):.3f}"
    print(line)
    for r in d['rows']:
        print(f"   b={r['b']} s_k={r.get('s_k', '-')} h_q={r['h_q']} s_q={r['s_q']}: ours {r['ms'] * 1e3:.1f}, FlashMLA "
              f"{r.get('flashmla_ms', float('nan')) * 1e3:.1f} us -> {r.get('ratio_vs_flashmla', float('nan')):.3f}")

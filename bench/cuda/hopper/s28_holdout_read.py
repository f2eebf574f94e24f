#!/usr/bin/env python3
"""Session 28: the combine hold-outs' reader. ho-<i>-<arm>.json (flashmla bench rows; arms warps, cta, lib) -> per
shape the mean ms of each arm, warps / cta, lib / cta, and the rule of predictions.txt: (3) for call 1 (the bounds 9 a
wave and 16 in all), (4) for call 2 (10 and 24).
  python3 bench/cuda/hopper/s28_holdout_read.py OUTDIR [2]
"""
import glob
import json
import os
import sys

# Per config of holdout.json: pieces of the most-split request and waves of the CTA merge (the planner, 132 SMs,
# 'auto'), and what launch.ts's combineEntry picks (warps: pieces <= min(16, 9 * waves)).
PLAN = [(12, 1.45), (13, 1.45), (12, 1.62), (16, 1.94), (15, 2.59), (16, 2.26), (14, 1.45), (12, 1.29), (19, 1.94), (19, 2.26), (22, 2.59), (22, 3.23)]
# Call 2's hold-out (holdout2.json), the same fields.
PLAN2 = [(16, 1.62), (19, 1.94), (24, 2.59), (24, 3.23), (23, 3.88), (19, 4.53), (13, 1.29), (20, 1.94), (15, 1.45), (12, 1.13), (14, 1.29), (26, 2.59), (26, 3.23)]
BOUNDS = {1: (9, 16), 2: (10, 24)}


def pick(pieces, waves, per=9, cap=16):
    return 'warps' if waves > 1 and pieces <= min(cap, per * waves) else 'cta'


def main(d, call=1):
    plan = PLAN if call == 1 else PLAN2
    per, cap = BOUNDS[call]
    runs = {}
    for f in sorted(glob.glob(os.path.join(d, 'ho-*-*.json'))):
        arm = os.path.basename(f)[:-5].split('-')[2]
        rows = json.load(open(f))['rows']
        runs.setdefault(arm, []).append([r['ms'] for r in rows])
        cfg = [(r['b'], r.get('s_k'), r['h_q'], r['s_q']) for r in rows]
    if not {'warps', 'cta'} <= runs.keys():
        print('holdout: missing arms', sorted(runs))
        return
    mean = {a: [sum(x[i] for x in v) / len(v) for i in range(len(v[0]))] for a, v in runs.items()}
    print('b s_k h_q s_q | pieces waves per-wave pick | warps us  cta us  lib us | warps/cta lib/cta (runs a arm)')
    ok_keep = True
    big = []
    for i, c in enumerate(cfg):
        p, w = plan[i]
        r = mean['warps'][i] / mean['cta'][i]
        lib = mean['lib'][i] / mean['cta'][i] if 'lib' in mean else float('nan')
        pk = pick(p, w, per, cap)
        print(f'{c[0]} {c[1]} {c[2]} {c[3]} | {p} {w:.2f} {p / w:.2f} {pk} | {1e3 * mean["warps"][i]:.2f} {1e3 * mean["cta"][i]:.2f} '
              f'{1e3 * mean["lib"][i] if "lib" in mean else float("nan"):.2f} | {r:.3f} {lib:.3f} ({len(runs["warps"])} / {len(runs["cta"])})')
        if call == 2:
            ok_keep = rule2(pk, p, w, r, lib, mean, i) and ok_keep
            continue
        if pk == 'warps' and r > 1.01:
            ok_keep = False
            print(f'  rule: a warps shape at {r:.3f} > 1.01')
        if pk == 'cta' and p <= 16 and r < 0.99:
            ok_keep = False
            print(f'  rule: a cta shape of <= 16 pieces at {r:.3f} < 0.99')
        if p > 16 and p <= 9 * w:  # what a cap of 24 would move to one warp a row
            big.append(r)
    if call == 2:
        print(f'VERDICT: {"SHIP the bounds 10 a wave, 24 in all" if ok_keep else "KEEP 9 / 16 (a condition of rule (4) failed)"}')
        return
    if big and all(r <= 0.97 for r in big):
        print(f'VERDICT: raise combineWarpsSplits to 24 (every > 16-piece shape within 9 a wave <= 0.97: {", ".join(f"{r:.3f}" for r in big)}); '
              f'bounds 9 a wave {"stand" if ok_keep else "FAILED"}')
    else:
        print(f'VERDICT: {"KEEP the bounds (9 a wave, 16 in all)" if ok_keep else "the bounds FAILED on a hold-out shape"}; '
              f'> 16 pieces: {", ".join(f"{r:.3f}" for r in big)}')


def rule2(pk, p, w, r, lib, mean, i):
    """Rule (4): warps-picked shapes <= 1.01; cta-picked shapes at >= 10.5 a wave >= 0.99; the library within 2 % of its pick."""
    ok = True
    if pk == 'warps' and r > 1.01:
        print(f'  rule: a warps shape at {r:.3f} > 1.01'); ok = False
    if pk == 'cta' and p / w >= 10.5 and r < 0.99:
        print(f'  rule: a cta shape at {p / w:.2f} a wave at {r:.3f} < 0.99'); ok = False
    if 'lib' in mean:
        arm = mean['warps'][i] if pk == 'warps' else mean['cta'][i]
        if abs(mean['lib'][i] / arm - 1) > 0.02:
            print(f'  rule: the library at {mean["lib"][i] / arm:.3f} of its pick ({pk})'); ok = False
    return ok


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)

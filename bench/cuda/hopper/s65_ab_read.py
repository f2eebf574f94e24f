#!/usr/bin/env python3
"""Session 65's A/B table (bench/cuda/hopper/s50_common.sh s65_sparse_ab): `flashmla bench --mode sparse` JSONs
W/ab-TAGr.json for each arm TAG and round r, read back. Per round: each arm's time over each later arm's (geomean, range;
split into the shapes without an extra cache and CONFIG1-4, which have one), every shape's times with the first arm over
the others, and each arm's geomean against FlashMLA (ratio_vs_flashmla, FlashMLA timed in the same call).

    python3 bench/cuda/hopper/s65_ab_read.py W ROUNDS TAG...
"""
import json, math, os, sys


def gm(q):
    return math.exp(sum(map(math.log, q)) / len(q)) if q else 0.0


def main():
    w, rounds, tags = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    for r in range(1, rounds + 1):
        a = {}
        for t in tags:
            f = os.path.join(w, f'ab-{t}{r}.json')
            a[t] = json.load(open(f))['rows'] if os.path.exists(f) else None
        have = [t for t in tags if a[t]]
        for i, x in enumerate(have):
            for y in have[i + 1:]:
                q = [u['us'] / v['us'] for u, v in zip(a[x], a[y])]
                extra = ['CONFIG' in u['label'] for u in a[x]]
                print(f"round {r} {x} / {y}: geomean {gm(q):.4f}, {min(q):.3f}-{max(q):.3f}; without an extra cache "
                      f"{gm([z for z, e in zip(q, extra) if not e]):.4f}, CONFIG1-4 {gm([z for z, e in zip(q, extra) if e]):.4f}")
        if not have:
            continue
        first = have[0]
        for i, u in enumerate(a[first]):
            t = {k: a[k][i]['us'] for k in have}
            print(f"  {u['label']:<22} h_q {u['hQ']:>3} s_q {u['sQ']} topk {u['topk_total']:>5}: " + ' '.join(f"{k} {v:7.1f}" for k, v in t.items())
                  + ''.join(f"  {first}/{k} {t[first] / t[k]:.3f}" for k in have[1:])
                  + '  vs FlashMLA ' + ' '.join(f"{k} {a[k][i].get('ratio_vs_flashmla', 0):.3f}" for k in have))
        for k in have:
            fm = [u['ratio_vs_flashmla'] for u in a[k] if u.get('ratio_vs_flashmla')]
            if fm:
                print(f"round {r} {k} vs FlashMLA: geomean {gm(fm):.4f}, lowest {min(fm):.3f}")


if __name__ == '__main__':
    main()

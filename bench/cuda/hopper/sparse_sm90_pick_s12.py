#!/usr/bin/env python3
"""Ship decision of session 12's second sparse slot (docs/notes/cuda-sparse-decode.md, "Session 12, helper h1").

    python3 bench/cuda/hopper/sparse_sm90_pick_s12.py $OUT/sparse-sm90-final-ab.json [--self-test]

The JSON is sparse-sm90-final-ab.sh's, builds `shipped` (= 277093343240, bit 38, swapped into dist/cuda by
run_s12_h1b.sh) and `m1926360784904` (+ bits 39 and 40: each round's loads of tile t + 1 issued once that round of tile
t is stored; 39 = the pair entries, 40 = the one-CTA entries; the entries are independent, so a class ships alone).
Rule, per class (pair: the 8 shapes at h_q 128; one-CTA: the 4 at h_q 64): the class takes its bit when the candidate
was timed (its checks passed), its geomean time over the class is >= 0.5 % below the shipped build's in the same
process and no shape of the class is more than 0.5 % slower. Prints the numbers, then `SHIP MODE n`.
"""
import json
import math
import sys

BASE, B39, B40, CAND = 277093343240, 1 << 39, 1 << 40, 'm1926360784904'


def decide(j):
    shapes = j['shapes']
    b = {x['name']: x['us'] for x in j['builds']}
    ship, us = b['shipped'], b.get(CAND)
    lines, mode = [], BASE
    if us is None:
        return [f'{CAND} not timed (checks failed or no fatbin)', f'SHIP MODE {BASE} (unchanged)'], BASE
    d = [100 * (us[i] / ship[i] - 1) for i in range(len(shapes))]  # negative = faster
    for name, bit, sel in (('pair (h_q 128), bit 39', B39, lambda s: ' h128 ' in s), ('one-CTA (h_q 64), bit 40', B40, lambda s: ' h64 ' in s)):
        idx = [i for i, s in enumerate(shapes) if sel(s)]
        if not idx:
            continue
        geo = 100 * (math.exp(sum(math.log(us[i] / ship[i]) for i in idx) / len(idx)) - 1)
        worst = max(d[i] for i in idx)
        ok = geo <= -0.5 and worst <= 0.5
        lines.append(f'{name}: ' + ' '.join(f'{shapes[i]} {ship[i]:.1f}->{us[i]:.1f} ({d[i]:+.2f} %)' for i in idx))
        lines.append(f'{name}: geomean time {geo:+.2f} %, slowest {worst:+.2f} %: {"qualifies" if ok else "no"}')
        if ok:
            mode += bit
    fm = j.get('flashmlaUs') or []
    for name, t in (('shipped', ship), (CAND, us)):
        r = [f / u for f, u in zip(fm, t) if f]
        if r:
            lines.append(f'{name}: geomean vs FlashMLA {math.exp(sum(map(math.log, r)) / len(r)):.3f}')
    lines.append(f'SHIP MODE {mode}' + (' (unchanged)' if mode == BASE else ''))
    return lines, mode


def self_test():
    shapes = ['V3.2 b64 h128 s2 k2048', 'V3.2 b128 h128 s2 k2048', 'V3.2 b64 h128 s1 k2048', 'V3.2 b128 h128 s1 k2048',
              'M1 b128 h64 s2 k512', 'M1 b128 h64 s2 k1024', 'M1 b128 h128 s2 k512', 'M1 b128 h128 s2 k1024',
              'M1 b128 h64 s2 k128+512', 'M1 b128 h128 s2 k128+1024', 'M1 b128 h64 s2 k128+1024/2L', 'M1 b128 h128 s2 k128+1024/2L']
    pair = [i for i, s in enumerate(shapes) if ' h128 ' in s]

    def j(pd, od):
        return {'shapes': shapes, 'flashmlaUs': [80.0] * 12, 'builds': [{'name': 'shipped', 'us': [100.0] * 12},
                {'name': CAND, 'us': [100 + (pd if i in pair else od) for i in range(12)]}]}
    assert decide(j(-2, -2))[1] == BASE + B39 + B40
    assert decide(j(-2, 1))[1] == BASE + B39
    assert decide(j(0.2, -1))[1] == BASE + B40
    assert decide(j(-0.3, -0.3))[1] == BASE
    x = j(-2, -2); x['builds'][1]['us'][0] = 100.6  # one pair shape slower than 0.5 %
    assert decide(x)[1] == BASE + B40
    assert decide({'shapes': shapes, 'builds': [{'name': 'shipped', 'us': [1] * 12}]})[1] == BASE
    print('self-test ok')


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        self_test()
    else:
        print('\n'.join(decide(json.load(open(sys.argv[1])))[0]))

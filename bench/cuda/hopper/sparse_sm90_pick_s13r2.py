#!/usr/bin/env python3
# Record of session 13 call C: sparse_sm90.cu bits 46 and 47 no longer exist (removed in session 14; commit d39f109 has them).
"""Ship decision of session 13's round-2 sparse slot (run_s13_h1r2.sh; docs/notes/cuda-sparse-decode.md, "Session 13,
round 2, helper h1").

    python3 bench/cuda/hopper/sparse_sm90_pick_s13r2.py $OUT/sparse-sm90-final-ab.json [--self-test]

Candidates (every entry, so one class of all 12 shapes): bit 46 (m105830209609736: warpgroup 0 issues the next item's
Q before the epilogue) and bits 46 + 47 (m246567697965064: warpgroup 1 issues it). Each qualifies when it was timed
(its checks passed), its geomean time over the 12 shapes is >= 0.5 % below shipped's in the same process and no shape
is > 0.5 % slower. Of those that qualify, the larger 12-shape gain ships: `SHIP MODE n`; none: `KEEP`.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse_sm90_pick_s13 as s13  # noqa: E402  (the per-candidate rule and report: whole_class)

BASE = 35461465432072
CANDS = ((46, BASE + (1 << 46)), ('46+47', BASE + (1 << 46) + (1 << 47)))


gm = s13.r2.gm  # (sparse_sm90_probe_s14.py and s14_h5r2_rule.py import it from here)


def decide(j):
    ship = {x['name']: x['us'] for x in j['builds']}['shipped']
    lines, gain = [], {}
    fm = j.get('flashmlaUs') or []
    if fm and all(fm):
        lines.append(f'shipped: geomean vs FlashMLA {gm([f / u for f, u in zip(fm, ship)]):.3f}')
    for n, mode in CANDS:
        geo = s13.whole_class(lines, j, n, f'm{mode}')
        if geo is not None:
            gain[mode] = geo
    if gain:
        mode = min(gain, key=gain.get)
        lines.append(f'SHIP MODE {mode}')
    else:
        mode = BASE
        lines.append(f'KEEP {BASE}')
    return lines, mode


def self_test():
    shapes = ['V3.2 b64 h128 s2 k2048', 'M1 b128 h128 s2 k512', 'M1 b128 h64 s2 k512']
    A, B = f'm{CANDS[0][1]}', f'm{CANDS[1][1]}'

    def j(a=None, bb=None):
        bs = [{'name': 'shipped', 'us': [100, 100, 100]}]
        for n, us in ((A, a), (B, bb)):
            if us:
                bs.append({'name': n, 'us': us})
        return {'shapes': shapes, 'flashmlaUs': [80, 80, 80], 'builds': bs}
    assert decide(j())[0][-1] == f'KEEP {BASE}'
    assert decide(j(a=[99, 97, 99.9]))[1] == CANDS[0][1]
    assert decide(j(a=[99, 97, 100.6]))[1] == BASE  # one shape 0.6 % slower
    assert decide(j(a=[99.8, 99.8, 99.8]))[1] == BASE  # -0.2 %: under the bar
    assert decide(j(a=[99, 98, 99], bb=[99, 96, 99]))[1] == CANDS[1][1]  # the larger gain
    assert decide(j(bb=[99, 96, 99]))[0][-1] == f'SHIP MODE {CANDS[1][1]}'
    print('self-test ok')


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        self_test()
    else:
        print('\n'.join(decide(json.load(open(sys.argv[1])))[0]))

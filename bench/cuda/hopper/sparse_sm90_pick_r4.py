#!/usr/bin/env python3
"""Ship decision of session 11's round-4 sparse slot (docs/notes/cuda-sparse-decode.md, "Session 11, round 4").

    python3 bench/cuda/hopper/sparse_sm90_pick_r4.py $OUT/sparse-sm90-final-ab.json [--self-test]

The JSON is sparse-sm90-final-ab.sh's (builds `shipped` and `m277093343240`, timed in one process).
m277093343240 = shipped 2215436296 + bit 38: bit 35's code (validity flags computed in each CTA, none sent to the peer)
on the V3.2 pair entry alone; its other three entries are the shipped machine code (scripts/compare-fatbins.py).
Rule: bit 38 ships when its build was timed (its checks passed), each of the four V3.2 shapes (all pair shapes) is
>= 0.5 % faster than the shipped build in the same process, and the eight shapes whose code is the shipped one moved
less than 1 % either way (else the call was too noisy to decide: nothing ships, rerun). Prints the numbers, then
`SHIP MODE n` (the #define MLA_SPARSE_SM90_MODE to set).
"""
import json
import math
import sys

SHIPPED, BIT38, CAND = 2215436296, 1 << 38, 'm277093343240'


def decide(j):
    shapes = j['shapes']
    b = {x['name']: x['us'] for x in j['builds']}
    if 'shipped' not in b:
        raise SystemExit('no shipped build in the JSON')
    ship, us = b['shipped'], b.get(CAND)
    v32 = [i for i, s in enumerate(shapes) if s.startswith('V3.2')]
    rest = [i for i in range(len(shapes)) if i not in v32]
    assert len(v32) == 4 and all(' h128 ' in shapes[i] for i in v32), shapes
    lines, mode = [], SHIPPED
    if us is None:
        lines.append(f'{CAND} not timed (checks failed or no fatbin)')
    else:
        d = [100 * (us[i] / ship[i] - 1) for i in range(len(shapes))]  # time change, negative = faster
        floor = max(abs(d[i]) for i in rest)
        geo = 100 * (math.exp(sum(math.log(us[i] / ship[i]) for i in v32) / 4) - 1)
        lines.append('V3.2 pair (bit 38 code): ' + ' '.join(f'{shapes[i]} {ship[i]:.1f} -> {us[i]:.1f} us ({d[i]:+.2f} %)' for i in v32))
        lines.append(f'V3.2 pair: geomean time {geo:+.2f} %, slowest {max(d[i] for i in v32):+.2f} % (rule: each <= -0.5 %)')
        lines.append(f'noise floor (8 shapes of shipped code): max |change| {floor:.2f} % ({" ".join(f"{d[i]:+.1f}" for i in rest)}; rule: < 1 %)')
        win = all(d[i] <= -0.5 for i in v32)
        quiet = floor < 1.0
        lines.append(f'bit 38: {"qualifies" if win and quiet else "no"}' + ('' if quiet else ' (too noisy to decide: rerun)'))
        if win and quiet:
            mode += BIT38
        fm = j.get('flashmlaUs') or []
        for name, t in (('shipped', ship), (CAND, us)):
            r = [f / u for f, u in zip(fm, t) if f]
            if r:
                lines.append(f'{name}: geomean vs FlashMLA {math.exp(sum(map(math.log, r)) / len(r)):.3f}')
    lines.append(f'SHIP MODE {mode}' + (' (unchanged)' if mode == SHIPPED else ''))
    return lines, mode


def self_test():
    """The rule on made-up numbers: a clear win ships, one V3.2 shape at -0.4 % does not, a noisy call does not."""
    shapes = ['V3.2 b64 h128 s2 k2048', 'V3.2 b128 h128 s2 k2048', 'V3.2 b64 h128 s1 k2048', 'V3.2 b128 h128 s1 k2048'] + \
             [f'M1 b128 h{h} s2 k{k}' for h in (64, 128) for k in (512, 1024, 128, 256)]
    base = [100.0] * 12

    def j(v32, rest):
        return {'shapes': shapes, 'flashmlaUs': [80.0] * 12,
                'builds': [{'name': 'shipped', 'us': base}, {'name': CAND, 'us': [100 + x for x in v32] + [100 + x for x in rest]}]}
    assert decide(j([-2.5, -2.6, -2.4, -2.4], [0.2, -0.2] * 4))[1] == SHIPPED + BIT38
    assert decide(j([-2.5, -2.6, -0.4, -2.4], [0.2, -0.2] * 4))[1] == SHIPPED
    assert decide(j([-2.5, -2.6, -2.4, -2.4], [1.2, -0.2] * 4))[1] == SHIPPED
    assert decide({'shapes': shapes, 'builds': [{'name': 'shipped', 'us': base}]})[1] == SHIPPED
    print('self-test ok')


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        self_test()
    else:
        print('\n'.join(decide(json.load(open(sys.argv[1])))[0]))

#!/usr/bin/env python3
"""Verdict of the next session's sparse probe slot (run_s12_h1c.sh; docs/notes/cuda-sparse-decode.md, "Session 12,
helper h1": what bounds the fill, now that the source page cannot tell the producer's waits).

    python3 bench/cuda/hopper/sparse_sm90_probe_s12.py $OUT/sparse-sm90-final-ab.json [--self-test]

Builds in the JSON (one process): `shipped` (277093343240, bit 38), `m277093343240` (the same fatbin in a second
context: the A/A noise), probes `m277093343242` (+ bit 1: the consumers skip every wgmma, so the time is the producer's
fill with the consumers' softmax and hand-offs: P), `m277093343244` (+ bit 2: the producer loads nothing, converts and
stores constants: N), `m277093474312` (+ bit 17: the producer only hands stages back, the consumers alone: C).
Per shape, T = shipped. Verdict on the pair shapes (h_q 128), by the geomeans of P / T and C / T:
  P / T >= 0.97                      -> `producer-bound`: the producer's own work per tile is the time; fewer producer
                                        instructions is the lever, the hand-off is not;
  P / T <= 0.92 and C / T <= 0.92    -> `coupling`: neither side alone takes T; the whole-stage hand-off (two stages,
                                        released after both warpgroups finish) costs T - max(P, C); the hand-off in
                                        parts is the lever;
  otherwise                          -> `mixed`.
N / T near 1 (within 2 %) says the gather's latency and bandwidth cost nothing (call 2's reading).
"""
import json
import math
import sys

B = {'T': 'shipped', 'A': 'm277093343240', 'P': 'm277093343242', 'N': 'm277093343244', 'C': 'm277093474312'}


def gm(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float('nan')


def verdict(j):
    shapes = j['shapes']
    us = {x['name']: x['us'] for x in j['builds']}
    t = us['shipped']
    lines = ['shape'.ljust(30) + ''.join(f'{k:>9s}' for k in B)]
    for i, s in enumerate(shapes):
        lines.append(s.ljust(30) + ''.join(f'{us[v][i]:9.1f}' if v in us else f'{"-":>9s}' for v in B.values()))
    pair = [i for i, s in enumerate(shapes) if ' h128 ' in s]
    r = {k: gm([us[v][i] / t[i] for i in pair]) if v in us else float('nan') for k, v in B.items()}
    lines.append('pair shapes, geomean time / shipped: ' + ', '.join(f'{k} {r[k]:.3f}' for k in 'APNC'))
    if math.isnan(r['P']) or math.isnan(r['C']):
        v = 'no verdict (a probe was not timed)'
    elif r['P'] >= 0.97:
        v = 'producer-bound'
    elif r['P'] <= 0.92 and r['C'] <= 0.92:
        v = 'coupling'
    else:
        v = 'mixed'
    lines.append(f'VERDICT {v}' + ('' if math.isnan(r['N']) else f'; gather {"free" if abs(r["N"] - 1) <= 0.02 else "costs " + format(100 * (1 - r["N"]), ".1f") + " %"}'))
    return lines, v


def self_test():
    shapes = ['V3.2 b64 h128 s2 k2048', 'M1 b128 h64 s2 k512']

    def j(p, c, n=1.0):
        return {'shapes': shapes, 'builds': [{'name': 'shipped', 'us': [100, 100]}, {'name': B['A'], 'us': [100, 100]},
                {'name': B['P'], 'us': [100 * p, 50]}, {'name': B['N'], 'us': [100 * n, 50]}, {'name': B['C'], 'us': [100 * c, 50]}]}
    assert verdict(j(0.99, 0.8))[1] == 'producer-bound'
    assert verdict(j(0.85, 0.82))[1] == 'coupling'
    assert verdict(j(0.95, 0.82))[1] == 'mixed'
    assert verdict({'shapes': shapes, 'builds': [{'name': 'shipped', 'us': [1, 1]}]})[1].startswith('no verdict')
    print('self-test ok')


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        self_test()
    else:
        print('\n'.join(verdict(json.load(open(sys.argv[1])))[0]))

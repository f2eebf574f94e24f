#!/usr/bin/env python3
# Record (used in session 13 call A through sparse_sm90_pick_s13.py): sparse_sm90.cu bits 41-43 and run_s12_h1d.sh no longer exist (session 14).
"""Ship decision of session 12 round 2's sparse slot (run_s12_h1d.sh; docs/notes/cuda-sparse-decode.md, "Session 12,
round 2, helper h1").

    python3 bench/cuda/hopper/sparse_sm90_pick_s12r2.py $OUT/sparse-sm90-final-ab.json [--self-test]

Builds in the JSON (one process): `shipped` (277093343240) and the candidates m6874163109896 (+ bits 41 / 42: the
producer's 16-byte gather loads with the .L2::256B prefetch hint; 41 = pair entries, 42 = one-CTA entries) and
m15670256132104 (+ 41 / 42 / 43: also .L1::evict_last). Rule, per class (pair: the 8 shapes at h_q 128, bit 41;
one-CTA: the 4 at h_q 64, bit 42), per candidate: it qualifies when it was timed (its checks passed), its geomean time
over the class is >= 0.5 % below shipped's in the same process and no shape of the class is > 0.5 % slower. Each
class takes the faster qualifying candidate; bit 43 is one switch for both classes, so it ships only if every class
that ships picked the +43 build (else the classes take their +41 / +42 build where that one qualifies).
Prints the numbers, then `SHIP MODE n`.
"""
import json
import math
import sys

BASE = 277093343240
B41, B42, B43 = 1 << 41, 1 << 42, 1 << 43
C1, C2 = f'm{BASE + B41 + B42}', f'm{BASE + B41 + B42 + B43}'
CLASSES = (('pair (h_q 128)', B41, ' h128 '), ('one-CTA (h_q 64)', B42, ' h64 '))


def gm(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs))


def decide(j):
    shapes = j['shapes']
    b = {x['name']: x['us'] for x in j['builds']}
    ship = b['shipped']
    lines, pick = [], {}
    for cname, bit, tag in CLASSES:
        idx = [i for i, s in enumerate(shapes) if tag in s]
        if not idx:
            continue
        best = None
        for c in (C1, C2):
            us = b.get(c)
            if us is None:
                lines.append(f'{cname}: {c} not timed (checks failed or no fatbin)')
                continue
            d = [100 * (us[i] / ship[i] - 1) for i in idx]
            geo = 100 * (gm([us[i] / ship[i] for i in idx]) - 1)
            ok = geo <= -0.5 and max(d) <= 0.5
            lines.append(f'{cname} {c}: ' + ' '.join(f'{shapes[i]} {ship[i]:.1f}->{us[i]:.1f} ({x:+.2f} %)' for i, x in zip(idx, d)))
            lines.append(f'{cname} {c}: geomean time {geo:+.2f} %, slowest {max(d):+.2f} %: {"qualifies" if ok else "no"}')
            if ok and (best is None or geo < best[1]):
                best = (c, geo)
        if best:
            pick[bit] = best[0]
    mode = BASE
    if pick and all(c == C2 for c in pick.values()):
        mode += B43 + sum(pick)
    else:
        for bit in pick:
            if pick[bit] == C2:  # its +41/+42 build must qualify on its own
                ok = any(l.startswith(n + ' ' + C1) and l.endswith('qualifies') for n, bb, _ in CLASSES if bb == bit for l in lines)
                if not ok:
                    continue
            mode += bit
    for name in b:  # measurement probes timed beside them (run_s12_h1d.sh: + 5 single P, + 5 + 17, + 17)
        if name not in ('shipped', C1, C2):
            r = [f'{cname} {gm([b[name][i] / ship[i] for i, s in enumerate(shapes) if tag in s]):.3f}' for cname, _, tag in CLASSES
                 if any(tag in s for s in shapes)]
            lines.append(f'probe {name}: geomean time / shipped: ' + ', '.join(r))
    fm = j.get('flashmlaUs') or []
    for name in ('shipped', C1, C2):
        if name in b and fm and all(fm):
            lines.append(f'{name}: geomean vs FlashMLA {gm([f / u for f, u in zip(fm, b[name])]):.3f}')
    lines.append(f'SHIP MODE {mode}' + (' (unchanged)' if mode == BASE else ''))
    return lines, mode


def self_test():
    shapes = ['V3.2 b64 h128 s2 k2048', 'M1 b128 h128 s2 k512', 'M1 b128 h64 s2 k512']

    def j(c1, c2):
        bs = [{'name': 'shipped', 'us': [100, 100, 100]}]
        if c1:
            bs.append({'name': C1, 'us': c1})
        if c2:
            bs.append({'name': C2, 'us': c2})
        return {'shapes': shapes, 'flashmlaUs': [80, 80, 80], 'builds': bs}
    assert decide(j([98, 98, 100], None))[1] == BASE + B41
    assert decide(j([98, 98, 98], [97, 97, 97]))[1] == BASE + B41 + B42 + B43
    assert decide(j([98, 98, 98], [97, 97, 100]))[1] == BASE + B41 + B42  # classes disagree on 43: the +41/+42 builds
    assert decide(j([99, 100.6, 98], None))[1] == BASE + B42  # a pair shape 0.6 % slower
    assert decide(j(None, None))[1] == BASE
    assert decide(j([100, 100, 100], [98, 98, 100]))[1] == BASE + B41 + B43
    print('self-test ok')


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        self_test()
    else:
        print('\n'.join(decide(json.load(open(sys.argv[1])))[0]))

#!/usr/bin/env python3
"""Reading of session 15 helper h2's probe slot (run_s15_h2.sh; docs/notes/cuda-sparse-decode.md, "Session 15, helper
h2: the fast path's balance"). Measurement only: nothing ships from it.

    python3 bench/cuda/hopper/sparse_sm90_probe_s15.py AB.json      # or --self-test

AB.json: `sparse-sm90-final-ab.js` on the 12 shapes (precision 'fast', the default: the _sp entries) with the builds
shipped (35461465432072), m35461465432074 (+ bit 1: consumers skip every wgmma, producer-bound time P) and
m35461465432076 (+ bit 2: the producer skips the token loads, consumer-bound time C). Ratios: geomeans of time over
shapes against shipped (P/T, C/T). VERDICT per the pair class (h_q 128): `producer` when P/T >= C/T + 0.05,
`consumer` when C/T >= P/T + 0.05, else `coupled` (both halves within 5 % of each other). The last line is always
`KEEP 35461465432072 (probe: VERDICT ...)`.
"""
import sys

from sparse_sm90_pick_s13r2 import gm

BASE = 35461465432072
NOMATH, NOLOAD = BASE + 2, BASE + 4


def analyse(ab, out=print):
    b = {x['name']: x['us'] for x in ab['builds']}
    shapes, t = ab['shapes'], b.get('shipped')
    p, c = b.get(f'm{NOMATH}'), b.get(f'm{NOLOAD}')
    fm = ab.get('flashmlaUs') or []
    if fm and t and all(fm[:len(t)]):
        out(f'shipped fast: geomean vs FlashMLA {gm([f / u for f, u in zip(fm, t)]):.3f}')
    r = {}
    for name, pick in (('12 shapes', lambda s: True), ('pair (h_q 128)', lambda s: ' h128 ' in s), ('one-CTA (h_q 64)', lambda s: ' h64 ' in s)):
        idx = [i for i, s in enumerate(shapes) if pick(s)]
        v = {k: (gm([x[i] / t[i] for i in idx]) if x and t and idx else None) for k, x in (('P/T', p), ('C/T', c))}
        r[name] = v
        out(f'{name}: ' + ', '.join(f'{k} {x:.3f}' if x is not None else f'{k} n/a' for k, x in v.items()))
    if t:
        out('per shape T / P / C us: ' + '; '.join(f'{s} {t[i]:.1f} / {p[i] if p else 0:.1f} / {c[i] if c else 0:.1f}' for i, s in enumerate(shapes)))
    pp, cc = r['pair (h_q 128)']['P/T'], r['pair (h_q 128)']['C/T']
    v = 'no-timing' if pp is None or cc is None else 'producer' if pp >= cc + 0.05 else 'consumer' if cc >= pp + 0.05 else 'coupled'
    out(f'VERDICT {v}')
    out(f'KEEP {BASE} (probe: VERDICT {v}' + (f', pair P/T {pp:.3f} C/T {cc:.3f})' if v != 'no-timing' else ')'))
    return v


def self_test():
    sh = ['V3.2 b64 h128 s2 k2048', 'M1 b64 h64 s2 k512']
    mk = lambda t, p, c: {'shapes': sh, 'flashmlaUs': [185, 78], 'builds': [{'name': 'shipped', 'us': t}, {'name': f'm{NOMATH}', 'us': p}, {'name': f'm{NOLOAD}', 'us': c}]}
    q = lambda *a: None
    assert analyse(mk([200, 90], [190, 85], [150, 80]), q) == 'producer'
    assert analyse(mk([200, 90], [150, 85], [190, 80]), q) == 'consumer'
    assert analyse(mk([200, 90], [170, 85], [165, 80]), q) == 'coupled'
    assert analyse({'shapes': sh, 'builds': [{'name': 'shipped', 'us': [1, 1]}]}, q) == 'no-timing'
    print('self-test ok')


if __name__ == '__main__':
    if sys.argv[1:] == ['--self-test']:
        self_test()
    else:
        import json
        analyse(json.load(open(sys.argv[1])))

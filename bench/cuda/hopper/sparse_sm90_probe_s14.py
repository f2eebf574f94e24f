#!/usr/bin/env python3
"""Reading of session 14's sparse probe slot (run_s14_h2.sh; docs/notes/cuda-sparse-decode.md, "Session 14, helper h2:
what the second P V costs a tile"). Measurement only: nothing ships from it.

    python3 bench/cuda/hopper/sparse_sm90_probe_s14.py AB.json [ITEMS.json]      # or --self-test

AB.json: `sparse-sm90-final-ab.js` on the 12 shapes with the builds shipped (35461465432072), m35461465432104 (+ bit 5:
a single bf16 P, FlashMLA's product: half the P V wgmmas), m35461465563144 (+ bit 17: the consumers alone, hi + lo P)
and m35461465563176 (+ 5 + 17: the consumers alone, single P). ITEMS.json (optional): the same builds on the m1items
shapes; the fourth (b 148 topk 16384, 1151 tiles in the largest part) gives µs a tile as T / tiles.
Ratios are geomeans of time over shapes, against shipped (T5 / T) or the hi + lo consumers alone (C5 / C17).
VERDICT (pair shapes, h_q 128, the per-tile gap's shapes): `lo-worth` when T5 / T <= 0.95 (one P V instead of two
takes >= 5 % off: the second P V is on the tile's critical path, and a cheaper exact product or the project's call on
a single P is the per-tile lever); `lo-small` when T5 / T > 0.98 (it is not: the gap is the producer / the coupling);
else `lo-partial`. The last line is always `KEEP 35461465432072 (probe: VERDICT ...)`.
"""
import json
import sys

from sparse_sm90_pick_s13r2 import gm

BASE = 35461465432072
P5, C17, C5 = BASE + 32, BASE + 131072, BASE + 131072 + 32


def ratios(shapes, a, b, pick):
    idx = [i for i, s in enumerate(shapes) if pick(s)]
    return gm([a[i] / b[i] for i in idx]) if idx and a and b else None


def analyse(ab, items=None, out=print):
    b = {x['name']: x['us'] for x in ab['builds']}
    shapes, t = ab['shapes'], b.get('shipped')
    t5, c17, c5 = b.get(f'm{P5}'), b.get(f'm{C17}'), b.get(f'm{C5}')
    classes = (('12 shapes', lambda s: True), ('pair (h_q 128)', lambda s: ' h128 ' in s), ('one-CTA (h_q 64)', lambda s: ' h64 ' in s))
    fm = ab.get('flashmlaUs') or []
    if fm and all(fm) and t:
        out(f'shipped: geomean vs FlashMLA {gm([f / u for f, u in zip(fm, t)]):.3f}')
    r = {}
    for name, pick in classes:
        vals = {k: ratios(shapes, x, y, pick) for k, x, y in (('T5/T', t5, t), ('C17/T', c17, t), ('C5/C17', c5, c17), ('C5/T', c5, t))}
        r[name] = vals
        out(f'{name}: ' + ', '.join(f'{k} {v:.3f}' if v is not None else f'{k} n/a' for k, v in vals.items()))
    if t5 and t:
        out('single P per shape: ' + ' '.join(f'{s} {a:.1f}->{u:.1f} ({100 * (u / a - 1):+.1f} %)' for s, a, u in zip(shapes, t, t5)))
    if items:
        sch = items['sched']
        if len(sch) >= 4:
            pk = sch[3]['tiles']
            ib = {x['name']: x['us'] for x in items['builds']}
            fmi = items.get('flashmlaUs') or []
            parts = [f'{n} {u[3] / pk:.3f}' for n, u in ib.items() if len(u) > 3 and u[3]]
            if len(fmi) > 3 and fmi[3]:
                parts.append(f'FlashMLA {fmi[3] / pk:.3f}')
            out(f'us a tile (b148 k16384, {pk} tiles): ' + ', '.join(parts))
    p = r['pair (h_q 128)']['T5/T']
    v = 'no-timing' if p is None else 'lo-worth' if p <= 0.95 else 'lo-small' if p > 0.98 else 'lo-partial'
    out(f'VERDICT {v}')
    out(f'KEEP {BASE} (probe: VERDICT {v}' + (f', pair T5/T {p:.3f})' if p is not None else ')'))
    return v


def self_test():
    shapes = ['V3.2 b64 h128 s2 k2048', 'M1 b128 h64 s2 k512', 'M1 b128 h128 s2 k512']
    mk = lambda t5: dict(shapes=shapes, flashmlaUs=[184.0, 78.0, 103.0], builds=[
        dict(name='shipped', us=[222.0, 94.0, 140.0]), dict(name=f'm{P5}', us=[u * t5 for u in (222.0, 94.0, 140.0)]),
        dict(name=f'm{C17}', us=[182.0, 62.0, 122.0]), dict(name=f'm{C5}', us=[160.0, 55.0, 105.0])])
    q = lambda *a: None
    assert analyse(mk(0.93), None, q) == 'lo-worth'
    assert analyse(mk(0.99), None, q) == 'lo-small'
    assert analyse(mk(0.96), None, q) == 'lo-partial'
    assert analyse(dict(shapes=shapes, builds=[dict(name='shipped', us=[1, 1, 1])]), None, q) == 'no-timing'
    it = dict(sched=[dict(tiles=32)] * 3 + [dict(tiles=1151)], flashmlaUs=[None, None, 103.0, 2702.8],
              builds=[dict(name='shipped', us=[117.0, 124.7, 142.5, 3503.1])])
    lines = []
    analyse(mk(0.93), it, lines.append)
    assert any(l.startswith('us a tile') and 'shipped 3.044' in l and 'FlashMLA 2.348' in l for l in lines), lines
    assert lines[-1].startswith(f'KEEP {BASE}')
    print('self-test ok')


if __name__ == '__main__':
    if sys.argv[1:2] == ['--self-test']:
        self_test()
    else:
        analyse(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])) if len(sys.argv) > 2 else None)

#!/usr/bin/env python3
# Record of session 13 call A: sparse_sm90.cu bits 41-44 no longer exist (removed in session 14; commit d39f109 has them).
"""Ship decision of session 13's first sparse slot (run_s13_h1.sh; docs/notes/cuda-sparse-decode.md, "Next session's
sparse slot, h1").

    python3 bench/cuda/hopper/sparse_sm90_pick_s13.py $OUT/sparse-sm90-final-ab.json [--self-test]

Bits 41 / 42 / 43 (m6874163109896, m15670256132104): sparse_sm90_pick_s12r2.py's rule, unchanged (per class). Bit 44
(m17869279387656: warpgroup 0 issues the next item's Q in the item's last tile; every entry, so one class of all 12
shapes): it qualifies when it was timed (its checks passed), its geomean time over the 12 shapes is >= 0.5 % below
shipped's in the same process and no shape is > 0.5 % slower. Bit 45 (m35461465432072: the softmax's exp2f as
ex2.approx.ftz.f32; every entry, added in session 12's round 4 in place of m15670256132104, which the slot no longer
times): bit 44's rule. One change ships a call (their sums were not timed): when several qualify, the largest 12-shape
geomean gain (the 41 / 42 pick counted with its picked build on its classes' shapes and shipped's elsewhere); the
others go on top in the next call. Prints s12r2's lines, bit 44's and bit 45's, then `SHIP MODE n`.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse_sm90_pick_s12r2 as r2  # noqa: E402

B44, B45 = 1 << 44, 1 << 45
C3, C4 = f'm{r2.BASE + B44}', f'm{r2.BASE + B45}'
WHOLE = ((44, B44, C3), (45, B45, C4))  # candidates of one class over all 12 shapes


def whole_class(lines, j, n, c):
    """Appends to `lines` the report of candidate build `c` (labelled `bit n`), one class over all of j's shapes, and
    returns its geomean time change against shipped (%) when it qualifies: timed (its checks passed), >= 0.5 % below
    shipped's in the same process, no shape > 0.5 % slower; None otherwise. Also sparse_sm90_pick_s13r2.py's rule."""
    b = {x['name']: x['us'] for x in j['builds']}
    shapes, ship, us = j['shapes'], b['shipped'], b.get(c)
    if us is None:
        lines.append(f'bit {n} {c}: not timed (checks failed or no fatbin)')
        return None
    d = [100 * (u / s - 1) for u, s in zip(us, ship)]
    geo = 100 * (r2.gm([u / s for u, s in zip(us, ship)]) - 1)
    ok = geo <= -0.5 and max(d) <= 0.5
    lines.append(f'bit {n} {c}: ' + ' '.join(f'{s} {a:.1f}->{u:.1f} ({x:+.2f} %)' for s, a, u, x in zip(shapes, ship, us, d)))
    m1 = [i for i, s in enumerate(shapes) if s.startswith('M1 ') and ' h128 ' in s and '+' not in s]
    if m1:
        lines.append(f'bit {n} {c}: MODEL1 h_q 128 single cache ' + ', '.join(f'{d[i]:+.2f} %' for i in m1))
    pair = [i for i, s in enumerate(shapes) if ' h128 ' in s]
    if pair and len(pair) < len(shapes):
        lines.append(f'bit {n} {c}: class geomeans: pair (h_q 128) {100 * (r2.gm([us[i] / ship[i] for i in pair]) - 1):+.2f} %, '
                     f'one-CTA (h_q 64) {100 * (r2.gm([us[i] / ship[i] for i in range(len(shapes)) if i not in pair]) - 1):+.2f} %')
    lines.append(f'bit {n} {c}: geomean time {geo:+.2f} % over {len(us)}, slowest {max(d):+.2f} %: {"qualifies" if ok else "no"}')
    fm = j.get('flashmlaUs') or []
    if fm and all(fm):
        lines.append(f'{c}: geomean vs FlashMLA {r2.gm([f / u for f, u in zip(fm, us)]):.3f}')
    return geo if ok else None


def decide(j):
    lines, mode = r2.decide(j)
    drop = ('SHIP MODE', f'probe {C3}:', f'probe {C4}:')
    lines = [l for l in lines if not l.startswith(drop)]
    b = {x['name']: x['us'] for x in j['builds']}
    if r2.C2 not in b:  # run_s13_h1.sh times bit 45 in its place
        lines = [l for l in lines if not l.endswith(f'{r2.C2} not timed (checks failed or no fatbin)')] + [f'{r2.C2}: not in this slot']
    shapes = j['shapes']
    ship = b['shipped']
    gain = {}
    if mode != r2.BASE:  # the 41 / 42 pick over all 12 shapes: its picked build on its classes' shapes
        us = list(ship)
        for cname, bit, tag in r2.CLASSES:
            if mode & bit:
                src = b[r2.C2] if mode & r2.B43 else b[r2.C1]
                for i, s in enumerate(shapes):
                    if tag in s:
                        us[i] = src[i]
        gain[mode] = 100 * (r2.gm([u / s for u, s in zip(us, ship)]) - 1)
    for n, bit, c in WHOLE:
        geo = whole_class(lines, j, n, c)
        if geo is not None:
            gain[r2.BASE + bit] = geo
    if gain:
        best = min(gain, key=gain.get)
        if len(gain) > 1:
            lines.append('several qualify (12-shape geomean time ' + ', '.join(f'{m}: {g:+.2f} %' for m, g in gain.items())
                         + f'): {best} ships, the others on top of it in later calls')
        mode = best
    lines.append(f'SHIP MODE {mode}' + (' (unchanged)' if mode == r2.BASE else ''))
    return lines, mode


def self_test():
    shapes = ['V3.2 b64 h128 s2 k2048', 'M1 b128 h128 s2 k512', 'M1 b128 h64 s2 k512']

    def j(c1=None, c2=None, c3=None, c4=None):
        bs = [{'name': 'shipped', 'us': [100, 100, 100]}]
        for n, us in ((r2.C1, c1), (r2.C2, c2), (C3, c3), (C4, c4)):
            if us:
                bs.append({'name': n, 'us': us})
        return {'shapes': shapes, 'flashmlaUs': [80, 80, 80], 'builds': bs}
    B = r2.BASE
    assert decide(j(c1=[98, 98, 100]))[1] == B + r2.B41  # s12r2's rule unchanged
    assert decide(j(c3=[99.8, 95, 99]))[1] == B + B44
    assert decide(j(c3=[100.6, 95, 99]))[1] == B  # a shape 0.6 % slower
    assert decide(j(c1=[98, 98, 100], c3=[100, 95, 99]))[1] == B + B44  # -1.34 vs -1.68 %: bit 44's gain is larger
    assert decide(j(c1=[97, 97, 97], c3=[100, 99, 99]))[1] == B + r2.B41 + r2.B42
    assert decide(j())[1] == B
    # bit 45 (run_s13_h1.sh times it instead of m15670256132104): bit 44's rule, the largest gain of those that qualify
    assert decide(j(c4=[98, 98, 100.4]))[1] == B + B45
    assert decide(j(c4=[98, 98, 100.6]))[1] == B  # a one-CTA shape 0.6 % slower
    assert decide(j(c4=[99.8, 99.8, 99.8]))[1] == B  # -0.2 %: under the 0.5 % rule
    assert decide(j(c3=[100, 95, 99], c4=[98, 98, 99]))[1] == B + B44  # -2.03 vs -1.67 %
    assert decide(j(c1=[99, 99, 100], c3=[100, 99.4, 100], c4=[97, 97, 100]))[1] == B + B45
    ls = decide(j(c1=[98, 98, 100], c4=[97, 97, 100]))[0]
    assert f'{r2.C2}: not in this slot' in ls and not any('not timed' in l and r2.C2 in l for l in ls)
    assert not any(l.startswith(f'probe {C4}') for l in ls) and ls[-1] == f'SHIP MODE {B + B45}'
    print('self-test ok')


if __name__ == '__main__':
    if '--self-test' in sys.argv:
        self_test()
    else:
        print('\n'.join(decide(json.load(open(sys.argv[1])))[0]))

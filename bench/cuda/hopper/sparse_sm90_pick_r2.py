#!/usr/bin/env python3
"""Ship decision of session 11's round-2 sparse slot (docs/notes/cuda-sparse-decode.md, "Session 11, round 2").

    python3 bench/cuda/hopper/sparse_sm90_pick_r2.py $OUT/sparse-sm90-final-ab.json

The JSON is sparse-sm90-final-ab.sh's (builds `shipped`, `m174014128136`, `m70934978568`, timed in one process).
m174014128136 = shipped 2215436296 + bit 35 (pair entries: validity flags computed in each CTA) + bit 37 (one-CTA
entries: bit 31's lane map on the swizzled tile); m70934978568 = shipped + bit 16 + bit 36 (the two-tile producer in
both pair entries; its MODEL1 pair entry is bit 16 alone's, its one-CTA entries are the shipped ones).
Rule, per class (pair: the 8 h_q-128 shapes; one-CTA: the 4 h_q-64 shapes): an option qualifies when its build was
timed (its checks passed), its geomean over the class is >= 0.5 % above the shipped build's in the same process and
no shape of the class is more than 0.5 % slower; the class takes the fastest qualifying option. Pair options: bit 35
(m174014128136), bits 16 + 36 (m70934978568), bit 16 alone (m70934978568's MODEL1 shapes, the shipped V3.2 shapes:
the V3.2 pair entry of 16 alone is the shipped code). One-CTA option: bit 37. Prints the numbers, then
`SHIP MODE n` (the #define MLA_SPARSE_SM90_MODE to set).
"""
import json
import math
import sys

SHIPPED = 2215436296
AD, C = 'm174014128136', 'm70934978568'
j = json.load(open(sys.argv[1]))
shapes = j['shapes']
b = {x['name']: x['us'] for x in j['builds']}
if 'shipped' not in b:
    raise SystemExit('no shipped build in ' + sys.argv[1])
ship = b['shipped']
pair = [i for i, s in enumerate(shapes) if ' h128 ' in s]
one = [i for i, s in enumerate(shapes) if ' h64 ' in s]
m1pair = [i for i in pair if shapes[i].startswith('M1')]
assert len(pair) + len(one) == len(shapes), shapes


def versus(us, idx):
    r = [ship[i] / us[i] for i in idx]
    return math.exp(sum(map(math.log, r)) / len(r)), min(r), r


def take(cls, idx, options):
    best = None
    for name, bits, us in options:
        if us is None:
            print(f'{cls}: {name} not timed (checks failed or no fatbin)')
            continue
        geo, worst, r = versus(us, idx)
        ok = geo >= 1.005 and worst >= 0.995
        print(f'{cls}: {name} {100 * (geo - 1):+.2f} % geomean vs shipped, slowest shape {100 * (worst - 1):+.2f} % '
              f'({" ".join(f"{100 * (x - 1):+.1f}" for x in r)}): {"qualifies" if ok else "no"}')
        if ok and (best is None or geo > best[0]):
            best = (geo, bits, name)
    print(f'{cls}: takes {best[2] if best else "nothing"}')
    return best[1] if best else 0


only16 = None
if C in b:
    only16 = [b[C][i] if i in m1pair else ship[i] for i in range(len(shapes))]
pb = take('pair (h_q 128)', pair, [('bit 35 (m174014128136)', 1 << 35, b.get(AD)),
                                   ('bit 16 alone (MODEL1 pair shapes of m70934978568)', 1 << 16, only16),
                                   ('bits 16 + 36 (m70934978568)', (1 << 16) + (1 << 36), b.get(C))])
ob = take('one-CTA (h_q 64)', one, [('bit 37 (m174014128136)', 1 << 37, b.get(AD))])
if AD in b:
    g, _, _ = versus(b[AD], one)
    verdict = ('the map (its global loads / store order) is the loss' if g <= 0.99 else
               'the map is not the loss: the token-contiguous layout under the producer\'s stores is' if g >= 0.995 else 'unclear (within 1 %)')
    print(f'one-CTA diagnosis: bit 37 (map only, swizzled tile) {100 * (1 / g - 1):+.2f} % time vs shipped; bit 32 (map + layout) '
          f'was +2.5 to +4.2 % in session 11 call 1: {verdict}')
for name in ('shipped', AD, C):
    if name in b:
        fm = j.get('flashmlaUs') or []
        r = [f / u for f, u in zip(fm, b[name]) if f]
        if r:
            print(f'{name}: geomean vs FlashMLA {math.exp(sum(map(math.log, r)) / len(r)):.3f}')
mode = SHIPPED + pb + ob
print(f'SHIP MODE {mode}' + (' (unchanged)' if mode == SHIPPED else ''))

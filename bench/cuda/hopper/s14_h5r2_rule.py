#!/usr/bin/env python3
"""Rule of session 14's h5 round 2 slot (run_s14_h5r2.sh; docs/notes/cuda-sparse-decode.md, "Session 14, helper h5,
round 2"): bit 48 (the f16 key tile, V3.2 pair entry) against the shipped mode.

    python3 bench/cuda/hopper/s14_h5r2_rule.py AB.json CHECKS_OK      # or --self-test

AB.json: `sparse-sm90-final-ab.js` on FlashMLA's 12 shapes, one process, interleaved rounds, builds `shipped` and
m316936442142728. CHECKS_OK: 1 when every check of the bit-48 build passed. SHIP when the checks pass, the 12-shape
geomean time ratio (bit 48 / shipped) is <= 0.995 and no shape is above 1.01x; else KEEP. Last line SHIP / KEEP.
"""
import json
import sys

from sparse_sm90_pick_s13r2 import gm

BASE, M48 = 35461465432072, 316936442142728


def decide(shapes, t, c, checks_ok, out=print):
    r = [x / y for x, y in zip(c, t)]
    g = gm(r)
    for name, pick in (('V3.2 (h_q 128, the f16 path)', lambda s: 'v32' in s.lower() or 'V3.2' in s),
                       ('MODEL1 (unchanged code)', lambda s: not ('v32' in s.lower() or 'V3.2' in s))):
        sel = [x for s, x in zip(shapes, r) if pick(s)]
        if sel:
            out(f'{name}: {len(sel)} shapes, geomean {gm(sel):.3f}')
    out('per shape (bit 48 / shipped): ' + ' '.join(f'{s}: {x:.3f}' for s, x in zip(shapes, r)))
    worst = max(r)
    ok = checks_ok and g <= 0.995 and worst <= 1.01
    why = f'12-shape geomean {g:.3f}x shipped, worst shape {worst:.3f}x, checks {"pass" if checks_ok else "FAIL"}'
    out(f'SHIP {M48} (MLA_SPARSE_SM90_MODE; {why})' if ok else f'KEEP {BASE} (bit 48: {why})')
    return ok


def main():
    if sys.argv[1:] == ['--self-test']:
        sh = [f'V3.2 h128 s{i}' for i in range(4)] + [f'MODEL1 h64 s{i}' for i in range(8)]
        t = [10.0] * 12
        assert decide(sh, t, [9.0] * 4 + [10.0] * 8, True, out=lambda *_: None)
        assert not decide(sh, t, [9.0] * 4 + [10.0] * 8, False, out=lambda *_: None)
        assert not decide(sh, t, [9.0] * 4 + [10.0] * 7 + [10.2], True, out=lambda *_: None)
        assert not decide(sh, t, [10.0] * 12, True, out=lambda *_: None)
        print('self-test ok')
        return
    ab = json.load(open(sys.argv[1]))
    b = {x['name']: x['us'] for x in ab['builds']}
    t, c = b.get('shipped'), b.get(f'm{M48}')
    checks_ok = len(sys.argv) > 2 and sys.argv[2] == '1'
    if not t or not c or len(t) != len(c) or not all(t) or not all(c):
        print(f'KEEP {BASE} (bit 48: no complete timing)')
        return
    decide(ab['shapes'], t, c, checks_ok)


if __name__ == '__main__':
    main()

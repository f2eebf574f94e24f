#!/usr/bin/env python3
"""Session 71 call 2's rule (bench/cuda/hopper/s71_call2.sh's header), applied to the call's files: whether
MLA_SPARSE_SM90_OW ships, and as 1 (owl, evict_last) or 2 (owf, evict_first). Written in session 71, before any run.

    python3 bench/cuda/hopper/s71_rule.py W      (W: the call's folder, or s71c2.tar unpacked; .xz logs are read too)

- Checks of a variant: its four random suites (MODEL1 / V3.2 at 128 / 64 heads) and the other sparse suites with
  `# fail 0` and at least one pass, and both memcheck runs `0 errors`.
- A variant qualifies if its checks pass, its geomean over the 12 shapes is <= 0.990 of shipped in both rounds, and no
  shape is above 1.010 of shipped in both rounds.
- Of two that qualify, the one with the lower geomean over both rounds together.
- The stamps (owp's store phase) are printed beside it; they decide nothing here.

The last line: `SHIP OW=<1|2> (dist-<variant>)` or `KEEP the shipped build (why)`.
"""
import json, os, re, sys

sys.dont_write_bytecode = True  # no __pycache__ beside the call scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s68_rule import gm, tap_ok, text  # session 69's readers of a call's files (.xz logs too), shared


def memcheck_ok(w, name):
    t = text(w, name + '.txt')
    if t is None:
        return False, f'{name}: missing'
    m = re.findall(r'ERROR SUMMARY: (\d+) error', t)
    f = re.findall(r'^# fail (\d+)', t, re.M)
    ok = bool(m) and all(x == '0' for x in m) and (not f or int(f[-1]) == 0)
    return ok, f"{name}: {'clean' if ok else 'NOT CLEAN'} ({', '.join(m) if m else 'no summary'})"


def times(w, name):
    f = os.path.join(w, name)
    if not os.path.exists(f):
        return None
    return [((r['label'], r['format'], r['hQ'], r['sQ'], r['topk_total']), r['us']) for r in json.load(open(f))['rows']]


def ratios(w, v, r):
    x, y = times(w, f'ab-{v}{r}.json'), times(w, f'ab-ship{r}.json')
    if x is None or y is None or [k for k, _ in x] != [k for k, _ in y] or len(x) != 12:
        return None
    return [a / b for (_, a), (_, b) in zip(x, y)]


def judge(w, v):
    why, ok = [], True
    for s in (f'{v}-m128', f'{v}-v128', f'{v}-m64', f'{v}-v64', f'other-{v}'):
        good, line = tap_ok(w, s)
        ok &= good
        why.append(line)
    for kind in ('model1', 'v32'):
        good, line = memcheck_ok(w, f'memcheck-{v}-{kind}')
        ok &= good
        why.append(line)
    q = [ratios(w, v, r) for r in (1, 2)]
    if any(x is None for x in q):
        return False, None, why + [f'{v}: an A/B round is missing or its shapes differ']
    g = [gm(x) for x in q]
    high = [i for i in range(12) if q[0][i] > 1.010 and q[1][i] > 1.010]
    why.append(f"{v} / shipped: geomean {g[0]:.4f} / {g[1]:.4f} (range {min(q[0]):.3f}-{max(q[0]):.3f}, {min(q[1]):.3f}-{max(q[1]):.3f}); "
               f"shapes above 1.010 in both rounds: {len(high)}")
    fast = all(x <= 0.990 for x in g) and not high
    return ok and fast, gm(q[0] + q[1]), why + [f"{v}: checks {'clean' if ok else 'NOT clean'}, time {'qualifies' if fast else 'does not qualify'}"]


def main():
    w = sys.argv[1]
    st = text(w, 'stamps.txt')
    if st:
        for line in st.splitlines():
            if line.startswith('## ') or line.startswith('epilogue store') or line.startswith('gap ('):
                print('stamps:', line[:150])
    best = None
    for v, bit in (('owl', 1), ('owf', 2)):
        good, g, why = judge(w, v)
        for line in why:
            print(line)
        if good and (best is None or g < best[1]):
            best = (v, g, bit)
    if best:
        print(f'SHIP OW={best[2]} (dist-{best[0]})')
    else:
        print('KEEP the shipped build (no variant qualifies)')


if __name__ == '__main__':
    main()

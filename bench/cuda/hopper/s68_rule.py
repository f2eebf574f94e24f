#!/usr/bin/env python3
"""Session 68 call 2's rule (bench/cuda/hopper/s68_call2.sh's header), applied to the call's files: which of
MLA_SPARSE_SM90_QE1's bits and MLA_SPARSE_SM90_NI ship. Written in session 69, before any run of call 2.

    python3 bench/cuda/hopper/s68_rule.py W      (W: the call's folder, or s68c2.tar unpacked; .xz logs are read too)

Call 2 was trimmed before it ran: qp1 (QE1 = 1) is packed but not timed, so bits 1 and 2 are judged together on qv1
(QE1 = 7), and bit 4 on qv1's V3.2 rows at 64 heads (the h64 A/B, whose MODEL1 rows bits 1 and 2 change too).

- Checks of a variant: its random, golden and other suites with `# fail 0` and at least one pass; memcheck and
  synccheck `0 errors`, racecheck `0 hazards`, on its sanitizer runs (qv1: qv1m, qv1v; ni: ni128, ni64).
- Bits 1 + 2 ship if qv1's checks pass, the geomean of qv1 / shipped over the four one-CTA MODEL1 shapes (MODEL1 at
  64 heads: top-k 512, 1024, CONFIG1, CONFIG3) is <= 0.98 in both rounds and no one of them is above 1.01 in both.
- Bit 4 ships if qv1's checks pass and the geomean of qv1 / shipped over the V3.2 rows of the h64 A/B (the four V3.2
  shapes at 64 heads and the dense FP8 rows of 64 heads, all on the one-CTA V3.2 entries) is <= 1.002 in both rounds.
- NI ships if bits 1, 2 and 4 all ship (ni's build is QE1 = 7 + NI; NI over another QE1 is not measured), its checks
  pass, and the geomean of ni / qv1 over the 12 shapes is <= 0.995 in both rounds.
- v128 (the shipped build's V3.2 entries under the sanitizers, owed since session 67): reported, not a rule.

The last line says what to build: `SHIP QE1=<bits> NI=<0|1> (dist-<variant>)` or `KEEP the shipped build (why)`.
"""
import json, lzma, math, os, re, sys


def text(w, name):
    for f in (os.path.join(w, name), os.path.join(w, name + '.xz')):
        if os.path.exists(f):
            return (lzma.open(f, 'rt', errors='replace') if f.endswith('.xz') else open(f, errors='replace')).read()
    return None


def gm(q):
    return math.exp(sum(map(math.log, q)) / len(q)) if q else float('nan')


def tap_ok(w, name):
    t = text(w, name + '.tap')
    if t is None:
        return False, f'{name}: missing'
    p = re.findall(r'^# pass (\d+)', t, re.M)
    f = re.findall(r'^# fail (\d+)', t, re.M)
    ok = bool(p) and bool(f) and int(p[-1]) > 0 and int(f[-1]) == 0
    return ok, f"{name}: pass {p[-1] if p else '?'} fail {f[-1] if f else '?'}"


def san_ok(w, tag):
    res, ok = [], True
    for tool in ('memcheck', 'synccheck', 'racecheck'):
        t = text(w, f'{tool}-{tag}.txt')
        if t is None:
            ok = False
            res.append(f'{tool} missing')
            continue
        if tool == 'racecheck':
            m = re.findall(r'RACECHECK SUMMARY: (\d+) hazards', t)
            good = bool(m) and all(x == '0' for x in m)
        else:
            m = re.findall(r'ERROR SUMMARY: (\d+) error', t)
            good = bool(m) and all(x == '0' for x in m)
        f = re.findall(r'^# fail (\d+)', t, re.M)
        good = good and (not f or int(f[-1]) == 0)
        ok = ok and good
        res.append(f"{tool} {'clean' if good else 'NOT CLEAN'} ({', '.join(m) if m else 'no summary'})")
    return ok, f'{tag}: ' + '; '.join(res)


def rows(w, name):
    f = os.path.join(w, name)
    if not os.path.exists(f):
        return None
    d = json.load(open(f))
    out = [((r['label'], r['format'], r['hQ'], r['sQ'], r['topk_total']), r['us']) for r in d['rows']]
    out += [(('dense', r.get('format', 'v32'), r.get('hQ', r.get('h_q')), r.get('sQ', r.get('s_q')), r.get('sK', r.get('s_k'))), r['us'])
            for r in d.get('dense', [])]
    return out


def ratios(w, a, b, r, keep=lambda k: True):
    x, y = rows(w, f'{a}{r}.json'), rows(w, f'{b}{r}.json')
    if x is None or y is None or [k for k, _ in x] != [k for k, _ in y]:
        return None
    return [(k, u / v) for (k, u), (_, v) in zip(x, y) if keep(k)]


def main():
    w = sys.argv[1]
    lines = []
    qv1_checks = [tap_ok(w, n) for n in ('qv1-m0', 'qv1-v0', 'other-qv1')] + [san_ok(w, t) for t in ('qv1m', 'qv1v')]
    ni_checks = [tap_ok(w, n) for n in ('ni-r', 'other-ni')] + [san_ok(w, t) for t in ('ni128', 'ni64')]
    for ok, s in qv1_checks + ni_checks + [san_ok(w, 'v128')]:
        lines.append(('  ok  ' if ok else '  BAD ') + s)
    qv1_ok, ni_ok = all(ok for ok, _ in qv1_checks), all(ok for ok, _ in ni_checks)

    one_cta_m1 = lambda k: k[1] == 'model1' and k[2] == 64
    v32 = lambda k: k[1] == 'v32'
    b12, b4, ni = [], [], []
    for r in (1, 2):
        q = ratios(w, 'ab-qv1', 'ab-ship', r, one_cta_m1)
        if q:
            b12.append((gm([z for _, z in q]), [z for _, z in q]))
            lines.append(f"round {r} qv1 / ship, one-CTA MODEL1: geomean {b12[-1][0]:.4f} ({', '.join(f'{z:.3f}' for z in b12[-1][1])})")
        q = ratios(w, 'h64-qv1', 'h64-ship', r, v32)
        if q:
            b4.append(gm([z for _, z in q]))
            lines.append(f"round {r} qv1 / ship, V3.2 rows at 64 heads: geomean {b4[-1]:.4f} ({', '.join(f'{z:.3f}' for _, z in q)})")
        q = ratios(w, 'ab-ni', 'ab-qv1', r)
        if q:
            ni.append(gm([z for _, z in q]))
            lines.append(f"round {r} ni / qv1, 12 shapes: geomean {ni[-1]:.4f} ({min(z for _, z in q):.3f}-{max(z for _, z in q):.3f})")
    for s in lines:
        print(s)

    why = []
    ship12 = qv1_ok and len(b12) == 2 and all(g <= 0.98 for g, _ in b12) and \
        not any(all(b12[r][1][i] > 1.01 for r in (0, 1)) for i in range(len(b12[0][1])))
    ship4 = qv1_ok and len(b4) == 2 and all(g <= 1.002 for g in b4)
    shipni = ship12 and ship4 and ni_ok and len(ni) == 2 and all(g <= 0.995 for g in ni)
    if not qv1_ok:
        why.append('qv1 checks not clean')
    if qv1_ok and not ship12:
        why.append('bits 1 + 2: timing rule not met' if len(b12) == 2 else 'bits 1 + 2: A/B missing')
    if qv1_ok and not ship4:
        why.append('bit 4: timing rule not met' if len(b4) == 2 else 'bit 4: h64 A/B missing')
    if ship12 and ship4 and not shipni:
        why.append('NI: checks not clean' if not ni_ok else ('NI: timing rule not met' if len(ni) == 2 else 'NI: A/B missing'))
    bits = (3 if ship12 else 0) | (4 if ship4 else 0)
    variant = {0: 'ship', 3: 'q3', 4: 'q4', 7: 'qv1'}[bits]
    if shipni:
        variant = 'ni'
    if bits == 0:
        print(f"KEEP the shipped build ({'; '.join(why)})")
    else:
        print(f"SHIP QE1={bits} NI={1 if shipni else 0} (dist-{variant}){' — ' + '; '.join(why) if why else ''}")


if __name__ == '__main__':
    main()

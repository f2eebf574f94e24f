#!/usr/bin/env python3
"""Session 17 round 2 (h2): the summary of the wide dense kernel's timing probes (written in
docs/notes/cuda-hopper-decode.md, "Session 17 round 2 (h2)", before any run). Reads <out>/ab.txt (abb lines of
s17_h2r2_slot.sh: lib+w first, ratios lib / entry, > 1: the entry is faster) and <out>/check_*.log (report only).
Prints, for each probe, lib/X at each row, the geomeans over the 256-row and 128-row rows and all six, the 64-row
control, and the SM cycles a tile pair that the geomean stands for (pair = 6098 cycles at 256 rows, 6350 at 128: call
A's ncu); then the last line, always `KEEP x932758302 (probe: ...)`: a probe never ships (nma / nexb / nmx are wrong or
range-unsafe by design, pbb reads P_B before it is stored; b2l needs f16 and the full checks first).

  python3 bench/cuda/hopper/s17_h2r2_rule.py OUT_DIR
  python3 bench/cuda/hopper/s17_h2r2_rule.py --self-test"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import gm  # noqa: E402

PAIR = {256: 6098, 128: 6350}  # SM cycles a tile pair (session 17 call A's ncu of x932758302)


def parse(ab_txt):
    """entry -> {(rows, s_k): lib/entry}"""
    r = {}
    for l in ab_txt.splitlines():
        m = re.search(r"s_k=(\d+),h_q=\d+,s_q=\d+ rows=(\d+)", l)
        if m:
            for name, _us, x in re.findall(r"\| (\S+)\+w ([\d.]+) us ([\d.]+)", l):
                if name != "lib":
                    r.setdefault(name, {})[(int(m.group(2)), int(m.group(1)))] = float(x)
    return r


def summary(ab_txt, checks, out=print):
    r = parse(ab_txt)
    parts = []
    for name in ("nma", "nexb", "nmx", "b2l", "pbb"):
        rows = r.get(name, {})
        g = {n: gm([x for (rw, _), x in rows.items() if rw == n]) for n in (256, 128)}
        six = [x for (rw, _), x in rows.items() if rw >= 128]
        ctl = [x for (rw, _), x in rows.items() if rw == 64]
        cyc = {n: PAIR[n] * (1 - 1 / g[n]) if g[n] == g[n] else float("nan") for n in (256, 128)}
        out("s17h2r2 %s: %s | 256-row gm %.3f (%+.0f cycles a pair), 128-row gm %.3f (%+.0f), six %.3f (%d rows), 64-row %s%s" % (
            name, " ".join("%d/%d %.3f" % (k[0], k[1], rows[k]) for k in sorted(rows, reverse=True)), g[256], cyc[256], g[128], cyc[128],
            gm(six), len(six), "%.3f" % ctl[0] if ctl else "-", ("; check " + checks[name]) if name in checks else ""))
        parts.append("%s %.3f/%.3f" % (name, g[256], g[128]) if six else "%s -" % name)
    out("KEEP x932758302 (probe: lib/X gm 256/128 rows: %s)" % ", ".join(parts))


def checks_of(o):
    c = {}
    for name in ("nma", "b2l"):
        p = os.path.join(o, "check_%s.log" % name)
        if os.path.exists(p):
            t = open(p).read()
            m = re.findall(r"(\d+) cases run, (\d+) failed, worst rel ([0-9.e+-]+)", t)
            rc = re.findall(r"^rc=(\d+)", t, re.M)
            c[name] = "%d cases, %d failed, worst %s, rc %s" % (sum(int(a) for a, _, _ in m), sum(int(b) for _, b, _ in m),
                                                               max((float(w) for _, _, w in m), default=float("nan")), rc[-1] if rc else "-")
    return c


def self_test():
    ab = "\n".join("abb b=128,s_k=%d,h_q=%d,s_q=%d rows=%d burst=10 rounds=8 | lib+w 100.0 us 1.000 | nma+w 99.0 us 1.010 | nexb+w 98.0 us 1.020 | nmx+w 97.0 us 1.030 | b2l+w 100.0 us 1.000 | pbb+w 99.5 us 1.005" % (sk, h, s, h * s)
                   for sk, h, s in ((8192, 128, 1), (8192, 128, 2), (4096, 128, 1), (4096, 128, 2), (1024, 128, 1), (1024, 128, 2), (4096, 64, 1)))
    got = []
    summary(ab, {}, got.append)
    assert got[-1] == "KEEP x932758302 (probe: lib/X gm 256/128 rows: nma 1.010/1.010, nexb 1.020/1.020, nmx 1.030/1.030, b2l 1.000/1.000, pbb 1.005/1.005)", got[-1]
    assert "(+60 cycles a pair)" in got[0] and "six 1.010 (6 rows), 64-row 1.010" in got[0], got[0]
    got = []
    summary("", {}, got.append)
    assert got[-1] == "KEEP x932758302 (probe: lib/X gm 256/128 rows: nma -, nexb -, nmx -, b2l -, pbb -)", got[-1]
    print("s17_h2r2_rule self-test: ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        o = sys.argv[1]
        p = os.path.join(o, "ab.txt")
        summary(open(p).read() if os.path.exists(p) else "", checks_of(o))

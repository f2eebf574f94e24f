#!/usr/bin/env python3
"""Session 21, helper s4: the rule of s21_s4_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 21 (s4)") before
any run.

  python3 bench/cuda/hopper/s21_s4_rule.py AB.txt OUT_DIR V32PAIRM_1.json V32PAIRM_2.json [V32ITEMS.json]      # or --self-test

Bit 10 (m6881343277586247432 = the shipped 6881343277586246408 + 1024: bit 44's map in the V3.2 pair entries, four lanes a
token and one round a tile, bit 56's halves kept) changes only the V3.2 pair entries and must write their bytes. It counts
only if its checks passed (AB.txt: goldens all, both precisions, random sm90 cases at h_q 64 / 128, 0 failures), memcheck
at h_q 128 ended with 0 errors (OUT_DIR/san128) and sparse-sm90-bitexact.js (--v32 --pages 64,37,1,100 --extra --nan) found
every case's out / lse bytes identical to shipped's (OUT_DIR/bitexact.txt: `bitexact: N of N identical`, NaN rows
included). It qualifies when the two --shapes v32pairm runs (4 rounds of 10 each; run 1 shipped first, run 2 the candidate
first; shapes 1-4 FlashMLA's V3.2 h_q 128 shapes, 5-6 the MODEL1 pair k512 / k1024 shapes, the same code) give
  - the four V3.2 pair shapes a pooled geomean time / shipped <= 0.985 (each shape: the mean of its two runs' ratios),
  - no pooled V3.2 shape > 1.005, each run's own V3.2 geomean <= 0.99,
  - each MODEL1 guard within 1.5 % in each run (else noise: KEEP).
V32ITEMS.json (the item fit, logged only): us a tile and an item per build (s19_h2r3_rule.items).
Last line: SHIP 6881343277586247432 (...) or KEEP 6881343277586246408 (...).
"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s19_h2r3_rule import items  # noqa: E402

SHIPPED = 6881343277586246408
CAND = SHIPPED + (1 << 10)
NAME = "bit 10"
GM_MAX, ONE_MAX, RUN_MAX, GUARD = 0.985, 1.005, 0.99, 0.015
N_V, N_ALL = 4, 6


def bitexact(d):
    """(identical, cases) from OUT_DIR/bitexact.txt, None if it did not finish."""
    f = os.path.join(d or "", "bitexact.txt")
    m = re.search(r"^bitexact: (\d+) of (\d+) identical", open(f, errors="replace").read(), re.M) if d and os.path.exists(f) else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def decide(ab_txt, d, j1=None, j2=None, vi=None, out=print):
    if vi:
        items(vi, out, CAND, NAME)
    else:
        out("item probe: not timed")
    ok = checks_ok(ab_txt, CAND)
    m128 = memcheck(os.path.join(d, "san128") if d else None, CAND)
    bx = bitexact(d)
    counts = ok and m128 == 0 and bx is not None and bx[1] > 0 and bx[0] == bx[1]
    out("%s m%d: checks %s | memcheck h_q 128 %s | bitexact %s -> %s" % (
        NAME, CAND, "pass" if ok else "FAIL/missing", "not finished" if m128 is None else "%d errors" % m128,
        "not finished" if bx is None else "%d of %d identical" % bx, "counts" if counts else "does not count"))
    runs, noisy = [], False
    for k, j in enumerate((j1, j2)):
        sp, cp = times(j or {}, "shipped"), times(j or {}, "m%d" % CAND)
        if sp and cp and len(sp) >= N_ALL and len(cp) >= N_ALL and None not in sp[:N_ALL] + cp[:N_ALL]:
            r = [c / s for c, s in zip(cp[:N_V], sp[:N_V])]
            g = [c / s for c, s in zip(cp[N_V:N_ALL], sp[N_V:N_ALL])]
            noisy = noisy or any(abs(x - 1) > GUARD for x in g)
            runs.append(r)
            fm = (j or {}).get("flashmlaUs") or []
            vs = ""
            if len(fm) >= N_V and all(isinstance(f, (int, float)) for f in fm[:N_V]):
                vs = " | V3.2 pair vs FlashMLA: shipped %.4f, %s %.4f" % (
                    gm([f / s for f, s in zip(fm[:N_V], sp[:N_V])]), NAME, gm([f / c for f, c in zip(fm[:N_V], cp[:N_V])]))
            out("v32pairm run %d (%s first): V3.2 pair time / shipped %.4f (%s), MODEL1 guards %s | us shipped %s, %s %s%s" % (
                k + 1, "shipped" if k == 0 else NAME, gm(r), " ".join("%.3f" % x for x in r), " ".join("%.3f" % x for x in g),
                " ".join("%.1f" % x for x in sp[:N_V]), NAME, " ".join("%.1f" % x for x in cp[:N_V]), vs))
        else:
            out("v32pairm run %d: not timed" % (k + 1))
    if len(runs) < 2:
        return "KEEP %d (%s: %s)" % (SHIPPED, NAME, "the V3.2 pair shapes not timed twice" if counts else "does not count")
    pooled = [(a + b) / 2 for a, b in zip(*runs)]
    tag = "V3.2 pair %.4f of shipped (%s; runs %.4f / %.4f)" % (gm(pooled), " ".join("%.3f" % x for x in pooled), gm(runs[0]), gm(runs[1]))
    if noisy:
        return "KEEP %d (noise: a MODEL1 guard moved > 1.5 %%; %s)" % (SHIPPED, tag)
    q = gm(pooled) <= GM_MAX and max(pooled) <= ONE_MAX and all(gm(r) <= RUN_MAX for r in runs)
    if counts and q:
        return "SHIP %d (%s qualifies: %s)" % (CAND, NAME, tag)
    return "KEEP %d (%s %s: %s)" % (SHIPPED, NAME, "does not count" if not counts else "does not qualify", tag)


def self_test():
    import tempfile

    def outdir(bx):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "san128", "san-m%d" % CAND))
        open(os.path.join(d, "san128", "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
        open(os.path.join(d, "bitexact.txt"), "w").write(bx)
        return d
    d = outdir("case 0: identical\nbitexact: 8 of 8 identical\n")
    d2 = outdir("case 3: DIFFERS (out byte 12, lse byte -1)\nbitexact: 7 of 8 identical\n")
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
    vs = [90.2, 165.0, 50.1, 90.3, 115.6, 202.8]
    fm = [87.0, 158.2, 48.0, 86.9, 102.5, 175.6]
    quiet = lambda *_: None

    def j(f, g=1.0):
        f = f if isinstance(f, list) else [f] * N_V
        return {"flashmlaUs": fm, "builds": [{"name": "shipped", "us": vs},
                                             {"name": "m%d" % CAND, "us": [x * y for x, y in zip(vs, f)] + [vs[4] * g, vs[5]]}]}
    assert decide(txt, d, j(0.95), j(0.96), out=quiet).startswith("SHIP %d " % CAND)
    assert decide(txt, d, j(0.98), j(0.983), out=quiet).startswith("SHIP %d " % CAND)
    assert decide(txt, d, j(0.97), j(0.995), out=quiet).startswith("KEEP")  # the swapped run did not confirm
    assert decide(txt, d, j(0.988), j(0.988), out=quiet).startswith("KEEP")  # not 1.5 % faster
    assert decide(txt, d, j([0.95, 0.95, 0.95, 1.01]), j([0.95, 0.95, 0.95, 1.01]), out=quiet).startswith("KEEP")  # one shape slower
    assert decide(txt, d, j(0.95, g=1.02), j(0.95), out=quiet).startswith("KEEP %d (noise" % SHIPPED)
    assert decide(txt.replace("fail 0", "fail 1"), d, j(0.95), j(0.95), out=quiet).startswith("KEEP")
    assert decide(txt, None, j(0.95), j(0.95), out=quiet).startswith("KEEP")  # memcheck missing
    assert decide(txt, d2, j(0.95), j(0.95), out=quiet).startswith("KEEP")  # one case's bytes differ
    assert decide(txt, d, j(0.95), None, out=quiet).startswith("KEEP")
    assert decide("", None, out=quiet).startswith("KEEP")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    a = sys.argv[1:]
    ab_txt = open(a[0]).read() if a and os.path.exists(a[0]) else ""
    j1 = load_arg(3) if len(sys.argv) > 3 else None
    j2 = load_arg(4) if len(sys.argv) > 4 else None
    vi = load_arg(5) if len(sys.argv) > 5 else None
    print(decide(ab_txt, a[1] if len(a) > 1 else None, j1, j2, vi))

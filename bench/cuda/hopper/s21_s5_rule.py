#!/usr/bin/env python3
"""Session 21, helper s5 (run in session 22): the rule of s21_s5_slot.sh, written in docs/notes/cuda-sparse-decode.md
("Session 22 (s5), prepared in session 21") before any run.

  python3 bench/cuda/hopper/s21_s5_rule.py AB.txt OUT_DIR PAIR_1.json PAIR_2.json [M1ITEMS.json]      # or --self-test

Bit 43 (m6881352073679269640 = the shipped 6881343277586247432 + 2^43: the pair producers of bits 44 / 10 walk the part's
items as one stream of tiles, the next item's first tile gathered during the current item's last) changes only the four
pair entries and must write their bytes. It counts only if its checks passed (AB.txt: goldens all, both precisions,
random sm90 cases at h_q 64 / 128, 0 failures), memcheck at h_q 128 ended with 0 errors (OUT_DIR/san128) and each of the
four sparse-sm90-bitexact.js runs (OUT_DIR/bitexact-{m1,v32,m1items,v32items}.txt: MODEL1 and V3.2, NaN bytes, then many
short items a part, those two under memcheck: 0 errors) says `bitexact: N of N identical`. It qualifies when the two --shapes pair runs (run 1 shipped first,
run 2 the candidate first; shapes 1-4 FlashMLA's V3.2 h_q 128 shapes, 5-8 its MODEL1 h_q 128 shapes, 9 the one-CTA MODEL1
h_q 64 k1024 shape: the same code, the noise guard) give
  - the eight pair shapes a pooled geomean time / shipped <= 0.995 (each shape: the mean of its two runs' ratios),
  - no pooled pair shape > 1.005, each run's own eight-shape geomean <= 0.997,
  - the guard within 1 % in each run (else noise: KEEP).
M1ITEMS.json (the MODEL1 pair item fit, logged only): us a tile and an item per build (s19_h2r3_rule.items).
Last line: SHIP 6881352073679269640 (...) or KEEP 6881343277586247432 (...).
"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s19_h2r3_rule import items  # noqa: E402

SHIPPED = 6881343277586247432
CAND = int(os.environ.get("CAND") or SHIPPED + (1 << 43))  # session 22 (s8): the slot's CAND (default bit 43's mode)
_bits = [b for b in range(64) if (CAND ^ SHIPPED) >> b & 1]
NAME = "bit%s %s" % ("s" if len(_bits) > 1 else "", " + ".join(map(str, _bits))) if CAND > SHIPPED else "m%d" % CAND
GM_MAX, ONE_MAX, RUN_MAX, GUARD = 0.995, 1.005, 0.997, 0.01
N_V, N_PAIR, N_ALL = 4, 8, 9
BITEXACT = ("m1", "v32", "m1items", "v32items")


def bitexact(d, tag):
    """(identical, cases) from OUT_DIR/bitexact-TAG.txt, None if it did not finish; the --items runs ran under memcheck:
    a case counts as identical there only if memcheck's summary says 0 errors (else 0 identical)."""
    f = os.path.join(d or "", "bitexact-%s.txt" % tag)
    txt = open(f, errors="replace").read() if d and os.path.exists(f) else ""
    m = re.search(r"^bitexact: (\d+) of (\d+) identical", txt, re.M)
    if not m:
        return None
    same, n = int(m.group(1)), int(m.group(2))
    if tag.endswith("items"):
        e = re.findall(r"ERROR SUMMARY: (\d+) error", txt)
        if not e or int(e[-1]) != 0:
            same = 0
    return same, n


def decide(ab_txt, d, j1=None, j2=None, mi=None, out=print):
    if mi:
        items(mi, out, CAND, NAME)
    else:
        out("item probe: not timed")
    ok = checks_ok(ab_txt, CAND)
    m128 = memcheck(os.path.join(d, "san128") if d else None, CAND)
    bx = {t: bitexact(d, t) for t in BITEXACT}
    bx_ok = all(v is not None and v[1] > 0 and v[0] == v[1] for v in bx.values())
    counts = ok and m128 == 0 and bx_ok
    out("%s m%d: checks %s | memcheck h_q 128 %s | bitexact %s -> %s" % (
        NAME, CAND, "pass" if ok else "FAIL/missing", "not finished" if m128 is None else "%d errors" % m128,
        ", ".join("%s %s" % (t, "not finished" if v is None else "%d of %d identical" % v) for t, v in bx.items()),
        "counts" if counts else "does not count"))
    runs, noisy = [], False
    for k, j in enumerate((j1, j2)):
        sp, cp = times(j or {}, "shipped"), times(j or {}, "m%d" % CAND)
        if sp and cp and len(sp) >= N_ALL and len(cp) >= N_ALL and None not in sp[:N_ALL] + cp[:N_ALL]:
            r = [c / s for c, s in zip(cp[:N_PAIR], sp[:N_PAIR])]
            g = cp[N_PAIR] / sp[N_PAIR]
            noisy = noisy or abs(g - 1) > GUARD
            runs.append(r)
            fm = (j or {}).get("flashmlaUs") or []
            vs = ""
            if len(fm) >= N_PAIR and all(isinstance(f, (int, float)) for f in fm[:N_PAIR]):
                vs = " | pair vs FlashMLA: shipped %.4f, %s %.4f" % (
                    gm([f / s for f, s in zip(fm[:N_PAIR], sp[:N_PAIR])]), NAME, gm([f / c for f, c in zip(fm[:N_PAIR], cp[:N_PAIR])]))
            out("pair run %d (%s first): pair time / shipped %.4f (V3.2 %s; MODEL1 %s), guard %.3f | us shipped %s, %s %s%s" % (
                k + 1, "shipped" if k == 0 else NAME, gm(r), " ".join("%.3f" % x for x in r[:N_V]),
                " ".join("%.3f" % x for x in r[N_V:]), g, " ".join("%.1f" % x for x in sp[:N_PAIR]), NAME,
                " ".join("%.1f" % x for x in cp[:N_PAIR]), vs))
        else:
            out("pair run %d: not timed" % (k + 1))
    if len(runs) < 2:
        return "KEEP %d (%s: %s)" % (SHIPPED, NAME, "the pair shapes not timed twice" if counts else "does not count")
    pooled = [(a + b) / 2 for a, b in zip(*runs)]
    tag = "pair %.4f of shipped (V3.2 %.4f, MODEL1 %.4f; %s; runs %.4f / %.4f)" % (
        gm(pooled), gm(pooled[:N_V]), gm(pooled[N_V:]), " ".join("%.3f" % x for x in pooled), gm(runs[0]), gm(runs[1]))
    if noisy:
        return "KEEP %d (noise: the one-CTA guard moved > 1 %%; %s)" % (SHIPPED, tag)
    q = gm(pooled) <= GM_MAX and max(pooled) <= ONE_MAX and all(gm(r) <= RUN_MAX for r in runs)
    if counts and q:
        return "SHIP %d (%s qualifies: %s)" % (CAND, NAME, tag)
    return "KEEP %d (%s %s: %s)" % (SHIPPED, NAME, "does not count" if not counts else "does not qualify", tag)


def self_test():
    import tempfile

    def outdir(bad=None):
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "san128", "san-m%d" % CAND))
        open(os.path.join(d, "san128", "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
        for t in BITEXACT:
            if t == bad:
                txt = "case 3: DIFFERS (out byte 12, lse byte -1)\nbitexact: 7 of 8 identical\n"
            else:
                txt = "case 0: identical\nbitexact: 8 of 8 identical\n" + ("========= ERROR SUMMARY: 0 errors\n" if t.endswith("items") else "")
            open(os.path.join(d, "bitexact-%s.txt" % t), "w").write(txt)
        return d
    d = outdir()
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
    sh = [184.3, 359.0, 96.4, 184.3, 107.2, 180.3, 210.0, 150.0, 140.5]
    fm = [184.3, 362.4, 95.4, 185.1, 102.5, 175.6, 198.0, 146.0, 132.8]
    quiet = lambda *_: None

    def j(f, g=1.0):
        f = f if isinstance(f, list) else [f] * N_PAIR
        return {"flashmlaUs": fm, "builds": [{"name": "shipped", "us": sh},
                                             {"name": "m%d" % CAND, "us": [x * y for x, y in zip(sh, f)] + [sh[8] * g]}]}
    assert decide(txt, d, j(0.99), j(0.992), out=quiet).startswith("SHIP %d " % CAND)
    assert decide(txt, d, j([1.0] * 4 + [0.985] * 4), j([1.0] * 4 + [0.985] * 4), out=quiet).startswith("SHIP %d " % CAND)
    assert decide(txt, d, j(0.99), j(0.999), out=quiet).startswith("KEEP")  # the swapped run did not confirm
    assert decide(txt, d, j(0.997), j(0.996), out=quiet).startswith("KEEP")  # not 0.5 % faster
    assert decide(txt, d, j([0.98] * 7 + [1.01]), j([0.98] * 7 + [1.01]), out=quiet).startswith("KEEP")  # one shape slower
    assert decide(txt, d, j(0.98, g=1.012), j(0.98), out=quiet).startswith("KEEP %d (noise" % SHIPPED)
    assert decide(txt.replace("fail 0", "fail 1"), d, j(0.98), j(0.98), out=quiet).startswith("KEEP")
    assert decide(txt, None, j(0.98), j(0.98), out=quiet).startswith("KEEP")  # memcheck missing
    for t in BITEXACT:
        assert decide(txt, outdir(t), j(0.98), j(0.98), out=quiet).startswith("KEEP")  # one case's bytes differ
    d2 = outdir()
    os.remove(os.path.join(d2, "bitexact-v32items.txt"))
    assert decide(txt, d2, j(0.98), j(0.98), out=quiet).startswith("KEEP")  # a bitexact run did not finish
    d3 = outdir()
    open(os.path.join(d3, "bitexact-m1items.txt"), "w").write("bitexact: 6 of 6 identical\n========= ERROR SUMMARY: 2 errors\n")
    assert decide(txt, d3, j(0.98), j(0.98), out=quiet).startswith("KEEP")  # memcheck errors in the items run
    d4 = outdir()
    open(os.path.join(d4, "bitexact-v32items.txt"), "w").write("bitexact: 6 of 6 identical\n")
    assert decide(txt, d4, j(0.98), j(0.98), out=quiet).startswith("KEEP")  # the sanitizer's summary missing
    assert decide(txt, d, j(0.98), None, out=quiet).startswith("KEEP")
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
    mi = load_arg(5) if len(sys.argv) > 5 else None
    print(decide(ab_txt, a[1] if len(a) > 1 else None, j1, j2, mi))

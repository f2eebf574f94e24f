#!/usr/bin/env python3
"""Session 20, helper s20-l1: the rule of s20_l1_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 20, helper
s20-l1") before any run.

  python3 bench/cuda/hopper/s20_l1_rule.py AB.txt OUT_DIR PAIR_1.json PAIR_2.json      # or --self-test

Bit 8 (m6881325685400201992 = the shipped 6881325685400201736 + 256: the lazy reference maximum in the consumers' softmax)
changes every entry (one softmax code). It counts only if its checks passed (AB.txt: goldens all, both precisions, random
sm90 cases at h_q 64 / 128, 0 failures) and memcheck ended with 0 errors at h_q 128 (the pair entries, OUT_DIR/san128)
and at h_q 64 (the one-CTA entries, OUT_DIR/san64). The two --shapes pair runs (sparse-sm90-final-ab.js: FlashMLA's four
V3.2 h_q 128 shapes, the four MODEL1 h_q 128 shapes, then the one-CTA MODEL1 h_q 64 k1024 shape; 3 rounds of 10 each;
run 1 shipped first, run 2 bit 8 first) must both hold all nine shapes. Pooled ratio of a shape = the mean of its two
runs' time / shipped. It qualifies when
  - the eight pair shapes' pooled geomean <= 0.99, each run's own eight-shape geomean <= 0.995,
  - each class (V3.2 pair, MODEL1 pair) pooled geomean <= 1.0, no pooled pair shape > 1.005,
  - the one-CTA MODEL1 h_q 64 k1024 shape (its code changes too: a no-harm check, not a noise guard) pooled <= 1.01;
noise (KEEP): the two runs' eight-shape geomeans differ by more than 0.02.
Last line: SHIP 6881325685400201992 (...) or KEEP 6881325685400201736 (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402

SHIPPED = 6881325685400201736
CAND = SHIPPED + (1 << 8)
NAME = "bit 8"
GM_MAX, RUN_MAX, CLASS_MAX, ONE_MAX, ONECTA_MAX, SPREAD = 0.99, 0.995, 1.0, 1.005, 1.01, 0.02
N = 9  # 4 V3.2 pair, 4 MODEL1 pair, 1 one-CTA MODEL1


def decide(ab_txt, d, j1=None, j2=None, out=print):
    ok = checks_ok(ab_txt, CAND)
    m = {h: memcheck(os.path.join(d, "san%d" % h) if d else None, CAND) for h in (128, 64)}
    counts = ok and m[128] == 0 and m[64] == 0
    out("%s m%d: checks %s | memcheck h_q 128 %s, h_q 64 %s -> %s" % (
        NAME, CAND, "pass" if ok else "FAIL/missing",
        *("not finished" if m[h] is None else "%d errors" % m[h] for h in (128, 64)),
        "counts" if counts else "does not count"))
    runs = []
    for k, j in enumerate((j1, j2)):
        sp, cp = times(j or {}, "shipped"), times(j or {}, "m%d" % CAND)
        if sp and cp and len(sp) >= N and len(cp) >= N and None not in sp[:N] + cp[:N]:
            r = [c / s for c, s in zip(cp[:N], sp[:N])]
            runs.append(r)
            fm = (j or {}).get("flashmlaUs") or []
            vs = ""
            if len(fm) >= 8 and all(isinstance(f, (int, float)) for f in fm[:8]):
                vs = " | FlashMLA / time over the 8: shipped %.4f, %s %.4f" % (
                    gm([f / s for f, s in zip(fm[:8], sp[:8])]), NAME, gm([f / c for f, c in zip(fm[:8], cp[:8])]))
            out("pair run %d (%s first): time / shipped 8 shapes %.4f (V3.2 %s | MODEL1 %s), one-CTA M1 h64 %.3f%s" % (
                k + 1, "shipped" if k == 0 else NAME, gm(r[:8]), " ".join("%.3f" % x for x in r[:4]),
                " ".join("%.3f" % x for x in r[4:8]), r[8], vs))
        else:
            out("pair run %d: not timed (or cut: %d of %d shapes)" % (k + 1, len(cp or []), N))
    if len(runs) < 2:
        return "KEEP %d (%s: %s)" % (SHIPPED, NAME, "the pair shapes not timed twice" if counts else "does not count")
    pooled = [(a + b) / 2 for a, b in zip(*runs)]
    g8, gv, gm1 = gm(pooled[:8]), gm(pooled[:4]), gm(pooled[4:8])
    tag = "pair 8 shapes %.4f of shipped (V3.2 %.4f, MODEL1 %.4f; %s; one-CTA %.3f; runs %.4f / %.4f)" % (
        g8, gv, gm1, " ".join("%.3f" % x for x in pooled[:8]), pooled[8], gm(runs[0][:8]), gm(runs[1][:8]))
    if abs(gm(runs[0][:8]) - gm(runs[1][:8])) > SPREAD:
        return "KEEP %d (noise: the two runs differ by > %.2f; %s)" % (SHIPPED, SPREAD, tag)
    q = (g8 <= GM_MAX and all(gm(r[:8]) <= RUN_MAX for r in runs) and gv <= CLASS_MAX and gm1 <= CLASS_MAX
         and max(pooled[:8]) <= ONE_MAX and pooled[8] <= ONECTA_MAX)
    if counts and q:
        return "SHIP %d (%s qualifies: %s)" % (CAND, NAME, tag)
    return "KEEP %d (%s %s: %s)" % (SHIPPED, NAME, "does not count" if not counts else "does not qualify", tag)


def self_test():
    import tempfile
    d = tempfile.mkdtemp()
    for h in (128, 64):
        os.makedirs(os.path.join(d, "san%d" % h, "san-m%d" % CAND))
        open(os.path.join(d, "san%d" % h, "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    d2 = tempfile.mkdtemp()
    os.makedirs(os.path.join(d2, "san128", "san-m%d" % CAND))
    open(os.path.join(d2, "san128", "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
    txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
    vs = [300.0, 560.0, 160.0, 290.0, 115.6, 202.8, 224.6, 157.3, 140.4]
    fm = [280.0, 530.0, 150.0, 270.0, 102.5, 175.6, 203.4, 149.2, 132.8]
    quiet = lambda *_: None

    def j(f, g=1.0, n=N):
        f = f if isinstance(f, list) else [f] * 8
        cu = [x * y for x, y in zip(vs, f)] + [vs[8] * g]
        return {"flashmlaUs": fm[:n], "builds": [{"name": "shipped", "us": vs[:n]}, {"name": "m%d" % CAND, "us": cu[:n]}]}
    assert decide(txt, d, j(0.98), j(0.982), out=quiet).startswith("SHIP %d " % CAND)
    assert decide(txt, d, j(0.98), j(0.998), out=quiet).startswith("KEEP")  # run 2 not <= 0.995
    assert decide(txt, d, j(0.992), j(0.992), out=quiet).startswith("KEEP")  # not 1 % faster
    assert decide(txt, d, j([0.96] * 4 + [1.003] * 4), j([0.96] * 4 + [1.003] * 4), out=quiet).startswith("KEEP")  # MODEL1 class slower
    assert decide(txt, d, j([0.97] * 7 + [1.01]), j([0.97] * 7 + [1.01]), out=quiet).startswith("KEEP")  # one shape slower
    assert decide(txt, d, j(0.98, g=1.02), j(0.98, g=1.02), out=quiet).startswith("KEEP")  # the one-CTA shape slower
    assert decide(txt, d, j(0.95), j(0.98), out=quiet).startswith("KEEP %d (noise" % SHIPPED)
    assert decide(txt.replace("fail 0", "fail 1"), d, j(0.97), j(0.97), out=quiet).startswith("KEEP")
    assert decide(txt, d2, j(0.97), j(0.97), out=quiet).startswith("KEEP")  # h_q 64 memcheck missing
    assert decide(txt, None, j(0.97), j(0.97), out=quiet).startswith("KEEP")
    assert decide(txt, d, j(0.97), j(0.97, n=7), out=quiet).startswith("KEEP")  # run 2 cut
    assert decide(txt, d, j(0.97), None, out=quiet).startswith("KEEP")
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
    print(decide(ab_txt, a[1] if len(a) > 1 else None, j1, j2))

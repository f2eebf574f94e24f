#!/usr/bin/env python3
"""Session 21, helper s3: the rule of s21_s3_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 21 (s3)") before
any run.

  python3 bench/cuda/hopper/s21_s3_rule.py AB.txt OUT_DIR M1PAIRV_1.json M1PAIRV_2.json [M1ITEMS.json]      # or --self-test

Bit 44 (m6881343277586246408 = the shipped 6881325685400201992 + 17592186044416: FlashMLA's producer map in the MODEL1 pair
entries, four lanes a token and one round a tile) changes only the MODEL1 pair entries and must write their bytes. It
counts only if its checks passed (AB.txt: goldens all, both precisions, random sm90 cases at h_q 64 / 128, 0 failures),
memcheck at h_q 128 ended with 0 errors (OUT_DIR/san128) and sparse-sm90-bitexact.js (--pages 64,37,1,100 --extra --nan)
found every case's out / lse bytes identical to shipped's (OUT_DIR/bitexact.txt: `bitexact: N of N identical`, NaN rows
included). It qualifies when the two --shapes m1pairv runs (4 rounds of 10 each; run 1 shipped first, run 2 the candidate
first; shapes 1-4 the MODEL1 pair shapes, 5-6 the V3.2 b 64 pair shapes, the same code) give
  - the four MODEL1 pair shapes a pooled geomean time / shipped <= 0.985 (each shape: the mean of its two runs' ratios),
  - no pooled MODEL1 shape > 1.005, each run's own MODEL1 geomean <= 0.99,
  - each V3.2 guard within 1.5 % in each run (else noise: KEEP).
M1ITEMS.json (the item fit, logged only): us a tile and an item per build (s19_h2r3_rule.items).
Last line: SHIP 6881343277586246408 (...) or KEEP 6881325685400201992 (...).
"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s19_h2r3_rule import items  # noqa: E402

GM_MAX, ONE_MAX, RUN_MAX, GUARD = 0.985, 1.005, 0.99, 0.015
N_CLS, N_ALL = 4, 6


def bitexact(d):
    """(identical, cases) from OUT_DIR/bitexact.txt, None if it did not finish."""
    f = os.path.join(d or "", "bitexact.txt")
    m = re.search(r"^bitexact: (\d+) of (\d+) identical", open(f, errors="replace").read(), re.M) if d and os.path.exists(f) else None
    return (int(m.group(1)), int(m.group(2))) if m else None


class PairRule:
    """One candidate bit on one pair class: shapes 1-4 of the timed set are the class (cls, e.g. "MODEL1 pair"), shapes 5-6
    the other class's guards (guard, e.g. "V3.2"); runs are named after the shape set (shapes, e.g. "m1pairv"). vs / fm:
    the self-test's shipped and FlashMLA microseconds of the six shapes. s21_s4_rule.py makes the V3.2 pair's rule."""

    def __init__(self, shipped, bit, cls, guard, shapes, vs, fm):
        self.shipped, self.cand, self.name = shipped, shipped + (1 << bit), "bit %d" % bit
        self.cls, self.guard, self.shapes, self.vs, self.fm = cls, guard, shapes, vs, fm

    def decide(self, ab_txt, d, j1=None, j2=None, it=None, out=print):
        SHIPPED, CAND, NAME, CLS = self.shipped, self.cand, self.name, self.cls
        if it:
            items(it, out, CAND, NAME)
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
                r = [c / s for c, s in zip(cp[:N_CLS], sp[:N_CLS])]
                g = [c / s for c, s in zip(cp[N_CLS:N_ALL], sp[N_CLS:N_ALL])]
                noisy = noisy or any(abs(x - 1) > GUARD for x in g)
                runs.append(r)
                fm = (j or {}).get("flashmlaUs") or []
                vs = ""
                if len(fm) >= N_CLS and all(isinstance(f, (int, float)) for f in fm[:N_CLS]):
                    vs = " | %s vs FlashMLA: shipped %.4f, %s %.4f" % (
                        CLS, gm([f / s for f, s in zip(fm[:N_CLS], sp[:N_CLS])]), NAME, gm([f / c for f, c in zip(fm[:N_CLS], cp[:N_CLS])]))
                out("%s run %d (%s first): %s time / shipped %.4f (%s), %s guards %s | us shipped %s, %s %s%s" % (
                    self.shapes, k + 1, "shipped" if k == 0 else NAME, CLS, gm(r), " ".join("%.3f" % x for x in r), self.guard,
                    " ".join("%.3f" % x for x in g), " ".join("%.1f" % x for x in sp[:N_CLS]), NAME, " ".join("%.1f" % x for x in cp[:N_CLS]), vs))
            else:
                out("%s run %d: not timed" % (self.shapes, k + 1))
        if len(runs) < 2:
            return "KEEP %d (%s: %s)" % (SHIPPED, NAME, "the %s shapes not timed twice" % CLS if counts else "does not count")
        pooled = [(a + b) / 2 for a, b in zip(*runs)]
        tag = "%s %.4f of shipped (%s; runs %.4f / %.4f)" % (CLS, gm(pooled), " ".join("%.3f" % x for x in pooled), gm(runs[0]), gm(runs[1]))
        if noisy:
            return "KEEP %d (noise: a %s guard moved > 1.5 %%; %s)" % (SHIPPED, self.guard, tag)
        q = gm(pooled) <= GM_MAX and max(pooled) <= ONE_MAX and all(gm(r) <= RUN_MAX for r in runs)
        if counts and q:
            return "SHIP %d (%s qualifies: %s)" % (CAND, NAME, tag)
        return "KEEP %d (%s %s: %s)" % (SHIPPED, NAME, "does not count" if not counts else "does not qualify", tag)

    def self_test(self):
        import tempfile
        CAND, SHIPPED, decide, vs, fm = self.cand, self.shipped, self.decide, self.vs, self.fm

        def outdir(bx):
            d = tempfile.mkdtemp()
            os.makedirs(os.path.join(d, "san128", "san-m%d" % CAND))
            open(os.path.join(d, "san128", "san-m%d" % CAND, "san-memcheck.txt"), "w").write("========= ERROR SUMMARY: 0 errors\n")
            open(os.path.join(d, "bitexact.txt"), "w").write(bx)
            return d
        d = outdir("case 0: identical\nbitexact: 8 of 8 identical\n")
        d2 = outdir("case 3: DIFFERS (out byte 12, lse byte -1)\nbitexact: 7 of 8 identical\n")
        txt = "m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % CAND
        quiet = lambda *_: None

        def j(f, g=1.0):
            f = f if isinstance(f, list) else [f] * N_CLS
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

    def main(self, argv):
        if argv == ["--self-test"]:
            self.self_test()
            return
        ab_txt = open(argv[0]).read() if argv and os.path.exists(argv[0]) else ""
        load = lambda i: load_arg(i + 1) if len(argv) > i else None
        print(self.decide(ab_txt, argv[1] if len(argv) > 1 else None, load(2), load(3), load(4)))


RULE = PairRule(6881325685400201992, 44, "MODEL1 pair", "V3.2", "m1pairv",
                [115.6, 202.8, 224.6, 157.3, 150.1, 90.2], [102.5, 175.6, 203.4, 149.2, 145.0, 87.0])

if __name__ == "__main__":
    RULE.main(sys.argv[1:])

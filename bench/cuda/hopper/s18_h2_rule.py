#!/usr/bin/env python3
"""Session 18, helper h2: the ship rule of sparse_sm90.cu's bits 55 / 56 (the pair entries' stage written and handed over in
two halves of S's contraction: 55 the MODEL1 pair entries, 56 the V3.2 pair entries), written in
docs/notes/cuda-sparse-decode.md ("Session 18, helper h2") before any run; s18_h2_slot.sh's last step. One timed build carries
both bits (its MODEL1 pair entries are the + 55 build's code, its V3.2 pair entries the + 56 build's, per-entry .text
compared), so s17_pairflat_rule.py's per-class decide judges both classes; the sanitizers as s17_h1r2_rule.py reads them.

  python3 bench/cuda/hopper/s18_h2_rule.py AB12.json AB.txt [SAN_DIR]        # or --self-test

AB12.json: sparse-sm90-final-ab.js --json on FlashMLA's 12 shapes (shipped 6805538547887300616 and the candidate
6913624938944192520 = shipped + 55 + 56); AB.txt: sparse-sm90-final-ab.sh's stdout (check lines); SAN_DIR: where the slot put
san-memcheck.txt / san-racecheck.txt. Per pair class (V3.2: its four h_q 128 shapes; MODEL1: its four), the class's bit ships
if the candidate passed its checks, the class geomean time is >= 0.5 % below shipped's and no shape of the class is > 0.5 %
slower; nothing ships if a one-CTA shape (shipped's code) moves > 1.5 % (noise) or memcheck (if it ran) found errors.
Racecheck is reported, not judged (its reports naming a pair entry are counted: 14 of the two known classes in session 18's
call A). Last line: SHIP <mode> (...) or KEEP 6805538547887300616 (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import SHAPES12, slot_rule_main  # noqa: E402
import s17_h1r2_rule as r2  # noqa: E402
import s17_pairflat_rule as pf  # noqa: E402

SHIPPED = 6805538547887300616
B55, B56 = 1 << 55, 1 << 56
CAND = SHIPPED + B55 + B56
PAIRS = "mla_sparse_sm90_(v32|model1)_bf16_c2"


def decide(ab12, ab_txt, san=(None, "not run", None), out=print):
    mem, rs, rv = san
    out("m%d: memcheck %s | racecheck %s%s" % (CAND, "not run" if mem is None else "%d errors" % mem, rs,
                                               "" if rv is None else " (%d name a pair entry)" % rv))
    return pf.decide(ab12, ab_txt, out, shipped=SHIPPED, cand=CAND, bits=(B56, B55), what="bits 56 (V3.2 pair) / 55 (MODEL1 pair)", mem=mem)


def self_test():
    shapes = list(SHAPES12)
    base = [186.0, 366, 97, 186, 84, 145, 110, 190, 100, 222, 123, 158]
    txt = "m%d: checks pass 20 fail 0 (goldens 12/12, x) | g\n" % CAND

    def mk(v=1.0, m=1.0, o=1.0, t=txt, san=(None, "not run", None), m0=None):
        fs = [v if x.startswith("V3.2") else m if " h128 " in x else o for x in shapes]
        if m0 is not None:
            fs[6] = m0
        ab12 = {"shapes": shapes, "builds": [{"name": "shipped", "us": base}, {"name": "m%d" % CAND, "us": [a * b for a, b in zip(base, fs)]}]}
        return decide(ab12, t, san, out=lambda *_: None)

    assert mk() == SHIPPED
    assert mk(m=0.99) == SHIPPED + B55
    assert mk(v=0.99) == SHIPPED + B56
    assert mk(0.99, 0.99) == CAND
    assert mk(m=0.996) == SHIPPED  # less than 0.5 %
    assert mk(m=0.985, m0=1.006) == SHIPPED  # one MODEL1 pair shape > 0.5 % slower
    assert mk(0.99, 0.985, m0=1.006) == SHIPPED + B56
    assert mk(0.99, 0.99, 1.016) == SHIPPED  # noise on shipped's code
    assert mk(0.99, 0.99, t=txt.replace("pass 20 fail 0", "pass 19 fail 1")) == SHIPPED
    assert mk(0.99, 0.99, t="") == SHIPPED
    assert mk(0.99, 0.99, san=(2, "x", 0)) == SHIPPED
    assert mk(0.99, 0.99, san=(0, "x", 14)) == CAND
    assert decide({"shapes": shapes, "builds": [{"name": "shipped", "us": base}]}, txt, out=lambda *_: None) == SHIPPED
    print("self-test ok")


if __name__ == "__main__":
    slot_rule_main(self_test, decide, SHIPPED, lambda argv: r2.sanitizers(argv[3] if len(argv) > 3 else None, PAIRS))

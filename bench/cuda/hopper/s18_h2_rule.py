#!/usr/bin/env python3
"""Session 18, helper h2: the ship rule of sparse_sm90.cu's bit 55 (the MODEL1 pair entries' stage written and handed over
in two halves of S's contraction), written in docs/notes/cuda-sparse-decode.md ("Session 18, helper h2") before any run;
s18_h2_slot.sh's last step. s17_h1r2_rule.py's decide / sanitizers with the MODEL1 pair as the candidate's class.

  python3 bench/cuda/hopper/s18_h2_rule.py AB12.json AB.txt [SAN_DIR]        # or --self-test

AB12.json: sparse-sm90-final-ab.js --json on FlashMLA's 12 shapes (shipped 6805538547887300616 and the candidate
6841567344906264584 = shipped + 55); AB.txt: sparse-sm90-final-ab.sh's stdout (check lines); SAN_DIR: where the slot put
san-memcheck.txt / san-racecheck.txt. The candidate ships if its checks passed, its geomean time on the four MODEL1 pair
(h_q 128) shapes, the only entries it changes, is >= 0.5 % below shipped's, none of them is > 0.5 % slower, the eight other
shapes (shipped's code) are within 1.5 % (else: too noisy), and memcheck, if it ran, found 0 errors. Racecheck is reported,
not judged: its reports naming a MODEL1 pair entry are counted (the known classes: 8 such reports in session 18's call A).
Last line: SHIP 6841567344906264584 (...) or KEEP 6805538547887300616 (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import SHAPES12, slot_rule_main  # noqa: E402
import s17_h1r2_rule as r2  # noqa: E402

SHIPPED = 6805538547887300616
CAND = SHIPPED + (1 << 55)
ENTRY = "mla_sparse_sm90_model1_bf16_c2"


def is_m1_pair(label):
    return label.startswith("M1") and " h128 " in label


def decide(ab12, ab_txt, san=(None, "not run", None), out=print):
    return r2.decide(ab12, ab_txt, san, out, shipped=SHIPPED, cand=CAND, cls=is_m1_pair, name="MODEL1 pair", what="shipped + 55")


def self_test():
    shapes = list(SHAPES12)
    assert sum(map(is_m1_pair, shapes)) == 4
    base = [186.0, 366, 97, 186, 84, 145, 110, 190, 100, 222, 123, 158]
    txt = "m%d: checks pass 20 fail 0 (goldens 12/12, x) | g\n" % CAND

    def mk(v=1.0, o=1.0, t=txt, san=(None, "not run", None), v0=None):
        fs = [v if is_m1_pair(x) else o for x in shapes]
        if v0 is not None:
            fs[6] = v0
        ab12 = {"shapes": shapes, "builds": [{"name": "shipped", "us": base}, {"name": "m%d" % CAND, "us": [a * b for a, b in zip(base, fs)]}]}
        return decide(ab12, t, san, out=lambda *_: None)

    assert mk() == SHIPPED
    assert mk(0.99) == CAND
    assert mk(0.996) == SHIPPED  # less than 0.5 %
    assert mk(0.985, v0=1.006) == SHIPPED  # one MODEL1 pair shape > 0.5 % slower
    assert mk(0.99, 1.016) == SHIPPED  # noise on shipped's code
    assert mk(0.99, 0.99) == CAND
    assert mk(0.99, t=txt.replace("pass 20 fail 0", "pass 19 fail 1")) == SHIPPED
    assert mk(0.99, t="") == SHIPPED
    assert mk(0.99, san=(2, "x", 0)) == SHIPPED
    assert mk(0.99, san=(0, "x", 8)) == CAND
    assert decide({"shapes": shapes, "builds": [{"name": "shipped", "us": base}]}, txt, out=lambda *_: None) == SHIPPED
    print("self-test ok")


if __name__ == "__main__":
    slot_rule_main(self_test, decide, SHIPPED, lambda argv: r2.sanitizers(argv[3] if len(argv) > 3 else None, ENTRY))

#!/usr/bin/env python3
"""Session 17, helper h1 round 2: the ship rule of sparse_sm90.cu's bit 54 (bit 53's epilogue, the bf16 output through
shared memory and bulk copies, in the V3.2 pair entries, warpgroup 1 staging only), written in
docs/notes/cuda-sparse-decode.md ("Session 17, helper h1, round 2") before any run; s17_h1r2_slot.sh's last step.
Reuses s16_h2_rule.py's helpers (check lines, build times, the qualifying test, the geomean).

  python3 bench/cuda/hopper/s17_h1r2_rule.py AB12.json AB.txt [SAN_DIR]        # or --self-test

AB12.json: sparse-sm90-final-ab.js --json on FlashMLA's 12 shapes (shipped 6787524149377818632 and the candidate
6805538547887300616 = shipped + 54); AB.txt: sparse-sm90-final-ab.sh's stdout (check lines); SAN_DIR: where the slot put
san-memcheck.txt / san-racecheck.txt (absent if there was no time for them). The candidate ships if its checks passed,
its geomean time on the four V3.2 pair (h_q 128) shapes, the only entries it changes, is >= 0.5 % below shipped's, none of
them is > 0.5 % slower, the eight other shapes (shipped's code) are within 1.5 % (else: too noisy), and memcheck, if it
ran, found 0 errors. Racecheck is reported, not judged (it does not model the bulk copies' reads): its reports that name a
V3.2 pair entry are counted on the SHIP line, to be classified before the #define moves.
Last line: SHIP 6805538547887300616 (...) or KEEP 6787524149377818632 (...).
"""
import os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import SHAPES12, checks_ok, gm, qualifies, slot_rule_main, times  # noqa: E402

SHIPPED = 6787524149377818632
CAND = SHIPPED + (1 << 54)


def sanitizers(d, entry="mla_sparse_sm90_v32_bf16_c2"):
    """(memcheck errors or None if it did not finish, racecheck summary, reports naming `entry` (a regular expression; the
    V3.2 pair entries by default) or None). Session 18's s18_h2_rule.py passes both pair entries."""
    mem = race = None
    rs, v32 = "not run", None
    if d and os.path.exists(os.path.join(d, "san-memcheck.txt")):
        m = re.search(r"ERROR SUMMARY: (\d+) error", open(os.path.join(d, "san-memcheck.txt"), errors="replace").read())
        mem = int(m.group(1)) if m else None
    if d and os.path.exists(os.path.join(d, "san-racecheck.txt")):
        t = open(os.path.join(d, "san-racecheck.txt"), errors="replace").read()
        m = re.search(r"RACECHECK SUMMARY: .*", t)
        rs = m.group(0) if m else "no summary (cut off)"
        v32 = len(re.findall(r"Race reported between .*" + entry, t))
    return mem, rs, v32


def decide(ab12, ab_txt, san=(None, "not run", None), out=print):
    shapes = ab12.get("shapes", [])
    s, t = times(ab12, "shipped"), times(ab12, "m%d" % CAND)
    chk = checks_ok(ab_txt, CAND)
    if not s or len(s) != len(shapes) or len(shapes) != 12 or not t or len(t) != 12:
        out("m%d: checks %s, timing incomplete" % (CAND, "pass" if chk else "FAIL/missing"))
        out("KEEP %d (timing incomplete)" % SHIPPED)
        return SHIPPED
    r = [t[i] / s[i] for i in range(12)]
    v32 = [i for i, x in enumerate(shapes) if x.startswith("V3.2") and " h128 " in x]
    other = [i for i in range(12) if i not in v32]
    dev = max(abs(r[i] - 1) for i in other)
    q = chk and qualifies([r[i] for i in v32])
    mem, rs, rv = san
    out("m%d: checks %s | V3.2 pair time / shipped %.4f (%s) | other shapes (same code) max |1 - r| %.4f | memcheck %s | racecheck %s%s -> %s"
        % (CAND, "pass" if chk else "FAIL/missing", gm([r[i] for i in v32]), " ".join("%.3f" % r[i] for i in v32), dev,
           "not run" if mem is None else "%d errors" % mem, rs, "" if rv is None else " (%d name a V3.2 pair entry)" % rv,
           "qualifies" if q else "no"))
    if dev > 0.015:
        out("KEEP %d (a shape on shipped's code moved > 1.5 %%: too noisy)" % SHIPPED)
        return SHIPPED
    if not q:
        out("KEEP %d (the candidate does not qualify)" % SHIPPED)
        return SHIPPED
    if mem:
        out("KEEP %d (memcheck: %d errors in the candidate)" % (SHIPPED, mem))
        return SHIPPED
    out("SHIP %d (shipped + 54: V3.2 pair geomean time / shipped %.4f; memcheck %s; racecheck %s)"
        % (CAND, gm([r[i] for i in v32]), "not run: full suite + sanitizers next session" if mem is None else "0 errors",
           "not run" if rv is None else "%d reports name a V3.2 pair entry" % rv))
    return CAND


def self_test():
    shapes = list(SHAPES12)
    base = [189.0, 370, 100, 190, 84, 142, 115, 204, 98, 228, 122, 157]
    txt = "m%d: checks pass 20 fail 0 (goldens 12/12, x) | g\n" % CAND

    def mk(v=1.0, o=1.0, t=txt, san=(None, "not run", None), v0=None):
        fs = [v if x.startswith("V3.2") else o for x in shapes]
        if v0 is not None:
            fs[0] = v0
        ab12 = {"shapes": shapes, "builds": [{"name": "shipped", "us": base}, {"name": "m%d" % CAND, "us": [a * b for a, b in zip(base, fs)]}]}
        return decide(ab12, t, san, out=lambda *_: None)

    assert mk() == SHIPPED
    assert mk(0.99) == CAND
    assert mk(0.996) == SHIPPED  # less than 0.5 %
    assert mk(0.985, v0=1.006) == SHIPPED  # one V3.2 pair shape > 0.5 % slower
    assert mk(0.99, 1.016) == SHIPPED  # noise on shipped's code
    assert mk(0.99, 0.99) == CAND
    assert mk(0.99, t=txt.replace("pass 20 fail 0", "pass 19 fail 1")) == SHIPPED
    assert mk(0.99, t="") == SHIPPED
    assert mk(0.99, san=(2, "x", 0)) == SHIPPED
    assert mk(0.99, san=(0, "x", 3)) == CAND
    assert decide({"shapes": shapes, "builds": [{"name": "shipped", "us": base}]}, txt, out=lambda *_: None) == SHIPPED
    print("self-test ok")



if __name__ == "__main__":
    slot_rule_main(self_test, decide, SHIPPED, lambda argv: sanitizers(argv[3] if len(argv) > 3 else None))

#!/usr/bin/env python3
"""Session 18, helper h2, round 3: the ship rule of sparse_sm90.cu's bits 48 / 50 on the one-CTA V3.2 entries (48: the row
address in unsigned 32-bit arithmetic; 50: the tile's validity flags written by one producer warp after the rounds), written
in docs/notes/cuda-sparse-decode.md ("Session 18, helper h2, round 3") before any run; s18_h2r3_slot.sh's last step.

  python3 bench/cuda/hopper/s18_h2r3_rule.py ABV32H64.json AB12.json AB.txt SAN_DIR      # or --self-test

ABV32H64.json: sparse-sm90-final-ab.js --shapes v32h64 (shipped, A = +48, B = +50, AB = +48 +50; FlashMLA's times of the
same call); AB12.json: the same tool on FlashMLA's 12 shapes (shipped and AB; none of them reaches a one-CTA V3.2 entry, so
both run shipped's code there: the noise guard); AB.txt: sparse-sm90-final-ab.sh's stdout (check lines); SAN_DIR: the slot's
$OUT, with san-m<mode>/san-memcheck.txt per candidate (memcheck at h_q 64). A build counts only if its checks passed (goldens
all, random sm90 cases at h_q 64 with 0 failures) and its memcheck finished with 0 errors. The V3.2 h_q 64 class (the four
v32h64 shapes): a counting build qualifies with a geomean time >= 0.5 % below shipped's and no shape > 0.5 % slower; the
fastest qualifying wins, AB only if >= 0.3 % faster than the better qualifying single-bit build. KEEP if the 12 shapes were
not timed or their geomean (the same code) is off by > 1.5 % (noise). Last line: SHIP <mode> (...) or KEEP 6877596141925228552.
"""
import json, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import SHAPES12, checks_ok, gm, load_arg, qualifies, times  # noqa: E402

SHIPPED = 6877596141925228552
B48, B50 = 1 << 48, 1 << 50
A, B, AB = SHIPPED + B48, SHIPPED + B50, SHIPPED + B48 + B50
TAGS = ((A, "A (+48)"), (B, "B (+50)"), (AB, "AB (+48 +50)"))


def memcheck(d, mode):
    """memcheck's error count in SAN_DIR/san-m<mode>/san-memcheck.txt, None if it did not finish (or did not run)."""
    f = os.path.join(d or "", "san-m%d" % mode, "san-memcheck.txt")
    if not d or not os.path.exists(f):
        return None
    m = re.search(r"ERROR SUMMARY: (\d+) error", open(f, errors="replace").read())
    return int(m.group(1)) if m else None


def decide(abv, ab12, ab_txt, mems, out=print):
    sv = times(abv, "shipped")
    fm = abv.get("flashmlaUs") or []
    if sv and len(fm) == len(sv) == 4:
        out("shipped V3.2 h64 vs FlashMLA %.4f (%s)" % (gm([f / s for f, s in zip(fm, sv)]), " ".join("%.1f" % s for s in sv)))
    q = {}
    for mode, tag in TAGS:
        ok, mem = checks_ok(ab_txt, mode), mems.get(mode)
        tv = times(abv, "m%d" % mode)
        line = "%s m%d: checks %s | memcheck %s" % (tag, mode, "pass" if ok else "FAIL/missing", "not finished" if mem is None else "%d errors" % mem)
        if tv and sv and len(tv) == len(sv) == 4:
            r = [t / s for t, s in zip(tv, sv)]
            vs = " | vs FlashMLA %.4f" % gm([f / t for f, t in zip(fm, tv)]) if len(fm) == 4 else ""
            counts = ok and mem == 0
            line += " | V3.2 h64 time / shipped %.4f (%s)%s -> %s" % (gm(r), " ".join("%.3f" % x for x in r), vs,
                                                                     ("qualifies" if qualifies(r) else "no") if counts else "does not count")
            if counts and qualifies(r):
                q[mode] = gm(r)
        else:
            line += " | V3.2 h64 not timed"
        out(line)
    s12, t12 = times(ab12, "shipped"), times(ab12, "m%d" % AB)
    if not s12 or not t12 or len(s12) != 12 or len(t12) != 12:
        out("12 shapes (the same code): not timed")
        return "KEEP %d (no 12-shape guard)" % SHIPPED
    r12 = [t / s for t, s in zip(t12, s12)]
    out("12 shapes (the same code) AB / shipped geomean %.4f, max |1 - r| %.4f" % (gm(r12), max(abs(x - 1) for x in r12)))
    if abs(gm(r12) - 1) > 0.015:
        return "KEEP %d (the 12 shapes, the same code, moved > 1.5 %%: too noisy)" % SHIPPED
    if not q:
        return "KEEP %d (no build qualifies on V3.2 h_q 64)" % SHIPPED
    win = min(q, key=q.get)
    if win == AB:
        singles = [m for m in (A, B) if m in q]
        if singles and q[min(singles, key=q.get)] - q[AB] < 0.003:
            win = min(singles, key=q.get)
    tag = dict(TAGS)[win]
    return "SHIP %d (%s: V3.2 h_q 64 time / shipped %.4f)" % (win, tag, q[win])


def self_test():
    v = [128.5, 246.2, 84.6, 127.7]
    base = [186.0, 366, 97, 186, 84, 145, 110, 190, 100, 222, 123, 158]
    txt = "".join("m%d: checks pass 20 fail 0 (goldens 12/12, x) | not timed\n" % m for m, _ in TAGS)
    mem0 = {m: 0 for m, _ in TAGS}

    def mk(fv, f12=1.0, t=txt, mems=mem0, twelve=True):
        abv = {"flashmlaUs": [118.1, 226.4, 77.8, 117.7], "builds": [{"name": "shipped", "us": v}] + [
            {"name": "m%d" % m, "us": [x * fv.get(m, 1.0) for x in v]} for m, _ in TAGS]}
        ab12 = {"shapes": list(SHAPES12), "builds": [{"name": "shipped", "us": base}, {"name": "m%d" % AB, "us": [x * f12 for x in base]}]} if twelve else {}
        return decide(abv, ab12, t, mems, out=lambda *_: None)

    assert mk({}).startswith("KEEP")
    assert mk({A: 0.99}).startswith("SHIP %d " % A)
    assert mk({B: 0.99}).startswith("SHIP %d " % B)
    assert mk({A: 0.99, B: 0.992, AB: 0.98}).startswith("SHIP %d " % AB)
    assert mk({A: 0.99, B: 0.992, AB: 0.988}).startswith("SHIP %d " % A)  # AB within 0.3 % of the better single
    assert mk({AB: 0.99}).startswith("SHIP %d " % AB)
    assert mk({A: 0.996}).startswith("KEEP")  # less than 0.5 %
    assert mk({A: 0.99}, f12=1.02).startswith("KEEP")  # the same code moved: noise
    assert mk({A: 0.99}, twelve=False).startswith("KEEP")
    assert mk({A: 0.99}, t=txt.replace("m%d: checks pass 20 fail 0" % A, "m%d: checks pass 19 fail 1" % A)).startswith("KEEP")
    assert mk({A: 0.99, B: 0.995}, mems={A: None, B: 0, AB: 0}).startswith("SHIP %d " % B)  # A's memcheck did not finish
    assert mk({A: 0.99}, mems={A: 1, B: 0, AB: 0}).startswith("KEEP")
    abv = {"builds": [{"name": "shipped", "us": v}, {"name": "m%d" % A, "us": [x * 0.9 for x in v[:3]]}]}
    assert decide(abv, {}, txt, mem0, out=lambda *_: None).startswith("KEEP")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)

    load = load_arg
    abv, ab12 = load(1), load(2)
    ab_txt = open(sys.argv[3]).read() if len(sys.argv) > 3 and os.path.exists(sys.argv[3]) else ""
    d = sys.argv[4] if len(sys.argv) > 4 else None
    print(decide(abv, ab12, ab_txt, {m: memcheck(d, m) for m, _ in TAGS}))

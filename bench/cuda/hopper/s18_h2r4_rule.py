#!/usr/bin/env python3
"""Session 18, helper h2, round 4: the ship rule of sparse_sm90.cu's bits 51 / 44 on the MODEL1 pair entries (51: the token's
row and scale row addressed in unsigned 32-bit arithmetic; 44: the CTA's 32 validity flags a tile written by one producer warp
after the rounds, here and into the peer's stage), written in docs/notes/cuda-sparse-decode.md ("Session 18, helper h2,
round 4") before any run; s18_h2r4_slot.sh's last step.

  python3 bench/cuda/hopper/s18_h2r4_rule.py ABM1PAIR.json AB.txt SAN_DIR [M1ITEMS.json]      # or --self-test

ABM1PAIR.json: sparse-sm90-final-ab.js --shapes m1pair (shipped, A = +51, B = +44, AB = +51 +44; FlashMLA's times of the same
call): FlashMLA's four MODEL1 h_q 128 shapes (the pair entries), then its MODEL1 h_q 64 k1024 shape (a one-CTA entry, the
same code in every build: the noise guard). AB.txt: sparse-sm90-final-ab.sh's stdout (check lines); SAN_DIR: the slot's $OUT
with san-m<mode>/san-memcheck.txt per candidate (memcheck at h_q 128). M1ITEMS.json (optional, logged only): the item probe,
each build's steady tile (sparse_sm90_items_s13.py's fit).
A build counts only if its checks passed (goldens all, random sm90 cases at h_q 128 with 0 failures) and its memcheck
finished with 0 errors. The MODEL1 pair class (the four h_q 128 shapes): a counting build qualifies with a geomean time
>= 0.5 % below shipped's and no shape > 0.5 % slower; the fastest qualifying wins, AB only if >= 0.3 % faster than the better
qualifying single-bit build. KEEP if the guard shape was not timed for a qualifying build or moved by > 1.5 % in any timed
build (noise). Last line: SHIP <mode> (...) or KEEP 6879003516808781832 (...).
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import checks_ok, gm, load_arg, qualifies, times  # noqa: E402
from s18_h2r3_rule import memcheck  # noqa: E402
from s18_h2r2_rule import tiles  # noqa: E402

SHIPPED = 6879003516808781832
B51, B44 = 1 << 51, 1 << 44
A, B, AB = SHIPPED + B51, SHIPPED + B44, SHIPPED + B51 + B44
TAGS = ((A, "A (+51)"), (B, "B (+44)"), (AB, "AB (+51 +44)"))
NPAIR = 4  # the m1pair set: four pair shapes, then the guard


def decide(abp, ab_txt, mems, items=None, out=print):
    sp = times(abp, "shipped")
    fm = (abp.get("flashmlaUs") or [])[:NPAIR]
    fm_ok = len(fm) == NPAIR and all(isinstance(f, (int, float)) for f in fm)
    if sp and len(sp) >= NPAIR and fm_ok:
        out("shipped MODEL1 pair vs FlashMLA %.4f (%s)" % (gm([f / s for f, s in zip(fm, sp)]), " ".join("%.1f" % s for s in sp[:NPAIR])))
    if items:
        try:
            x = tiles(items)
            out("item probe: " + ", ".join("%s %.3f" % (n, v[0]) for n, v in x.items()) + " us a tile")
        except Exception as e:  # logged only
            out("item probe: not read (%s)" % e.__class__.__name__)
    q, noisy = {}, False
    for mode, tag in TAGS:
        ok, mem = checks_ok(ab_txt, mode), mems.get(mode)
        tp = times(abp, "m%d" % mode)
        line = "%s m%d: checks %s | memcheck %s" % (tag, mode, "pass" if ok else "FAIL/missing", "not finished" if mem is None else "%d errors" % mem)
        if tp and sp and len(tp) >= NPAIR and len(sp) >= NPAIR:
            r = [t / s for t, s in zip(tp[:NPAIR], sp[:NPAIR])]
            vs = " | vs FlashMLA %.4f" % gm([f / t for f, t in zip(fm, tp)]) if fm_ok else ""
            guard = tp[NPAIR] / sp[NPAIR] if len(tp) > NPAIR and len(sp) > NPAIR else None
            noisy = noisy or (guard is not None and abs(guard - 1) > 0.015)
            counts = ok and mem == 0
            line += " | MODEL1 pair time / shipped %.4f (%s)%s | guard %s -> %s" % (
                gm(r), " ".join("%.3f" % x for x in r), vs, "not timed" if guard is None else "%.3f" % guard,
                ("qualifies" if qualifies(r) else "no") if counts else "does not count")
            if counts and qualifies(r) and guard is not None:
                q[mode] = gm(r)
        else:
            line += " | MODEL1 pair not timed"
        out(line)
    if noisy:
        return "KEEP %d (the guard shape, the same code, moved > 1.5 %%: too noisy)" % SHIPPED
    if not q:
        return "KEEP %d (no build qualifies on the MODEL1 pair shapes)" % SHIPPED
    win = min(q, key=q.get)
    if win == AB:
        singles = [m for m in (A, B) if m in q]
        if singles and q[min(singles, key=q.get)] - q[AB] < 0.003:
            win = min(singles, key=q.get)
    return "SHIP %d (%s: MODEL1 pair time / shipped %.4f)" % (win, dict(TAGS)[win], q[win])


def self_test():
    v = [117.0, 204.0, 226.0, 156.5, 141.4]
    txt = "".join("m%d: checks pass 21 fail 0 (goldens 12/12, x) | not timed\n" % m for m, _ in TAGS)
    mem0 = {m: 0 for m, _ in TAGS}

    def mk(fv, g=1.0, t=txt, mems=mem0, n=5):
        abp = {"flashmlaUs": [102.5, 175.6, 203.4, 149.2, 132.8], "builds": [{"name": "shipped", "us": v[:n]}] + [
            {"name": "m%d" % m, "us": [x * fv.get(m, 1.0) for x in v[:4]] + [v[4] * g][: n - 4]} for m, _ in TAGS]}
        return decide(abp, t, mems, out=lambda *_: None)

    assert mk({}).startswith("KEEP")
    assert mk({A: 0.99}).startswith("SHIP %d " % A)
    assert mk({B: 0.99}).startswith("SHIP %d " % B)
    assert mk({A: 0.99, B: 0.992, AB: 0.98}).startswith("SHIP %d " % AB)
    assert mk({A: 0.99, B: 0.992, AB: 0.988}).startswith("SHIP %d " % A)  # AB within 0.3 % of the better single
    assert mk({AB: 0.99}).startswith("SHIP %d " % AB)
    assert mk({A: 0.996}).startswith("KEEP")  # less than 0.5 %
    assert mk({A: 0.99}, g=1.02).startswith("KEEP")  # the guard moved: noise
    assert mk({A: 0.99}, n=4).startswith("KEEP")  # no guard timed
    assert mk({A: 0.99}, t=txt.replace("m%d: checks pass 21 fail 0" % A, "m%d: checks pass 20 fail 1" % A)).startswith("KEEP")
    assert mk({A: 0.99, B: 0.995}, mems={A: None, B: 0, AB: 0}).startswith("SHIP %d " % B)  # A's memcheck did not finish
    assert mk({A: 0.99}, mems={A: 1, B: 0, AB: 0}).startswith("KEEP")
    abp = {"builds": [{"name": "shipped", "us": v}, {"name": "m%d" % A, "us": [x * 0.9 for x in v[:3]]}]}
    assert decide(abp, txt, mem0, out=lambda *_: None).startswith("KEEP")  # cut: three shapes only
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)

    load = load_arg
    abp = load(1)
    ab_txt = open(sys.argv[2]).read() if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else ""
    d = sys.argv[3] if len(sys.argv) > 3 else None
    items = load(4) if len(sys.argv) > 4 else None
    print(decide(abp, ab_txt, {m: memcheck(d, m) for m, _ in TAGS}, items))

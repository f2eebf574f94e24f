#!/usr/bin/env python3
"""Session 16, helper h2: the ship rule of bits 57 / 58 / 59 (sparse_sm90.cu's one-CTA entries: 57 the V3.2 store phase
as straight-line code, 58 the same for MODEL1, 59 FlashMLA's cache hints on the V3.2 gather), written in
docs/notes/cuda-sparse-decode.md ("Session 16, helper h2") before any run.

  python3 bench/cuda/hopper/s16_h2_rule.py AB12.json ABV32H64.json AB.txt     (s16_h2_slot.sh's outputs)
  python3 bench/cuda/hopper/s16_h2_rule.py --self-test

AB12.json: sparse-sm90-final-ab.js --json on FlashMLA's 12 shapes (shipped, A, B, D, E); ABV32H64.json: the same tool
with --shapes v32h64 (FlashMLA's four V3.2 shapes at h_q 64); AB.txt: sparse-sm90-final-ab.sh's stdout (check lines).
A build counts only if its checks passed (goldens all, random cases 0 failures). V3.2 one-CTA class (the four v32h64
shapes): A (+57), D (+59), E (+57 +59) each qualify with a geomean time >= 0.5 % below shipped's and no shape > 0.5 %
slower; the fastest qualifying wins, but E only if >= 0.3 % faster than the better qualifying single-bit build. MODEL1
one-CTA class (the four h64 shapes of the 12): B (+57 +58) against shipped, the same test. Guard: the eight pair
(h_q 128) shapes run shipped's code in every build; if any build's pair geomean is off by > 1.5 %: KEEP (noise). The
shipped mode is shipped + the winner's bits + 58 if MODEL1 qualifies (every such mode's entries are timed builds' code,
compared offline). Last line: SHIP <mode> (...) or KEEP 5103110557851656 (...).
"""
import json, math, os, re, sys

B57, B58, B59 = 1 << 57, 1 << 58, 1 << 59
SHIPPED = 5103110557851656
A, B, D, E = SHIPPED + B57, SHIPPED + B57 + B58, SHIPPED + B59, SHIPPED + B57 + B59
C = SHIPPED + B58  # never timed: its entries are the timed builds' (see the note)
PROBE = 5103110566240264  # shipped + bit 23 (no conversion): logged, never decides


# FlashMLA's 12 sparse shapes as sparse-sm90-final-ab.js labels them (the rules' self-tests build their JSON from it).
SHAPES12 = ("V3.2 b64 h128 s2 k2048", "V3.2 b128 h128 s2 k2048", "V3.2 b64 h128 s1 k2048", "V3.2 b128 h128 s1 k2048",
            "M1 b128 h64 s2 k512", "M1 b128 h64 s2 k1024", "M1 b128 h128 s2 k512", "M1 b128 h128 s2 k1024",
            "M1 b128 h64 s2 k128+512", "M1 b128 h128 s2 k128+1024", "M1 b128 h64 s2 k128+1024/2L", "M1 b128 h128 s2 k128+1024/2L")


def gm(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def checks_ok(ab_txt, mode):
    m = re.search(r"^m%d: checks pass (\d+) fail (\d+) \(goldens (\d+)/(\d+)" % mode, ab_txt, re.M)
    return bool(m) and int(m.group(1)) > 0 and int(m.group(2)) == 0 and int(m.group(3)) == int(m.group(4)) > 0


def times(j, name):
    for b in j.get("builds", []):
        if b["name"] == name:
            return b["us"]
    return None


def qualifies(r):
    return len(r) > 0 and gm(r) <= 0.995 and max(r) <= 1.005


def decide(ab12, abv, ab_txt, out=print):
    shapes = ab12.get("shapes", [])
    one = [i for i, s in enumerate(shapes) if " h64 " in s and s.startswith("M1")]
    pair = [i for i, s in enumerate(shapes) if " h128 " in s]
    s12, sv = times(ab12, "shipped"), times(abv, "shipped")
    noisy, v32, m1 = False, {}, False
    for mode, tag in ((A, "A"), (B, "B"), (D, "D"), (E, "E")):
        n = "m%d" % mode
        ok = checks_ok(ab_txt, mode)
        t12, tv = times(ab12, n), times(abv, n)
        out("%s %s: checks %s" % (tag, n, "pass" if ok else "FAIL/missing"))
        if not ok:
            continue
        if t12 is not None and s12 is not None:
            pr = [t12[i] / s12[i] for i in pair]
            out("%s pair (same code) geomean time / shipped %.4f (%s)" % (tag, gm(pr), " ".join("%.3f" % r for r in pr)))
            noisy = noisy or abs(gm(pr) - 1) > 0.015
            if tag == "B":
                r1 = [t12[i] / s12[i] for i in one]
                m1 = qualifies(r1)
                out("B MODEL1 one-CTA geomean time / shipped %.4f (%s): %s" % (gm(r1), " ".join("%.3f" % r for r in r1), "qualifies" if m1 else "no"))
        if tag != "B" and tv is not None and sv is not None and len(tv) == len(sv) == 4:
            rv = [t / s for t, s in zip(tv, sv)]
            fm = abv.get("flashmlaUs") or []
            vs = " | vs FlashMLA %.3f -> %.3f" % (gm([f / s for f, s in zip(fm, sv)]), gm([f / t for f, t in zip(fm, tv)])) if len(fm) == 4 else ""
            out("%s V3.2 h64 one-CTA geomean time / shipped %.4f (%s): %s%s" % (tag, gm(rv), " ".join("%.3f" % r for r in rv), "qualifies" if qualifies(rv) else "no", vs))
            if qualifies(rv):
                v32[tag] = gm(rv)
    tp = times(abv, "m%d" % PROBE)
    if tp is not None and sv is not None:
        rp = [t / s for t, s in zip(tp, sv)]
        out("probe m%d (no conversion) V3.2 h64 time / shipped %.4f (%s)" % (PROBE, gm(rp), " ".join("%.3f" % r for r in rp)))
    if noisy:
        return "KEEP %d (pair shapes, the same code, moved > 1.5 %%: too noisy)" % SHIPPED
    win = None
    if v32:
        win = min(v32, key=v32.get)
        if win == "E":  # both bits only if they beat the better single one by >= 0.3 %
            singles = [t for t in ("A", "D") if t in v32]
            if singles:
                best = min(singles, key=v32.get)
                if v32[best] - v32["E"] < 0.003:
                    win = best
    mode = SHIPPED + (B57 if win in ("A", "E") else 0) + (B59 if win in ("D", "E") else 0) + (B58 if m1 else 0)
    if mode == SHIPPED:
        return "KEEP %d (no one-CTA class qualifies)" % SHIPPED
    bits = [b for b, on in ((57, win in ("A", "E")), (58, m1), (59, win in ("D", "E"))) if on]
    return "SHIP %d (shipped + bits %s: V3.2 one-CTA %s, MODEL1 one-CTA %s)" % (mode, " + ".join(map(str, bits)), win or "none", "yes" if m1 else "no")


def self_test():
    shapes = list(SHAPES12)
    base = [200.0, 400, 110, 210, 86, 147, 129, 215, 101, 237, 126, 162]
    v = [171.5, 333.5, 110.1, 171.8]
    txt = "".join("m%d: checks pass 20 fail 0 (goldens 12/12, x) | g\n" % m for m in (A, B, D, E))
    one = [1 if " h64 " in s else 0 for s in shapes]
    same = [1.0] * 12
    m1fast = [0.97 if o else 1.0 for o in one]

    def mk(f12, fv, t=txt):  # f12: build tag -> 12 factors; fv: tag -> v32h64 factor
        ab12 = {"shapes": shapes, "builds": [{"name": "shipped", "us": base}] + [
            {"name": "m%d" % m, "us": [x * f for x, f in zip(base, f12.get(tag, same))]} for m, tag in ((A, "A"), (B, "B"), (D, "D"), (E, "E"))]}
        abv = {"flashmlaUs": [118.3, 226.8, 77.7, 118.1], "builds": [{"name": "shipped", "us": v}] + [
            {"name": "m%d" % m, "us": [x * fv.get(tag, 1.0) for x in v]} for m, tag in ((A, "A"), (D, "D"), (E, "E"))]}
        return decide(ab12, abv, t, out=lambda *_: None)

    assert mk({"B": m1fast}, {"A": 0.96}).startswith("SHIP %d " % B)
    assert mk({}, {"A": 0.96}).startswith("SHIP %d " % A)
    assert mk({"B": m1fast}, {}).startswith("SHIP %d " % C)
    assert mk({}, {"D": 0.95, "A": 0.97}).startswith("SHIP %d " % D)
    assert mk({}, {"D": 0.95, "A": 0.97, "E": 0.93}).startswith("SHIP %d " % E)
    assert mk({}, {"D": 0.95, "A": 0.97, "E": 0.948}).startswith("SHIP %d " % D)  # E within 0.3 %: the single bit
    assert mk({"B": m1fast}, {"E": 0.93}).startswith("SHIP %d " % (E + B58))
    assert mk({}, {"A": 0.998}).startswith("KEEP")  # 0.2 % is not enough
    assert mk({"D": [1.02] * 12}, {"A": 0.96}).startswith("KEEP")  # pair (same code) moved: noise
    bad = txt.replace("m%d: checks pass 20 fail 0" % A, "m%d: checks pass 19 fail 1" % A)
    assert mk({"B": m1fast}, {"A": 0.96}, t=bad).startswith("SHIP %d " % C)  # A failed: its V3.2 class cannot ship
    assert mk({"B": m1fast}, {"A": 0.96}, t="").startswith("KEEP")
    print("self-test ok")



def slot_rule_main(self_test, decide, shipped, extra=None):
    """A slot rule's command line: `--self-test`, else decide(AB.json, AB.txt text[, extra(argv)]) with KEEP <shipped> when
    the timing JSON is missing (the A/B did not get that far). Shared by the session-17 rules."""
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    try:
        ab12 = json.load(open(sys.argv[1]))
    except Exception as e:  # no timing file: the A/B did not get that far
        print("KEEP %d (no timing: %s)" % (shipped, e.__class__.__name__))
        sys.exit()
    txt = open(sys.argv[2]).read() if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else ""
    if extra is None:
        decide(ab12, txt)
    else:
        decide(ab12, txt, extra(sys.argv))

def load_arg(i):
    """The JSON file named by sys.argv[i], or {} (said on stdout) when it is missing or cut off: that step was not timed."""
    try:
        return json.load(open(sys.argv[i]))
    except Exception as e:
        print("no %s (%s)" % (sys.argv[i] if len(sys.argv) > i else "file", e.__class__.__name__))
        return {}


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)

    ab12, abv = load_arg(1), load_arg(2)
    ab_txt = open(sys.argv[3]).read() if len(sys.argv) > 3 else ""
    print(decide(ab12, abv, ab_txt))

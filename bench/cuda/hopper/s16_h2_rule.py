#!/usr/bin/env python3
"""Session 16, helper h2: the ship rule of bits 57 / 58 (sparse_sm90.cu's straight-line store phase on the one-CTA
entries), written in docs/notes/cuda-sparse-decode.md ("Session 16, helper h2") before any run.

  python3 bench/cuda/hopper/s16_h2_rule.py AB12.json ABV32H64.json AB.txt     (s16_h2_slot.sh's outputs)
  python3 bench/cuda/hopper/s16_h2_rule.py --self-test

AB12.json: sparse-sm90-final-ab.js --json on FlashMLA's 12 shapes (shipped, mA, mB); ABV32H64.json: the same tool with
--shapes v32h64 (FlashMLA's four V3.2 shapes at h_q 64); AB.txt: sparse-sm90-final-ab.sh's stdout (check lines).
Classes: V3.2 one-CTA = the four v32h64 shapes, decided by A (bit 57); MODEL1 one-CTA = the four h64 shapes of the 12,
decided by B (bits 57 + 58) against shipped. A class qualifies when its build's checks passed, its class geomean time
is >= 0.5 % below shipped's and no shape of the class is > 0.5 % slower. Guard: the eight pair (h_q 128) shapes run the
same code in all three builds; if any build's pair geomean is off shipped's by more than 1.5 %, the call is too noisy to
ship anything (KEEP). Last line: SHIP <mode> or KEEP <shipped mode> with the reasons.
"""
import json, math, re, sys

SHIPPED, A, B, C = 5103110557851656, 149218298633707528, 437448674785419272, 293333486709563400
PROBE = 5103110566240264  # shipped + bit 23 (no conversion): logged, never decides


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


def decide(ab12, abv, ab_txt, out=print):
    shapes = ab12.get("shapes", [])
    one = [i for i, s in enumerate(shapes) if " h64 " in s and s.startswith("M1")]
    pair = [i for i, s in enumerate(shapes) if " h128 " in s]
    s12, sv = times(ab12, "shipped"), times(abv, "shipped")
    verdict = {}
    noisy = False
    for mode, tag in ((A, "A"), (B, "B")):
        n = "m%d" % mode
        ok = checks_ok(ab_txt, mode)
        t12, tv = times(ab12, n), times(abv, n)
        out("%s %s: checks %s" % (tag, n, "pass" if ok else "FAIL/missing"))
        if not ok or t12 is None or s12 is None:
            verdict[tag] = (False, False)
            continue
        pr = [t12[i] / s12[i] for i in pair]
        pg = gm(pr)
        out("%s pair (same code) geomean time / shipped %.4f (%s)" % (tag, pg, " ".join("%.3f" % r for r in pr)))
        if abs(pg - 1) > 0.015:
            noisy = True
        r1 = [t12[i] / s12[i] for i in one]
        g1 = gm(r1)
        m1 = g1 <= 0.995 and max(r1) <= 1.005
        out("%s MODEL1 one-CTA geomean time / shipped %.4f (%s): %s" % (tag, g1, " ".join("%.3f" % r for r in r1), "qualifies" if m1 else "no"))
        v = False
        if tv is not None and sv is not None:
            rv = [tv[i] / sv[i] for i in range(len(sv))]
            gv = gm(rv)
            v = len(rv) == 4 and gv <= 0.995 and max(rv) <= 1.005
            fm = abv.get("flashmlaUs") or []
            vs = " | vs FlashMLA %.3f -> %.3f" % (gm([f / s for f, s in zip(fm, sv)]), gm([f / t for f, t in zip(fm, tv)])) if len(fm) == len(sv) else ""
            out("%s V3.2 h64 one-CTA geomean time / shipped %.4f (%s): %s%s" % (tag, gv, " ".join("%.3f" % r for r in rv), "qualifies" if v else "no", vs))
        verdict[tag] = (v, m1)
    tp = times(abv, "m%d" % PROBE)
    if tp is not None and sv is not None:
        rp = [t / s for t, s in zip(tp, sv)]
        out("probe m%d (no conversion) V3.2 h64 time / shipped %.4f (%s)" % (PROBE, gm(rp), " ".join("%.3f" % r for r in rp)))
    v32 = verdict.get("A", (False, False))[0]
    m1 = verdict.get("B", (False, False))[1]
    if noisy:
        return "KEEP %d (pair shapes, the same code, moved > 1.5 %%: too noisy)" % SHIPPED
    if v32 and m1:
        return "SHIP %d (bits 57 + 58: V3.2 and MODEL1 one-CTA classes qualify)" % B
    if v32:
        return "SHIP %d (bit 57: the V3.2 one-CTA class qualifies, MODEL1's does not)" % A
    if m1:
        return "SHIP %d (bit 58 alone: the MODEL1 one-CTA class qualifies, V3.2's does not)" % C
    return "KEEP %d (neither one-CTA class qualifies)" % SHIPPED


def self_test():
    shapes = ["V3.2 b64 h128 s2 k2048", "V3.2 b128 h128 s2 k2048", "V3.2 b64 h128 s1 k2048", "V3.2 b128 h128 s1 k2048",
              "M1 b128 h64 s2 k512", "M1 b128 h64 s2 k1024", "M1 b128 h128 s2 k512", "M1 b128 h128 s2 k1024",
              "M1 b128 h64 s2 k128+512", "M1 b128 h128 s2 k128+1024", "M1 b128 h64 s2 k128+1024/2L", "M1 b128 h128 s2 k128+1024/2L"]
    base = [200.0, 400, 110, 210, 86, 147, 129, 215, 101, 237, 126, 162]
    v = [171.5, 333.5, 110.1, 171.8]
    txt = "m%d: checks pass 20 fail 0 (goldens 12/12, x) | g\nm%d: checks pass 20 fail 0 (goldens 12/12, x) | g\n" % (A, B)

    def mk(fa, fb, va, vb, t=txt):
        ab12 = {"shapes": shapes, "builds": [{"name": "shipped", "us": base}, {"name": "m%d" % A, "us": [x * f for x, f in zip(base, fa)]},
                                             {"name": "m%d" % B, "us": [x * f for x, f in zip(base, fb)]}]}
        abv = {"flashmlaUs": [118.3, 226.8, 77.7, 118.1], "builds": [{"name": "shipped", "us": v}, {"name": "m%d" % A, "us": [x * va for x in v]},
                                                                    {"name": "m%d" % B, "us": [x * vb for x in v]}]}
        return decide(ab12, abv, t, out=lambda *_: None)

    one = [1 if " h64 " in s else 0 for s in shapes]
    same = [1.0] * 12
    m1fast = [0.97 if o else 1.0 for o in one]
    assert mk(same, m1fast, 0.96, 0.96).startswith("SHIP %d" % B)
    assert mk(same, same, 0.96, 0.96).startswith("SHIP %d" % A)
    assert mk(same, m1fast, 1.0, 1.0).startswith("SHIP %d" % C)
    assert mk(same, same, 0.998, 0.99).startswith("KEEP")  # 0.2 % is not enough
    assert mk([1.02] * 12, m1fast, 0.96, 0.96).startswith("KEEP")  # pair moved: noise
    assert mk(same, m1fast, 0.96, 0.96, t=txt.replace("m%d: checks pass 20 fail 0" % B, "m%d: checks pass 19 fail 1" % B)).startswith("SHIP %d" % A)  # B failed: A's V3.2 class alone
    bad = txt.replace("m%d: checks pass 20 fail 0" % A, "m%d: checks pass 19 fail 1" % A)
    assert mk(same, m1fast, 0.96, 0.96, t=bad).startswith("SHIP %d" % C)  # A failed: V3.2 cannot ship; B's MODEL1 can
    assert mk(same, m1fast, 0.96, 0.96, t="").startswith("KEEP")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    def load(i):
        try:
            return json.load(open(sys.argv[i]))
        except Exception as e:  # a missing or cut-off JSON: that side was not timed
            print("no %s (%s)" % (sys.argv[i] if len(sys.argv) > i else "file", e.__class__.__name__))
            return {}
    ab12, abv = load(1), load(2)
    ab_txt = open(sys.argv[3]).read() if len(sys.argv) > 3 else ""
    print(decide(ab12, abv, ab_txt))

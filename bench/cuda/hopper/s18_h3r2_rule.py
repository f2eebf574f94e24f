#!/usr/bin/env python3
"""Session 18 round 2, helper h3: the ship rule of the narrow entry build on the grid's 16 / 32-row configs, written
in docs/notes/cuda-hopper-decode.md ("Session 18 round 2 (h3r2)") before any run.

  python3 bench/cuda/hopper/s18_h3r2_rule.py DIR          (s18_h3r2_slot.sh's work folder)
  python3 bench/cuda/hopper/s18_h3r2_rule.py --self-test

Arm P = dist/cuda with decode_sm90.fatbin built -DMLA_SM90_LIB_VAR=7 (kNVarEntryPre + the shipped bits 1|2; the wide
fatbin stays main's); A = dist/cuda. Configs (s18_h3r2_configs.json, `flashmla bench --grid full --only
24,0,1,2,8,9,10,16,17,18`): b=1 s_k 32768 16 rows, then FlashMLA's grid rows the narrow kernel takes: b=128 x s_k
{1024, 4096, 8192} x (h_q 16 s_q 1, h_q 16 s_q 2, h_q 32 s_q 1).
DIR holds what s18_h3_rule.checks reads (sm90 / sm90w / cuda taps, sync.txt, libcheck.json) and bench-A-<n>.json /
bench-P-<n>.json (runs A P P A).
SHIP narrow if every check passed and, with r = P / A (mean of P's two runs over A's two): the geomean of r over the
nine grid configs <= 0.995, every grid config's r <= 1.005, and b=1's r <= 1.008. Noise guard: KEEP (noise) if A's
second run over its first, geomean over the nine grid configs, is outside [0.99, 1.01].
Last line: SHIP narrow (...) or KEEP lib (...).
"""
import math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s18_h3_rule as h3  # noqa: E402

NAMES = ("b=1 s_k 32768 16 rows",) + tuple(
    "b=128 s_k %d %s" % (sk, shape) for sk in (1024, 4096, 8192) for shape in ("h_q 16 s_q 1", "h_q 16 s_q 2", "h_q 32 s_q 1"))
GRID = range(1, 10)
GEO, EACH, B1, DRIFT = 0.995, 1.005, 1.008, 0.01


def runs(d, arm):
    return h3.runs(d, arm, len(NAMES))


def geomean(xs):
    xs = list(xs)
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def decide(d, out=print):
    ok, a, p = h3.checks(d, NAMES, out=out)
    if len(a) < 2 or len(p) < 2:
        return "KEEP lib (bench runs missing: A %d, P %d of 2)" % (len(a), len(p))
    r = [h3.mean_ms(p, i) / h3.mean_ms(a, i) for i in range(len(NAMES))]
    out("P / A: " + ", ".join("%s %.3f (%.1f vs %.1f us)" % (n, x, h3.mean_ms(p, i) * 1e3, h3.mean_ms(a, i) * 1e3)
                              for i, (n, x) in enumerate(zip(NAMES, r))))
    if not ok:
        return "KEEP lib (a check failed or is missing)"
    g = geomean(r[i] for i in GRID)
    worst = max(GRID, key=lambda i: r[i])
    drift = geomean(a[1][i]["ms"] / a[0][i]["ms"] for i in GRID)
    good = g <= GEO and r[worst] <= EACH and r[0] <= B1
    out("narrow (MLA_SM90_LIB_VAR=7): grid geomean %.4f (<= %.3f), worst %s %.3f (<= %.3f), b=1 %.3f (<= %.3f), "
        "A drift %.4f -> %s" % (g, GEO, NAMES[worst], r[worst], EACH, r[0], B1, drift,
                                "noise" if good and abs(drift - 1) > DRIFT else ("ships" if good else "keep")))
    summary = "grid geomean %.4f, worst %.3f, b=1 %.3f" % (g, r[worst], r[0])
    if not good:
        return "KEEP lib (%s)" % summary
    if abs(drift - 1) > DRIFT:
        return "KEEP lib (noise: A drift %.4f; %s)" % (drift, summary)
    return "SHIP narrow (%s)" % summary


def self_test():
    import json, tempfile

    def case(fp, fa2=None, fail=False):
        d = tempfile.mkdtemp()

        def put(name, text):
            open(os.path.join(d, name), "w").write(text)

        def row(ms):
            return {"ms": ms, "check": {"ok": True}}
        base = [0.0255, 0.0473, 0.0517, 0.0512, 0.158, 0.166, 0.165, 0.303, 0.318, 0.316]
        for n, arm in enumerate(("A", "P", "P", "A"), 1):
            f = fp if arm == "P" else (fa2 if (fa2 and n == 4) else [1] * 10)
            put("bench-%s-%d.json" % (arm, n), json.dumps({"rows": [row(x * y) for x, y in zip(base, f)]}))
        for k in ("sm90", "sm90w", "cuda"):
            put(k + ".tap", "# pass 9\n# fail %d\n" % (1 if fail and k == "sm90" else 0))
        put("sync.txt", "# pass 10\n# fail 0\n========= ERROR SUMMARY: 0 errors\n")
        put("libcheck.json", json.dumps({"rows": [row(1.0)] * 5}))
        return decide(d, out=lambda s: None)
    pred = [1.0, 0.979, 0.981, 0.981, 0.994, 0.994, 0.994, 0.997, 0.997, 0.997]  # the note's prediction
    assert case(pred).startswith("SHIP narrow"), case(pred)
    assert case(pred, fail=True).startswith("KEEP lib (a check")
    assert case([1.0] + [0.998] * 9).startswith("KEEP lib (grid geomean 0.998")  # level: not a gain
    assert case(pred[:9] + [1.006]).startswith("KEEP lib")  # one 32-row config worse
    assert case([1.009] + pred[1:]).startswith("KEEP lib")  # b=1 worse
    assert case([1.007] + pred[1:]).startswith("SHIP narrow")  # b=1 within its noise
    assert case(pred, fa2=[1.0] + [1.02] * 9).startswith("KEEP lib (noise")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        print(decide(sys.argv[1]))

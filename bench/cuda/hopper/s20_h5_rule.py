#!/usr/bin/env python3
"""Session 20 h5: the ship rule of the first item's Q by TMA in the wide kernel (decode_sm90_wide.cu kVarBQTma in the
library's VARB bits, q's tensor map from launch.ts sm90QMap with 64-row boxes), written in
docs/notes/cuda-hopper-decode.md ("Session 20 h5") before any run.

  python3 bench/cuda/hopper/s20_h5_rule.py DIR          (s20_h5_slot.sh's work folder)
  python3 bench/cuda/hopper/s20_h5_rule.py --self-test

Arms: A = dist/cuda (main's shipped decode_sm90_wide.fatbin; with this branch's TS its entries take no map), N = dist/cuda
with the kVarBQTma build (manifest rehashed). DIR holds sm90w-0.tap / sm90w-1.tap (sm90-wide.test's two shards: 0 with
the goldens and the q views) and cuda.tap (through N), san-{memcheck,synccheck}.{txt,rc} (compute-sanitizer over
flashmla bench --check 2 of s20_h5_san.json through N) and bench-A-<n>.json / bench-N-<n>.json (s20_h5_configs.json).
SHIP qtma-wide when every check passed (the three test files fail 0 with pass > 0; memcheck and synccheck rc 0 and 0
errors; every bench row of both arms checked ok), each arm ran >= 2 times, and N / A (mean over each arm's runs) is
<= 0.99 on the uneven batch, <= 1.01 on every other row, and <= 1.000 as the geometric mean of the eight b=128 rows.
Otherwise KEEP lib, with the first failed conditions. A line before the verdict reads the 128 / 256-row rows against the
64-row ones (the entry's size step, the note's (B): N's entry is 7012 instructions against 6923); it decides nothing.
Last line: SHIP qtma-wide (...) or KEEP lib (...).
"""
import json, math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s19_h5r5_rule import checks, ratios  # noqa: E402  (the checks and A's and N's runs; N / A a row)

NAMES = ("uneven b=4 64 rows", "s_k 1024 h32 s_q 2", "s_k 1024 h64", "s_k 1024 128 rows", "s_k 1024 256 rows",
         "s_k 8192 h32 s_q 2", "s_k 8192 h64", "s_k 8192 128 rows", "s_k 8192 256 rows")
LIMITS = (0.99,) + (1.01,) * 8
GEO = 1.000
ROWS64, WIDE = (1, 2, 5, 6), (3, 4, 7, 8)


def decide(d, out=print):
    fails, a, n = checks(d, ("sm90w-0", "sm90w-1", "cuda"), len(NAMES), out)
    if len(a) < 2 or len(n) < 2:
        fails.append("too few bench runs (A %d, N %d of 2)" % (len(a), len(n)))
        return "KEEP lib (" + "; ".join(fails[:3]) + ")"
    out("library bench (us, each run), N / A:")
    qs = ratios(a, n, NAMES, LIMITS, fails, out)
    geo = math.exp(sum(math.log(q) for q in qs[1:]) / len(qs[1:]))
    out("geometric mean of the b=128 rows: %.4f (limit %.3f)" % (geo, GEO))
    if geo > GEO:
        fails.append("b=128 geomean %.4f > %.3f" % (geo, GEO))
    m64, mw = sum(qs[i] for i in ROWS64) / 4, sum(qs[i] for i in WIDE) / 4
    step = mw >= 1.02 and m64 <= 1.005
    out("reading: 64-row rows mean %.3f, 128/256-row rows mean %.3f: %s" % (m64, mw, "reads as the size step (B): N's entry is 7012 instructions"
                                                                         if step else "no size step seen"))
    if fails:
        return "KEEP lib (" + "; ".join(fails[:3]) + ")"
    return "SHIP qtma-wide (checks pass; uneven %.3f, b=128 geomean %.4f, worst %.3f)" % (qs[0], geo, max(qs[1:]))


def self_test():
    import tempfile
    def make(d, unev=0.98, other=0.998, wide=None, fail=0, san=0, nruns=3, check=True):
        for f, p in (("sm90w-0", 14), ("sm90w-1", 1), ("cuda", 18)):
            open(os.path.join(d, f + ".tap"), "w").write("# pass %d\n# fail %d\n# skipped 0\n" % (p, fail if f == "sm90w-1" else 0))
        for t in ("memcheck", "synccheck"):
            open(os.path.join(d, "san-%s.rc" % t), "w").write("%d\n" % san)
            open(os.path.join(d, "san-%s.txt" % t), "w").write("========= ERROR SUMMARY: %d errors\n" % san)
        base = (0.0407, 0.045, 0.045, 0.08, 0.15, 0.32, 0.32, 0.60, 1.10)
        for k in range(nruns):
            for arm in ("A", "N"):
                rows = []
                for i, b in enumerate(base):
                    f = 1.0 if arm == "A" else (unev if i == 0 else (wide if wide is not None and i in WIDE else other))
                    rows.append({"ms": b * f, "check": {"ok": check}})
                json.dump({"rows": rows}, open(os.path.join(d, "bench-%s-%d.json" % (arm, k)), "w"))
    cases = [((), "SHIP"), ({"unev": 0.995}, "KEEP"), ({"other": 1.011}, "KEEP"), ({"other": 1.003}, "KEEP"),
             ({"wide": 1.05}, "KEEP"), ({"fail": 1}, "KEEP"), ({"san": 1}, "KEEP"), ({"nruns": 1}, "KEEP"),
             ({"check": False}, "KEEP"), ({"unev": 0.99, "other": 1.0}, "SHIP")]
    for kw, want in cases:
        with tempfile.TemporaryDirectory() as d:
            make(d, **dict(kw))
            got = decide(d, out=lambda *_: None)
            assert got.startswith(want), (kw, got)
    with tempfile.TemporaryDirectory() as d:
        assert decide(d, out=lambda *_: None).startswith("KEEP")  # nothing there
    print("self-test ok (%d cases)" % (len(cases) + 1))


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        print(decide(sys.argv[1]))

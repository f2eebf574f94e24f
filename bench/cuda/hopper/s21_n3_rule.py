#!/usr/bin/env python3
"""Session 21 n3: the ship rule of every item's Q by TMA in the wide kernel (decode_sm90_wide.cu kVarBQAll with kVarBQTma
on the library's VARB bits; q's tensor map from launch.ts sm90QMap, 64-row boxes), written in
docs/notes/cuda-hopper-decode.md ("Session 21 (n3)") before any run.

  python3 bench/cuda/hopper/s21_n3_rule.py DIR          (s21_n3_slot.sh's work folder)
  python3 bench/cuda/hopper/s21_n3_rule.py --self-test

Arms: A = dist/cuda (the shipped decode_sm90_wide.fatbin, no map), N = dist/cuda with the kVarBQAll build, F = the same
with the first item's Q only (kVarBQTma, session 20 h5's bit on today's library bits); both with manifest rehashed and
FLASHMLA_CUDA_SM90W_QMAP=1. DIR holds sm90w-0.tap / sm90w-1.tap (sm90-wide.test's two shards through N: 0 with the
goldens, the q views and the many-item parts; 1 the random cases) and cuda.tap (through N), san-{memcheck,synccheck}.
{txt,rc} (compute-sanitizer over flashmla bench --check 2 of s21_n3_san.json through N) and bench-{A,N,F}-<n>.json
(s21_n3_configs.json: b=128, s_k 1024 x 64 / 128 / 128 / 256 rows, s_k 8192 x 256 / 64 rows).
SHIP qall-wide when every check passed (the three test files fail 0 with pass > 0; memcheck and synccheck rc 0 and 0
errors; every bench row of every arm checked ok), A and N ran >= 2 times each, the geometric mean of N / A (each row the
mean over each arm's runs) over the four s_k 1024 rows is <= 0.985, and no row's N / A is above 1.005. Otherwise KEEP
lib, with the first failed conditions. The F lines (F / A, N / F) decide nothing. Last line: SHIP qall-wide (...) or
KEEP lib (...).
"""
import math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s19_h5r5_rule import checks, main, run_cases, runs  # noqa: E402  (the checks, and each arm's runs)

NAMES = ("s_k 1024 64 rows", "s_k 1024 h64 s_q 2", "s_k 1024 h128", "s_k 1024 256 rows", "s_k 8192 256 rows", "s_k 8192 64 rows")
LIMIT = 1.005
GEO = 0.985
SHORT = (0, 1, 2, 3)


def decide(d, out=print):
    fails, a, n = checks(d, ("sm90w-0", "sm90w-1", "cuda"), len(NAMES), out)
    f = runs(d, "F", len(NAMES))
    if f and not all((row.get("check") or {}).get("ok", False) for r in f for row in r):
        out("F's bench rows: a check FAILED (F decides nothing)")
    if len(a) < 2 or len(n) < 2:
        fails.append("too few bench runs (A %d, N %d of 2)" % (len(a), len(n)))
        return "KEEP lib (" + "; ".join(fails[:3]) + ")"
    out("library bench (us, each run), N / A:")
    qs = []
    for i, nm in enumerate(NAMES):
        xa, xn = [r[i]["ms"] * 1e3 for r in a], [r[i]["ms"] * 1e3 for r in n]
        q = (sum(xn) / len(xn)) / (sum(xa) / len(xa))
        qs.append(q)
        over = q > LIMIT + 1e-9
        out("  %-20s A %s | N %s | N/A %.3f (limit %.3f) %s" % (nm, "/".join("%.1f" % x for x in xa), "/".join("%.1f" % x for x in xn),
                                                              q, LIMIT, "OVER" if over else "ok"))
        if over:
            fails.append("%s N/A %.3f > %.3f" % (nm, q, LIMIT))
    geo = math.exp(sum(math.log(qs[i]) for i in SHORT) / len(SHORT))
    out("geometric mean of the s_k 1024 rows: %.4f (limit %.3f)" % (geo, GEO))
    if geo > GEO + 1e-9:
        fails.append("s_k 1024 geomean %.4f > %.3f" % (geo, GEO))
    if f:
        out("F (first item's Q only; %d run%s, decides nothing): F / A, N / F" % (len(f), "" if len(f) == 1 else "s"))
        for i, nm in enumerate(NAMES):
            m = lambda rs: sum(r[i]["ms"] for r in rs) / len(rs)
            out("  %-20s F %s | F/A %.3f | N/F %.3f" % (nm, "/".join("%.1f" % (r[i]["ms"] * 1e3) for r in f), m(f) / m(a), m(n) / m(f)))
    if fails:
        return "KEEP lib (" + "; ".join(fails[:3]) + ")"
    return "SHIP qall-wide (checks pass; s_k 1024 geomean %.4f, worst %.3f)" % (geo, max(qs))


def self_test():
    import json, tempfile
    def make(d, short=0.97, long=0.995, one=None, fail=0, san=0, nruns=3, check=True, fr=2):
        for t, p in (("sm90w-0", 16), ("sm90w-1", 1), ("cuda", 18)):
            open(os.path.join(d, t + ".tap"), "w").write("# pass %d\n# fail %d\n# skipped 0\n" % (p, fail if t == "sm90w-1" else 0))
        for t in ("memcheck", "synccheck"):
            open(os.path.join(d, "san-%s.rc" % t), "w").write("%d\n" % san)
            open(os.path.join(d, "san-%s.txt" % t), "w").write("========= ERROR SUMMARY: %d errors\n" % san)
        base = (0.050, 0.080, 0.080, 0.150, 1.02, 0.32)
        k = 0
        for arm, cnt in (("A", nruns), ("N", nruns), ("F", fr)):
            for _ in range(cnt):
                rows = []
                for i, b in enumerate(base):
                    q = 1.0 if arm == "A" else (0.985 if arm == "F" else (short if i in SHORT else long))
                    if arm == "N" and one is not None and i == one[0]:
                        q = one[1]
                    rows.append({"ms": b * q, "check": {"ok": check}})
                json.dump({"rows": rows}, open(os.path.join(d, "bench-%s-%d.json" % (arm, k)), "w"))
                k += 1
    cases = [((), "SHIP"), ({"short": 0.99}, "KEEP"), ({"long": 1.006}, "KEEP"), ({"one": (0, 1.01)}, "KEEP"),
             ({"one": (4, 1.005)}, "SHIP"), ({"short": 0.985, "long": 1.005}, "SHIP"), ({"fail": 1}, "KEEP"), ({"san": 1}, "KEEP"),
             ({"nruns": 1}, "KEEP"), ({"check": False}, "KEEP"), ({"fr": 0}, "SHIP")]
    run_cases(decide, make, cases)


if __name__ == "__main__":
    main(decide, self_test)

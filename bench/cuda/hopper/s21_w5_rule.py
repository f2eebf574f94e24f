#!/usr/bin/env python3
"""Session 21 w5: the ship rule of the staged output rows in the last tile's stage (decode_sm90_wide.cu kVarBStK on the
library's VARB bits, so every item with tiles issues its successor's Q in its last pair), written in
docs/notes/cuda-hopper-decode.md ("Session 21 (w5)") before any run.

  python3 bench/cuda/hopper/s21_w5_rule.py DIR          (s21_w5_slot.sh's work folder)
  python3 bench/cuda/hopper/s21_w5_rule.py --self-test

Arms: A = dist/cuda (the shipped fatbins), N = dist/cuda with the kVarBStK build of decode_sm90_wide.fatbin, P = the
same with kVarBStKPf too (the producer asks L2 for each item's second page); manifests rehashed; all with the q-map
launch (the default). DIR holds sm90w-0.tap / sm90w-1.tap (sm90-wide.test's two shards through N), cuda.tap (through
N), san-{memcheck,synccheck}.{txt,rc} (compute-sanitizer over flashmla bench --check 2 of s21_w5_san.json through N),
sanP-memcheck.{txt,rc} (the same memcheck through P) and bench-{A,N,P}-<n>.json (s21_w5_configs.json: b = 128; s_k 1024
x 256 rows, h128 s_q 1, h64 s_q 2; s_k 4096 and 8192 x 256 rows).
A candidate X (N or P) passes when every check passed (the three test files fail 0 with pass > 0; memcheck and
synccheck of N rc 0 and 0 errors; for P also its memcheck; every bench row of A and X checked ok), A and X ran >= 2
times each, X / A (the mean of each arm's runs) of the target row (s_k 1024, 256 rows) is <= 0.985, and no row's X / A
is above 1.005. SHIP stkpf-wide when P passes and either N does not or P / N of the target row is <= 0.995; else SHIP
stk-wide when N passes; otherwise KEEP lib, with the first failed conditions. The geometric mean over the three s_k
1024 rows is printed and decides nothing. Last line: SHIP stkpf-wide (...), SHIP stk-wide (...) or KEEP lib (...).
"""
import math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s19_h5r5_rule import checks, main, run_cases, runs  # noqa: E402  (the checks, and each arm's runs)

NAMES = ("s_k 1024 256 rows", "s_k 1024 h128 s_q 1", "s_k 1024 h64 s_q 2", "s_k 4096 256 rows", "s_k 8192 256 rows")
TARGET = 0      # the row under 0.95 of FlashMLA (issue #12)
TARGET_MAX = 0.985
LIMIT = 1.005
PN_MAX = 0.995  # P ships over N only where it is this much faster at the target row
SHORT = (0, 1, 2)


def read(p):
    try:
        return open(p).read()
    except OSError:
        return ""


def judge(name, a, x, out):
    """X / A of each row; returns (fails, ratios)."""
    fails, qs = [], []
    if len(a) < 2 or len(x) < 2:
        return ["too few bench runs (A %d, %s %d of 2)" % (len(a), name, len(x))], qs
    out("library bench (us, each run), %s / A:" % name)
    for i, nm in enumerate(NAMES):
        xa, xx = [r[i]["ms"] * 1e3 for r in a], [r[i]["ms"] * 1e3 for r in x]
        q = (sum(xx) / len(xx)) / (sum(xa) / len(xa))
        qs.append(q)
        lim = TARGET_MAX if i == TARGET else LIMIT
        over = q > lim + 1e-9
        out("  %-20s A %s | %s %s | %s/A %.3f (limit %.3f) %s" % (nm, "/".join("%.1f" % v for v in xa), name, "/".join("%.1f" % v for v in xx),
                                                               name, q, lim, "OVER" if over else "ok"))
        if over:
            fails.append("%s %s/A %.3f > %.3f" % (nm, name, q, lim))
    geo = math.exp(sum(math.log(qs[i]) for i in SHORT) / len(SHORT))
    out("  geometric mean of the s_k 1024 rows, %s / A: %.4f (decides nothing)" % (name, geo))
    return fails, qs


def decide(d, out=print):
    fails, a, n = checks(d, ("sm90w-0", "sm90w-1", "cuda"), len(NAMES), out)
    p = runs(d, "P", len(NAMES))
    pf = list(fails)
    rc, t = read(os.path.join(d, "sanP-memcheck.rc")).strip(), read(os.path.join(d, "sanP-memcheck.txt"))
    out("P memcheck: rc %s, 0 errors: %s" % (rc or "?", "ERROR SUMMARY: 0 errors" in t))
    if rc != "0" or "ERROR SUMMARY: 0 errors" not in t:
        pf.append("P memcheck rc %s" % (rc or "?"))
    if not all((row.get("check") or {}).get("ok", False) for r in p for row in r):
        pf.append("a bench row of P failed its check")
    fn, qn = judge("N", a, n, out)
    fp, qp = judge("P", a, p, out)
    fails += fn
    pf += fp
    if not pf and (fails or (sum(r[TARGET]["ms"] for r in p) / len(p)) / (sum(r[TARGET]["ms"] for r in n) / len(n)) <= PN_MAX + 1e-9):
        pn = (sum(r[TARGET]["ms"] for r in p) / len(p)) / (sum(r[TARGET]["ms"] for r in n) / len(n)) if n else float("nan")
        return "SHIP stkpf-wide (checks pass; 256 rows s_k 1024 P/A %.3f, P/N %.3f, worst row %.3f)" % (qp[TARGET], pn, max(qp))
    if not fails:
        return "SHIP stk-wide (checks pass; 256 rows s_k 1024 N/A %.3f, worst row %.3f)" % (qn[TARGET], max(qn))
    return "KEEP lib (" + "; ".join(fails[:3]) + ")"


def self_test():
    import json, tempfile
    def make(d, target=0.975, rest=0.995, one=None, fail=0, san=0, nruns=3, check=True, pt=None, prest=None, psan=0, pruns=2):
        for t, c in (("sm90w-0", 16), ("sm90w-1", 1), ("cuda", 18)):
            open(os.path.join(d, t + ".tap"), "w").write("# pass %d\n# fail %d\n# skipped 0\n" % (c, fail if t == "sm90w-1" else 0))
        for t in ("memcheck", "synccheck"):
            open(os.path.join(d, "san-%s.rc" % t), "w").write("%d\n" % san)
            open(os.path.join(d, "san-%s.txt" % t), "w").write("========= ERROR SUMMARY: %d errors\n" % san)
        open(os.path.join(d, "sanP-memcheck.rc"), "w").write("%d\n" % psan)
        open(os.path.join(d, "sanP-memcheck.txt"), "w").write("========= ERROR SUMMARY: %d errors\n" % psan)
        base = (0.146, 0.0765, 0.0767, 0.50, 0.96)
        k = 0
        for arm, cnt in (("A", nruns), ("N", nruns), ("P", pruns)):
            for _ in range(cnt):
                rows = []
                for i, b in enumerate(base):
                    if arm == "A":
                        q = 1.0
                    elif arm == "N":
                        q = target if i == TARGET else rest
                        if one is not None and i == one[0]:
                            q = one[1]
                    else:
                        q = (pt if pt is not None else target) if i == TARGET else (prest if prest is not None else rest)
                    rows.append({"ms": b * q, "check": {"ok": check}})
                json.dump({"rows": rows}, open(os.path.join(d, "bench-%s-%d.json" % (arm, k)), "w"))
                k += 1
    cases = [((), "SHIP stk-wide"), ({"target": 0.99}, "KEEP"), ({"target": 0.985}, "SHIP stk-wide"), ({"rest": 1.006, "prest": 1.006}, "KEEP"),
             ({"one": (4, 1.01)}, "SHIP stkpf-wide"), ({"one": (3, 1.005)}, "SHIP stk-wide"), ({"fail": 1}, "KEEP"), ({"san": 1}, "KEEP"),
             ({"nruns": 1}, "KEEP"), ({"check": False}, "KEEP"), ({"pt": 0.965}, "SHIP stkpf-wide"), ({"pt": 0.972}, "SHIP stk-wide"),
             ({"pt": 0.965, "psan": 1}, "SHIP stk-wide"), ({"target": 0.99, "pt": 0.984}, "SHIP stkpf-wide"), ({"pt": 0.965, "pruns": 1}, "SHIP stk-wide"),
             ({"pt": 0.965, "prest": 1.006}, "SHIP stk-wide"), ({"pruns": 0}, "SHIP stk-wide")]
    run_cases(decide, make, cases)


if __name__ == "__main__":
    main(decide, self_test)

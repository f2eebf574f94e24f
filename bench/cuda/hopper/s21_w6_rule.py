#!/usr/bin/env python3
"""Session 21 w6 (run in session 22): the ship rule of kVarBStKNx on kVarBStK (decode_sm90_wide.cu: an unsplit item's
output rows in its last key tile's stage only where the part has a next live item, the refill of that stage held by
the producer instead of by the consumers' pair loop), written in docs/notes/cuda-hopper-decode.md ("Session 22 (w6),
prepared in session 21") before any run.

  python3 bench/cuda/hopper/s21_w6_rule.py DIR          (s21_w6_slot.sh's work folder)
  python3 bench/cuda/hopper/s21_w6_rule.py --self-test

Arms: A = dist/cuda (the shipped fatbins), W = dist/cuda with decode_sm90_wide.fatbin built on the host with
-DMLA_SM90W_LIB_VARB=109838432 (the library's 67895392 | kVarBStK 1 << 25 | kVarBStKNx 1 << 23), N = the same with
101449824 (w5's kVarBStK alone, call F's N: read only, decides nothing). DIR holds build-W.rc, sm90w-0.tap /
sm90w-1.tap (sm90-wide.test's two shards through W), cuda.tap (through W), san-{memcheck,synccheck}.{txt,rc}
(compute-sanitizer over flashmla bench --check 2 of s21_w6_san.json through W) and bench-{A,W,N}-<n>.json
(s21_w5_configs.json: b = 128; s_k 1024 x 256 rows, h128 s_q 1, h64 s_q 2; s_k 4096 and 8192 x 256 rows).
W passes when its build succeeded, every check passed (the three test files fail 0 with pass > 0; memcheck and
synccheck rc 0 and 0 errors; every bench row of A and W checked ok), A and W ran >= 3 times each, W / A (the mean of
each arm's runs) of the target row (s_k 1024, 256 rows) is <= 0.985 and no row's W / A is above 1.005: SHIP
stknx-wide; otherwise KEEP lib, with the first failed conditions. N / A and W / N are printed and decide nothing.
Last line: SHIP stknx-wide (...) or KEEP lib (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s19_h5r5_rule import main, run_cases, runs, tap  # noqa: E402  (each arm's runs; a tap file's pass / fail / skipped)
from s17_h3_rule import read  # noqa: E402

NAMES = ("s_k 1024 256 rows", "s_k 1024 h128 s_q 1", "s_k 1024 h64 s_q 2", "s_k 4096 256 rows", "s_k 8192 256 rows")
TARGET = 0       # the row under 0.95 of FlashMLA (issue #12)
TARGET_MAX = 0.985
LIMIT = 1.005
MIN_RUNS = 3


def mean(rs, i):
    return sum(r[i]["ms"] for r in rs) / len(rs)


def table(name, base, bname, x, out):
    """x / base of each row, printed; returns the ratios."""
    qs = []
    out("library bench (us, each run), %s / %s:" % (name, bname))
    for i, nm in enumerate(NAMES):
        q = mean(x, i) / mean(base, i)
        qs.append(q)
        out("  %-20s %s %s | %s %s | %s/%s %.3f" % (nm, bname, "/".join("%.1f" % (r[i]["ms"] * 1e3) for r in base), name,
                                                "/".join("%.1f" % (r[i]["ms"] * 1e3) for r in x), name, bname, q))
    return qs


def decide(d, out=print):
    fails = []
    rc = read(os.path.join(d, "build-W.rc")).strip()
    out("W build: rc %s" % (rc or "?"))
    if rc != "0":
        return "KEEP lib (W's build failed: rc %s)" % (rc or "?")
    for name in ("sm90w-0", "sm90w-1", "cuda"):
        r = tap(d, name)
        out("%s.test: pass/fail/skipped = %s" % (name, r))
        if r[0] < 1 or r[1] != 0:
            fails.append("%s.test %s" % (name, r))
    for tool in ("memcheck", "synccheck"):
        rc, t = read(os.path.join(d, "san-%s.rc" % tool)).strip(), read(os.path.join(d, "san-%s.txt" % tool))
        zero = "ERROR SUMMARY: 0 errors" in t
        out("%s: rc %s, 0 errors: %s" % (tool, rc or "?", zero))
        if rc != "0" or not zero:
            fails.append("%s rc %s" % (tool, rc or "?"))
    a, w, n = runs(d, "A", len(NAMES)), runs(d, "W", len(NAMES)), runs(d, "N", len(NAMES))
    chk = all((row.get("check") or {}).get("ok", False) for r in a + w for row in r)
    out("bench rows checked: %s (A %d runs, W %d runs, N %d runs)" % ("all ok" if chk else "FAILED", len(a), len(w), len(n)))
    if not chk:
        fails.append("a bench row's check failed (A or W)")
    if n and not all((row.get("check") or {}).get("ok", False) for r in n for row in r):
        out("  (a bench row of N failed its check: N is read only)")
    if len(a) < MIN_RUNS or len(w) < MIN_RUNS:
        fails.append("too few bench runs (A %d, W %d of %d)" % (len(a), len(w), MIN_RUNS))
    if a and w:
        qs = table("W", a, "A", w, out)
        for i, q in enumerate(qs):
            lim = TARGET_MAX if i == TARGET else LIMIT
            if q > lim + 1e-9:
                fails.append("%s W/A %.3f > %.3f" % (NAMES[i], q, lim))
        if n:
            table("N", a, "A", n, out)
            table("W", n, "N", w, out)
        if not fails:
            return "SHIP stknx-wide (checks pass; 256 rows s_k 1024 W/A %.3f, s_k 8192 W/A %.3f, worst row %.3f)" % (qs[TARGET], qs[4], max(qs))
    return "KEEP lib (" + "; ".join(fails[:3]) + ")"


def self_test():
    import json, tempfile

    def make(d, target=0.97, rest=0.998, one=None, fail=0, san=0, runs_a=3, runs_w=3, runs_n=2, check=True, build=0, ncheck=True):
        open(os.path.join(d, "build-W.rc"), "w").write("%d\n" % build)
        for t, c in (("sm90w-0", 8), ("sm90w-1", 1), ("cuda", 18)):
            open(os.path.join(d, t + ".tap"), "w").write("# pass %d\n# fail %d\n# skipped 0\n" % (c, fail if t == "cuda" else 0))
        for t in ("memcheck", "synccheck"):
            open(os.path.join(d, "san-%s.rc" % t), "w").write("%d\n" % san)
            open(os.path.join(d, "san-%s.txt" % t), "w").write("========= ERROR SUMMARY: %d errors\n" % san)
        base = (0.1525, 0.0757, 0.0772, 0.507, 0.9645)
        k = 0
        for arm, cnt in (("A", runs_a), ("W", runs_w), ("N", runs_n)):
            for _ in range(cnt):
                rows = []
                for i, b in enumerate(base):
                    q = 1.0
                    if arm == "W":
                        q = target if i == TARGET else rest
                        if one is not None and i == one[0]:
                            q = one[1]
                    elif arm == "N":
                        q = (0.966, 0.988, 0.996, 1.001, 1.010)[i]
                    rows.append({"ms": b * q, "check": {"ok": check if arm != "N" else ncheck}})
                json.dump({"rows": rows}, open(os.path.join(d, "bench-%s-%d.json" % (arm, k)), "w"))
                k += 1

    cases = [((), "SHIP stknx-wide"), ({"target": 0.986}, "KEEP"), ({"target": 0.985}, "SHIP"), ({"one": (4, 1.006)}, "KEEP"),
             ({"one": (4, 1.005)}, "SHIP"), ({"one": (1, 1.01)}, "KEEP"), ({"rest": 1.006}, "KEEP"), ({"fail": 1}, "KEEP"),
             ({"san": 1}, "KEEP"), ({"runs_a": 2}, "KEEP"), ({"runs_w": 2}, "KEEP"), ({"check": False}, "KEEP"),
             ({"build": 1}, "KEEP lib (W's build"), ({"runs_n": 0}, "SHIP"), ({"ncheck": False}, "SHIP"), ({"runs_w": 0}, "KEEP")]
    run_cases(decide, make, cases)


if __name__ == "__main__":
    main(decide, self_test)

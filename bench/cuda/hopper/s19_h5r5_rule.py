#!/usr/bin/env python3
"""Session 19 h5 round 5: the ship rule of Q^T by TMA in the library (decode_sm90.cu kNLibVar | kNVarQTma, q's tensor
map from launch.ts sm90QMap), written in docs/notes/cuda-hopper-decode.md ("Session 19 h5 round 5") before any run.

  python3 bench/cuda/hopper/s19_h5r5_rule.py DIR          (s19_h5r5_slot.sh's work folder)
  python3 bench/cuda/hopper/s19_h5r5_rule.py --self-test

Arms: A = dist/cuda (main's shipped decode_sm90.fatbin; with this branch's TS its entries take no map, the _ld lookup
fails and nothing else changes), N = dist/cuda with the new decode_sm90.fatbin (manifest rehashed). Both run the
branch's tsc output. DIR holds sm90-0.tap / sm90-1.tap (sm90.test's two shards: 0 with the goldens and the q views) and
cuda.tap (through N), san-memcheck.{txt,rc} and san-synccheck.{txt,rc}
(compute-sanitizer over flashmla bench --check 2 of s19_h5r5_san.json through N) and bench-A-<n>.json / bench-N-<n>.json
(flashmla bench --check 2 of s19_h5r5_configs.json, arms A N N A N A, as many as the slot's budget let run).
SHIP qtma when every check passed (both test files fail 0 with pass > 0; memcheck and synccheck rc 0 and 0 errors;
every bench row of both arms checked ok), each arm ran >= 2 times, N / A (mean over each arm's runs) <= 0.95 at
b=1 s_k 32768 and <= 1.01 at every other row. Otherwise KEEP lib, with the first failed conditions.
Last line: SHIP qtma (...) or KEEP lib (...).
"""
import glob, json, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s17_h3_rule import read  # noqa: E402  (a file's text, or "" where it is missing)

NAMES = ("b=1 s_k 32768 h16", "b=1 s_k 8192 h16", "uneven b=4 h16", "b=128 s_k 1024 h16", "b=128 s_k 8192 h16",
         "b=128 s_k 1024 h32", "b=128 s_k 8192 h32")
LIMITS = (0.95, 1.01, 1.01, 1.01, 1.01, 1.01, 1.01)


def tap(d, name):
    t = read(os.path.join(d, name + ".tap"))
    g = lambda k: int((re.search(r"^# %s (\d+)" % k, t, re.M) or [0, "-1"])[1])
    return g("pass"), g("fail"), g("skipped")


def runs(d, arm, nrows=len(NAMES)):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "bench-%s-*.json" % arm))):
        try:
            rows = json.load(open(f))["rows"]
        except (OSError, ValueError, KeyError):
            continue
        if len(rows) == nrows:
            out.append(rows)
    return out


def checks(d, taps, nrows, out):
    """The checks of a library A/B slot (s19_h5r5_slot.sh, s20_h5_slot.sh): each tap file fail 0 with pass > 0, memcheck
    and synccheck rc 0 with 0 errors, every bench row of both arms checked ok. Returns (fails, A's runs, N's runs)."""
    fails = []
    for name in taps:
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
    a, n = runs(d, "A", nrows), runs(d, "N", nrows)
    chk = all((row.get("check") or {}).get("ok", False) for r in a + n for row in r)
    out("bench rows checked: %s (A %d runs, N %d runs)" % ("all ok" if chk else "FAILED", len(a), len(n)))
    if not chk:
        fails.append("a bench row's check failed")
    return fails, a, n


def ratios(a, n, names, limits, fails, out):
    """N / A of each row (the mean of each arm's runs), printed with every run's time; a row over its limit joins fails."""
    qs = []
    for i, (nm, lim) in enumerate(zip(names, limits)):
        xa, xn = [r[i]["ms"] * 1e3 for r in a], [r[i]["ms"] * 1e3 for r in n]
        q = (sum(xn) / len(xn)) / (sum(xa) / len(xa))
        qs.append(q)
        out("  %-20s A %s | N %s | N/A %.3f (limit %.2f) %s" % (nm, "/".join("%.1f" % x for x in xa), "/".join("%.1f" % x for x in xn),
                                                             q, lim, "ok" if q <= lim else "OVER"))
        if q > lim:
            fails.append("%s N/A %.3f > %.2f" % (nm, q, lim))
    return qs


def decide(d, out=print):
    fails, a, n = checks(d, ("sm90-0", "sm90-1", "cuda"), len(NAMES), out)
    if len(a) < 2 or len(n) < 2:
        fails.append("too few bench runs (A %d, N %d of 2)" % (len(a), len(n)))
        return "KEEP lib (" + "; ".join(fails[:3]) + ")"
    out("library bench (us, each run), N / A:")
    worst = ["%s %.3f" % (nm.split(" h")[0] if i < 5 else nm, q) for i, (nm, q) in enumerate(zip(NAMES, ratios(a, n, NAMES, LIMITS, fails, out)))]
    if fails:
        return "KEEP lib (" + "; ".join(fails[:3]) + ")"
    return "SHIP qtma (checks pass; N/A " + ", ".join(worst) + ")"


def self_test():
    import tempfile
    def make(d, n32=0.92, other=1.0, fail=0, san=0, nruns=3, check=True):
        open(os.path.join(d, "sm90-0.tap"), "w").write("# pass 12\n# fail 0\n# skipped 0\n")
        open(os.path.join(d, "sm90-1.tap"), "w").write("# pass 1\n# fail %d\n# skipped 4\n" % fail)
        open(os.path.join(d, "cuda.tap"), "w").write("# pass 18\n# fail 0\n# skipped 0\n")
        for t in ("memcheck", "synccheck"):
            open(os.path.join(d, "san-%s.rc" % t), "w").write("%d\n" % san)
            open(os.path.join(d, "san-%s.txt" % t), "w").write("========= ERROR SUMMARY: %d errors\n" % san)
        base = (0.0250, 0.0210, 0.0400, 0.0460, 0.2000, 0.0600, 0.3600)
        for k in range(nruns):
            for arm, f in (("A", 1.0), ("N", None)):
                rows = [{"ms": b * (f if f else (n32 if i == 0 else other)), "check": {"ok": check}} for i, b in enumerate(base)]
                json.dump({"rows": rows}, open(os.path.join(d, "bench-%s-%d.json" % (arm, k)), "w"))
    cases = [((), "SHIP"), ({"n32": 0.96}, "KEEP"), ({"other": 1.02}, "KEEP"), ({"fail": 1}, "KEEP"), ({"san": 1}, "KEEP"),
             ({"nruns": 1}, "KEEP"), ({"check": False}, "KEEP"), ({"n32": 0.949, "other": 1.009}, "SHIP")]
    run_cases(decide, make, cases)


def run_cases(decide, make, cases):
    """A library A/B rule's self-test: each (make's keywords, the verdict's start) in a fresh folder, then an empty one."""
    import tempfile
    for kw, want in cases:
        with tempfile.TemporaryDirectory() as d:
            make(d, **dict(kw))
            got = decide(d, out=lambda *_: None)
            assert got.startswith(want), (kw, got)
    with tempfile.TemporaryDirectory() as d:
        assert decide(d, out=lambda *_: None).startswith("KEEP")  # nothing there
    print("self-test ok (%d cases)" % (len(cases) + 1))


def main(decide, self_test):
    """`RULE.py DIR` prints the verdict on DIR; `RULE.py --self-test` runs the self-test."""
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        print(decide(sys.argv[1]))


if __name__ == "__main__":
    main(decide, self_test)

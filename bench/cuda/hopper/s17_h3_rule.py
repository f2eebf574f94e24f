#!/usr/bin/env python3
"""Session 17, helper h3: the ship rule of combine.cu's MLA_COMBINE_ONE_TRIP builds (c2 = 2, c3 = 3; c1 = 1 is timed in
combine_trip only, for reference), written in docs/notes/cuda-hopper-decode.md ("Session 17 (h3)") before any run.

  python3 bench/cuda/hopper/s17_h3_rule.py DIR          (s17_h3_slot.sh's work folder)
  python3 bench/cuda/hopper/s17_h3_rule.py --self-test

DIR holds: check-*.txt (combine_trip check, the library's and the three candidates' fatbins), memcheck.txt
(compute-sanitizer memcheck of a check: 0 errors and the check's own line with 0 failures), sm90-c2.tap / sm90-c3.tap / sm90w-c2.tap / sm90w-c3.tap (the library's
test/gpu/sm90.test.js and sm90-wide.test.js with FLASHMLA_CUDA_KERNELS at each candidate's kernel folder),
libcheck-c2.json / libcheck-c3.json (flashmla bench --check 12 on s17_h3_check.json through each), time.txt
(combine_trip time) and bench-<arm>-<n>.json (flashmla bench on s17_h3_configs.json: arm A = dist/cuda, c2, c3; two
runs each, interleaved A c2 c3 c3 c2 A). A candidate counts only if every check passed: both check seeds 0 failures for it, memcheck 0
errors, its two test files pass (fail 0, pass > 0), its libcheck and bench rows all checked ok.
It qualifies if, on the library bench (mean of its two runs against the mean of A's two): b=1 <= 0.985, the uneven
batch <= 1.000, and in combine_trip's back-to-back time it is >= 0.3 us faster than lib at b=1. Guard: the four
controls (b=128 s_k 1024 / 8192 at 16 and 64 rows) run no changed code (no combine, or combineWarps): if any control
of a qualifying candidate is off by more than 2 %, KEEP (noise). Both qualify: the one with the lower geometric mean of
its b=1 and uneven ratios. Last line: SHIP c<k> (...) or KEEP lib (...).
"""
import glob, json, math, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s16_h2_rule import gm  # noqa: E402  (the geometric mean the earlier rules use)

KERNELS = ("lib", "c1", "c2", "c3")
CANDS = ("c2", "c3")
NAMES = ("b=1 s_k 32768 16 rows", "uneven b=4 64 rows", "b=128 s_k 1024 16 rows", "b=128 s_k 8192 16 rows",
         "b=128 s_k 1024 64 rows", "b=128 s_k 8192 64 rows")


def read(path):
    try:
        return open(path).read()
    except OSError:
        return ""


def check_fails(d, k):
    """Failures of kernel k (lib / c1 / c2) over the check files; None if no check line came back."""
    total, seen = 0, 0
    for f in sorted(glob.glob(os.path.join(d, "check-*.txt"))):
        m = re.search(r"^check \(fatbins, seed \d+\): .*failed: lib (\d+) c1 (\d+) c2 (\d+) c3 (\d+)", read(f), re.M)
        if m:
            seen += 1
            total += int(m.group(1 + KERNELS.index(k)))
    return total if seen >= 2 else None


def tap_ok(path):
    t = read(path)
    p, f = re.search(r"^# pass (\d+)", t, re.M), re.search(r"^# fail (\d+)", t, re.M)
    return bool(p and f) and int(p.group(1)) > 0 and int(f.group(1)) == 0


def bench(d, arm):
    """Per config: mean ms over the arm's runs, and whether every row's check passed."""
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, "bench-%s-*.json" % arm)))]
    if not runs or any(len(r.get("rows", [])) != len(NAMES) for r in runs):
        return None, False
    ms = [sum(r["rows"][i]["ms"] for r in runs) / len(runs) for i in range(len(NAMES))]
    ok = all((row.get("check") or {}).get("ok", False) for r in runs for row in r["rows"])
    return ms, ok


def libcheck_ok(d, k):
    """flashmla bench --check 12 on s17_h3_check.json through candidate k: all 5 configs checked ok."""
    try:
        rows = json.load(open(os.path.join(d, "libcheck-%s.json" % k)))["rows"]
    except (OSError, ValueError, KeyError):
        return False
    return len(rows) == 5 and all((r.get("check") or {}).get("ok", False) for r in rows)


def probe_delta(d, k):
    m = re.search(r"^time b=1 [^:]*: %s - lib = ([-+0-9.]+) us back to back" % k, read(os.path.join(d, "time.txt")), re.M)
    return float(m.group(1)) if m else None


def decide(d, out=print):
    mem = read(os.path.join(d, "memcheck.txt"))
    # (the check under memcheck must have run to its end with 0 failures too, not just reported no errors)
    mem_ok = bool(re.search(r"ERROR SUMMARY: 0 errors", mem)) and bool(re.search(r"^check \(fatbins, seed \d+\): .*failed: lib 0 c1 0 c2 0 c3 0 ", mem, re.M))
    out("memcheck: %s" % ("0 errors" if mem_ok else "FAILED or missing"))
    a, a_ok = bench(d, "A")
    if a is None:
        out("bench A: missing")
        return "KEEP lib (no bench of the shipped build)"
    ratios, quals = {}, []
    for k in CANDS:
        cf = check_fails(d, k)
        tests = tap_ok(os.path.join(d, "sm90-%s.tap" % k)) and tap_ok(os.path.join(d, "sm90w-%s.tap" % k)) and libcheck_ok(d, k)
        ms, ok = bench(d, k)
        dp = probe_delta(d, k)
        checks = cf == 0 and mem_ok and tests and ok
        out("%s: probe check %s, library tests %s, bench checks %s; combine alone at b=1 %s us vs lib" % (
            k, "missing" if cf is None else "%d failed" % cf, "pass" if tests else "FAIL/missing", "ok" if ok else "FAIL/missing",
            "?" if dp is None else "%+.2f" % dp))
        if ms is None:
            out("%s: bench missing" % k)
            continue
        r = [m / x for m, x in zip(ms, a)]
        ratios[k] = r
        out("%s / A: " % k + ", ".join("%s %.3f (%.1f vs %.1f us)" % (n, x, m * 1e3, y * 1e3) for n, x, m, y in zip(NAMES, r, ms, a))
            + "; controls geomean %.3f" % gm(r[2:]))
        if not checks:
            continue
        if r[0] <= 0.985 and r[1] <= 1.0 and dp is not None and dp <= -0.3:
            if max(abs(x - 1) for x in r[2:]) > 0.02:
                out("%s: qualifies on b=1 / uneven but a control is off by > 2 %%: noise" % k)
                return "KEEP lib (noise: a control moved > 2 %% with %s)" % k
            quals.append(k)
    out("qualify: %s" % (" ".join(quals) or "none"))
    if not quals:
        return "KEEP lib (no candidate met b=1 <= 0.985, uneven <= 1.000, probe <= -0.3 us with its checks passed)"
    pick = min(quals, key=lambda k: gm(ratios[k][:2]))
    r = ratios[pick]
    return "SHIP %s (MLA_COMBINE_ONE_TRIP=%s as combine.cu's default: b=1 %.3f, uneven %.3f of lib)" % (pick, pick[1], r[0], r[1])


def self_test():
    import tempfile
    d = tempfile.mkdtemp()
    def put(name, text):
        open(os.path.join(d, name), "w").write(text)
    def row(ms):
        return {"ms": ms, "check": {"ok": True}}
    base = [0.0288, 0.044, 0.0476, 0.2995, 0.055, 0.305]
    def benches(c2, c3):
        for n in (1, 2):
            put("bench-A-%d.json" % n, json.dumps({"rows": [row(x) for x in base]}))
            put("bench-c2-%d.json" % n, json.dumps({"rows": [row(x * f) for x, f in zip(base, c2)]}))
            put("bench-c3-%d.json" % n, json.dumps({"rows": [row(x * f) for x, f in zip(base, c3)]}))
    for s in (1, 2):
        put("check-%d.txt" % s, "check (fatbins, seed %d): 35 cases, 999 rows a kernel, failed: lib 0 c1 0 c2 0 c3 0 (...), worst rel 2e-3\n" % s)
    put("memcheck.txt", "check (fatbins, seed 3): 35 cases, 999 rows a kernel, failed: lib 0 c1 0 c2 0 c3 0 (...), worst rel 2e-3\n========= ERROR SUMMARY: 0 errors\n")
    for k in CANDS:
        put("libcheck-%s.json" % k, json.dumps({"rows": [row(1.0)] * 5}))
        put("sm90-%s.tap" % k, "# pass 10\n# fail 0\n")
        put("sm90w-%s.tap" % k, "# pass 6\n# fail 0\n")
    put("time.txt", "time b=1 s_k 32768 16 rows (103 splits): c2 - lib = -1.20 us back to back, -1.3 one at a time\n"
        "time b=1 s_k 32768 16 rows (103 splits): c3 - lib = -0.70 us back to back, -0.8 one at a time\n")
    lines = []
    benches([0.95, 0.99, 1, 1, 1, 1.005], [0.97, 0.99, 1, 1.01, 0.99, 1])
    v = decide(d, out=lines.append)
    assert v.startswith("SHIP c2"), (v, lines)
    benches([0.97, 1.0, 1, 1, 1, 1.005], [0.975, 0.98, 1, 1.01, 0.99, 1])
    assert decide(d, out=lines.append).startswith("SHIP c3")
    benches([0.99, 0.99, 1, 1, 1, 1], [0.99, 0.98, 1, 1, 1, 1])
    assert decide(d, out=lines.append).startswith("KEEP lib (no candidate")
    benches([0.95, 0.99, 1, 1.03, 1, 1], [0.97, 1.01, 1, 1, 1, 1])
    assert decide(d, out=lines.append).startswith("KEEP lib (noise")
    benches([0.95, 0.99, 1, 1, 1, 1], [0.97, 0.99, 1, 1, 1, 1])
    put("check-2.txt", "check (fatbins, seed 2): 35 cases, 999 rows a kernel, failed: lib 0 c1 0 c2 3 c3 0 (...), worst rel 2e-3\n")
    assert decide(d, out=lines.append).startswith("SHIP c3")
    put("memcheck.txt", "========= ERROR SUMMARY: 2 errors\n")
    assert decide(d, out=lines.append).startswith("KEEP lib")
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    elif len(sys.argv) == 2:
        print(decide(sys.argv[1]))
    else:
        sys.exit(__doc__)

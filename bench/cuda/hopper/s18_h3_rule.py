#!/usr/bin/env python3
"""Session 18, helper h3: the ship rule of the entry candidates, written in docs/notes/cuda-hopper-decode.md
("Session 18 (h3)") before any run.

  python3 bench/cuda/hopper/s18_h3_rule.py DIR          (s18_h3_slot.sh's work folder)
  python3 bench/cuda/hopper/s18_h3_rule.py --self-test

Arm P = dist/cuda with two fatbins swapped: decode_sm90.fatbin built with -DMLA_SM90_LIB_VAR=7 (kNVarEntryPre: the
producer reads its first page and length before the CTA barrier, beside the consumers' Q^T issue) and decode_sm90_wide.fatbin built with
-DMLA_SM90W_PAGE0 (the wide producer's first page read beside the item's length). The two parts are judged apart: the
narrow one on b=1 s_k 32768 (16 rows) and the two 16-row controls, the wide one on the uneven batch (64 rows) and the
two 64-row controls (the controls run the changed kernels too: every part's entry).
DIR holds sm90.tap, sm90w.tap, cuda.tap (the library's GPU tests through P's folder), sync.txt (compute-sanitizer
synccheck of sm90.test through P), libcheck.json (flashmla bench --check 12 on s17_h3_check.json through P) and
bench-A-<n>.json / bench-P-<n>.json (flashmla bench --check 2 on s17_h3_configs.json, runs A P P A).
P counts only if every check passed: the three test files pass (fail 0, pass > 0), synccheck 0 errors with its tests
passing, libcheck's 5 configs and every bench row of P checked ok.
The narrow part ships if P / A (mean of P's two runs over the mean of A's two) <= 0.985 at b=1 and <= 1.010 at both
16-row controls; the wide part if <= 0.990 on the uneven batch and <= 1.010 at both 64-row controls. Noise guard: a
part whose deciding shape's two A runs differ by more than 2 % of their mean is KEEP (noise).
Last line: SHIP narrow+wide (...), SHIP narrow (...), SHIP wide (...) or KEEP lib (...).
"""
import json, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s17_h3_rule import NAMES, read, tap_ok  # noqa: E402  (the same six configs, s17_h3_configs.json)

PARTS = (("narrow", "MLA_SM90_LIB_VAR=7 (kNVarEntryPre) in decode_sm90.cu", 0, (2, 3), 0.985),
         ("wide", "MLA_SM90W_PAGE0 in decode_sm90_wide.cu", 1, (4, 5), 0.990))


def runs(d, arm, n_rows=len(NAMES)):
    out = []
    for n in range(1, 9):
        f = os.path.join(d, "bench-%s-%d.json" % (arm, n))
        if os.path.exists(f):
            try:
                out.append(json.load(open(f))["rows"])
            except (OSError, ValueError, KeyError):
                pass
    return [r for r in out if len(r) == n_rows]


def mean_ms(rs, i):
    return sum(r[i]["ms"] for r in rs) / len(rs)


def checks(d, names=NAMES, out=print):
    """The checks through P (the test files, synccheck, libcheck, P's bench rows): (all passed, A's runs, P's runs)."""
    tests = {k: tap_ok(os.path.join(d, k + ".tap")) for k in ("sm90", "sm90w", "cuda")}
    sync = read(os.path.join(d, "sync.txt"))
    sync_ok = bool(re.search(r"ERROR SUMMARY: 0 errors", sync)) and tap_ok(os.path.join(d, "sync.txt"))
    try:
        lc = json.load(open(os.path.join(d, "libcheck.json")))["rows"]
        lc_ok = len(lc) == 5 and all((r.get("check") or {}).get("ok", False) for r in lc)
    except (OSError, ValueError, KeyError):
        lc_ok = False
    a, p = runs(d, "A", len(names)), runs(d, "P", len(names))
    bench_ok = len(p) >= 1 and all((row.get("check") or {}).get("ok", False) for r in p for row in r)
    out("checks: " + ", ".join("%s %s" % (k, "pass" if v else "FAIL/missing") for k, v in tests.items())
        + ", synccheck %s, libcheck %s, P's bench rows %s" % ("0 errors" if sync_ok else "FAILED/missing", "ok" if lc_ok else "FAIL/missing",
                                                              "checked ok" if bench_ok else "FAIL/missing"))
    return all(tests.values()) and sync_ok and lc_ok and bench_ok, a, p


def decide(d, out=print):
    ok, a, p = checks(d, out=out)
    if len(a) < 2 or len(p) < 2:
        return "KEEP lib (bench runs missing: A %d, P %d of 2)" % (len(a), len(p))
    r = [mean_ms(p, i) / mean_ms(a, i) for i in range(len(NAMES))]
    out("P / A: " + ", ".join("%s %.3f (%.1f vs %.1f us)" % (n, x, mean_ms(p, i) * 1e3, mean_ms(a, i) * 1e3) for i, (n, x) in enumerate(zip(NAMES, r))))
    if not ok:
        return "KEEP lib (a check failed or is missing)"
    ships = []
    for name, what, i, ctl, lim in PARTS:
        spread = abs(a[0][i]["ms"] - a[1][i]["ms"]) / mean_ms(a, i)
        ok = r[i] <= lim and all(r[c] <= 1.010 for c in ctl)
        out("%s (%s): %s %.3f (<= %.3f), controls %s (<= 1.010), A spread %.1f %% -> %s" % (
            name, what, NAMES[i], r[i], lim, " ".join("%.3f" % r[c] for c in ctl), 100 * spread,
            "noise" if ok and spread > 0.02 else ("ships" if ok else "keep")))
        if ok and spread <= 0.02:
            ships.append("%s: %s %.3f" % (name, NAMES[i], r[i]))
    if not ships:
        return "KEEP lib (neither part met its rule: b=1 %.3f, uneven %.3f)" % (r[0], r[1])
    return "SHIP %s (%s)" % ("+".join(s.split(":")[0] for s in ships), "; ".join(ships))


def self_test():
    import tempfile
    def case(fp, fa2=None, fail=False):
        d = tempfile.mkdtemp()
        def put(name, text):
            open(os.path.join(d, name), "w").write(text)
        def row(ms):
            return {"ms": ms, "check": {"ok": True}}
        base = [0.0254, 0.0406, 0.0405, 0.300, 0.055, 0.305]
        for n, arm in enumerate(("A", "P", "P", "A"), 1):
            f = fp if arm == "P" else (fa2 if (fa2 and n == 4) else [1] * 6)
            put("bench-%s-%d.json" % (arm, n), json.dumps({"rows": [row(x * y) for x, y in zip(base, f)]}))
        for k in ("sm90", "sm90w", "cuda"):
            put(k + ".tap", "# pass 9\n# fail %d\n" % (1 if fail and k == "cuda" else 0))
        put("sync.txt", "# pass 10\n# fail 0\n========= ERROR SUMMARY: 0 errors\n")
        put("libcheck.json", json.dumps({"rows": [row(1.0)] * 5}))
        return decide(d, out=lambda s: None)
    assert case([0.97, 0.98, 1.0, 1.0, 1.0, 1.0]).startswith("SHIP narrow+wide"), case([0.97, 0.98, 1, 1, 1, 1])
    assert case([0.97, 1.0, 1.0, 1.0, 1.0, 1.0]).startswith("SHIP narrow ")
    assert case([0.99, 0.98, 1.0, 1.0, 1.0, 1.005]).startswith("SHIP wide ")
    assert case([0.97, 0.98, 1.02, 1.0, 1.0, 1.0]).startswith("SHIP wide ")  # a 16-row control regressed
    assert case([0.97, 0.98, 1.0, 1.0, 1.0, 1.0], fail=True).startswith("KEEP lib (a check")
    assert case([0.97, 1.0, 1.0, 1.0, 1.0, 1.0], fa2=[1.03, 1, 1, 1, 1, 1]).startswith("KEEP lib")  # A spread 3 %: noise
    print("self-test ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        print(decide(sys.argv[1]))

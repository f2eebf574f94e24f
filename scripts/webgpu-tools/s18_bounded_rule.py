#!/usr/bin/env python3
"""Session 18, helper h1's rule (written before the run, docs/notes/webgpu-tensor-core.md, "Session 18").

    python3 scripts/webgpu-tools/s18_bounded_rule.py OUTDIR      (the files h200-s18-bounded.sh writes)

base = the better of base0 and base1 per config (robust, the default device). SHIP bounded when
  1. the suite on bnd (robust) passes every test with >= 100 random cases,
  2. Dawn's robust SPIR-V of bnd has no predicated matrix load (OpIAddCarry 0),
  3. the two base runs agree within 2 % at every config, and
  4. bnd (robust) <= 0.95 x base at all four configs.
Else KEEP v5. Either way it prints, per config, bnd / base and the share of the no-robustness gap it closes:
(base - bnd) / (base - base-norob).
"""
import json
import os
import re
import sys


def bench_ms(d, tags, width=11):
    """Each variant's times (ms per config) from OUTDIR/TAG.json, printed a row a variant; a missing run is reported."""
    ms = {}
    names = []
    for t in tags:
        try:
            rows = json.load(open(os.path.join(d, t + ".json")))["rows"]
        except Exception as e:  # noqa: BLE001 - a missing run is reported, not fatal
            print(f"{t}: no json ({e})")
            continue
        ms[t] = [r["ms"] for r in rows]
        names = [f"b{r['b']} s{r.get('s_k', 'var')} h{r['h_q']} q{r['s_q']}" for r in rows]
    for t, v in ms.items():
        print(f"{t:{width}s}", " | ".join(f"{n}: {m:.4f}" for n, m in zip(names, v)))
    return ms


def suite_counts(path):
    """(pass, fail, random cases) of a GPU matrix suite's TAP file; (0, -1, 0) when it wrote nothing."""
    try:
        tap = open(path).read()
    except OSError:
        tap = ""
    npass = int((re.search(r"^# pass (\d+)", tap, re.M) or [0, 0])[1])
    nfail = int((re.search(r"^# fail (\d+)", tap, re.M) or [0, -1])[1])
    rnd = re.search(r"(\d+) random cases vs the float64 reference", tap)
    return npass, nfail, int(rnd[1]) if rnd else 0


def suite_verdict(d, f, label, cases_min, what):
    """Print one suite's line (TAP file f under d); return why it fails the slot rules' bar, or None: every test passes,
    none skipped, no top-level `not ok` (a file that fails to load counts no failed test), >= cases_min random cases."""
    p = os.path.join(d, f)
    npass, nfail, ncases = suite_counts(p)
    try:
        tap = open(p).read()
    except OSError:
        tap = ""
    notok = len(re.findall(r"^not ok", tap, re.M))
    skipped = int((re.search(r"^# skipped (\d+)", tap, re.M) or [0, 0])[1])
    print(f"{label} ({what}): pass {npass} fail {nfail} skipped {skipped}, {notok} top-level 'not ok'"
          + (f", {ncases} random cases" if cases_min else ""))
    if nfail != 0 or npass == 0 or notok or skipped or ncases < cases_min:
        return f"{label} pass {npass} fail {nfail} skipped {skipped}" + (f" cases {ncases}" if cases_min else "")
    return None


def main():
    d = sys.argv[1]
    ms = bench_ms(d, ("base0", "bnd", "base-norob", "bnd-norob", "base1"))

    why = []
    ok = True
    if "base0" in ms and "base1" in ms and len(ms["base0"]) == len(ms["base1"]) == 4:
        base = [min(a, b) for a, b in zip(ms["base0"], ms["base1"])]
        drift = max(abs(a / b - 1) for a, b in zip(ms["base0"], ms["base1"]))
        print(f"base drift {100 * drift:.1f} %")
        if drift > 0.02:
            ok = False
            why.append(f"base drift {100 * drift:.1f} % > 2 %")
    else:
        base = None
        ok = False
        why.append("base runs missing")
    ratios = []
    if base and "bnd" in ms and len(ms["bnd"]) == 4:
        ratios = [b / a for a, b in zip(base, ms["bnd"])]
        print("bnd / base      ", " ".join(f"{x:.3f}" for x in ratios))
        if "base-norob" in ms:
            print("base-norob / base", " ".join(f"{n / a:.3f}" for a, n in zip(base, ms["base-norob"])))
            print("gap closed      ", " ".join(f"{(a - b) / (a - n):.2f}" if a - n > 1e-9 else "-" for a, b, n in zip(base, ms["bnd"], ms["base-norob"])))
        if "bnd-norob" in ms:
            print("bnd-norob / base", " ".join(f"{n / a:.3f}" for a, n in zip(base, ms["bnd-norob"])))
        if max(ratios) > 0.95:
            ok = False
            why.append(f"bnd / base up to {max(ratios):.3f} > 0.95")
    else:
        ok = False
        why.append("bnd run missing")

    npass, nfail, ncases = suite_counts(os.path.join(d, "suite-bnd.tap"))
    print(f"suite bnd (robust): pass {npass} fail {nfail}, {ncases} random cases")
    if nfail != 0 or npass == 0 or ncases < 100:
        ok = False
        why.append(f"suite pass {npass} fail {nfail} cases {ncases}")

    spv = ""
    try:
        spv = open(os.path.join(d, "spv-robust.txt")).read()
    except OSError:
        pass
    m = re.search(r"^bnd: .*IAddCarry (\d+)", spv, re.M)
    carry = int(m[1]) if m else -1
    for line in spv.splitlines():
        print("spirv robust", line)
    if carry != 0:
        ok = False
        why.append(f"bnd's robust SPIR-V: {'no dump' if carry < 0 else f'{carry} IAddCarry (predicated matrix loads)'}")

    summary = " ".join(f"{x:.3f}" for x in ratios) or "-"
    if ok:
        print(f"SHIP bounded (bnd / base {summary}, suite {npass}/{npass} with {ncases} random cases, no predicated matrix load)")
    else:
        print(f"KEEP v5 (bnd / base {summary}; {'; '.join(why)})")


if __name__ == "__main__":
    main()

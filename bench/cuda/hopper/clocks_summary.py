#!/usr/bin/env python3
"""Sets the `clksum` lines of `harness_wide clocks` and flashmla_clocks.py side by side with nvidia-smi's samples
and splits each time ratio into cycles x clock (session 10's clue: single launches 7 % apart, back to back 24 %).

  python3 bench/cuda/hopper/clocks_summary.py SMI_CSV LOG [LOG ...]

SMI_CSV: `nvidia-smi --query-gpu=timestamp,clocks.sm,POWER,temperature.gpu[,REASONS] --format=csv,noheader,nounits
-lms 20` (POWER power.draw.instant or power.draw, REASONS clocks_event_reasons.active where the driver has it).
For each shape: one row a phase (the second half of the phase: median µs a launch, the probe's MHz, Mcycles a
launch, nvidia-smi's mean SM clock, power and the clock-event reasons seen, energy a launch), then for each of
our phases against FlashMLA in the same mode: time ratio = cycles ratio x clock ratio, and the verdict lines
clocks_verdict ... that docs/notes/cuda-hopper-decode.md ("Session 10, round 2") maps to the next step.
"""
import re
import sys
from datetime import datetime

REASONS = {0x4: "sw-power-cap", 0x8: "hw-slowdown", 0x20: "sw-thermal", 0x40: "hw-thermal", 0x80: "hw-power-brake"}


def smi_samples(path):
    out = []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return out
    for ln in lines:
        f = [x.strip() for x in ln.split(",")]
        if len(f) < 4:
            continue
        try:
            t = datetime.strptime(f[0], "%Y/%m/%d %H:%M:%S.%f").timestamp() * 1e3
            mhz, w, temp = float(f[1]), float(f[2]), float(f[3])
        except ValueError:
            continue
        rs = int(f[4], 16) if len(f) > 4 and f[4].startswith("0x") else 0
        out.append((t, mhz, w, temp, rs))
    return out


def parse_logs(paths):
    rows = []
    for p in paths:
        try:
            text = open(p).read()
        except OSError:
            continue
        for ln in text.splitlines():
            m = re.match(r"clksum (\S+) (\S+) (.*)", ln)
            if not m:
                continue
            kv = dict(re.findall(r"(\w+)=([0-9.,e+-]+)", m[3]))
            r = {"shape": m[1], "phase": m[2]}
            for k, v in kv.items():
                if k == "wall":
                    r["w0"], r["w1"] = map(float, v.split(","))
                else:
                    r[k] = float(v)
            rows.append(r)
    return rows


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    smi = smi_samples(sys.argv[1])
    rows = parse_logs(sys.argv[2:])
    if not rows:
        print("clocks: no clksum lines in %s" % " ".join(sys.argv[2:]))
        sys.exit(1)
    for r in rows:
        s = [x for x in smi if r["w0"] <= x[0] <= r["w1"]]
        r["smi_n"] = len(s)
        r["smi_mhz"] = sum(x[1] for x in s) / len(s) if s else 0
        r["watt"] = sum(x[2] for x in s) / len(s) if s else 0
        r["temp"] = max(x[3] for x in s) if s else 0
        bits = 0
        for x in s:
            bits |= x[4]
        r["reasons"] = "+".join(n for b, n in REASONS.items() if bits & b) or ("none" if s else "?")
        r["mj"] = r["watt"] * r["last_us"] * 1e-3  # energy a launch (whole board), mJ
    for shape in dict.fromkeys(r["shape"] for r in rows):
        rs = [r for r in rows if r["shape"] == shape]
        print("clocks %s (second half of each phase; probe = clock64 spin between batches)" % shape)
        print("  %-16s %8s %7s %7s %8s | %7s %6s %4s %7s %s" % ("phase", "us", "MHz", "gMHz", "Mcyc", "smiMHz", "W", "C", "mJ", "clock events"))
        for r in rs:
            print("  %-16s %8.1f %7.0f %7.0f %8.4f | %7.0f %6.0f %4.0f %7.1f %s   (first 100 ms: %.1f us %.0f MHz %.4f Mcyc)" % (
                r["phase"], r["last_us"], r["last_mhz"], r.get("last_gmhz", 0), r["last_mcyc"], r["smi_mhz"], r["watt"], r["temp"],
                r["mj"], r["reasons"], r["first_us"], r["first_mhz"], r["first_mcyc"]))
        by = {r["phase"]: r for r in rs}
        for mode in ("b2b", "gap", "lb", "dob"):
            fm = by.get("flashmla/" + mode)
            if not fm or not fm["last_us"] or not fm["last_mhz"]:
                continue
            for r in rs:
                k, _, m = r["phase"].partition("/")
                if k == "flashmla" or m != mode or not r["last_mhz"]:
                    continue
                t, c, f = r["last_us"] / fm["last_us"], r["last_mcyc"] / fm["last_mcyc"], fm["last_mhz"] / r["last_mhz"]
                e = r["mj"] / fm["mj"] if fm["mj"] else 0
                print("  %s vs flashmla (%s): time %.3f = cycles %.3f x clock %.3f; energy a launch %.3f; W %.0f vs %.0f" % (
                    k, mode, t, c, f, e, r["watt"], fm["watt"]))
                verdict = []
                if f >= 1.03:
                    verdict.append("CLOCK (ours runs %.1f %% slower clock than FlashMLA under the same load)" % ((f - 1) * 100))
                if c >= 1.03:
                    verdict.append("CYCLES (ours takes %.1f %% more cycles a launch)" % ((c - 1) * 100))
                print("clocks_verdict %s %s %s: %s" % (shape, k, mode, "; ".join(verdict) or "LEVEL (cycles and clock within 3 %)"))
        # the published pairing: `flashmla bench` (lb) against bench_flashmla.py (dob); like for like: both lb, both dob
        lb, dob, flb, fdob = by.get("lib/lb"), by.get("lib/dob"), by.get("flashmla/lb"), by.get("flashmla/dob")
        if lb and dob and flb and fdob and min(lb["last_us"], dob["last_us"], flb["last_us"], fdob["last_us"]) > 0:
            pub, l_lb, l_dob = lb["last_us"] / fdob["last_us"], lb["last_us"] / flb["last_us"], dob["last_us"] / fdob["last_us"]
            print("  method: lib lb / flashmla dob (as published) %.3f; like for like: both lb %.3f, both dob %.3f; "
                  "dob/lb time: lib %.3f, flashmla %.3f; clock lb/dob: lib %.0f/%.0f, flashmla %.0f/%.0f MHz" % (
                      pub, l_lb, l_dob, dob["last_us"] / lb["last_us"], fdob["last_us"] / flb["last_us"],
                      lb["last_mhz"], dob["last_mhz"], flb["last_mhz"], fdob["last_mhz"]))
            worst = max(pub / l_lb, pub / l_dob)
            print("clocks_verdict %s method: %s" % (shape, "METHOD (the published pairing is %.1f %% worse for us than like for like)" % ((worst - 1) * 100)
                                                    if worst >= 1.03 else "same either way (within 3 %)"))
        for r in rs:  # how the cycles follow the clock within a phase: 0 = cycle-bound, 1 = bound in nanoseconds
            if r["first_mhz"] and r["last_mhz"] and abs(r["last_mhz"] / r["first_mhz"] - 1) >= 0.05 and r["first_mcyc"]:
                el = (r["last_mcyc"] / r["first_mcyc"] - 1) / (r["last_mhz"] / r["first_mhz"] - 1)
                print("  %s: clock %0.f -> %.0f MHz within the phase, cycles x%.3f: elasticity %.2f (0: cycle-bound, 1: time-bound)" % (
                    r["phase"], r["first_mhz"], r["last_mhz"], r["last_mcyc"] / r["first_mcyc"], el))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Session 35, call 2: the arms of s33_arms (DIR/ab-flush/, DIR/ab-graph/: ab-<i>-<arm>.json, the library's runs named
'ship') against FlashMLA's times of the same rows from flashmla_protocols.py (FP: 'flashmla' = do_bench, 'flashmla_b2b'
= graph replay): per row and arm the mean time and FlashMLA's time over it, and each arm's geomean ratio.

  python3 bench/cuda/hopper/s35_vs_fm.py FP.json DIR
"""
import glob, json, math, os, sys

fp = {(r["b"], r["s_k"], r["h_q"], r["s_q"]): r for r in json.load(open(sys.argv[1]))["rows"]}
for proto, fk in (("flush", "flashmla"), ("graph", "flashmla_b2b")):
    runs = {}
    for f in sorted(glob.glob(os.path.join(sys.argv[2], f"ab-{proto}", "ab-*.json"))):
        arm = os.path.basename(f)[:-5].split("-", 2)[2]
        for r in json.load(open(f))["rows"]:
            runs.setdefault(arm, {}).setdefault((r["b"], r["s_k"], r["h_q"], r["s_q"]), []).append(r["ms"])
    print(f"{proto} (FlashMLA {fk}):")
    logs = {a: [] for a in runs}
    for k in sorted(next(iter(runs.values())).keys(), key=lambda k: (k[1], k[2] * k[3], k[2])):
        f = fp.get(k, {}).get(fk, {}).get("ms")
        line = f"  s_k {k[1]:5d} h_q {k[2]:3d} s_q {k[3]}  FlashMLA {f * 1e3 if f else float('nan'):7.1f} us"
        for a, rr in runs.items():
            m = sum(rr[k]) / len(rr[k]); line += f"  {a} {m * 1e3:7.1f} us ({f / m if f else float('nan'):.3f}x)"
            if f: logs[a].append(math.log(f / m))
        print(line)
    print("  geomean FlashMLA / arm: " + ", ".join(f"{a} {math.exp(sum(v) / len(v)):.4f}" for a, v in logs.items() if v))

#!/usr/bin/env python3
"""Session 21, helper s4: the rule of s21_s4_slot.sh, written in docs/notes/cuda-sparse-decode.md ("Session 21 (s4)") before
any run.

  python3 bench/cuda/hopper/s21_s4_rule.py AB.txt OUT_DIR V32PAIRM_1.json V32PAIRM_2.json [V32ITEMS.json]      # or --self-test

Bit 10 (m6881343277586247432 = the shipped 6881343277586246408 + 1024: bit 44's map in the V3.2 pair entries, four lanes a
token and one round a tile, bit 56's halves kept) changes only the V3.2 pair entries and must write their bytes. It counts
only if its checks passed (AB.txt: goldens all, both precisions, random sm90 cases at h_q 64 / 128, 0 failures), memcheck
at h_q 128 ended with 0 errors (OUT_DIR/san128) and sparse-sm90-bitexact.js (--v32 --pages 64,37,1,100 --extra --nan) found
every case's out / lse bytes identical to shipped's (OUT_DIR/bitexact.txt: `bitexact: N of N identical`, NaN rows
included). It qualifies when the two --shapes v32pairm runs (4 rounds of 10 each; run 1 shipped first, run 2 the candidate
first; shapes 1-4 FlashMLA's V3.2 h_q 128 shapes, 5-6 the MODEL1 pair k512 / k1024 shapes, the same code) give
  - the four V3.2 pair shapes a pooled geomean time / shipped <= 0.985 (each shape: the mean of its two runs' ratios),
  - no pooled V3.2 shape > 1.005, each run's own V3.2 geomean <= 0.99,
  - each MODEL1 guard within 1.5 % in each run (else noise: KEEP).
V32ITEMS.json (the item fit, logged only): us a tile and an item per build (s19_h2r3_rule.items).
Last line: SHIP 6881343277586247432 (...) or KEEP 6881343277586246408 (...).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s21_s3_rule import PairRule  # noqa: E402  (s3's rule, the classes swapped)

RULE = PairRule(6881343277586246408, 10, "V3.2 pair", "MODEL1", "v32pairm",
                [90.2, 165.0, 50.1, 90.3, 115.6, 202.8], [87.0, 158.2, 48.0, 86.9, 102.5, 175.6])

if __name__ == "__main__":
    RULE.main(sys.argv[1:])

#!/usr/bin/env python3
"""The rule of bench/cuda/dense-fp8/s22_f7.sh (session 22, helper f7; docs/notes/cuda-dense-fp8.md, "Session 22 (f7)",
written before any run): s22_f6_rule.py's checks and thresholds unchanged, applied to C = v160128477972956736 built from
this tree, i.e. n32s with its named barriers in the non-aligned forms (the synccheck fix). The VAR bits are f6's, so a
SHIP line reads as f6's does.

  python3 s22_f7_rule.py --checks CHECKS.txt     exit 0 when C's checks are clean
  python3 s22_f7_rule.py AB.json CHECKS.txt      a line a shape, the checks, then the verdict as the last line
  python3 s22_f7_rule.py --self-test             f6's synthetic cases through the same code

  checks: dense90 (both shards) all pass, dense90q >= the shipped control's count, memcheck and synccheck 0 errors.
  noise:  the guard 8192x16x1 within 0.98 .. 1.02, else KEEP.
  gains:  t(8192x32x1) <= 0.97, t(8192x16x2) <= 0.98, t(4096x32x1) <= 1.0; then t(1024x32x1) <= 1.01 -> SHIP every
          32-row launch on n32s (denseFp8Sm90SplitTiles 0), else SHIP from 48 tiles an SM part; otherwise KEEP.
"""
import importlib.util, os, sys

_spec = importlib.util.spec_from_file_location("f6rule", os.path.join(os.path.dirname(os.path.abspath(__file__)), "s22_f6_rule.py"))
f6 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(f6)

if __name__ == "__main__":
    f6.main()

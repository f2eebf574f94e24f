#!/usr/bin/env bash
# Session 30, call 5 (H200): the wide kernel's item end, E1 (kVarBStLds: the staged output rows out by shared loads and
# coalesced warp stores instead of 64 bulk copies), E3 (kVarBQPf: the next item's Q into L2 at the last pair), E2 (both)
# against the default build A: checks of E2 (sm90-wide.test, memcheck, synccheck), the stamps of E2 beside the
# default's, then arms A E1 E2 E3 E3 E2 E1 A on bench/cuda/hopper/s30_wide_e.json. Predictions and rule:
# results/gpu-host/bench/hopper/s30/predictions.txt. Carry .ghc (.gpu-host) and .devstage/s30c5.tar.xz
# (s29_pack ... E1 E2 E3 trace traceE2):   OUT=$OUT bash bench/cuda/hopper/s30_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c5.tar.xz}"
s29_wide_checked E2 8
C='[{"b":128,"s_k":1024,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":64,"s_q":1}]'
s29_traces "$C" trace traceE2
s29_ab_arms A bench/cuda/hopper/s30_wide_e.json A E1 E2 E3 E3 E2 E1 A
tar czf "$OUT/s30c5-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

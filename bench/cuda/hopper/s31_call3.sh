#!/usr/bin/env bash
# Session 31, call 3 (H200; its checks through s29_common.sh s29_wide_checks since the session's end, as they ran): the >= 64-row kernel with unsplit output rows stored from registers and every item's
# next Q issued in its last pair (R: -DMLA_SM90W_STREG=1) against the library (A): checks of R (sm90-wide.test,
# memcheck, synccheck), session 30's trace tool on trA / trR (the same two with -DMLA_SM90W_TRACE
# -DMLA_SM90W_LIB_TRACE), then arms A R R A on bench/cuda/hopper/s30_wide_e.json. Predictions and rule:
# results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c3.tar.xz from s29_pack ... R trA trR):
#   OUT=$OUT bash bench/cuda/hopper/s31_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c3.tar.xz}"
s29_wide_checked R 8
C='[{"b":128,"s_k":1024,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":1024,"h_q":64,"s_q":2}]'
s29_traces "$C" trA trR
s29_ab_arms A bench/cuda/hopper/s30_wide_e.json A R R A
tar czf "$OUT/s31c3-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

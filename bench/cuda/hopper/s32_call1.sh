#!/usr/bin/env bash
# Session 32, call 1 (H200): the next item's Q into L2 early in the >= 64-row kernel (kVarBQPf with MLA_SM90W_QPF_AT: QM the
# item's middle pair, QS pair part mod pairs) against the library (A): QM's checks (sm90-wide.test 100 cases, memcheck,
# synccheck), session 30's trace tool on trA / trQM / trD (trD: the library with MLA_SM90W_DESYNC_NS=18000, odd parts
# starting 18 us late: do boundaries cost less when the grid does not cross them at once?), then arms A QM QS QS QM A on
# bench/cuda/hopper/s30_wide_e.json. Predictions and rule: results/gpu-host/bench/hopper/s32/predictions.txt.
# Carry .ghc and .devstage (s32c1.tar.xz from s29_pack ... QM QS trA trQM trD):
#   OUT=$OUT bash bench/cuda/hopper/s32_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s32c1.tar.xz}"
s29_wide_checked QM 8
C='[{"b":128,"s_k":1024,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":1024,"h_q":64,"s_q":2}]'
s29_traces "$C" trA trQM trD
s29_ab_arms A bench/cuda/hopper/s30_wide_e.json A QM QS QS QM A
tar czf "$OUT/s32c1-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

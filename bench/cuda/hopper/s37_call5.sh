#!/usr/bin/env bash
# Session 37, call 5 (H200): call 4's short-item rule failed (b = 1 32-row shapes 1.065-1.068x from graphs, on the wide
# kernel's _ld twin); the rule refined from call 4's data (also q >= 64 rows: b * rows >= 64) is the packed commit's
# default, tested here on 21 shapes never timed before (bench/cuda/hopper/s37-kps-shapes2.json: 17 it moves, 4 it
# leaves, two of them b = 1 32-row). Arms ship / kps0 (FLASHMLA_CUDA_SM90W_KPS=0, the batch rule alone), each twice, in
# do_bench's loop and from CUDA graphs; bench/cuda/hopper/s37_kps_rule.py (every shape new) judges the rule written
# before the call (results/gpu-host/bench/hopper/s37/predictions.txt). If it passes, FlashMLA's small-batch and hold-out
# sets are recorded against FlashMLA 9241ae3 (s35_record with S32_SETS; FlashMLA's grid has no shape the rule moves:
# its b = 128 17-32-row rows were on the wide kernel already, b = 1 is 16 rows, the uneven batch 64). Checks: call 4's
# (memcheck / synccheck on two moved shapes, sm90.test 400 random cases) ran with a superset of these moves.
# Carry .ghc (with anchors) and .devstage (s37c5.tar.xz):   OUT=$OUT bash bench/cuda/hopper/s37_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s37c5.tar.xz}"
mkdir -p "$OUT/f"
s37_rule_arms s37k2 bench/cuda/hopper/s37-kps-shapes2.json kps0 0
s33_pack s37c5-arms
if grep -q 'RULE PASS' "$OUT/rule.txt"; then
  export S32_SETS="small-batch combine-holdout"
  s35_record "--protocols do_bench"
  s36_record_pack s37c5
fi
ts end

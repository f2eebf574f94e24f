#!/usr/bin/env bash
# Session 36, call 3 (H200): the library of session 36 (the wide kernel without its entry trigger, taking 17-32 rows where
# 2 b >= SM parts; PDL on the merges outside graph capture by default) checked and recorded against FlashMLA 9241ae3 in
# the same call. Checks: sm90.test with 1000 random cases (4 shards) and the goldens, sm90-wide.test with 300 random
# cases and its 75 17-32-row cases (2 shards), reliability's overlapping calls, memcheck / synccheck on six shapes
# (two of them 32 rows on the wide kernel), racecheck on two. Benches: s35_record (FlashMLA's grid plus b=1 and the
# uneven batch, the 34 small-batch shapes and the 25 hold-outs, under do_bench's loop and from CUDA graphs on both sides).
# Predictions: results/gpu-host/bench/hopper/s36/predictions.txt. Carry .ghc (with anchors) and .devstage (s36c3.tar.xz
# from s29_pack):   OUT=$OUT bash bench/cuda/hopper/s36_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s36c3.tar.xz}"
mkdir -p "$OUT/f"
s36_final_checks # (as run: the steps, since moved into s29_common.sh)
s33_pack s36c3-checks
s35_record "--protocols do_bench"
s36_record_pack s36c3
ts end

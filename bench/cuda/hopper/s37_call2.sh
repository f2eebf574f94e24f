#!/usr/bin/env bash
# Session 37, call 2 (H200): the library of session 37 (decode_sm90.cu's entries no longer trigger their dependents:
# TRIG 0, SAME CODE as call 1's NT; PDL on every launch that waits by default, captured graphs included) checked and
# recorded against FlashMLA 9241ae3 in the same call. Checks, all with the default PDL: sm90.test with 1000 random
# cases (4 shards) and the goldens, sm90-wide.test with 300 random cases (2 shards), cuda.test (graph capture
# replays to the same bits), reliability's overlapping calls, memcheck / synccheck on six shapes, racecheck on two.
# Benches: s35_record (FlashMLA's grid plus b=1 and the uneven batch, the 34 small-batch shapes and the 25 hold-outs,
# under do_bench's loop and from CUDA graphs on both sides).
# Predictions: results/gpu-host/bench/hopper/s37/predictions.txt. Carry .ghc (with anchors) and .devstage (s37c2.tar.xz
# from s29_pack):   OUT=$OUT bash bench/cuda/hopper/s37_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s37c2.tar.xz}"
mkdir -p "$OUT/f"
s36_final_checks 1
s33_pack s37c2-checks
s35_record "--protocols do_bench"
s36_record_pack s37c2
ts end

#!/usr/bin/env bash
# Session 35, call 6 (H200): programmatic dependent launch (FLASHMLA_CUDA_PDL=1: the <= 32-row kernel and the split-KV
# merge launched with programmatic stream serialization) as the default on sm_90? Call 5 measured it in do_bench's loop
# at 0.94-0.96x the time on three short 32-row hold-out shapes and 0.987x on the uneven batch.
#  1. Checks with PDL on: sm90.test (100 random cases + goldens), memcheck / synccheck on four <= 32-row shapes (one
#     split: the merge runs).
#  2. Arms A pdl pdl A (ours against ours) on FlashMLA's grid + b=1 + uneven, the 34 small batches and the 25 hold-outs
#     (85 shapes) in do_bench's loop with --rep-ms 100 (both arms the same loop; half do_bench's repetitions for time).
# Predictions and rules: results/gpu-host/bench/hopper/s35/predictions.txt. Carry .ghc and .devstage (s35c6.tar.xz):
#   OUT=$OUT bash bench/cuda/hopper/s35_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s35c6.tar.xz}"
mkdir -p "$OUT/f"
rm -rf dist-LIB; mkdir -p dist-LIB; cp -r dist/cuda dist-LIB/cuda
export FLASHMLA_CUDA_PDL=1
s33_narrow_checks LIB
s29_run_jobs 8
s33_narrow_report LIB
unset FLASHMLA_CUDA_PDL
s33_pack s35c6-checks
"${CLI[@]}" bench --grid full --emit-configs "$OUT/f/full.json" > /dev/null
python3 -c 'import json,sys; json.dump(sum((json.load(open(f)) for f in sys.argv[2:]), []), open(sys.argv[1], "w"))' "$OUT/f/all85.json" "$OUT/f/full.json" bench/cuda/small-batch.json bench/cuda/combine-holdout.json
s35_arms pdl "--flush-mb 256 --rep-ms 100" "$OUT/f/all85.json" A pdl pdl A
s33_pack s35c6-arms

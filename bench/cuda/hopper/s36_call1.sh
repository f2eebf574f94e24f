#!/usr/bin/env bash
# Session 36, call 1 (H200): ours against ours in do_bench's loop, FlashMLA not in the call.
#  A. PDL with the wide kernel's entry trigger dropped (LT: -DMLA_SM90W_LATE_TRIGGER) and with the wide kernel waiting,
#     so that it is launched as a programmatic dependent too (WP: LT + -DMLA_SM90W_PDL_WAIT, FLASHMLA_CUDA_SM90W_PDL=1).
#     Checks of WP with PDL on (sm90-wide.test 100 random + goldens, memcheck / synccheck on four wide shapes,
#     reliability.test's 48 overlapping calls), WP against the library bit for bit (no PDL).
#  B. The 17-32-row shapes on the wide kernel (FLASHMLA_CUDA_SM90W_FROM=17). Checks with FROM=1 (every narrow shape on
#     the wide kernel): sm90.test 100 random + goldens, memcheck / synccheck on four shapes.
#  Arms A pdl LT+pdl WP+wpdl w17 w17 WP+wpdl LT+pdl pdl A over 85 shapes (--flush-mb 256 --rep-ms 100).
# Predictions and rules: results/gpu-host/bench/hopper/s36/predictions.txt. Carry .ghc and .devstage (s36c1.tar.xz:
# s29_pack LT WP):   OUT=$OUT bash bench/cuda/hopper/s36_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s36c1.tar.xz}"
mkdir -p "$OUT/f"
# A's checks: WP with PDL on, the wide kernel a programmatic dependent too.
export FLASHMLA_CUDA_PDL=1 FLASHMLA_CUDA_SM90W_PDL=1
s29_wide_checks WP
s29_run_jobs 8
s29_wide_checks_report WP
FLASHMLA_CUDA_KERNELS=dist-WP/cuda FLASHMLA_REQUIRE=cuda timeout -k 5 150 node --test --test-reporter=tap --test-name-pattern "overlapping" build/test/gpu/reliability.test.js > "$OUT/f/rel-WP.txt" 2>&1; echo "reliability WP+wpdl rc $?"
grep -E '^# (pass|fail|summary)|^not ok' "$OUT/f/rel-WP.txt" | head -8
unset FLASHMLA_CUDA_PDL FLASHMLA_CUDA_SM90W_PDL
timeout -k 5 200 node build/bench/cuda/hopper/dense-sm90-bitexact.js --wide A=dist/cuda WP=dist-WP/cuda > "$OUT/f/bitexact.txt" 2>&1; echo "bitexact rc $?"
tail -1 "$OUT/f/bitexact.txt"; grep -v identical "$OUT/f/bitexact.txt" | head -5
ts "A checks done"
s33_pack s36c1-checksA
# B's checks: every narrow shape on the wide kernel (FROM=1).
rm -rf dist-LIB; mkdir -p dist-LIB; cp -r dist/cuda dist-LIB/cuda
: > "$OUT/jobs.txt"
export FLASHMLA_CUDA_SM90W_FROM=1
s33_narrow_checks LIB
s29_run_jobs 8
s33_narrow_report LIB
unset FLASHMLA_CUDA_SM90W_FROM
ts "B checks done"
s33_pack s36c1-checksB
"${CLI[@]}" bench --grid full --emit-configs "$OUT/f/full.json" > /dev/null
python3 -c 'import json,sys; json.dump(sum((json.load(open(f)) for f in sys.argv[2:]), []), open(sys.argv[1], "w"))' "$OUT/f/all85.json" "$OUT/f/full.json" bench/cuda/small-batch.json bench/cuda/combine-holdout.json
s35_arms s36 "--flush-mb 256 --rep-ms 100" "$OUT/f/all85.json" A pdl LT+pdl WP+wpdl w17 w17 WP+wpdl LT+pdl pdl A
s33_pack s36c1-arms

#!/usr/bin/env bash
# Session 38, call 2 (H200): dense FP8 decode of 64 heads and more on sparse_sm90.cu (sparse.ts denseOnSparse: the lists
# by sparse_mma.cu's mla_dense_fp8_indices, the step planned by the host's lengths, P as hi + lo). Checks (sparse.test.ts's
# dense blocks; sparse-count.ts dense64 300 / dense 200 / dense90 100 random cases; memcheck and synccheck on dense64
# cases), then dense rows h_q 16 / 32 / 64 / 128 at b=128 s_k 8192 in do_bench's loop, arms A (the library) / M
# (FLASHMLA_CUDA_DENSE_FP8_SPARSE=0: sparse_mma.cu from 64 heads) / A. Predictions and the ship rule:
# results/gpu-host/bench/hopper/s38/predictions.txt. Pack: s29_pack .devstage/s38c2.tar.xz; carry .ghc and .devstage:
#   OUT=$OUT bash bench/cuda/hopper/s38_call2.sh
# (Refactored after it ran: the steps are s29_common.sh's s38_* functions with the counts it ran; not run again as written.)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c2.tar.xz}"
mkdir -p "$OUT/f"
s38_counts "dense64 300 6" "dense 200 2" "dense90 100 1"
s38_dense_test
s38_san dense64 4 memcheck synccheck
wait
ts "checks done"
s38_checks_report
s38_dense_arms 16,32,64,128 A M A
tar czf "$OUT/s38c2.tgz" -C "$OUT" f
ts end

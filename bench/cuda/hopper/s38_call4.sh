#!/usr/bin/env bash
# Session 38, call 4 (H200): dense FP8 decode of 64 heads and more on sparse_sm90.cu with the block table and the
# lengths on the device, planned there by mla_dense_fp8_lists's first CTAs (call 3's separate plan kernel cost 5 %). Checks (sparse-count.ts dense64d 300 / dense64 100;
# sparse.test.ts's dense blocks; memcheck and synccheck on dense64d cases), then dense rows h_q 16 / 32 / 64 / 128 at
# b=128 s_k 8192 in do_bench's loop, arms A (host lengths from 64 heads) / D (--dense-device-lens) / MD (sparse_mma.cu,
# device lengths) / D / A. Predictions and
# the ship rule: results/gpu-host/bench/hopper/s38/predictions.txt. Pack: s29_pack .devstage/s38c4.tar.xz; carry .ghc
# and .devstage:   OUT=$OUT bash bench/cuda/hopper/s38_call4.sh
# (Refactored after it ran: the steps are s29_common.sh's s38_* functions with the counts it ran; not run again as written.)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s38c4.tar.xz}"
mkdir -p "$OUT/f"
s38_counts "dense64d 300 6" "dense64 100 4"
s38_dense_test
s38_san dense64d 4 memcheck synccheck
wait
ts "checks done"
s38_checks_report
s38_dense_arms 16,32,64,128 A D MD D A
tar czf "$OUT/s38c4.tgz" -C "$OUT" f
ts end

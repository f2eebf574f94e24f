#!/usr/bin/env bash
# Session 56, call 5: (1) the GPU fuzz at two more seeds with three times the cases (its summary now counts the sparse
# calls planned on the device); (2) what the device plan's walk costs where it is not skipped: dense FP8 steps of 64 and
# 128 heads with the lengths on the host (planned there) and on the device (mla_dense_fp8_lists's 33-132 plan CTAs, each
# walking up to its row, at every call), two rounds.
# Predictions (written before the run): (1) no untyped error, no hang; (2) device / host lengths 1.02-1.06 (the sparse
#     walk cost 17-23 us at b = 128 in call 2, against ~480-1600 us dense FP8 steps).
#   (here)   s29_pack .devstage/s56c5.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=330 OUT=$OUT bash bench/cuda/hopper/s56_call5.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s56c5.tar.xz s50_setup c5 # (W, CLI, ts, lim)
for s in 38 39; do FUZZ_CASES=3 s50_fuzz $s 80; ts "fuzz $s"; done
s50_dense_lens_ab 64,128 # (the same loop as run, moved into s50_common.sh afterwards)
ts "end"
tar czf "$OUT/s56c5.tgz" -C "$W" .

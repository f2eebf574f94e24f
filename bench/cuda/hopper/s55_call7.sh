#!/usr/bin/env bash
# Session 55, call 7: the final build (PDL sparse launch, max.NaN merges, the capture refusal) through the CUDA suite
# (goldens, 1200 random cases, every decode variant, graph capture, the new NaN test) and the sparse suite's random
# cases (300 a kind; the 64 / 128-head sm90 cases; the dense FP8 64+-head cases).
# Predictions (written before the run): every suite passes; worst cosDiff as call 1's (2.83e-6).
#   (here)   s29_pack .devstage/s55c7.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=420 OUT=$OUT bash bench/cuda/hopper/s55_call7.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s55c7.tar.xz s50_setup c7 # (W, CLI, ts, lim)
timeout -k 5 "$(lim 200)" node --test --test-reporter=tap build/test/gpu/cuda.test.js > "$W/cuda.tap" 2>&1
echo "cuda rc $?"; grep -E "^# (pass|fail)|^not ok|^\s+not ok|cases, .* runs" "$W/cuda.tap" | head -6; ts "cuda suite"
FLASHMLA_GPU_SPARSE_CASES=300 FLASHMLA_GPU_DENSE64_CASES=40 FLASHMLA_GPU_DENSE_FOLD_CASES=30 \
  s50_sparse_suite sparse 170 "random cases vs|with 64 / 128 heads|64 heads and more|a NaN key|after the bound pass|FlashMLA goldens"
ts "end"
tar czf "$OUT/s55c7.tgz" -C "$W" .

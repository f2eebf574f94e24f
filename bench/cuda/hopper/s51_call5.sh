#!/usr/bin/env bash
# Session 51, call 5: call 4's mutant passed 4 unscaled sparse cases (scores too small for a bf16 Q to show), so every
# f16 sparse case now scales its query rows (factors 2^-20 .. 2^14); the mutant again on those (prediction: fails within
# its first 4 seeds), then the real kernel on 150 sparse cases and memcheck on 6.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 OUT=$OUT bash bench/cuda/hopper/s51_call5.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s51c5.tar.xz s50_setup c5 # (W, CLI, ts, lim)
FLASHMLA_CUDA_KERNELS=dist-mut/cuda FLASHMLA_GPU_FP8_F16_SEED=1 FLASHMLA_GPU_FP8_F16_CASES=4 s50_sparse_suite mutant 60 "random sparse cases \(seed 41"
grep -E "not ok|seed 41" $W/mutant.tap | cut -c1-200 | head -6
ts "mutant (expected to fail)"
FLASHMLA_GPU_FP8_F16_CASES=150 s50_sparse_suite f16 120 "random sparse cases \(seed 41"
ts "f16 sparse"
FLASHMLA_GPU_FP8_F16_SEED=1 FLASHMLA_GPU_FP8_F16_CASES=6 timeout -k 5 $(lim 100) compute-sanitizer --tool memcheck --target-processes all --print-limit 20 node --test \
  --test-name-pattern "random sparse cases \(seed 41" build/test/gpu/sparse.test.js > $W/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|^# (pass|fail)|Invalid" $W/memcheck.txt | head -6
ts "end"
tar czf "$OUT/s51c5.tgz" -C $W .

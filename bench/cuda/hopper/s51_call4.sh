#!/usr/bin/env bash
# Session 51, call 4: the f16-over-FP8 mutant (Q's lo tile dropped, dist-mut) on cases that are not query-scaled (call 2
# ran it on the first seeds only, both query-scaled), and memcheck on f16 sparse and dense cases (call 2's memcheck ran
# one sparse case before the lse bound stopped the loop). Prediction: the mutant fails within its first few seeds in both
# tests (a bf16 Q rounds query values by up to 2^-9, ~4 f16 ulps of the output); memcheck 0 errors.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 OUT=$OUT bash bench/cuda/hopper/s51_call4.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/${S51PACK:-s51c4}.tar.xz s50_setup c4 # (W, CLI, ts, lim)
FLASHMLA_CUDA_KERNELS=dist-mut/cuda FLASHMLA_GPU_FP8_F16_SEED=1 FLASHMLA_GPU_FP8_F16_CASES=4 s50_sparse_suite mutant 60 "f16 queries over FP8"
grep -E "not ok|seed 4[12]0" $W/mutant.tap | cut -c1-200 | head -8
ts "mutant (expected to fail)"
FLASHMLA_GPU_FP8_F16_SEED=1 FLASHMLA_GPU_FP8_F16_CASES=8 timeout -k 5 $(lim 150) compute-sanitizer --tool memcheck --target-processes all --print-limit 20 node --test \
  --test-name-pattern "f16 queries over FP8" build/test/gpu/sparse.test.js > $W/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|^# (pass|fail)|Invalid" $W/memcheck.txt | head -6
ts "end"
tar czf "$OUT/s51c4.tgz" -C $W .

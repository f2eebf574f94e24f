#!/usr/bin/env bash
# Session 51, call 9: freed tensors on CUDA (the backend's live map holds each address's own storage: a stale handle is
# refused, and freeing it again leaves the tensor allocated after it at the same address alone), with the decode goldens,
# graph capture and a few sparse / f16 cases after the change.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=150 OUT=$OUT bash bench/cuda/hopper/s51_call9.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s51c9.tar.xz s50_setup c9 # (W, CLI, ts, lim)
FLASHMLA_GPU_CASES=60 timeout -k 5 $(lim 90) node --test --test-name-pattern "freed tensor|golden|graph capture|random cases vs" build/test/gpu/cuda.test.js > $W/cuda.tap 2>&1
echo "cuda rc $?"; grep -E "^# (pass|fail|skip)|^not ok|freed tensor" $W/cuda.tap | head -8
FLASHMLA_GPU_FP8_F16_CASES=20 FLASHMLA_GPU_SPARSE_CASES=40 s50_sparse_suite sparse 50 "f16 queries over FP8|random cases vs the float64"
ts "end"
tar czf "$OUT/s51c9.tgz" -C $W .

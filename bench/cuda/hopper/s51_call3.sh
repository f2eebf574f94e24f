#!/usr/bin/env bash
# Session 51, call 3: call 2's f16 sparse cases again (its first, a query-scaled case, failed only lse's absolute bound at
# lse ~7444, where f32 is ~5e-4 apart: qScale cases now get lseRel 2^-16 as the dense bigQ cases have), and call 2's
# anomaly: in the MODEL1 48-row dense row (partial tile, device lengths) the bf16 row timed right after it read 19 us
# (743 us in the mma.sync process). Checks: the partial-tile random cases with MODEL1 48 x 1 / 40 x 1 / 24 x 2 added and
# the device index tensors compared after each call; memcheck on the bench's own MODEL1 48-row step; the bench again.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=520 OUT=$OUT bash bench/cuda/hopper/s51_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s51c3.tar.xz s50_setup c3 # (W, CLI, ts, lim)
FLASHMLA_GPU_FP8_F16_CASES=120 s50_sparse_suite f16 150 "random sparse cases \(seed 41000"
ts "f16 sparse tests"
FLASHMLA_GPU_DENSE_FOLD_CASES=60 s50_sparse_suite partial 90 "whole 64-head tile"
ts "partial tests"
db() { timeout -k 5 $(lim $2) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only $3 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1
  echo "dense $1 rc $?"; grep -E "^dense |rror" $W/cuda-densefp8-$1.txt; }
db m1a 60 "--flush-mb 256 --dense-format model1 --dense-heads 48,40,16"
db v32a 60 "--flush-mb 256 --dense-heads 48,40"
timeout -k 5 $(lim 120) compute-sanitizer --tool memcheck --target-processes all --print-limit 10 "${CLI[@]}" bench --mode sparse --backend cuda --dense-only \
  --dense-format model1 --dense-heads 48 --reps 2 --warmup 1 --out $W/mc.json > $W/memcheck-m1-48.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|^dense |Invalid|rror" $W/memcheck-m1-48.txt | head -12
ts "diag"
db m1b 60 "--flush-mb 256 --dense-format model1 --dense-heads 48"
ts "end"
tar czf "$OUT/s51c3.tgz" -C $W .

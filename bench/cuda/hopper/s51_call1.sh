#!/usr/bin/env bash
# Session 51, call 1: session 50's prepared call (bench/cuda/hopper/s50_next.sh: dense FP8 steps whose rows make no
# whole 64-head tile on the Hopper sparse kernel, FLASHMLA_CUDA_DENSE_FP8_PARTIAL=1), then sparse decode at 65-127 heads
# on the Hopper sparse kernel (FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=1: the second 64-head tile part empty), which runs
# sparse_mma.cu by default; then session 50's folded dense rows (on an H200 their first record there).
# Predictions (written before the run):
#  - dense FP8 partial (session 50's, unchanged): checks pass; partial / mma.sync 0.45-0.70 for V3.2 16 x 3, 24 x 2 and
#    40 x 1, 0.55-0.80 at 5 x 7. Rule: default for dense FP8 only if the checks pass and every timed row is <= 0.95.
#  - sparse at 96 heads: checks pass; sm90 / mma.sync 0.45-0.70 (two 64-head tiles on the Hopper kernel cost about its
#    128-head time, ~2x the 64-head one; the mma.sync kernel at 96 rows runs a 64-row tile plus a 32-row one, 1.4-1.6x
#    its 64-row time). Rule: the Hopper kernel becomes the default for 65-127 heads only if the checks pass and every
#    row is <= 0.95.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s51_call1.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s51c1.tar.xz s50_setup n # (W, CLI, ts, lim)
FLASHMLA_CUDA_DENSE_FP8_PARTIAL=1 FLASHMLA_GPU_DENSE_FOLD_CASES=100 FLASHMLA_GPU_DENSE64_CASES=30 s50_sparse_suite partial 150 "whole 64-head tile|folded|seed 97000"
ts "dense partial tests"
FLASHMLA_CUDA_DENSE_FP8_PARTIAL=1 FLASHMLA_GPU_DENSE_FOLD_CASES=8 timeout -k 5 $(lim 70) compute-sanitizer --tool memcheck --target-processes all --print-limit 20 node --test \
  --test-name-pattern "whole 64-head tile" build/test/gpu/sparse.test.js > $W/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|^# (pass|fail)|Invalid" $W/memcheck.txt | head -6
ts "memcheck"
db() { FLASHMLA_CUDA_DENSE_FP8_PARTIAL=$2 timeout -k 5 $(lim 60) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads $3 \
    --flush-mb 256 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1; echo "dense $1 rc $?"; grep -E "^dense V3" $W/cuda-densefp8-$1.txt; }
db part1 1 16x3,24x2,40,5x7
db mma1 0 16x3,24x2,40,5x7
db mma2 0 16x3,24x2,40,5x7
db part2 1 16x3,24x2,40,5x7
ts "dense partial bench"
FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=1 FLASHMLA_GPU_SPARSE_SM90_HQ=96,65,80,127 FLASHMLA_GPU_SPARSE_SM90_CASES=30 FLASHMLA_GPU_SPARSE_CASES=40 \
  s50_sparse_suite heads96 90 "hQ 64 / 128|many heads|hQ 1 / 16"
ts "sparse 65-127 tests"
sb() { FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=$2 timeout -k 5 $(lim 70) "${CLI[@]}" bench --mode sparse --backend cuda --batches 128 --heads 96 --dense-heads 16 \
    --flush-mb 256 --rep-ms 60 --out $W/cuda-sparse-$1.json > $W/cuda-sparse-$1.txt 2>&1; echo "sparse $1 (partial $2) rc $?"; }
sb h96part 1
sb h96mma 0
s50_sparse_rows cuda-sparse-h96part.json cuda-sparse-h96mma.json
ts "sparse 96 bench"
db fold "" 32x2,16x4,64x2 # (session 50's folded rows)
ts "end"
tar czf "$OUT/s51c1.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

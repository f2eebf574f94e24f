#!/usr/bin/env bash
# Session 50, call 7 (the shipped defaults): sparse steps below 64 heads on the Hopper sparse kernel ('below64', call 6's
# rule held: 0.51-0.67x the mma.sync kernel's time on the H200) and the folded dense FP8 steps ('pair'). Checks: the
# dispatch tests (hQ 1 / 16 / 32 / 63 on sparse_sm90, 96 not; folded names), 100 random sparse cases (any hQ), 30 + 30
# folded cases, the many-heads cases; then the records, each against its switch turned off in another process:
# FlashMLA's 12 sparse shapes at b = 128 with 16 and 32 heads, and the dense FP8 rows 32x2, 16x4, 64x2.
# Prediction (written before the run): checks pass; ratios as calls 2, 5 and 6 on the same card kind within +-5 %.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=230 OUT=$OUT bash bench/cuda/hopper/s50_call7.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && s50_setup g # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
FLASHMLA_GPU_SPARSE_CASES=100 FLASHMLA_GPU_DENSE_FOLD_CASES=30 s50_sparse_suite tests 100 "fewer than 64|random cases vs the float64|many heads|folded|sm_90 builds run them"
ts "tests"
sb() { FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=$2 timeout -k 5 $(lim 50) "${CLI[@]}" bench --mode sparse --backend cuda --batches 128 --heads 16,32 \
    --flush-mb 256 --rep-ms 60 --out $W/cuda-sparse-$1.json > $W/cuda-sparse-$1.txt 2>&1; echo "sparse $1 rc $?"; }
db() { FLASHMLA_CUDA_DENSE_FP8_FOLD=$2 timeout -k 5 $(lim 50) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads 32x2,16x4,64x2 \
    --flush-mb 256 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1; echo "dense $1 rc $?"; grep -E "^dense V3" $W/cuda-densefp8-$1.txt; }
sb below64 ""
sb off 0
db pair ""
db off 0
s50_sparse_rows cuda-sparse-below64.json cuda-sparse-off.json
ts "end"
tar czf "$OUT/s50c7.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

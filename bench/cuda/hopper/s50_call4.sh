#!/usr/bin/env bash
# Session 50, call 4: does folding help where hQ is already a multiple of 64? FLASHMLA_CUDA_DENSE_FP8_FOLD=all folds
# those steps too (sQ queries of 64 heads as one query of 64 sQ heads: the pair entry's two CTAs share each key tile's
# dequantization, where unfolded each query's CTA dequantizes it again). Correctness with =all on 30 + 30 wide random
# cases (64 / 128 heads, sQ 1-3), then FP8 time, default and =all, b = 128 s_k = 8192, do_bench's loop.
# Prediction (written before the run): all / default time 0.80-0.92 at 64x2 (pair entry vs two single CTAs a part),
# 0.92-1.02 at 128x2 (pair entry either way, 2 z tiles vs 2 queries), 0.85-0.98 at 64x3. Rule: 'all' becomes the
# default for a shape class only where it is <= 0.97 on every row of that class.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=240 OUT=$OUT bash bench/cuda/hopper/s50_call4.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && s50_setup d # (W, CLI, ts, lim)
FLASHMLA_CUDA_DENSE_FP8_FOLD=all FLASHMLA_GPU_DENSE64_CASES=30 s50_sparse_suite all 90 "seed 97000|seed 98000" # (wide cases, FOLD=all)
ts "tests"
bench() { # bench TAG FOLD HEADS
  FLASHMLA_CUDA_DENSE_FP8_FOLD=$2 timeout -k 5 $(lim 80) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads $3 \
    --flush-mb 256 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1
  echo "dense FP8 $1 (fold $2) rc $?"; grep -E "^dense V3|rror" $W/cuda-densefp8-$1.txt | head -8
}
bench def 1 64x2,128x2,64x3
bench all all 64x2,128x2,64x3
bench def2 1 64x2,128x2,64x3
ts "end"
tar czf "$OUT/s50c4.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

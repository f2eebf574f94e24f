#!/usr/bin/env bash
# Session 50, call 5: the 'pair' fold (sparse-sm90-launch.ts denseFoldOnSparseSm90, the default since this call's rule
# was written): steps whose hQ is a multiple of 64 but not of 128 and sQ * hQ one of 128 fold onto the pair entry. Call 4
# measured one such row (64 x 2: 0.898x the time, H100); this call tests shapes no call has timed, 64 x 4 and 192 x 2,
# with 64 x 2 again. Checks first: 30 + 30 wide random cases (hQ 64 with sQ 2 now folded) and 30 + 30 folded cases.
# Prediction and rule (written before the run): pair / rows time 0.86-0.93 at 64x2, 0.85-0.95 at 64x4 and 192x2; 'pair'
# stays the default if every row is <= 0.97 in both rounds, else the default goes back to 'rows'.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=240 OUT=$OUT bash bench/cuda/hopper/s50_call5.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && s50_setup e # (W, CLI, ts, lim)
FLASHMLA_GPU_DENSE64_CASES=30 FLASHMLA_GPU_DENSE_FOLD_CASES=30 s50_sparse_suite pair 100 "seed 97000|seed 98000|folded|sm_90 builds run them"
ts "tests"
bench() { # bench TAG FOLD HEADS
  FLASHMLA_CUDA_DENSE_FP8_FOLD=$2 timeout -k 5 $(lim 80) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads $3 \
    --flush-mb 256 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1
  echo "dense FP8 $1 (fold $2) rc $?"; grep -E "^dense V3|rror" $W/cuda-densefp8-$1.txt | head -8
}
bench pair1 pair 64x2,64x4,192x2
bench rows1 rows 64x2,64x4,192x2
bench rows2 rows 64x2,64x4,192x2
bench pair2 pair 64x2,64x4,192x2
ts "end"
tar czf "$OUT/s50c5.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

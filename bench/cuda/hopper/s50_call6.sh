#!/usr/bin/env bash
# Session 50, call 6: sparse decode of any hQ on the Hopper sparse kernel (FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=1, a
# measurement mode: the last 64-head tile part empty; the kernel already zero-fills the rows past hQ and stores none of
# them). Until now hQ no multiple of 64 (16 or 32 heads: DeepSeek-V3.2 on 8- or 4-way tensor parallelism) ran
# sparse_mma.cu (mma.sync). Checks with the mode on: the random sparse suites (any hQ), memcheck on 10 cases. Then time
# FlashMLA's 12 sparse shapes at b = 128 with h_q 16 and 32 instead of their own, mode on and off, do_bench's loop.
# Prediction (written before the run): every check passes; partial / mma.sync time 0.45-0.75 at h_q 16, 0.40-0.70 at
# h_q 32 (the Hopper kernel's tile costs about its 64-head cost, the mma.sync kernel's its dequantization and its
# mma.sync work). Rule: the mode becomes the default for hQ < 64 only if the checks pass and every row is <= 0.95.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=330 OUT=$OUT bash bench/cuda/hopper/s50_call6.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && s50_setup f # (W, CLI, ts, lim)
FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=1 FLASHMLA_GPU_SPARSE_CASES=150 s50_sparse_suite partial 130 "random cases vs the float64|many heads|sinks far"
ts "tests"
FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=1 FLASHMLA_GPU_SPARSE_CASES=12 timeout -k 5 $(lim 70) compute-sanitizer --tool memcheck --target-processes all --print-limit 20 node --test \
  --test-name-pattern "random cases vs the float64" build/test/gpu/sparse.test.js > $W/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|^# (pass|fail)|Invalid" $W/memcheck.txt | head -6
ts "memcheck"
bench() { # bench TAG PARTIAL
  FLASHMLA_CUDA_SPARSE_SM90_PARTIAL=$2 timeout -k 5 $(lim 70) "${CLI[@]}" bench --mode sparse --backend cuda --batches 128 --heads 16,32 \
    --flush-mb 256 --rep-ms 60 --out $W/cuda-sparse-$1.json > $W/cuda-sparse-$1.txt 2>&1
  echo "sparse $1 (partial $2) rc $?"
}
bench part 1
bench mma 0
s50_sparse_rows cuda-sparse-part.json cuda-sparse-mma.json
ts "end"
tar czf "$OUT/s50c6.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

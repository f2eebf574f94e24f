#!/usr/bin/env bash
# Session 50, call 2: dense FP8 steps folded onto the Hopper sparse kernel (sparse.ts denseFoldTakes: sQ queries of hQ
# heads, hQ no multiple of 64, sQ * hQ one, as one query of sQ * hQ heads over the keys every query sees, then
# sparse_mma.cu's mla_dense_fp8_tail for each query's own last keys and lse in the step's order). Until now such steps
# (hQ 32 with sQ 2, 16 with 4, ...) ran sparse_mma.cu (mma.sync).
# Checks: the fold's GPU tests (100 + 100 random cases, host and device lengths, both formats, lengths below sQ), the
# dispatch test, the list kernel against the host scheduler (listShift 0 there), 30 wide cases (listShift 0 on the
# unfolded path), memcheck on 8 folded cases. Then FP8 time against our bf16 in one process (b = 128 s_k = 8192,
# do_bench's loop), folded and with FLASHMLA_CUDA_DENSE_FP8_FOLD=0 (the mma.sync kernel).
# Prediction (written before the run): every check passes; folded / mma.sync time 0.40-0.55 at 32x2 and 16x4 (the
# sparse kernel at 64 heads took 0.45x the mma.sync kernel's time in session 38), 0.35-0.50 at 32x4 (128 rows); FP8 /
# bf16 speed 0.55-0.75 folded (session 38's 64-head row: 0.65) against 0.25-0.35 on mma.sync.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=420 OUT=$OUT bash bench/cuda/hopper/s50_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && s50_setup b # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
FLASHMLA_GPU_DENSE_FOLD_CASES=${FOLD:-100} FLASHMLA_GPU_DENSE64_CASES=30 timeout -k 5 $(lim 170) node --test \
  --test-name-pattern "folded|sm_90 builds run them|mla_dense_fp8_lists|seed 97000" build/test/gpu/sparse.test.js > $W/fold.tap 2>&1
echo "fold tests rc $?"; grep -E "^# (pass|fail|skipped)|not ok|seed|bound|Error" $W/fold.tap | cut -c1-240 | head -16
ts "tests"
FLASHMLA_GPU_DENSE_FOLD_CASES=8 timeout -k 5 $(lim 100) compute-sanitizer --tool memcheck --target-processes all --print-limit 20 node --test \
  --test-name-pattern "folded cases \(seed 99" build/test/gpu/sparse.test.js > $W/memcheck.txt 2>&1
echo "memcheck rc $?"; grep -E "ERROR SUMMARY|^# (pass|fail)|Invalid" $W/memcheck.txt | head -8
ts "memcheck"
bench() { # bench TAG FOLD HEADS
  FLASHMLA_CUDA_DENSE_FP8_FOLD=$2 timeout -k 5 $(lim 100) "${CLI[@]}" bench --mode sparse --backend cuda --dense-only --dense-heads $3 \
    --flush-mb 256 --out $W/cuda-densefp8-$1.json > $W/cuda-densefp8-$1.txt 2>&1
  echo "dense FP8 $1 (fold $2) rc $?"; grep -E "^dense V3|rror" $W/cuda-densefp8-$1.txt | head -8
}
bench fold 1 32x2,16x4,32x4,64,128
bench mma 0 32x2,16x4,32x4
ts "end"
tar czf "$OUT/s50c2.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

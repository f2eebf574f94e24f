#!/usr/bin/env bash
# Prepared in session 50 for the next session (not run): dense FP8 steps whose rows make no whole 64-head tile on the
# Hopper sparse kernel with a part-empty tile (FLASHMLA_CUDA_DENSE_FP8_PARTIAL=1: V3.2 above 32 rows — 16 x 3 folded to
# 48 rows, 24 x 2, 40 x 1, 5 x 7 — and MODEL1 at any row count), which run sparse_mma.cu (mma.sync) by default; and, on
# an H200, session 50's folded rows (recorded on an H100 only).
# Checks with the mode on: 100 random cases of such rows (host and device lengths), the folded and wide cases, memcheck.
# Prediction (written in session 50, before any run): checks pass; partial / mma.sync time 0.45-0.70 for V3.2 16 x 3,
# 24 x 2 and 40 x 1 (the part-empty tile costs about a whole 64-head tile, as sparse decode's did in session 50's call 6:
# 0.51-0.67), 0.55-0.80 at 5 x 7 (35 rows). Rule: the mode becomes the default for dense FP8 only if the checks pass and
# every timed row is <= 0.95 (MODEL1 rows are not timed by the bench: say so if they go default with V3.2's evidence).
#   (dev machine) npm run build; rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#                 source bench/cuda/hopper/s29_common.sh; rm -f .devstage/*.tar.xz; s29_pack .devstage/s50n.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=330 OUT=$OUT bash bench/cuda/hopper/s50_next.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && s50_setup n # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
FLASHMLA_CUDA_DENSE_FP8_PARTIAL=1 FLASHMLA_GPU_DENSE_FOLD_CASES=100 FLASHMLA_GPU_DENSE64_CASES=30 s50_sparse_suite partial 150 "whole 64-head tile|folded|seed 97000"
ts "tests"
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
db fold "" 32x2,16x4,64x2 # (session 50's folded rows; on an H200 their first record there)
ts "end"
tar czf "$OUT/s50n.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

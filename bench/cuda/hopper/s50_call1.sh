#!/usr/bin/env bash
# Session 50, call 1: what sessions 48-49 left unmeasured where the card allows — WebGPU dense decode over a V3.2 FP8
# cache on subgroup matrices (fused fp8Direct, the default since session 49, and the staged path), each timed against
# the bf16 cache in its own process (b = 128 s_k = 8192, 16 / 32 / 64 / 128 heads, chained 10 a submission); the fused
# and default-route suites and 300 random dense FP8 cases of the long suite on the card; CUDA's sparse.test alone (in
# session 49 it ran beside the WebGPU suites and was stopped by that call's bound).
# Prediction (written before the run; the H100 figures of session 49 in docs/notes/webgpu-decode.md): on an H100 the
# same ratios as session 49 within +-8 % (fp8Direct 1.22-1.27x the bf16 time, staged 3.5 / 2.3 / 1.7 / 1.35x); on an
# H200 fp8Direct 1.1-1.35x (the bf16 kernel gains more from the H200's bandwidth than the latency-bound FP8 tile).
#   (device) ln -sfn .ghc .gpu-host && BUDGET=380 OUT=$OUT bash bench/cuda/hopper/s50_call1.sh > $OUT/log.txt 2>&1
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s50a.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s50a; rm -rf $W; mkdir -p $W
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
timeout -k 5 $(lim 170) node --test build/test/gpu/sparse.test.js > $W/cuda-sparse.tap 2>&1
echo "cuda sparse.test rc $?"; grep -E "^# (pass|fail|skipped|duration)|^\s*not ok" $W/cuda-sparse.tap | cut -c1-200 | head -8
ts "cuda sparse"
timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8-fused.test.js > $W/fused.tap 2>&1
echo "webgpu-dense-fp8-fused rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound|error:|dnOk" $W/fused.tap | cut -c1-240 | head -12
timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8.test.js > $W/densefp8.tap 2>&1
echo "webgpu-dense-fp8 rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/densefp8.tap | cut -c1-240 | head -12
ts "tests"
bench() { # bench TAG PATH HEADS
  FLASHMLA_WEBGPU_DENSE_FP8_PATH=$2 timeout -k 5 $(lim 90) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-only --dense-heads $3 \
    --chain-calls 10 --reps ${REPS:-8} --out $W/wg-densefp8-$1.json > $W/wg-densefp8-$1.txt 2>&1
  echo "dense FP8 $1 ($2) rc $?"; grep -E "^dense V3|rror" $W/wg-densefp8-$1.txt | head -6
}
bench d1 fused 16,32,64,128
bench st staged 16,32,64,128
ts "timed"
if [ "$(lim 100)" -gt 60 ]; then
  FLASHMLA_WEBGPU_DENSE_FP8_CASES=300 timeout -k 5 $(lim 100) node --test --test-name-pattern "dense" build/test/long/webgpu-sparse.test.js > $W/long-densefp8.tap 2>&1
  echo "long webgpu-sparse (dense FP8, 300 cases) rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/long-densefp8.tap | cut -c1-240 | head -12
fi
ts "end"
tar czf "$OUT/s50c1.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

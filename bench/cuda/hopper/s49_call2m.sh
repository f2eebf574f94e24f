#!/usr/bin/env bash
# Session 49, call 2 in short (the device time left after failed starts): s49_call2.sh's arms that decide the rule —
# fp8Direct (on) and session 48's form (off), each timed against the bf16 cache in its own process at 16 and 128 heads
# (b = 128 s_k = 8192), then the fused suite on the card, then the SASS if time is left. Prediction and rule: s49_call2.sh.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=200 OUT=$OUT bash bench/cuda/hopper/s49_call2m.sh > $OUT/log.txt 2>&1
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s49b.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s49b; rm -rf $W; mkdir -p $W
bench() { # bench TAG FP8DIRECT HEADS
  FLASHMLA_WEBGPU_DENSE_FP8_PATH=fused FLASHMLA_WEBGPU_MATRIX_FP8DIRECT=$2 timeout -k 5 $(lim 60) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-only --dense-heads $3 \
    --chain-calls 10 --reps ${REPS:-6} --out $W/wg-densefp8-$1.json > $W/wg-densefp8-$1.txt 2>&1
  echo "dense FP8 $1 (fp8Direct $2) rc $?"; grep -E "^dense V3|rror" $W/wg-densefp8-$1.txt | head -6
}
bench d1 1 16,128
bench d0 0 16,128
ts "timed"
timeout -k 5 $(lim 60) node --test build/test/backends/webgpu-dense-fp8-fused.test.js > $W/fused.tap 2>&1
echo "webgpu-dense-fp8-fused rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound|error:|dnOk" $W/fused.tap | cut -c1-240 | head -12
ts "tests"
export LD_LIBRARY_PATH=$PWD/.devstage/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [ "$(lim 30)" -gt 20 ]; then
  ZSTD=$PWD/.devstage/bin/zstd NAMES="matrix5-sg8 matrix5-fp8 matrix5-fp8d" WORK=$W/sass OUT=$W timeout 25 bash scripts/webgpu-tools/h200-s24-sass.sh > $W/sass.txt 2>&1
  grep -E "instructions|registers" $W/sass.txt | cut -c1-300 | head -12
fi
ts "end"
tar czf "$OUT/s49c2.tgz" -C $W --exclude='glc' .
cp $W/*.json $OUT/ 2>/dev/null

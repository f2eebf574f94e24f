#!/usr/bin/env bash
# Session 48, the short form of s48_next.sh for a call with little device time left: the fused path's own suite, then
# fused and staged each timed against the bf16 cache in one process (16, 32 and 128 heads, b = 128 s_k = 8192).
#   (device) ln -sfn .ghc .gpu-host && BUDGET=240 OUT=$OUT bash bench/cuda/hopper/s48_min.sh > $OUT/log.txt 2>&1
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s48.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
W=/tmp/s48; rm -rf $W; mkdir -p $W
timeout -k 5 $(lim 70) node --test build/test/backends/webgpu-dense-fp8-fused.test.js > $W/fused.tap 2>&1
echo "webgpu-dense-fp8-fused rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound|error:" $W/fused.tap | cut -c1-240 | head -12
ts "tests done"
for path in fused staged; do
  FLASHMLA_WEBGPU_DENSE_FP8_PATH=$path timeout -k 5 $(lim 80) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-only --dense-heads ${HEADS:-16,32,128} \
    --chain-calls 10 --reps ${REPS:-10} --out $W/wg-densefp8-$path.json > $W/wg-densefp8-$path.txt 2>&1
  echo "dense FP8 $path rc $?"; grep -E "dense|rror" $W/wg-densefp8-$path.txt | head -8
done
ts "end"
tar czf "$OUT/s48.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

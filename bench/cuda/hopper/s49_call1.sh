#!/usr/bin/env bash
# Session 49, call 1 (H200): what session 48's s48_next.sh was for, shortened — the WebGPU dense FP8 suites (fused and
# the default route), CUDA's sparse and reliability suites beside them, the fused and staged paths timed against the
# bf16 cache in one process (16 / 32 / 64 / 128 heads, b = 128 s_k = 8192), and the driver's SASS of the v5 kernel with
# and without its fp8 form (why the in-place conversion costs 2.8x the bf16 time on the H100).
# Predictions (docs/notes/webgpu-decode.md, "Session 49"): the H200 ratios within 20 % of the H100's (fused 2.8 / 2.9x at
# 16 / 128 rows, staged 3.5 / 1.35x); the fp8 form's SASS larger by 1000-2500 instructions with local memory (LDL/STL) or
# at 255 registers where the bf16 form holds ~238.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=420 OUT=$OUT bash bench/cuda/hopper/s49_call1.sh > $OUT/log.txt 2>&1
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s49.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s49; rm -rf $W; mkdir -p $W
# SASS first (a child process a pipeline, no other GPU work at the same time)
NAMES="matrix5-sg8 matrix5-fp8" WORK=$W/sass OUT=$W bash scripts/webgpu-tools/h200-s24-sass.sh > $W/sass.txt 2>&1
grep -E "^==|instructions|registers" $W/sass.txt | cut -c1-400 | head -20
ts "sass"
( timeout -k 5 $(lim 150) node --test build/test/gpu/sparse.test.js > $W/cuda-sparse.tap 2>&1; echo "cuda sparse.test rc $?" > $W/cuda.rc
  timeout -k 5 $(lim 100) node --test build/test/gpu/reliability.test.js > $W/cuda-reliability.tap 2>&1; echo "gpu reliability.test rc $?" >> $W/cuda.rc ) &
CUDA_PID=$!
timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8-fused.test.js > $W/fused.tap 2>&1
echo "webgpu-dense-fp8-fused rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound|error:" $W/fused.tap | cut -c1-240 | head -12
timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8.test.js > $W/densefp8.tap 2>&1
echo "webgpu-dense-fp8 rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/densefp8.tap | cut -c1-240 | head -12
wait $CUDA_PID; cat $W/cuda.rc; for f in cuda-sparse cuda-reliability; do grep -E "^# (pass|fail|skipped)|^\s*not ok" $W/$f.tap | cut -c1-200 | head -8; done
ts "tests done"
for path in fused staged; do
  FLASHMLA_WEBGPU_DENSE_FP8_PATH=$path timeout -k 5 $(lim 90) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-only --dense-heads ${HEADS:-16,32,64,128} \
    --chain-calls 10 --reps ${REPS:-8} --out $W/wg-densefp8-$path.json > $W/wg-densefp8-$path.txt 2>&1
  echo "dense FP8 $path rc $?"; grep -E "dense|rror" $W/wg-densefp8-$path.txt | head -10
done
ts "end"
tar czf "$OUT/s49c1.tgz" -C $W --exclude='glc' .
cp $W/*.json $OUT/ 2>/dev/null

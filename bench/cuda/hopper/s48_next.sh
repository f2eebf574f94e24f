#!/usr/bin/env bash
# Session 48 (H200): WebGPU dense decode over FP8 caches on subgroup matrices — the fused path (new this session: the v5
# kernel reading a V3.2 cache in place, kernels/decode-matrix5.ts `fp8`) and the staged path (session 47, never run on a
# GPU before) — correctness, then their time against the bf16 cache (same process) and the sparse route both replaced;
# CUDA's FP8 / sparse and reliability suites beside the WebGPU tests (session 47 moved the FP8 cache check before the
# block-table kernels). Predictions, written before the run (docs/notes/webgpu-decode.md, "Session 48"): b = 128 s_k 8192,
# FP8 time / bf16 time: fused 0.8-1.2 at 16 / 32 rows, 1.0-1.3 at 64 / 128; staged 2.0-2.6 at 16 / 32 rows (2960 bytes
# moved a token against 1152), 1.1-1.4 at 64 / 128; the sparse route 30-80x staged's time.
# Not run in session 48 (no H200 started); its short form s48_min.sh ran once on an H100 (fused 2.80x / 2.91x the bf16
# time at 16 / 128 rows, staged 3.49x / 1.35x: docs/notes/webgpu-decode.md, "Session 48"). For the next session: this
# whole script on the H200, with pipeline stats of the fp8 form (scripts/webgpu-tools/) to see why its conversion costs
# so much.
#   (dev machine) npm run build; rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#                 source bench/cuda/hopper/s29_common.sh; rm -f .devstage/*.tar.xz; s29_pack .devstage/s48.tar.xz
#   (device)      ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s48_next.sh > $OUT/log.txt 2>&1; tail -60 $OUT/log.txt
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s48.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s48; rm -rf $W; mkdir -p $W
# (0) CUDA's suites over FP8 caches and bad input (session 47 put the FP8 cache check before the block-table kernels),
# in the background beside the WebGPU tests (correctness only; the timings below start after both)
( timeout -k 5 $(lim 150) node --test build/test/gpu/sparse.test.js > $W/cuda-sparse.tap 2>&1; echo "cuda sparse.test rc $?" > $W/cuda.rc
  timeout -k 5 $(lim 100) node --test build/test/gpu/reliability.test.js > $W/cuda-reliability.tap 2>&1; echo "gpu reliability.test rc $?" >> $W/cuda.rc ) &
CUDA_PID=$!
# (1) correctness on subgroup matrices: the default route's suite (fused for V3.2) and the fused path's own suite (fused
# and staged bit for bit with bf16Direct off)
timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8.test.js > $W/densefp8.tap 2>&1
echo "webgpu-dense-fp8 rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/densefp8.tap | cut -c1-240 | head -12
timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8-fused.test.js > $W/fused.tap 2>&1
echo "webgpu-dense-fp8-fused rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound|error:" $W/fused.tap | cut -c1-240 | head -12
wait $CUDA_PID; cat $W/cuda.rc; for f in cuda-sparse cuda-reliability; do grep -E "^# (pass|fail|skipped)|^\s*not ok" $W/$f.tap | cut -c1-200 | head -8; done
ts "tests done"
# (2) time: fused and staged, each against the bf16 cache in the same process (FP8 rows and bf16 rows of one bench)
bench() { # bench PATH REPS LIMIT
  FLASHMLA_WEBGPU_DENSE_FP8_PATH=$1 timeout -k 5 $(lim $3) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-only --dense-heads 16,32,64,128 \
    --chain-calls 10 --reps $2 --out $W/wg-densefp8-$1.json > $W/wg-densefp8-$1.txt 2>&1
  echo "dense FP8 $1 rc $?"; grep -E "dense|rror" $W/wg-densefp8-$1.txt | head -12
}
bench fused 20 120
bench staged 20 120
ts "timed"
# (3) the staged path's suite on this device, 300 random dense FP8 cases of the long suite (default route), the sparse route's time
FLASHMLA_WEBGPU_DENSE_FP8_PATH=staged timeout -k 5 $(lim 90) node --test build/test/backends/webgpu-dense-fp8.test.js > $W/densefp8-staged.tap 2>&1
echo "webgpu-dense-fp8 (staged) rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/densefp8-staged.tap | cut -c1-240 | head -12
FLASHMLA_WEBGPU_DENSE_FP8_CASES=300 timeout -k 5 $(lim 120) node --test --test-name-pattern "dense" build/test/long/webgpu-sparse.test.js > $W/long-densefp8.tap 2>&1
echo "long webgpu-sparse (dense FP8) rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/long-densefp8.tap | cut -c1-240 | head -12
bench sparse 3 150
ts "end"
tar czf "$OUT/s48.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

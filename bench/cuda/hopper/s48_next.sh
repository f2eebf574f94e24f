#!/usr/bin/env bash
# Prepared in session 47 (no device lent), for the next session with an H200; not run yet. WebGPU's staged dense decode
# over FP8 caches (WebGpuBackend.decodeDenseFp8: each request's pages decoded once into bf16 pages, then the dense
# kernel, on the H200 the v5 subgroup-matrix kernel): its correctness on subgroup matrices and its time against the bf16
# cache (same call) and the sparse route it replaced (FLASHMLA_WEBGPU_DENSE_FP8_PATH=sparse). Prediction, written in
# session 47 (docs/notes/webgpu-decode.md, "Session 47"): staged at ~0.39x the bf16 step's speed at 16 / 32 rows
# (b = 128, s_k = 8192: 2960 bytes a token against 1152), ~0.8-0.9x at 64 / 128 rows (compute-bound), 30-80x the
# sparse route's speed.
#   (dev machine) npm run build; rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#                 source bench/cuda/hopper/s29_common.sh; rm -f .devstage/*.tar.xz; s29_pack .devstage/s48.tar.xz
#   (device)      ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s48_next.sh > $OUT/log.txt 2>&1; tail -60 $OUT/log.txt
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s48.tar.xz}" # (CLI, T0, ts, lim: s29_common.sh)
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s48; rm -rf $W; mkdir -p $W
# (1) correctness on subgroup matrices: the staged path's suite, then 300 random dense FP8 cases of the long suite
timeout -k 5 $(lim 120) node --test build/test/backends/webgpu-dense-fp8.test.js > $W/densefp8.tap 2>&1
echo "webgpu-dense-fp8 rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/densefp8.tap | cut -c1-240 | head -12
FLASHMLA_WEBGPU_DENSE_FP8_CASES=300 timeout -k 5 $(lim 150) node --test --test-name-pattern "dense" build/test/long/webgpu-sparse.test.js > $W/long-densefp8.tap 2>&1
echo "long webgpu-sparse (dense FP8) rc $?"; grep -E "^# (pass|fail|skipped)|^\s*not ok|seed|bound" $W/long-densefp8.tap | cut -c1-240 | head -12
ts "tests done"
# (2) time: staged against the bf16 cache in the same process, then the sparse route
for path in staged sparse; do
  reps=$([ $path = staged ] && echo 20 || echo 3)
  FLASHMLA_WEBGPU_DENSE_FP8_PATH=$path timeout -k 5 $(lim 150) "${CLI[@]}" bench --mode sparse --backend webgpu --dense-only --dense-heads 16,32,64,128 \
    --chain-calls 10 --reps $reps --out $W/wg-densefp8-$path.json > $W/wg-densefp8-$path.txt 2>&1
  echo "dense FP8 $path rc $?"; grep -E "dense V3.2|rror" $W/wg-densefp8-$path.txt | head -8
done
ts "end"
tar czf "$OUT/s48.tgz" -C $W .
cp $W/*.json $OUT/ 2>/dev/null

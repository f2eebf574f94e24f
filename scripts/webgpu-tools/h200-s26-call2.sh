#!/usr/bin/env bash
# Session 26 (issue #13), call 2: keyFactors v2 (one branch for a lane's keys) against the default on call 1's seven
# shapes, its SASS, then the GPU matrix suite with it. Predictions and rules: results/gpu-host/bench/hopper/s26_webgpu/
# predictions.txt. From the tree's root, .gpu-host (webgpu), build/ and .devstage/s24a (zstd) carried:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s26-call2.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s26-c2
cfga='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":64,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":4096,"h_q":32,"s_q":1}]'
AB_TIMEOUT=200 ab_run dflt,kf "$cfga" ab-kf2 15
( ZSTD=$PWD/.devstage/s24a/zstdw NAMES="matrix5-kf" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
rm -rf "$W/sass/glc" "$W/all.tgz"
FLASHMLA_MATRIX_TEST_PMAX=kf FLASHMLA_GPU_CASES=100 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-kf.tap" 2>&1
suite_line "$W/suite-kf.tap"
tar czf "$OUT/all.tgz" -C "$W" .

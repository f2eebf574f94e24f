#!/usr/bin/env bash
# Session 26 (issue #13), call 1: (a) keyFactors (the softmax's key factors formed once a tile) against the default on
# seven shapes, its SASS, the GPU matrix suite with it; (b) the WebGPU backend's own 'auto' rule against FlashMLA's plan
# on hold-out shapes; the schedule and NaN suites. Predictions and rules: results/gpu-host/bench/hopper/s26_webgpu/
# predictions.txt. From the tree's root, .gpu-host (webgpu), build/ and .devstage/s24a (zstd) carried:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s26-call1.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s26-c1
cfga='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":64,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":4096,"h_q":32,"s_q":1}]'
cfgb='[{"b":1,"s_k":12288,"h_q":16,"s_q":1},{"b":1,"s_k":6000,"h_q":16,"s_q":1},{"b":1,"s_k":2000,"h_q":8,"s_q":1},{"b":3,"s_k":8192,"h_q":16,"s_q":1},{"b":5,"s_k":3000,"h_q":16,"s_q":1},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":32,"s_k":512,"h_q":16,"s_q":1},{"b":12,"s_k":1500,"h_q":16,"s_q":1},{"b":4,"s_k":2048,"h_q":16,"s_q":1},{"b":2,"s_k":20000,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":32,"s_q":1},{"b":6,"s_k":6000,"h_q":16,"s_q":1}]'
AB_TIMEOUT=200 ab_run dflt,kf "$cfga" ab-kf 15
AB_TIMEOUT=150 ab_run fl,auto,kfa "$cfgb" ab-auto 15 2
R=(timeout -k 2 ${SUITE_TIMEOUT:-150} node --test --test-reporter=tap)
FLASHMLA_MATRIX_TEST_PMAX=kf FLASHMLA_GPU_CASES=100 "${R[@]}" build/test/gpu/webgpu-matrix.test.js > "$W/suite-kf.tap" 2>&1 &
FLASHMLA_WEBGPU_SCHEDULE=auto "${R[@]}" build/test/backends/webgpu-schedule.test.js > "$W/schedule.tap" 2>&1 &
FLASHMLA_WEBGPU_SCHEDULE=auto "${R[@]}" build/test/backends/webgpu-nan.test.js > "$W/nan.tap" 2>&1 &
wait
for f in suite-kf schedule nan; do suite_line "$W/$f.tap"; done
( ZSTD=$PWD/.devstage/s24a/zstdw NAMES="matrix5-sg8 matrix5-kf" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
rm -rf "$W/sass/glc" "$W/all.tgz"
tar czf "$OUT/all.tgz" -C "$W" .

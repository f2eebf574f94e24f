#!/usr/bin/env bash
# Session 25 (issue #13), call 4: wideSoftmax (the softmax on all 256 lanes) against the default, tile16-ab arms dflt,
# wsm (the candidate, measured slower, has left the code: its diff is s25_webgpu/call4/wideSoftmax-as-measured.diff); the SASS of matrix5-wsm and the default (matrix5-q1); the GPU matrix suite with wideSoftmax in every v5 pipeline.
# Predictions and rules: results/gpu-host/bench/hopper/s25_webgpu/predictions.txt. From the tree's root, .gpu-host
# (webgpu), build/ and .devstage/s24a (zstd) carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call4.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s25-c4
cfg=${CONFIGS:-'[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":64,"s_k":8192,"h_q":64,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'}
ab_run "${ARMS:-dflt,wsm}" "$cfg" ab "${REPS:-15}" 8
[ -n "${NO_SASS:-}" ] || ( ZSTD=$PWD/.devstage/s24a/zstdw NAMES="${SASS_NAMES:-matrix5-wsm}" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
if [ -z "${NO_SUITE:-}" ]; then
  FLASHMLA_MATRIX_TEST_PMAX=${SUITE_PMAX:-wsm} FLASHMLA_GPU_CASES=${CASES:-100} timeout -k 2 ${SUITE_TIMEOUT:-150} node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-matrix.tap" 2>&1
  suite_line "$W/suite-matrix.tap"
fi
tar czf "$OUT/all.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 25 (issue #13), call 3: the combine's column slices alone, infSafe 'seen' with the 'fill' plan, qRowLanes and
# all of them together against the shipped default (tile16-ab arms old, c1s, seen, seenf, sfc, q2, all) on 13 shapes,
# then the SASS of the default (matrix5-q1) and of qRowLanes (matrix5-q2), then the wide-combine suite. Predictions and
# rules: results/gpu-host/bench/hopper/s25_webgpu/predictions.txt. From the tree's root, .gpu-host (webgpu), build/
# and .devstage/s24a (zstd) carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call3.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s25-c3
cfg=${CONFIGS:-'[{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":4,"s_k":8192,"h_q":32,"s_q":1},{"b":16,"s_k":4096,"h_q":16,"s_q":1},{"b":32,"s_k":2048,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":64,"s_k":8192,"h_q":64,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'}
AB_TIMEOUT=${AB_TIMEOUT:-300} ab_run "${ARMS:-old,c1s,seen,seenf,sfc,q2,all}" "$cfg" ab "${REPS:-20}"
[ -n "${NO_SASS:-}" ] || ( ZSTD=$PWD/.devstage/s24a/zstdw NAMES="${SASS_NAMES:-matrix5-q1 matrix5-q2}" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
if [ -z "${NO_SUITE:-}" ]; then
  timeout -k 2 ${SUITE_TIMEOUT:-120} node --test --test-reporter=tap build/test/backends/webgpu-wide-combine.test.js > "$W/suite-wide.tap" 2>&1
  suite_line "$W/suite-wide.tap"
fi
tar czf "$OUT/all.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 25 (issue #13), call 2: the combine's column slices and the one-pass launch (kernels/combine.ts
# chooseCombineCols; as it ran, also the one-pass launch, arm c1p, removed after it) against the combine as before
# (tile16-ab arms dflt = the new default then, old, c1s), infSafe 'seen' (the epilogue's third state alone) on FlashMLA's and the 'fill' plan; then the suites: the wide
# combine's and the backend's on the new default, the GPU matrix suite, webgpu-nan and webgpu-schedule with 'seen' and
# 'fill'. Predictions and rules: results/gpu-host/bench/hopper/s25_webgpu/predictions.txt. From the tree's root,
# .gpu-host (webgpu) and build/ carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call2.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s25-c2
cfg=${CONFIGS:-'[{"b":1,"s_k":64,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"s_k":8192,"h_q":16,"s_q":1},{"b":8,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'}
ab_run "${ARMS:-dflt,old,c1s,seen,seenf,fill}" "$cfg" ab 12
if [ -z "${NO_SUITE:-}" ]; then
  R=(timeout -k 2 ${SUITE_TIMEOUT:-170} node --test --test-reporter=tap)
  "${R[@]}" build/test/backends/webgpu-wide-combine.test.js > "$W/suite-wide.tap" 2>&1 &
  WEBGPU_RANDOM_CASES=${CASES:-100} "${R[@]}" build/test/backends/webgpu.test.js > "$W/suite-webgpu.tap" 2>&1 &
  FLASHMLA_GPU_CASES=${CASES:-100} "${R[@]}" build/test/gpu/webgpu-matrix.test.js > "$W/suite-matrix.tap" 2>&1 &
  FLASHMLA_WEBGPU_MATRIX_INFSAFE=seen FLASHMLA_WEBGPU_SCHEDULE=fill "${R[@]}" build/test/backends/webgpu-nan.test.js > "$W/suite-nan-seenf.tap" 2>&1 &
  FLASHMLA_WEBGPU_MATRIX_INFSAFE=seen FLASHMLA_WEBGPU_SCHEDULE=fill "${R[@]}" build/test/backends/webgpu-schedule.test.js > "$W/suite-schedule-seenf.tap" 2>&1 &
  wait
  for f in wide webgpu matrix nan-seenf schedule-seenf; do suite_line "$W/suite-$f.tap"; done
  echo "todo that failed (seen + fill):"; grep -h -B1 -E '^ *not ok .*# TODO' "$W"/suite-nan-seenf.tap "$W"/suite-schedule-seenf.tap | grep -E 'not ok' | head -20
  echo "todo that passed (seen + fill):"; grep -h -E '^ *ok .*# TODO' "$W"/suite-nan-seenf.tap "$W"/suite-schedule-seenf.tap | head -20
fi
tar czf "$OUT/all.tgz" -C "$W" .

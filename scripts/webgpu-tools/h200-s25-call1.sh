#!/usr/bin/env bash
# Session 25 (issue #13), call 1: qRowLanes (session 24's built-not-measured candidate), infSafe on the packedMax kernel
# (session 20's fixes cost 6-9 % on the kernel before packedMax; packedMax moved their per-value scan into its rare
# branch) and the 'fill' plan, all against the default in one process (tile16-ab arms dflt, q2, inf, fill, inff, q2f,
# q2if); then the suites the defaults would need: the GPU matrix suite with qRowLanes, webgpu-nan and webgpu-schedule
# with infSafe on and the 'fill' plan as the backend's. Predictions and rules: results/gpu-host/bench/hopper/s25_webgpu/
# predictions.txt (written before the run). From the tree's root, .gpu-host (webgpu) and build/ carried:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call1.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s25-c1
cfg=${CONFIGS:-'[{"b":1,"s_k":64,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'}
ab_run "${ARMS:-dflt,q2,inf,fill,inff,q2f,q2if}" "$cfg" ab 10
if [ -z "${NO_SUITE:-}" ]; then
  R=(timeout -k 2 ${SUITE_TIMEOUT:-150} node --test --test-reporter=tap)
  FLASHMLA_MATRIX_TEST_PMAX=q2 FLASHMLA_GPU_CASES=${CASES:-100} "${R[@]}" build/test/gpu/webgpu-matrix.test.js > "$W/suite-matrix-q2.tap" 2>&1 &
  FLASHMLA_WEBGPU_MATRIX_INFSAFE=1 FLASHMLA_WEBGPU_SCHEDULE=fill "${R[@]}" build/test/backends/webgpu-nan.test.js > "$W/suite-nan-inff.tap" 2>&1 &
  FLASHMLA_WEBGPU_MATRIX_INFSAFE=1 FLASHMLA_WEBGPU_SCHEDULE=fill "${R[@]}" build/test/backends/webgpu-schedule.test.js > "$W/suite-schedule-inff.tap" 2>&1 &
  wait
  for f in matrix-q2 nan-inff schedule-inff; do suite_line "$W/suite-$f.tap"; done
fi
tar czf "$OUT/all.tgz" -C "$W" .

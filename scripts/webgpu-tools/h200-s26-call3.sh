#!/usr/bin/env bash
# Session 26 (issue #13), call 3: firstEarly (a work item's first tile looked up and loaded inside its q prologue)
# against the default, two tile16-ab processes over ten shapes, then the GPU matrix suite with it. Predictions and
# rules: results/gpu-host/bench/hopper/s26_webgpu/predictions.txt. From the tree's root, .gpu-host (webgpu) and build/
# carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s26-call3.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s26-c3
cfg='[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":8,"s_k":8192,"h_q":64,"s_q":1}]'
AB_TIMEOUT=150 ab_run dflt,fe "$cfg" ab-fe1 15
AB_TIMEOUT=150 ab_run dflt,fe "$cfg" ab-fe2 15 2
FLASHMLA_MATRIX_TEST_PMAX=fe FLASHMLA_GPU_CASES=100 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-fe.tap" 2>&1
suite_line "$W/suite-fe.tap"
tar czf "$OUT/all.tgz" -C "$W" .

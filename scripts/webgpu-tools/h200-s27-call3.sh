#!/usr/bin/env bash
# Session 27 (issue #13), call 3: f16Direct (an f16 cache's words into the key tile as loaded: no key maxima, no
# conversion) against the default on f16 configs, with bf16 rows beside them as the control and the reference speed,
# two tile16-ab processes; the GPU matrix suite with it (FLASHMLA_MATRIX_TEST_PMAX=f16d). Predictions and rule:
# results/gpu-host/bench/hopper/s27_webgpu/predictions.txt. From the tree's root, .gpu-host (webgpu) and build/ carried:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s27-call3.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s27-c3
cfg='[{"b":128,"s_k":8192,"h_q":16,"s_q":1,"dtype":"f16"},{"b":128,"s_k":8192,"h_q":128,"s_q":1,"dtype":"f16"},{"b":128,"s_k":1024,"h_q":16,"s_q":1,"dtype":"f16"},{"b":128,"s_k":4096,"h_q":64,"s_q":2,"dtype":"f16"},{"b":1,"s_k":32768,"h_q":16,"s_q":1,"dtype":"f16"},{"b":1,"s_k":4096,"h_q":16,"s_q":1,"dtype":"f16"},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4,"dtype":"f16"},{"b":16,"s_k":1024,"h_q":16,"s_q":1,"dtype":"f16"},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]'
AB_TIMEOUT=200 ab_run dflt,f16d "$cfg" ab-f16d1 15 | grep -E '^(CHECK|TIME|ab-)'
AB_TIMEOUT=200 ab_run dflt,f16d "$cfg" ab-f16d2 15 2 | grep -E '^(TIME|ab-)'
FLASHMLA_MATRIX_TEST_PMAX=f16d FLASHMLA_GPU_CASES=150 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-f16d.tap" 2>&1
suite_line "$W/suite-f16d.tap"
tar czf "$OUT/all.tgz" -C "$W" .

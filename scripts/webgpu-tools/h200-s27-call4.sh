#!/usr/bin/env bash
# Session 27 (issue #13), call 4: rebias (bf16 keys scaled to f16's top binade and converted by integer arithmetic)
# against the default, two tile16-ab processes over ten bf16 shapes (and one f16 control); the GPU matrix suite with it
# (FLASHMLA_MATRIX_TEST_PMAX=rb). Predictions and rule: results/gpu-host/bench/hopper/s27_webgpu/predictions.txt.
# From the tree's root, .gpu-host (webgpu) and build/ carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s27-call4.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s27-c4
cfg='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":64,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":16,"s_q":1,"dtype":"f16"}]'
AB_TIMEOUT=220 ab_run dflt,rb "$cfg" ab-rb1 15 | grep -E '^(CHECK|TIME|ab-)'
AB_TIMEOUT=220 ab_run dflt,rb "$cfg" ab-rb2 15 2 | grep -E '^(TIME|ab-)'
FLASHMLA_MATRIX_TEST_PMAX=rb FLASHMLA_GPU_CASES=150 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-rb.tap" 2>&1
suite_line "$W/suite-rb.tap"
tar czf "$OUT/all.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 26 (issue #13), call 4: (1) firstEarly by the plan (the tree's default) against the default without it on
# ten shapes not used to fit the rule, two tile16-ab processes, judged by s26_fe_rule.py; (2) l2Ahead against the
# default on eight shapes, two processes; (3) the GPU matrix suite with l2Ahead. Predictions and rules:
# results/gpu-host/bench/hopper/s26_webgpu/predictions.txt. From the tree's root, .gpu-host (webgpu) and build/
# carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s26-call4.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s26-c4
cfg='[{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":16,"s_q":1},{"b":32,"s_k":2048,"h_q":16,"s_q":1},{"b":4,"s_k":16384,"h_q":64,"s_q":1},{"b":1,"s_k":131072,"h_q":16,"s_q":1},{"b":2,"s_k":4096,"h_q":128,"s_q":2},{"b":3,"seqlens":[20000,3000,9000],"h_q":16,"s_q":2},{"b":64,"s_k":2048,"h_q":16,"s_q":1},{"b":64,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":2048,"h_q":64,"s_q":1}]'
AB_TIMEOUT=150 ab_run dflt,nofe "$cfg" ab-1 15 > /dev/null
AB_TIMEOUT=150 ab_run dflt,nofe "$cfg" ab-2 15 2 > /dev/null
python3 scripts/webgpu-tools/s26_fe_rule.py "$W/ab-1.txt" "$W/ab-2.txt" | tee "$W/rule.txt"
cfgl='[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1}]'
AB_TIMEOUT=150 ab_run dflt,l2a "$cfgl" ab-l2a-1 15
AB_TIMEOUT=150 ab_run dflt,l2a "$cfgl" ab-l2a-2 15 2 | grep -E '^TIME'
FLASHMLA_MATRIX_TEST_PMAX=l2a FLASHMLA_GPU_CASES=100 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-l2a.tap" 2>&1
suite_line "$W/suite-l2a.tap"
tar czf "$OUT/all.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 40 (issue #13), call 2: bf16Direct (bf16 tiles whose lanes pass a range test converted at scale 1, without the
# key maxima; kernels/decode-matrix5.ts) against the default, two tile16-ab processes over session 27's ten bf16 shapes
# and its f16 control (where bf16Direct does not apply); then the GPU matrix suite with it (FLASHMLA_MATRIX_TEST_PMAX=b16d,
# 150 random cases). Predictions and rule: results/gpu-host/bench/hopper/s40/predictions.txt.
# From the tree's root, .gpu-host (webgpu) and the pack carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s40-call2.sh
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s40c2.tar.xz}"
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s40-c2
cfg='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":64,"s_q":2},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":16,"s_q":1,"dtype":"f16"}]'
AB_TIMEOUT=220 ab_run dflt,b16d "$cfg" ab-b16d1 15 | grep -E '^(CHECK|TIME|ab-)'
AB_TIMEOUT=220 ab_run dflt,b16d "$cfg" ab-b16d2 15 2 | grep -E '^(TIME|ab-)'
FLASHMLA_MATRIX_TEST_PMAX=b16d FLASHMLA_GPU_CASES=150 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-b16d.tap" 2>&1
suite_line "$W/suite-b16d.tap"
cp "$W"/ab-b16d1.txt "$W"/ab-b16d2.txt "$W"/suite-b16d.tap "$OUT/" 2>/dev/null
tar czf "$OUT/a-s40c2.tgz" -C "$W" .

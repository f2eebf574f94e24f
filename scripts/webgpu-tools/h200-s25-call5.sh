#!/usr/bin/env bash
# Session 25 (issue #13), call 5: (a) qRowLanes picked by the plan ('auto') against the default and qRowLanes forced on
# ten hold-out shapes; (b) infSafe 'seen' and the 'fill' plan at b = 1 around s_k 32768; (c) the SASS of matrix5-seen
# and matrix5-q1. Predictions and rules: results/gpu-host/bench/hopper/s25_webgpu/predictions.txt. From the tree's
# root, .gpu-host (webgpu), build/ and .devstage/s24a (zstd) carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call5.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s25-c5
cfga='[{"b":1,"s_k":2048,"h_q":16,"s_q":1},{"b":1,"s_k":131072,"h_q":16,"s_q":1},{"b":8,"s_k":8192,"h_q":16,"s_q":1},{"b":64,"s_k":2048,"h_q":16,"s_q":1},{"b":4,"s_k":16384,"h_q":64,"s_q":1},{"b":128,"s_k":2048,"h_q":16,"s_q":1},{"b":32,"s_k":8192,"h_q":16,"s_q":1},{"b":64,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":2048,"h_q":64,"s_q":1},{"b":16,"s_k":32768,"h_q":16,"s_q":1}]'
cfgb='[{"b":1,"s_k":24576,"h_q":16,"s_q":1},{"b":1,"s_k":28672,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":36864,"h_q":16,"s_q":1},{"b":1,"s_k":40960,"h_q":16,"s_q":1}]'
AB_TIMEOUT=200 ab_run dflt,q2,q2a "$cfga" ab-a 15
AB_TIMEOUT=150 ab_run dflt,seen,fill,seenf "$cfgb" ab-b 20 2
( ZSTD=$PWD/.devstage/s24a/zstdw NAMES="matrix5-q1 matrix5-seen" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
tar czf "$OUT/all.tgz" -C "$W" .

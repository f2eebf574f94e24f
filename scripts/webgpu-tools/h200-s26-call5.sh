#!/usr/bin/env bash
# Session 26 (issue #13), call 5: freshO (a work item's first tile skips the lazy rescale of a still-zero O) against the
# default, two tile16-ab processes over seven shapes; the GPU matrix suite with it; b = 1 s_k 32768 and the small batches
# with it against FlashMLA. Predictions and rules: results/gpu-host/bench/hopper/s26_webgpu/predictions.txt. From the
# tree's root, .gpu-host (webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s26-call5.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s26-c5
cfg='[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":16,"s_q":1}]'
AB_TIMEOUT=120 ab_run dflt,fo "$cfg" ab-fo1 15 | grep -E '^(CHECK|TIME)'
AB_TIMEOUT=120 ab_run dflt,fo "$cfg" ab-fo2 15 2 | grep -E '^TIME'
FLASHMLA_MATRIX_TEST_PMAX=fo FLASHMLA_GPU_CASES=100 timeout -k 2 120 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-fo.tap" 2>&1
suite_line "$W/suite-fo.tap"
echo '[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]' > "$W/small.json"
PYTHONUNBUFFERED=1 timeout 90 python3 .gpu-host/anchors/bench_flashmla.py --configs "$W/small.json" --out "$W/flashmla.json" --no-triton > "$W/flashmla.txt" 2>&1
echo "flashmla rc $?"
FLASHMLA_WEBGPU_MATRIX_FRESHO=1 timeout 120 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$W/small.json" --flashmla "$W/flashmla.json" --no-ceilings --warmup 2 --reps 20 --check 1 --out "$W/webgpu-fo.json" > "$W/bench-fo.txt" 2>&1
echo "bench rc $?"; grep -aE '^b=[0-9].*x$' "$W/bench-fo.txt"
tar czf "$OUT/all.tgz" -C "$W" .

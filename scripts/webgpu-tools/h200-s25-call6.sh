#!/usr/bin/env bash
# Session 25 (issue #13), call 6: the WebGPU backend planning 'auto' (CUDA's rule; infSafe 'seen' where the plan cuts
# pieces under FlashMLA's floor) against FlashMLA's plan, tile16-ab arms fl, auto, fillns; the schedule and NaN suites
# on the new default; FlashMLA and the WebGPU default on the small-batch set, b = 1 s_k 32768 and the uneven batch.
# Predictions and rules: results/gpu-host/bench/hopper/s25_webgpu/predictions.txt. From the tree's root, .gpu-host
# (webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call6.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s25-c6
cfg='[{"b":1,"s_k":2048,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":24576,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":40960,"h_q":16,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":64,"s_q":1},{"b":4,"s_k":4096,"h_q":16,"s_q":1},{"b":8,"s_k":2048,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'
AB_TIMEOUT=200 ab_run fl,auto,fillns "$cfg" ab 15
R=(timeout -k 2 ${SUITE_TIMEOUT:-150} node --test --test-reporter=tap)
"${R[@]}" build/test/backends/webgpu-schedule.test.js > "$W/schedule.tap" 2>&1 &
"${R[@]}" build/test/backends/webgpu-nan.test.js > "$W/nan.tap" 2>&1 &
echo '[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":4,"s_k":8192,"h_q":32,"s_q":1}]' > "$W/small.json"
PYTHONUNBUFFERED=1 timeout 120 python3 .gpu-host/anchors/bench_flashmla.py --configs "$W/small.json" --out "$W/flashmla-small.json" --no-triton > "$W/flashmla-small.txt" 2>&1
echo "flashmla small rc $?"
wait
for f in schedule nan; do suite_line "$W/$f.tap"; done
timeout 200 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$W/small.json" --flashmla "$W/flashmla-small.json" --no-ceilings --warmup 2 --reps 20 --check 1 --out "$W/webgpu-small.json" > "$W/bench-small.txt" 2>&1
echo "bench small rc $?"; grep -E '^b=' "$W/bench-small.txt" | head -10
tar czf "$OUT/all.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 27 (issue #13), call 2: the wide combine in one pass (kernels/combine.ts `online`) against its three passes,
# two tile16-ab processes over ten shapes (seven where the wide combine runs); the wide-combine suite (which runs the
# one-pass form beside the others) and the GPU matrix suite with it; b = 1 and the small batches with it against
# FlashMLA. Predictions and rule: results/gpu-host/bench/hopper/s27_webgpu/predictions.txt. From the tree's root,
# .gpu-host (webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s27-call2.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s27-c2
cfg='[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":16,"s_k":1024,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":4,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1}]'
AB_TIMEOUT=150 ab_run coff,con "$cfg" ab-on1 15 | grep -E '^(CHECK|TIME|ab-)'
AB_TIMEOUT=150 ab_run coff,con "$cfg" ab-on2 15 2 | grep -E '^(TIME|ab-)'
timeout -k 2 200 node --test --test-reporter=tap build/test/backends/webgpu-wide-combine.test.js > "$W/suite-wide.tap" 2>&1
suite_line "$W/suite-wide.tap"
FLASHMLA_MATRIX_TEST_ONLINE=1 FLASHMLA_GPU_CASES=100 timeout -k 2 150 node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$W/suite-on.tap" 2>&1
suite_line "$W/suite-on.tap"
echo '[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]' > "$W/small.json"
PYTHONUNBUFFERED=1 timeout 90 python3 .gpu-host/anchors/bench_flashmla.py --configs "$W/small.json" --out "$W/flashmla.json" --no-triton > "$W/flashmla.txt" 2>&1
echo "flashmla rc $?"
for d in 1 0; do
FLASHMLA_WEBGPU_COMBINE_ONLINE=$d timeout 120 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$W/small.json" --flashmla "$W/flashmla.json" --no-ceilings --warmup 2 --reps 20 --check 1 --out "$W/webgpu-on$d.json" > "$W/bench-on$d.txt" 2>&1
echo "bench online=$d rc $?"; grep -aE '^b=[0-9].*x$' "$W/bench-on$d.txt"
done
tar czf "$OUT/all.tgz" -C "$W" .

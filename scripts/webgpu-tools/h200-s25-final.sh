#!/usr/bin/env bash
# Session 25 (issue #13): the recorded WebGPU run on the H200 — session 24's (h200-s24-final.sh: FlashMLA's grid plus b=1
# and the uneven batch, FlashMLA 9241ae3 and the WebGPU default in the same call, the WGSL ceilings, the GPU matrix suite
# with 300 random cases and the backend suite), then the small-batch set (bench/webgpu-small-batch-configs.json) the same
# way and the wide combine's suite. From the tree's root, .gpu-host (with webgpu and the anchors) and build/ carried;
# FLASHMLA_COMMIT set by the caller:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-final.sh
set -u
W=/tmp/s25-final
W_DIR=$W NO_TAR=1 bash scripts/webgpu-tools/h200-s24-final.sh
source .gpu-host/enter.sh >/dev/null
sb=bench/webgpu-small-batch-configs.json
PYTHONUNBUFFERED=1 timeout ${FM_TIMEOUT:-120} python3 .gpu-host/anchors/bench_flashmla.py --configs "$sb" --out "$W/flashmla-small.json" --no-triton > "$W/flashmla-small.txt" 2>&1
echo "flashmla small rc $?"
timeout ${BENCH_TIMEOUT:-320} node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$sb" --flashmla "$W/flashmla-small.json" --no-ceilings --warmup 2 --reps 20 --check 1 --out "$W/webgpu-small.json" > "$W/bench-small.txt" 2>&1
echo "bench small rc $?"; grep -E '^b=' "$W/bench-small.txt" | head -10
timeout ${SUITE_TIMEOUT:-150} node --test build/test/backends/webgpu-wide-combine.test.js > "$W/wide-suite.txt" 2>&1
echo "wide-combine suite rc $?"; grep -E '^# (tests|pass|fail|skipped|todo)|^not ok' "$W/wide-suite.txt" | head
tar czf "$OUT/all.tgz" -C "$W" .

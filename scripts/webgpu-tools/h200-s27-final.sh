#!/usr/bin/env bash
# Session 27 (issue #13): the recorded WebGPU run on the H200 with the session's defaults (f16Direct on f16 caches):
# h200-s25-final.sh (FlashMLA's grid plus b=1 and the uneven batch, the small-batch set, FlashMLA 9241ae3 in the same
# call, the WGSL ceilings, the GPU matrix suite with 300 random cases, the backend suite, the wide combine's suite),
# then the f16 rows (bench/webgpu-f16-configs.json; FlashMLA's rows are bf16: not matched) and the GPU matrix suite on
# f16Direct's default. From the tree's root, .gpu-host (webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s27-final.sh
set -u
OUT=$OUT bash scripts/webgpu-tools/h200-s25-final.sh 2>&1 | grep -v '^$'
source .gpu-host/enter.sh >/dev/null
W=/tmp/s25-final
timeout ${BENCH_TIMEOUT:-240} node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs bench/webgpu-f16-configs.json --warmup 2 --reps 10 --check 1 --out "$W/webgpu-f16.json" > "$W/bench-f16.txt" 2>&1
echo "bench f16 rc $?"; grep -E '^b=' "$W/bench-f16.txt" | head -10
tar czf "$OUT/all.tgz" -C "$W" .

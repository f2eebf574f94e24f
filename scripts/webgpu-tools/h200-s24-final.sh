#!/usr/bin/env bash
# Session 24 (issue #13): the recorded WebGPU run on the H200 — FlashMLA (bench_flashmla.py, build 9241ae3) and the
# WebGPU backend's default (v5 with packedMax) on FlashMLA's grid plus b=1 s_k=32768 and the uneven batch
# (bench/webgpu-grid-configs.json), ceilings measured by WGSL in the same run; then the GPU suites on the default
# (test/gpu/webgpu-matrix.test.ts, 300 random cases; test/backends/webgpu.test.ts, 100).
# From the tree's root, .gpu-host (with webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set by the caller.
#   OUT=$OUT bash scripts/webgpu-tools/h200-s24-final.sh        (W_DIR: its folder; NO_TAR=1: leave it for a caller)
set -u
source .gpu-host/enter.sh >/dev/null
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=${W_DIR:-/tmp/s24-final}; rm -rf "$W"; mkdir -p "$W"
cfg=bench/webgpu-grid-configs.json
PYTHONUNBUFFERED=1 timeout ${FM_TIMEOUT:-120} python3 .gpu-host/anchors/bench_flashmla.py --configs "$cfg" --out "$W/flashmla.json" --no-triton > "$W/flashmla.txt" 2>&1
echo "flashmla rc $?"; tail -3 "$W/flashmla.txt"
timeout ${BENCH_TIMEOUT:-320} node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$cfg" --flashmla "$W/flashmla.json" --warmup 2 --reps 10 --check 1 --out "$W/webgpu.json" > "$W/bench.txt" 2>&1
echo "bench rc $?"; grep -E '^b=|ceiling|copy|matrix' "$W/bench.txt" | head -40
FLASHMLA_GPU_CASES=${CASES:-300} timeout ${SUITE_TIMEOUT:-150} node --test build/test/gpu/webgpu-matrix.test.js > "$W/suite.txt" 2>&1
echo "matrix suite rc $?"; grep -E '^# (tests|pass|fail|skipped)|^not ok' "$W/suite.txt" | head
[ -n "${NO_BACKEND_SUITE:-}" ] || { WEBGPU_RANDOM_CASES=${BACKEND_CASES:-100} timeout ${SUITE_TIMEOUT:-200} node --test build/test/backends/webgpu.test.js > "$W/webgpu-suite.txt" 2>&1
echo "webgpu suite rc $?"; grep -E '^# (tests|pass|fail|skipped)|^not ok' "$W/webgpu-suite.txt" | head; }
[ -n "${NO_TAR:-}" ] || tar czf "$OUT/all.tgz" -C "$W" .

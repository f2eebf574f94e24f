#!/usr/bin/env bash
# The WebGPU backend on the GPU host (Dawn over Vulkan): tests, then the benchmark next to FlashMLA, in one call.
# Here, first:  npx tsc -p tsconfig.json --noEmit false --outDir build/webgpu --declaration false --sourceMap false
# Then run with carry [".gpu-host", ".golden", "build"]:  bash scripts/webgpu-gpu.sh
set -uo pipefail
source .gpu-host/enter.sh
OUT="${OUT:-/tmp/webgpu-out}"; mkdir -p "$OUT"
export FLASHMLA_GOLDEN=.golden CI=1 WEBGPU_BUILD=build/webgpu
node -e '
import("./build/webgpu/src/backends/webgpu/node.js").then(async (m) => {
  const b = await m.createNodeWebGpuBackend(); console.log(b.info.device, JSON.stringify(b.caps)); b.dispose(); });' 2>&1 | grep -v artificially | tee "$OUT/adapter.txt"
echo "== tests"
WEBGPU_RANDOM_CASES="${WEBGPU_RANDOM_CASES:-300}" WEBGPU_BIG_CACHE_BYTES="${WEBGPU_BIG_CACHE_BYTES:-10000000000}" \
  timeout "${TEST_TIMEOUT:-200}" node --test build/webgpu/test/webgpu.test.js 2>&1 | grep -v artificially > "$OUT/tests.log"
echo "tests rc=$?"; grep -E '^# (tests|pass|fail)|^not ok|failed|Error' "$OUT/tests.log" | head -20
echo "== bench"
node -e 'const g=[];for(const s_k of [1024,4096,8192])for(const h_q of [16,32,64,128])for(const s_q of [1,2])g.push({b:128,s_k,h_q,s_q});g.push({b:1,s_k:32768,h_q:16,s_q:1});console.log(JSON.stringify(g))' > /tmp/grid.json
PYTHONUNBUFFERED=1 timeout 150 python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/grid.json --out "$OUT/flashmla.json" --no-triton 2>&1 | tail -30
timeout "${BENCH_TIMEOUT:-200}" node scripts/webgpu-bench.mjs --configs /tmp/grid.json --flashmla "$OUT/flashmla.json" --out "$OUT/webgpu.json" --numSms "${NUMSMS:-132,264}" 2>&1 | grep -v artificially

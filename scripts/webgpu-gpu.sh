#!/usr/bin/env bash
# The WebGPU backend on the GPU host (Dawn over Vulkan): the benchmark next to FlashMLA, then the tests, in one
# call that fits a 4-minute device slot (numbers first: the kernel's spot checks already compare batch 0).
# Here, first:  rm -rf scratch/webgpu-build && npx tsc -p tsconfig.json --noEmit false --outDir scratch/webgpu-build --declaration false --sourceMap false
#               mkdir -p .golden && cp -r ../shared/golden/. .golden/
# Then run with carry [".gpu-host", ".golden", "scratch/webgpu-build"]:  bash scripts/webgpu-gpu.sh
set -uo pipefail
source .gpu-host/enter.sh
OUT="${OUT:-/tmp/webgpu-out}"; mkdir -p "$OUT"
export FLASHMLA_GOLDEN=.golden CI=1 WEBGPU_BUILD=scratch/webgpu-build
node -e '
import("./scratch/webgpu-build/src/backends/webgpu/node.js").then(async (m) => {
  const b = await m.createNodeWebGpuBackend(); console.log(b.info.device, JSON.stringify(b.caps)); b.dispose(); });' 2>&1 | grep -v artificially | tee "$OUT/adapter.txt"
echo "== bench"
node -e 'const g=[];for(const s_k of [1024,4096,8192])for(const h_q of [16,32,64,128])for(const s_q of [1,2])g.push({b:128,s_k,h_q,s_q});g.push({b:1,s_k:32768,h_q:16,s_q:1});console.log(JSON.stringify(g))' > /tmp/grid.json
PYTHONUNBUFFERED=1 timeout "${FLASHMLA_TIMEOUT:-60}" python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/grid.json --out "$OUT/fm.json" --no-triton 2>&1 | tee "$OUT/fm.txt" | tail -30
timeout "${BENCH_TIMEOUT:-80}" node scripts/webgpu-bench.mjs --configs /tmp/grid.json --flashmla "$OUT/fm.json" --out "$OUT/webgpu.json" --numSms "${NUMSMS:-132,264}" 2>&1 | grep -v artificially
echo "== tests"
WEBGPU_RANDOM_CASES="${WEBGPU_RANDOM_CASES:-120}" WEBGPU_BIG_CACHE_BYTES="${WEBGPU_BIG_CACHE_BYTES:-5000000000}" \
  timeout "${TEST_TIMEOUT:-60}" node --test scratch/webgpu-build/test/webgpu.test.js 2>&1 | grep -v artificially > "$OUT/tests.log"
echo "tests rc=${PIPESTATUS[0]}"; grep -E '^# (tests|pass|fail)|^not ok|failed|Error' "$OUT/tests.log" | head -20

#!/usr/bin/env bash
# Session 42, call 7 (H200): the MLA layer with helper h2's CUDA f32 split-K and helper h1's tiled WebGPU gemm, each
# against its off switch (layer-profile, V3 b 64 context 4096), bench/mla/layer.ts for the four backend x precision pairs,
# then the GPU tests of both.   OUT=$OUT bash bench/cuda/hopper/s42_call7.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c7.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s42-c7; rm -rf $W; mkdir -p $W
prof() { # NAME BACKEND PRECISION [ENV=V]
  local n=$1 be=$2 p=$3; shift 3
  env "$@" timeout -k 5 120 node build/bench/mla/layer-profile.js --backend $be --precision $p --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$n.json" > "$W/prof-$n.txt" 2>&1
  echo "== prof $n rc $?"; grep -E "^(step 4|forwardDevice chained|replayed|gemm)" "$W/prof-$n.txt" | cut -c1-100
}
prof cuda-f32-split cuda f32
prof cuda-f32-nosplit cuda f32 FLASHMLA_CUDA_LAYER_SPLITK=0
prof cuda-f32-split2 cuda f32
prof webgpu-f32-tiled webgpu f32
prof webgpu-f32-classic webgpu f32 FLASHMLA_WEBGPU_LAYER_GEMM=classic
prof webgpu-f32-tiled2 webgpu f32
prof webgpu-bf16-tiled webgpu bf16
for be in cuda webgpu; do for p in f32 bf16; do
  timeout -k 5 120 node build/bench/mla/layer.js --backend $be --precision $p --shape v3 --batch 64 --context 4096 --reps 20 --json "$W/layer-$be-$p.json" > "$W/layer-$be-$p.txt" 2>&1
  echo "== layer $be $p rc $? $(grep -o '"median_ms":[0-9.]*,"min_ms":[0-9.]*' "$W/layer-$be-$p.txt")"
done; done
timeout -k 5 280 node --test build/test/gpu/mla-device.test.js > $W/mla-device.tap 2>&1; echo "mla-device rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/mla-device.tap | head
timeout -k 5 200 node --test build/test/backends/webgpu-layer.test.js > $W/webgpu-layer.tap 2>&1; echo "webgpu-layer rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/webgpu-layer.tap | head
tar czf "$OUT/s42c7.tgz" -C $W .

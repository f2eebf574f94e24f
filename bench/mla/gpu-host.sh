#!/usr/bin/env bash
# MlaAttention on the GPU host: the GPU test, then a V3-shaped layer decode step (hidden 7168, 128 heads, b=64,
# 4k context) on CUDA (ours, bench/mla/layer.ts) and in transformers bf16 (bench/mla/torch_layer.py), in one call.
# Needs a built tree (npm run build: dist/cuda/matmul.fatbin) and python3 with torch + transformers.
#   bash bench/mla/gpu-host.sh [outdir]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-results/gpu-host/bench}
mkdir -p "$out"
day=$(date -u +%F)
node --import tsx --test test/gpu/mla.test.ts 2>&1 | tee "$out/mla-gpu-test-$day.txt"
node --import tsx --test test/gpu/mla-device.test.ts 2>&1 | tee "$out/mla-device-gpu-test-$day.txt"
node --import tsx bench/mla/layer.ts --shape v3 --batch 64 --context 4096 --backend cuda --precision bf16 --reps 10 --json "$out/mla-layer-cuda-$day.json"
node --import tsx bench/mla/layer.ts --shape v3 --batch 64 --context 4096 --backend cuda --precision f32 --reps 10 --json "$out/mla-layer-cuda-f32-$day.json"
node --import tsx bench/mla/layer.ts --shape v3 --batch 64 --context 4096 --backend webgpu --reps 5 --json "$out/mla-layer-webgpu-$day.json" || echo "webgpu: skipped"
python3 bench/mla/torch_layer.py --batch 64 --context 4096 --reps 10 --out "$out/mla-layer-torch-$day.json"
node --import tsx bench/mla/compare.ts --ours "$out/mla-layer-cuda-$day.json" --torch "$out/mla-layer-torch-$day.json" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" --out "$out/mla-layer-v3-$day.json"

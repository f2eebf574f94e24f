#!/usr/bin/env bash
# Session 32 (issue #13): the WebGPU backend against FlashMLA 9241ae3 with one timing protocol on both sides (back to
# back: WebGPU timestamp queries, FlashMLA by bench/cuda/flashmla_protocols.py's flashmla_b2b; do_bench's times are in
# the same file). b = 1 s_k 32768, the uneven batch, b = 128 s_k 8192 at 16 and 128 rows; two WebGPU processes. Carries
# one folder (.ghw: `pack.sh .ghw webgpu`, koffi and the old anchor dropped, build/src as build-src.tar.xz, commit.txt),
# within the 64 MiB with the tree:   OUT=$OUT bash scripts/webgpu-tools/h200-s32-b1.sh
set -u
source .gpu-host/enter.sh
rm -rf build && cp -r .gpu-host/build build && export FLASHMLA_COMMIT=$(cat .gpu-host/commit.txt)
W=$OUT/w; mkdir -p "$W"
echo '[{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1}]' > "$W/cfg.json"
PYTHONUNBUFFERED=1 timeout 100 python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs "$W/cfg.json" --out "$W/flashmla-protocols.json" 2>&1 | tail -4
for run in 1 2; do
  timeout 150 node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs "$W/cfg.json" --flashmla "$W/flashmla-protocols.json" --warmup 2 --reps 20 --check 1 --out "$W/webgpu-h200-2026-12-03-s32-$run.json" > "$W/bench-$run.txt" 2>&1
  echo "bench $run rc $?"; grep -aE 'matched|warning|^\[[0-9]/4\]|ceiling' "$W/bench-$run.txt" | cut -c1-260
done
rm -f "$W"/*.svg
tar czf "$OUT/s32-webgpu.tgz" -C "$OUT" w && rm -rf "$W"

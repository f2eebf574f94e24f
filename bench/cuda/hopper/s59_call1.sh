#!/usr/bin/env bash
# Session 59, call 1. (1) Issue #13: the subgroup-matrix memory probes (scripts/webgpu-matrix-gemm-probe.ts): the MAC
# rate with operands loaded from workgroup memory every step (smem sweep) and a tiled f16 GEMM through workgroup memory
# (gemm sweep), beside the register-only MAC and copy ceilings; the driver's SASS of every pipeline from its disk cache.
# (2) Session 58's call 6 (the device plan's slower 64-head MODEL1 step taken apart: s58_config3.ts --arms).
# Predictions (written before the run): smem at 1 x 1 operands 100-250 TFLOPS, rising with reuse; the best gemm 80-200
# TFLOPS (session 46's decode-shaped products: 30-60); if no form passes 200, issue #13's 200 TFLOPS target is above
# what this stack's WGSL reaches for a product of operands streamed from memory. Call 6's predictions: s58_call6.sh.
#   (here)   s29_pack .devstage/s59c1.tar.xz   (and .devstage/zstd/ with a zstd binary and its libraries)
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 OUT=$OUT bash bench/cuda/hopper/s59_call1.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s59c1.tar.xz s50_setup s59c1 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
cache=$W/glcache; mkdir -p "$cache"
( source .gpu-host/enter.sh >/dev/null
  __GL_SHADER_DISK_CACHE=1 __GL_SHADER_DISK_CACHE_PATH=$cache __GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1 \
    timeout -k 5 "$(lim 150)" node build/scripts/webgpu-matrix-gemm-probe.js --out "$OUT/gemm-probe.json" > "$W/gemm-probe.txt" 2>&1
  echo "probe rc $?" )
grep -aE '^(registerMac|smem|gemm|copy) ' "$W/gemm-probe.txt" | cut -c1-4000
ts "probe"
( export PATH=/usr/local/cuda/bin:$PATH; ZSTD=$PWD/.devstage/zstd/zstdw timeout -k 5 "$(lim 40)" python3 scripts/webgpu-tools/glcache-sass.py "$cache" "$W/sass" 2>&1 | grep -v '^\s*$' | cut -c1-400 | head -60 )
ts "sass"
timeout -k 5 "$(lim 90)" node build/bench/cuda/hopper/s58_config3.js "MODEL1 CONFIG3,MODEL1 CONFIG1" --arms 2>&1 | tee "$W/arms.txt"
ts "arms"
tar czf "$OUT/s59c1.tgz" -C "$W" --exclude glcache .
ts end

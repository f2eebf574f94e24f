#!/usr/bin/env bash
# Prepared in session 60, run in session 61 (H200, results/gpu-host/bench/hopper/s61/call1/): the gemm probe's set 4
# (two slabs of register prefetch, `prefetch: 2`, against the best one-slab form, and two 16-row forms), each form alone
# with the driver's shader disk cache kept for its SASS, then the sparse record (s60_sparse.sh) on whichever card the
# call gets. Everything under $W but the shader cache packed into $OUT/s61c1.tgz.
# Predictions (written before the run): set 4 form 0 (the one-slab reference) 130-134 TFLOPS; the prefetch-2 forms at
# kStep 32: 120-160 (one more slab in flight against the ~2100-clock step; their registers +16 a lane); kStep 64 with
# prefetch 2: spills (its loads alone take 64 registers a lane) and runs slower than form 0.
#   (here)   rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#            source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s61c1.tar.xz   (and .devstage/zstd/ as session 59)
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s61_call1.sh > $OUT/log.txt 2>&1
export PACK=${PACK:-.devstage/s61c1.tar.xz} BUDGET=${BUDGET:-540}
source bench/cuda/hopper/s50_common.sh && s50_setup s61c1 # (W, CLI, ts, lim)
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
cache=$W/glcache; mkdir -p "$cache"
for i in 0 1 2 3 4 5; do # 4-5: the 16-row forms (session 61)
  ( source .gpu-host/enter.sh >/dev/null
    __GL_SHADER_DISK_CACHE=1 __GL_SHADER_DISK_CACHE_PATH=$cache __GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1 \
      timeout -k 5 "$(lim 30)" node build/scripts/webgpu-matrix-gemm-probe.js --set 4 --only $i --no-smem --no-copy --out "$W/set4-$i.json" > "$W/set4-$i.txt" 2>&1
    echo "set4 $i rc $?: $(python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["gemm"][0]; print(g.get("tile"), g.get("kStep"), g.get("prefetch", 1), round(g.get("TFLOPS", 0), 1), g.get("ok"), g.get("error", "")[:120])' "$W/set4-$i.json" 2>&1 | tail -1)" )
done
ts "set 4"
( export PATH=/usr/local/cuda/bin:$PATH; ZSTD=$PWD/.devstage/zstd/zstdw timeout -k 5 "$(lim 40)" python3 scripts/webgpu-tools/glcache-sass.py "$cache" "$W/sass" 2>&1 | grep -v '^\s*$' | cut -c1-400 | head -40 )
ts "sass"
OUT=$W/sparse BUDGET=$(( BUDGET - ($(date +%s) - T0) )) bash bench/cuda/hopper/s60_sparse.sh # any card (session 61: an H100 record is a ratio in the same call too)
tar czf "$OUT/s61c1.tgz" -C "$W" --exclude glcache .
ts end

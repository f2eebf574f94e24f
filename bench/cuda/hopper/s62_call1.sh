#!/usr/bin/env bash
# Session 62, call 1 (issue #13; prepared in session 62, which got no device machine; run as session 63's call 1, on an H100,
# results/gpu-host/bench/hopper/s63/call1/): the 64-row decode products probe (scripts/webgpu-decode-products-probe.ts, forms in
# scripts/webgpu-decode-products-probe-forms.ts), each form in a process of its own with the driver's shader disk cache
# kept for its SASS, then the gemm probe's sets 5 and 6 as JSON (s61_call2.sh, run from here). Everything under $W but the
# shader cache packed into $OUT/s62c1.tgz.
# Predictions (written before the run), TFLOPS counted as the decode's product flops (2 x 64 x keys x 1088 a workgroup),
# 132 requests x 4 groups x 2048 keys: form 0 (32-key tiles, Qᵀ from storage, O 1 x 8) 60-95; forms 1-2 (O split 2 / 4
# ways along rows) within 10 % of form 0; form 3 (16-key tiles, Qᵀ in registers) 50-90; form 4 (16-key tiles, Qᵀ from
# storage) 40-80; form 5 (36 Qᵀ matrices in registers) spills and runs below form 0; forms 8-9 (32 rows, 8 groups a
# request) 50-90; forms 10-11 (32 rows, 16-key tiles, Qᵀ in registers, several workgroups an SM) 60-100. The storage
# forms (0-2, 4, 8) may trail: a matrix loaded from storage was scalar loads in sessions 46 and 59. Rule: if no form clears 100, a v7
# decode cannot reach 1.5x v5 (docs/notes/webgpu-matrix-gemm.md "What is next"), and its design changes before any code.
# Sets 5 / 6: set 5 form 1 158-168, form 0 130-135; set 6 20-40.
#   (here)   rm -rf build && npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#            source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s62c1.tar.xz
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s62_call1.sh > $OUT/log.txt 2>&1
export PACK=${PACK:-.devstage/s62c1.tar.xz} BUDGET=${BUDGET:-400}
source bench/cuda/hopper/s50_common.sh && s50_setup s62c1 # (W, CLI, ts, lim)
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
cache=$W/glcache; mkdir -p "$cache"
for i in ${FORMS:-0 3 9 10 11 1 2 4 5 6 7 8}; do
  ( source .gpu-host/enter.sh >/dev/null
    __GL_SHADER_DISK_CACHE=1 __GL_SHADER_DISK_CACHE_PATH=$cache __GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1 \
      timeout -k 5 "$(lim 45)" node build/scripts/webgpu-decode-products-probe.js --form $i --out "$W/products-$i.json" > "$W/products-$i.txt" 2>&1
    echo "products $i rc $?: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"]; print(r.get("keyTile"), r.get("q"), r.get("pvRows"), r.get("rows", 64), r.get("only", "all"), round(r.get("ms", 0), 4), "ms", round(r.get("TFLOPS", 0), 1), "TFLOPS ok", r.get("ok"), r.get("maxAbsErr"), r.get("error", "")[:200])' "$W/products-$i.json" 2>&1 | tail -1)" )
done
ts "products"
[ "${SASS:-1}" = 1 ] && ( export PATH=/usr/local/cuda/bin:$PATH; ZSTD=$PWD/.devstage/zstd/zstdw timeout -k 5 "$(lim 40)" python3 scripts/webgpu-tools/glcache-sass.py "$cache" "$W/sass" 2>&1 | grep -v '^\s*$' | cut -c1-400 | head -30 )
ts "sass"
# sets 5 and 6: s61_call2.sh as it stands (it unpacks the same PACK again), its tgz into $W; SETS=0 skips them
[ "${SETS:-1}" = 1 ] && OUT=$W BUDGET=$(( BUDGET - ($(date +%s) - T0) )) bash bench/cuda/hopper/s61_call2.sh
tar czf "$OUT/s62c1.tgz" -C "$W" --exclude glcache .
ts end

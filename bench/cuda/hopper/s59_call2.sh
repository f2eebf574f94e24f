#!/usr/bin/env bash
# Session 59, call 2 (issue #13): the gemm probe's second set (scripts/webgpu-matrix-gemm-probe.ts --set 2): call 1's best
# staged form first and last (an order check: call 1's forms grew slower down its list), the 4 x 2-subgroup form of the
# same 128 x 128 tile that call 1 measured at 26 TFLOPS right after it, one-buffer forms at kStep 32 and 64, and the storage forms (every subgroup's matrices
# loaded from the storage buffers, no workgroup staging); the driver's SASS of each.
# Predictions (written before the run): the best staged form 105-125 TFLOPS both times (no order effect); the 4 x 2 form
# 20-40 (its rights are 4 column-block loads a k-step); the storage forms 10-60 (session 46: storage operands become
# scalar loads); one workgroup buffer (next slab in registers, two barriers a step) at kStep 32 0.8-1.0x the
# two-buffer form, at kStep 64 1.3-1.8x it if call 1's best loop waits on its loads (~2100 clocks a step for ~400 of
# products), about 1.0x if the 16-bit stores set its pace. The copy ceiling before and after the sweep within 5 % of each other.
#   (here)   s29_pack .devstage/s59c2.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=150 OUT=$OUT bash bench/cuda/hopper/s59_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s59c2.tar.xz s50_setup s59c2 # (W, CLI, ts, lim)
cache=$W/glcache; mkdir -p "$cache"
q() { nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv,noheader; }
q
( __GL_SHADER_DISK_CACHE=1 __GL_SHADER_DISK_CACHE_PATH=$cache __GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1 \
    timeout -k 5 "$(lim 100)" node build/scripts/webgpu-matrix-gemm-probe.js --set 2 --no-smem --copy-first --out "$OUT/gemm-probe2.json" > "$W/gemm-probe.txt" 2>&1
  echo "probe rc $?" )
python3 - "$OUT/gemm-probe2.json" <<'P'
import json, sys
r = json.load(open(sys.argv[1]))
print(r['device'], 'registerMac', round(r['registerMac'].get('TFLOPS', 0), 1), 'copy first / last', r.get('copyFirst'), r.get('copy'))
for g in r['gemm']:
    print(g.get('source', 'workgroup'), 'b1' if g.get('oneBuffer') else 'b2', g['subgroupsM'], g['subgroupsN'], g['lefts'], g['rights'], g['kStep'], g['pad'], g['stages'], g.get('tile'), round(g.get('TFLOPS', 0), 1), g.get('ok'), g.get('error', ''))
P
q
ts "probe"
( export PATH=/usr/local/cuda/bin:$PATH; ZSTD=$PWD/.devstage/zstd/zstdw timeout -k 5 "$(lim 40)" python3 scripts/webgpu-tools/glcache-sass.py "$cache" "$W/sass" 2>&1 | grep -E 'registers|SM90a' | sed 's/.*toc#//' | cut -c1-300 | head -40 )
tar czf "$OUT/s59c2.tgz" -C "$W" --exclude glcache .
ts end

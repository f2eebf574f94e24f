#!/usr/bin/env bash
# Session 31, call 6 (H200): the final library on FlashMLA's grid (`flashmla bench --backend cuda --grid full`: 24
# configurations, b = 1 s_k 32768 and the uneven batch), FlashMLA 9241ae3 (the anchor's bench_flashmla.py) on the same
# configurations first, merged into the result. Prediction: results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc
# and .devstage (s31c6.tar.xz from s29_pack):   OUT=$OUT bash bench/cuda/hopper/s31_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c6.tar.xz}"
R=cuda-h200-2026-12-03-s31-final
"${CLI[@]}" bench --grid full --emit-configs "$OUT/configs.json" > /dev/null
PYTHONUNBUFFERED=1 timeout 240 python3 .gpu-host/anchors/bench_flashmla.py --configs "$OUT/configs.json" --out "$OUT/flashmla-h200.json" --no-triton 2>&1 | tail -8
ts "flashmla done"
timeout -k 5 300 "${CLI[@]}" bench --backend cuda --configs "$OUT/configs.json" --flashmla "$OUT/flashmla-h200.json" --out "$OUT/$R.json" 2>&1 | grep -vE 'artificially' | tail -34
ts end

#!/usr/bin/env bash
# Session 58, the record call (only where the card is an H200; the last H200 records of #12 and #13 are sessions 37 and 43):
# the dense CUDA record (s35_record: FlashMLA's grid plus b=1 and the uneven batch, the 34 small-batch shapes and the 25
# hold-outs, do_bench's loop and CUDA graphs on both sides, FlashMLA 9241ae3 in the same call), then WebGPU on its grid
# (bench/webgpu-grid-configs.json) chained ten calls a submission against FlashMLA's protocols in the same call.
# Not run in session 58 (no H200 came). Any tree's own pack (the dense kernels have not changed since session 41's
# merge; sessions 42-58 changed the sparse, dense FP8 and WebGPU sparse paths).
# Predictions (written before the run): the dense grid as session 37 call 2 +-2 % (1.0001x loop / 1.0146x graphs;
#     b=1 2.05x / 2.35x, uneven 1.334x / 1.369x); WebGPU as session 43 (chain10) +-5 %.
#   (here)   s29_pack .devstage/s58rec.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s58_record.sh > $OUT/log.txt 2>&1
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s58rec.tar.xz}"
s35_record "--protocols do_bench"
s36_record_pack s58rec
ts "dense record"
W=/tmp/s58recw; rm -rf $W; mkdir -p $W; cfg=bench/webgpu-grid-configs.json
PYTHONUNBUFFERED=1 timeout -k 5 "$(lim 120)" python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs $cfg --out $W/flashmla-protocols-grid.json > $W/flashmla-grid.txt 2>&1; echo "flashmla rc $?"
timeout -k 5 "$(lim 200)" node scripts/flashmla-dist.mjs build/src bench --backend webgpu --configs $cfg --flashmla $W/flashmla-protocols-grid.json \
  --warmup 2 --reps 10 --check 1 --chain-calls 10 --out $W/webgpu-chain10.json > $W/bench-chain10.txt 2>&1
echo "webgpu chain10 rc $?"; grep -aE 'matched|ceiling|geometric|copy after' $W/bench-chain10.txt | cut -c1-200 | head -5
ts "webgpu"
tar czf "$OUT/s58recw.tgz" -C $W .
ts end

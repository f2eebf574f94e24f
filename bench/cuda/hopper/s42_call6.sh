#!/usr/bin/env bash
# Session 42, call 6 (H200): the MLA layer before the session's GEMM changes, with the 3 s warm-up: layer-profile
# (V3, b 64, context 4096; f32 and bf16 on WebGPU and CUDA) and bench/mla/layer.ts (the recorded step times).
#   OUT=$OUT bash bench/cuda/hopper/s42_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c6.tar.xz}"
W=/tmp/s42-c6; rm -rf $W; mkdir -p $W
for be in webgpu cuda; do for p in f32 bf16; do
  timeout -k 5 120 node build/bench/mla/layer-profile.js --backend $be --precision $p --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$be-$p.json" > "$W/prof-$be-$p.txt" 2>&1
  echo "== prof $be $p rc $?"; grep -E "^(step 4|forwardDevice chained|replayed|gemm|decode )" "$W/prof-$be-$p.txt" | cut -c1-110
  timeout -k 5 120 node build/bench/mla/layer.js --backend $be --precision $p --shape v3 --batch 64 --context 4096 --reps 20 --json "$W/layer-$be-$p.json" > "$W/layer-$be-$p.txt" 2>&1
  echo "== layer $be $p rc $?"; tail -c 400 "$W/layer-$be-$p.txt"; echo
done; done
tar czf "$OUT/s42c6.tgz" -C $W .

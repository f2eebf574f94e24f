#!/usr/bin/env bash
# Session 42, call 1 (H200): the WebGPU MLA layer step (V3 shape, b 64, context 4096, f32) with every recorded call of a
# step replayed (bench/mla/layer-profile.ts now records the decode too and times the replayed step chained), split-K
# off / on / on / off over 20 chained steps (session 41's call 12, whose 'on' arms unset the knob and so ran 'off').
#   OUT=$OUT bash bench/cuda/hopper/s42_call1.sh        (at most 8 files come back)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c1.tar.xz}"
W=/tmp/s42-c1; rm -rf $W; mkdir -p $W; i=0
for k in 0 1 1 0; do
  i=$((i + 1)); export FLASHMLA_WEBGPU_LAYER_SPLITK=$k
  timeout -k 5 100 node build/bench/mla/layer-profile.js --backend webgpu --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$i-$k.json" > "$W/prof-$i-$k.txt" 2>&1
  echo "== $i splitK=$k rc $?"; grep -E "^(step|forwardDevice chained|replayed|decode|download alone)" "$W/prof-$i-$k.txt" | cut -c1-110
done
unset FLASHMLA_WEBGPU_LAYER_SPLITK
tar czf "$OUT/s42c1.tgz" -C $W .

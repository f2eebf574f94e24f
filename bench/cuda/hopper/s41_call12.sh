#!/usr/bin/env bash
# Session 41, call 12 (H200): call 11's chained-step clause again, with more steps: bench/mla/layer-profile.ts --chain 20
# on the V3-shaped layer (b 64, context 4096, f32), split-K off / on / on / off (four processes). At most 8 files in $OUT.
#   OUT=$OUT bash bench/cuda/hopper/s41_call12.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s41c12.tar.xz}"
W=/tmp/s41-c12; mkdir -p $W; i=0
for k in off on on off; do
  i=$((i + 1)); [ $k = off ] && export FLASHMLA_WEBGPU_LAYER_SPLITK=0 || unset FLASHMLA_WEBGPU_LAYER_SPLITK
  timeout -k 5 90 node build/bench/mla/layer-profile.js --backend webgpu --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$i-$k.json" > "$W/prof-$i-$k.txt" 2>&1
  echo "== $i $k rc $?"; grep -E "^(step|forwardDevice chained|forwardDevice \+)" "$W/prof-$i-$k.txt" | cut -c1-120 | tr '\n' ';' | cut -c1-900; echo
done
tar czf "$OUT/s41c12.tgz" -C $W .

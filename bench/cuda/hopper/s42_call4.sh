#!/usr/bin/env bash
# Session 42, call 4 (H200; call 3 with forward() back to back, after a synchronize(), after a queue drain): forward() against its parts (layer-profile's "io" lines: the host's hidden states written
# into a device tensor, forwardDevice, download, with and without a synchronize()), two processes.
#   OUT=$OUT bash bench/cuda/hopper/s42_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c4.tar.xz}"
W=/tmp/s42-c4; rm -rf $W; mkdir -p $W
for i in 1 2; do
  timeout -k 5 100 node build/bench/mla/layer-profile.js --backend webgpu --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 5 --json "$W/prof-$i.json" > "$W/prof-$i.txt" 2>&1
  echo "== prof $i rc $?"; grep -E "^(step|io|replayed)" "$W/prof-$i.txt" | cut -c1-130
done
tar czf "$OUT/s42c4.tgz" -C $W .

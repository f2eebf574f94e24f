#!/usr/bin/env bash
# Session 42, calls 3 and 4 (H200): forward() against its parts (layer-profile's "io" lines: the host's hidden states
# written into a device tensor, forwardDevice, download, with and without a synchronize()), two processes. Call 4 ran it
# as N=4, after layer-profile gained forward() back to back / after synchronize() / after a queue drain.
#   N=3 OUT=$OUT bash bench/cuda/hopper/s42_call3.sh
set -uo pipefail
N=${N:-3}
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c$N.tar.xz}"
W=/tmp/s42-c$N; rm -rf $W; mkdir -p $W
for i in 1 2; do
  timeout -k 5 100 node build/bench/mla/layer-profile.js --backend webgpu --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 5 --json "$W/prof-$i.json" > "$W/prof-$i.txt" 2>&1
  echo "== prof $i rc $?"; grep -E "^(step|io|replayed)" "$W/prof-$i.txt" | cut -c1-130
done
tar czf "$OUT/s42c$N.tgz" -C $W .

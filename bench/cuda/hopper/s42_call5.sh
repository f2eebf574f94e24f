#!/usr/bin/env bash
# Session 42, call 5 (H200): call 4 again (its processes ran out of cache pages before the io lines) with the GPU's
# clocks logged every 50 ms (nvidia-smi) beside the profile's phase marks.   OUT=$OUT bash bench/cuda/hopper/s42_call5.sh
set -uo pipefail
source bench/cuda/hopper/smi.sh && source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c5.tar.xz}"
W=/tmp/s42-c5; rm -rf $W; mkdir -p $W
for i in 1 2; do
  smi_start $W/smi-$i.csv 50
  timeout -k 5 100 node build/bench/mla/layer-profile.js --backend webgpu --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 5 --json "$W/prof-$i.json" > "$W/prof-$i.txt" 2>&1
  echo "== prof $i rc $?"; smi_stop
  grep -E "^(phase|step|io|replayed|forwardDevice chained)" "$W/prof-$i.txt" | cut -c1-130
  python3 bench/cuda/hopper/smi_phases.py "$W/smi-$i.csv" "$W/prof-$i.txt"
done
tar czf "$OUT/s42c5.tgz" -C $W .

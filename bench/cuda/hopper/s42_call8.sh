#!/usr/bin/env bash
# Session 42, call 8 (H200): does the host keep a WebGPU decode call's GPU busy, and at which clock do the calls run?
# bench/webgpu/submit-rate.ts (b=1 s_k 32768 / 4096, b=128 s_k 1024; 16 heads) with nvidia-smi's clocks every 20 ms.
#   OUT=$OUT bash bench/cuda/hopper/s42_call8.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c8.tar.xz}"
W=/tmp/s42-c8; rm -rf $W; mkdir -p $W
for i in 1 2; do
  nvidia-smi --query-gpu=timestamp,pstate,clocks.sm,clocks.mem,utilization.gpu,power.draw --format=csv,noheader -lms 20 > $W/smi-$i.csv 2>&1 &
  SMI=$!
  timeout -k 5 120 node build/bench/webgpu/submit-rate.js --calls 2000 --json $W/rate-$i.json > $W/rate-$i.txt 2>&1
  echo "== rate $i rc $?"; kill $SMI; wait $SMI 2>/dev/null
  grep -E "^\{" $W/rate-$i.txt
  cp $W/rate-$i.txt $W/prof-$i.txt
  python3 bench/cuda/hopper/smi_phases.py "$W/smi-$i.csv" "$W/prof-$i.txt"

done
tar czf "$OUT/s42c8.tgz" -C $W .

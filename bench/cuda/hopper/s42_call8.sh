#!/usr/bin/env bash
# Session 42, call 8 (H200): does the host keep a WebGPU decode call's GPU busy, and at which clock do the calls run?
# bench/webgpu/submit-rate.ts (b=1 s_k 32768 / 4096, b=128 s_k 1024; 16 heads) with nvidia-smi's clocks every 20 ms.
#   OUT=$OUT bash bench/cuda/hopper/s42_call8.sh
set -uo pipefail
source bench/cuda/hopper/smi.sh && source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c8.tar.xz}"
W=/tmp/s42-c8; rm -rf $W; mkdir -p $W
for i in 1 2; do
  smi_start $W/smi-$i.csv 20
  timeout -k 5 120 node build/bench/webgpu/submit-rate.js --calls 2000 --json $W/rate-$i.json > $W/rate-$i.txt 2>&1
  echo "== rate $i rc $?"; smi_stop
  grep -E "^\{" $W/rate-$i.txt
  python3 bench/cuda/hopper/smi_phases.py "$W/smi-$i.csv" "$W/rate-$i.txt"
done
tar czf "$OUT/s42c8.tgz" -C $W .

#!/usr/bin/env bash
# Session 64, call 3: calls 1-2's arms (lib103, lib, cl, cl0, clc, libk), asked of an H200 (the warm H100 ran it), every b = 1
# length of call 1, and a short check. Prediction (written before the run): as on the H100 (calls 1-2), cl 2-3 us slower
# than lib at every length, libk level with lib.
#   (device) OUT=$OUT bash bench/cuda/hopper/s64_call3.sh > $OUT/log.txt 2>&1   (carry .devstage)
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
bin=${BIN:-.devstage/harness_s64}
chmod +x "$bin"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv | tee "$OUT/card.txt"
timeout 60 "$bin" cluster check 120 66 > "$OUT/check.log" 2>&1; echo "check rc $?"; tail -3 "$OUT/check.log"
timeout 150 "$bin" cluster time "$OUT/time.json"; echo "time rc $?"

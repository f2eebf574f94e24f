#!/usr/bin/env bash
# Session 64, call 2 (issue #12, b = 1): call 1 measured the cluster merge (xcl) 2-3 us slower than the library's code
# with its combine (lib) at every b = 1 length on the H100, and xcp + the combine (clc) as slow as xcl. This call adds
# libk: lib's own kernel (no cluster code) launched in clusters of 8, which separates the cluster launch from the
# cluster epilogue. Prediction (written before the run): libk within 0.5 us of lib (the launch is not the cost; the
# two cluster barriers and the DSMEM reads at the item's end are).
#   (here)   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Xptxas -warn-spills -o .devstage/harness_s64 bench/cuda/hopper/harness.cu
#   (device) OUT=$OUT bash bench/cuda/hopper/s64_call2.sh > $OUT/log.txt 2>&1   (carry .devstage)
set -u
OUT=${OUT:-./out}; mkdir -p "$OUT"
bin=${BIN:-.devstage/harness_s64}
chmod +x "$bin"
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv | tee "$OUT/card.txt"
for sk in 4096 32768; do CL_SK=$sk timeout 60 "$bin" cluster time "$OUT/time-$sk.json"; echo "time $sk rc $?"; done

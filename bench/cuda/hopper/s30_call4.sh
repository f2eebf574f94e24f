#!/usr/bin/env bash
# Session 30, call 4 (H200): the wide kernel's item boundary in finer stamps (storeRows' steps, the next item's start,
# the producer's first tile of the next item), on the default bits (dist-trace) and on w5's kVarBStK bits (dist-traceN:
# MLA_SM90W_LIB_VARB=101449824). Predictions: results/gpu-host/bench/hopper/s30/predictions.txt.
# Carry .ghc (.gpu-host) and .devstage/s30c4.tar.xz (s29_pack ... trace traceN):   OUT=$OUT bash bench/cuda/hopper/s30_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c4.tar.xz}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
C='[{"b":128,"s_k":1024,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":1024,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":64,"s_q":1}]'
for v in trace traceN; do
  FLASHMLA_CUDA_KERNELS=dist-$v/cuda timeout -k 5 150 node build/bench/cuda/hopper/s30_trace.js "$C" > "$OUT/$v.txt" 2>&1; echo "$v rc $?"
  sed "s/ lib / $v /" "$OUT/$v.txt" | tr ' ' '\n' | paste -sd' ' | sed 's/trace b=/\ntrace b=/g'
done
ts end

#!/usr/bin/env bash
# Session 30, call 3 (H200): where a wide-kernel item's time goes (bench/cuda/hopper/s30_trace.ts on the trace build of
# the library's entries, MLA_SM90W_TRACE + MLA_SM90W_LIB_TRACE). Predictions: results/gpu-host/bench/hopper/s30/predictions.txt.
# Carry .ghc (.gpu-host) and .devstage/s30c3.tar.xz (s29_pack ... trace):   OUT=$OUT bash bench/cuda/hopper/s30_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c3.tar.xz}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
C='[{"b":128,"s_k":1024,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":128,"s_q":2},{"b":128,"s_k":1024,"h_q":128,"s_q":1},{"b":128,"s_k":4096,"h_q":128,"s_q":1},{"b":32,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":64,"s_q":1},{"b":128,"s_k":2048,"h_q":64,"s_q":1}]'
for r in 1 2; do
  FLASHMLA_CUDA_KERNELS=dist-trace/cuda timeout -k 5 150 node build/bench/cuda/hopper/s30_trace.js "$C" > "$OUT/trace-$r.txt" 2>&1; echo "trace $r rc $?"
  cat "$OUT/trace-$r.txt"
done
ts end

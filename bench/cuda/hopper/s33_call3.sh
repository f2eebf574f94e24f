#!/usr/bin/env bash
# Session 33, call 3 (H200): is the <= 32-row kernel's item end (call 2: ~3000 / ~5900 cycles from the merge's end to
# the stores issued, 16 / 32 rows, the same with the rows staged and sent by bulk copies) the global write path? Traces
# (harness_trace tracecall, x75 = the library's bits) of the normal build and of a -DMLA_SM90_DIAG_NOSTORE build (the
# unsplit output rows not stored: WRONG output, timing only), 16 and 32 rows at s_k 1024 and 32 rows at s_k 4096,
# alternated. No pack: carry .devstage (harness_trace.xz, harness_trace_ns.xz) only.
#   OUT=$OUT bash bench/cuda/hopper/s33_call3.sh
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader 2>/dev/null
source bench/cuda/hopper/s29_common.sh && T0=$(date +%s) # (s33_unxz, s33_traces, s33_pack: no pack to unpack, no setup)
s33_unxz .devstage/harness_trace .devstage/harness_trace_ns
for b in harness_trace harness_trace_ns harness_trace_ns harness_trace; do
  TR_TAG=$b- s33_traces ".devstage/$b" x75 "128 1024 16 1" "128 1024 32 1" "128 4096 32 1"
done
s33_pack s33c3-traces

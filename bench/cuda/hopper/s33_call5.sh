#!/usr/bin/env bash
# Session 33, call 5 (H200): SM (kNVarStMat, the library's bits | 512 = 587): the unsplit one-head item's output rows
# by stmatrix into staged rows and 1-KB bulk copies, a short epilogue (call 4: the 32-row end waits on instruction
# fetch). Its checks (sm90.test 100 random cases, memcheck / synccheck on four shapes), traces (x75 against xsm, 16 and
# 32 rows at s_k 1024), then arms A SM SM A on FlashMLA's nine 16 / 32-row b=128 rows under do_bench's protocol and from
# CUDA graphs. Rule: results/gpu-host/bench/hopper/s33/predictions.txt. Carry .ghc and .devstage (s33c5.tar.xz from
# s29_pack ... SM, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s33_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s33c5.tar.xz}"
mkdir -p "$OUT/f"
s33_narrow_checks SM
s29_run_jobs 8
s33_narrow_report SM
rm -f "$OUT"/f/*.svg
s33_traces .devstage/harness_trace "x75 xsm xsm x75" "128 1024 16 1" "128 1024 32 1"
s33_pack s33c5-checks-traces
s33_ab "A SM SM A" "A SM SM A"
s33_pack s33c5-arms

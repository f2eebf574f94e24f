#!/usr/bin/env bash
# Session 34, call 2 (H200): CE again (call 1's fatbin) and C2 = CE + kNVarStMat (bits 1611: the unsplit one-head item's
# rows by stmatrix into staged rows and 1-KB bulk copies, with CE's row scalars). s34_narrow_slot: C2's checks, traces
# (x75, xce, xc2), arms A CE C2 C2 CE A under both protocols. Rule: results/gpu-host/bench/hopper/s34/predictions.txt.
# Carry .ghc and .devstage (s34c2.tar.xz from s29_pack ... CE C2, harness_trace.xz):
#   OUT=$OUT bash bench/cuda/hopper/s34_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c2.tar.xz}"
mkdir -p "$OUT/f"
TAG=s34c2 s34_narrow_slot C2 "x75 xce xc2 xc2 xce x75" "A CE C2 C2 CE A" "C2 CE A A CE C2"
ts end

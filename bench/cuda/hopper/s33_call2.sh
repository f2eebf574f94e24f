#!/usr/bin/env bash
# Session 33, call 2 (H200): is the <= 32-row kernel's item end on the call's critical path? Call 1: SO (kNVarStOut,
# the output rows staged and sent by bulk copies) was level in both protocols though the 2-byte stores take 3000 /
# 5850 cycles of a CTA's end at 16 / 32 rows. Here: traces of x75 (the library's bits) and xso (+ kNVarStOut), 16 and
# 32 rows at s_k 1024, alternated; then arms under do_bench's protocol on FlashMLA's nine 16 / 32-row rows: A, S19
# (diagnostic: the 16-row ring cut to 19 slots, ~the bytes in flight the 32-row ring leaves while its consumers hold
# their tiles), and A, EN, EN, A from graphs (EN's flush result was +3-13 % at 16 rows, -2-4 % at 32 rows s_k 8192).
# Predictions: results/gpu-host/bench/hopper/s33/predictions.txt. Carry .ghc and .devstage (s33c2.tar.xz from
# s29_pack ... EN S19, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s33_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s33c2.tar.xz}"
s33_traces .devstage/harness_trace "x75 xso xso x75" "128 1024 16 1" "128 1024 32 1"
s33_pack s33c2-traces
s33_ab "A S19 S19 A" "A EN EN A"
s33_pack s33c2-arms

#!/usr/bin/env bash
# Session 34, call 5 (H200): does the >= 64-row kernel's item boundary wait on instruction fetch too? ncu (warp-state
# sampling by SASS line, as call 4) of the library's mla_decode_sm90w_bf16 at b=128 s_k 1024, 256 rows (h_q 128 s_q 2:
# four items a CTA) and 128 rows (h_q 64 s_q 2), the grid's lowest rows under do_bench's protocol. A measurement for
# the next candidate; no rule. Carry .ghc and .devstage (s34c5.tar.xz from s29_pack, no variants):
#   OUT=$OUT bash bench/cuda/hopper/s34_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c5.tar.xz}"
s34_narrow_ncu s34c5 'mla_decode_sm90w_bf16$' "128 1024 128 2 w256" "128 1024 64 2 w128"

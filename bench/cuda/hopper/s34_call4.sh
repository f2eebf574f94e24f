#!/usr/bin/env bash
# Session 34, call 4 (H200): session 33 call 4's ncu (warp-state sampling by SASS line) again, on the library with
# kNVarCEnd (what is left of the <= 32-row item end after the change), b=128 s_k 1024, 16 and 32 rows.
# Carry .ghc and .devstage (s34c4.tar.xz from s29_pack, no variants):   OUT=$OUT bash bench/cuda/hopper/s34_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c4.tar.xz}"
s34_narrow_ncu s34c4

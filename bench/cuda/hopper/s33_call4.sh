#!/usr/bin/env bash
# Session 33, call 4 (H200): what paces the <= 32-row kernel's item end? Call 3: without its global stores (a
# -DMLA_SM90_DIAG_NOSTORE trace build) the end takes as many cycles as with them (~2900 / ~5700 at 16 / 32 rows), and
# the same with the rows staged and sent by bulk copies (call 2): the cycles scale with the end's code, not its memory
# traffic. Hypothesis: the end runs once an item, cold in the instruction cache. ncu (warp-state sampling by SASS line)
# of the library's 16- and 32-row entries at b=128 s_k 1024 (one launch, the 4th) through the CLI.
# Carry .ghc and .devstage (s33c4.tar.xz from s29_pack, no variants):   OUT=$OUT bash bench/cuda/hopper/s33_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s33c4.tar.xz}"
s34_narrow_ncu s33c4 # (session 34: the steps this call ran, moved into s29_common.sh)

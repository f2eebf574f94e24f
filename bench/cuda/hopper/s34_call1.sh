#!/usr/bin/env bash
# Session 34, call 1 (H200): CE (kNVarCEnd, the library's bits | 1024 = 1099): the <= 32-row kernel's item end as short
# straight-line code (session 33 call 4's SASS segments: the 32-row store loop's eight row blocks, each with its row's
# scalar work and a dead copy of the split path, lose more instruction-fetch samples block by block). s34_narrow_slot:
# CE's checks (bit for bit against the library, sm90.test, sanitizers), traces (x75 against xce), arms A CE CE A / A CE
# CE A. Rule: results/gpu-host/bench/hopper/s34/predictions.txt. Carry .ghc and .devstage (s34c1.tar.xz from s29_pack ...
# CE, harness_trace.xz):   OUT=$OUT bash bench/cuda/hopper/s34_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c1.tar.xz}"
mkdir -p "$OUT/f"
TAG=s34c1 s34_narrow_slot CE "x75 xce xce x75" "A CE CE A" "CE A A CE"
ts end

#!/usr/bin/env bash
# Session 35, call 1 (H200): session 34's call 5 (ncu of the >= 64-row kernel at b=128 s_k 1024, 256 and 128 rows:
# does its item boundary wait on instruction fetch as the <= 32-row kernel's end did?), FlashMLA's kernel under the same
# sections on the same shapes (its cycles for the comparison), and dense-sm90-bitexact.ts --wide run once library
# against library (the tool's first run on a GPU: it must report every case identical). Predictions:
# results/gpu-host/bench/hopper/s35/predictions.txt. Carry .ghc and .devstage (s35c1.tar.xz from s29_pack):
#   OUT=$OUT bash bench/cuda/hopper/s35_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s35c1.tar.xz}"
# 1. the bitexact tool, library against itself
timeout -k 5 120 node build/bench/cuda/hopper/dense-sm90-bitexact.js A=dist/cuda B=dist/cuda --wide > "$OUT/bitexact-wide.txt" 2>&1
ts "bitexact --wide rc=$?: $(tail -2 "$OUT/bitexact-wide.txt" | tr '\n' ' ')"
# 2. ncu of ours (as session 34's call 5 prepared it)
s34_narrow_ncu s35c1 'mla_decode_sm90w_bf16$' "128 1024 128 2 w256" "128 1024 64 2 w128"
# 3. FlashMLA's kernel on the same two shapes, the same sections
secs="--clock-control none --section WarpStateStats --section InstructionStats --section SourceCounters --import-source yes"
mkdir -p "$OUT/f/ncu"
# shellcheck disable=SC2086
timeout -k 5 150 ncu $secs -k regex:splitkv_mla --launch-skip 1 --launch-count 2 -f -o "$OUT/f/ncu/fm" python3 bench/cuda/hopper/flashmla_once.py --anchors .gpu-host/anchors 128,1024,128,2 128,1024,64,2 > "$OUT/f/ncu/fm.log" 2>&1; echo "fm rc $?"
r="$OUT/f/ncu/fm.ncu-rep"
if [ -f "$r" ]; then
  ncu -i "$r" --page raw --csv > "$OUT/f/ncu/fm.raw.csv" 2>&1; ncu -i "$r" --page source --csv --print-source sass > "$OUT/f/ncu/fm.sass.csv" 2>&1
  ncu -i "$r" --print-details all 2>&1 | grep -E "Duration|Elapsed Cycles|No Instruction|Warp Cycles Per Issued" | head -12; rm -f "$r"; gzip "$OUT/f/ncu/fm".*.csv
fi
ts "fm ncu done"
s33_pack s35c1-fm

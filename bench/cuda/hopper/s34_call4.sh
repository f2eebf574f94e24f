#!/usr/bin/env bash
# Session 34, call 4 (H200): session 33 call 4's ncu (warp-state sampling by SASS line) again, on the library with kNVarCEnd (what
# is left of the <= 32-row item end after the change), b=128 s_k 1024, 16 and 32 rows (the same sections).
# Carry .ghc and .devstage (s34c4.tar.xz from s29_pack, no variants):   OUT=$OUT bash bench/cuda/hopper/s34_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s34c4.tar.xz}"
secs="--clock-control none --section WarpStateStats --section InstructionStats --section SourceCounters --import-source yes"
mkdir -p "$OUT/f/ncu"
for s in "128 1024 16 1 n16" "128 1024 32 1 n32"; do
  set -- $s; name=narrow_$5
  echo "[{\"b\":$1,\"s_k\":$2,\"h_q\":$3,\"s_q\":$4}]" > "$OUT/f/ncu/c.json"
  # shellcheck disable=SC2086
  timeout -k 5 100 ncu $secs -k regex:mla_decode_sm90_bf16_$5 --launch-skip 3 --launch-count 1 -f -o "$OUT/f/ncu/$name" "${CLI[@]}" bench --backend cuda --configs "$OUT/f/ncu/c.json" --reps 2 --warmup 2 --check 0 --warm-ms 0 --idle-warm-ms 0 -q > "$OUT/f/ncu/$name.log" 2>&1; echo "$name rc $?"
  r="$OUT/f/ncu/$name.ncu-rep"
  if [ -f "$r" ]; then
    ncu -i "$r" --page raw --csv > "$OUT/f/ncu/$name.raw.csv" 2>&1; ncu -i "$r" --page source --csv --print-source sass > "$OUT/f/ncu/$name.sass.csv" 2>&1
    ncu -i "$r" --print-details all 2>&1 | grep -E "Duration|Elapsed Cycles|No Instruction|Warp Cycles Per Issued" | head -6; rm -f "$r"; gzip "$OUT/f/ncu/$name".*.csv
  fi
done
ts "ncu done"
s33_pack s34c4-ncu

#!/usr/bin/env bash
# Session 17, helper h1's sparse slot (docs/notes/cuda-sparse-decode.md, "Session 17, helper h1: the pair's item boundary"):
# the MODEL1 h_q 128 pair's item boundary. Three candidates on the shipped 2166830931695689736 (prebuilt, stage
# .devstage/s17-h1): A = + 62 (6778516950123077640: the next item's Q prefetched into L2 by the pair producer, both formats),
# B = + 53 (2175838130950430728: the MODEL1 pair epilogue's output through shared memory and bulk copies), AB = + 62 + 53
# (6787524149377818632). GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc:
#   OUT=$OUT timeout 150 bash bench/cuda/hopper/s17_h1_slot.sh         (~135 s warm)
# Steps: FlashMLA's bench_sparse.py (same call); sparse-sm90-final-ab.sh on A, B, AB (checks side by side: goldens both
# precisions, 40 + 40 random sm90 cases; then shipped and the candidates that passed on the 12 shapes, 3 rounds of 10); the
# MODEL1 item probe (--shapes m1items, 2 rounds) on shipped and the checked candidates if <= 115 s have passed; the rule
# (s17_h1_rule.py). If dist/cuda's sparse_sm90.fatbin is not the staged shipped build (the lead's .devstage/cuda may still
# hold 1013909427088842760), the staged one is swapped in first and logged.
# Last line: `SHIP <mode> (...)` or `KEEP 2166830931695689736 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=2166830931695689736; A=6778516950123077640; B=2175838130950430728; AB=6787524149377818632
STAGE=${STAGE:-.devstage/s17-h1}; HB=/tmp/s17h1-hb
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_begin "$STAGE" $HB $SHIP 45 $A $B $AB
OUT=$OUT HB=$HB CASES=${CASES:-40} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} TIME_TIMEOUT=${TIME_TIMEOUT:-80} CHECK_TIMEOUT=${CHECK_TIMEOUT:-60} \
  timeout -k 5 130 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$OUT/flashmla-sparse.json" "$A $B $AB" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; cat "$OUT/ab.txt" | tee -a "$OUT/log.txt"
# the item probe: shipped and every candidate whose checks passed (their kernel folders are the A/B's /tmp/sab-m<mode>)
if [ $((SECONDS - S)) -le 115 ]; then
  BL="shipped=$PWD/dist/cuda"
  for m in $A $B $AB; do
    sparse_slot_checked "$OUT/ab.txt" $m && [ -d /tmp/sab-m$m ] && BL="$BL m$m=/tmp/sab-m$m"
  done
  sparse_slot_m1items 25 $BL
else
  ts "m1items skipped (time)"
fi
python3 bench/cuda/hopper/s17_h1_rule.py "$OUT/sparse-sm90-final-ab.json" "$OUT/ab.txt" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"

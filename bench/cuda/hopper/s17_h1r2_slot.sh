#!/usr/bin/env bash
# Session 17, helper h1 round 2's sparse slot (docs/notes/cuda-sparse-decode.md, "Session 17, helper h1, round 2"): bit 54,
# bit 53's epilogue (the bf16 output through shared memory and bulk copies) in the V3.2 pair entries, in a form warpgroup 1
# holds without spilling. One candidate on the shipped 6787524149377818632 (prebuilt, stage .devstage/s17-h1r2):
# 6805538547887300616 = shipped + 54. GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped
# kernels, build/ by tsc:
#   OUT=$OUT timeout 110 bash bench/cuda/hopper/s17_h1r2_slot.sh         (~105 s warm)
# Steps: the staged shipped fatbin swapped into dist/cuda if it is not there (logged); FlashMLA's bench_sparse.py (same
# call); sparse-sm90-final-ab.sh on the candidate (checks: goldens both precisions, 20 + 20 random sm90 cases; then
# shipped and the candidate on the 12 shapes, 3 rounds of 10, 2 if the checks ended late); then, with the time left (>= 20 s),
# memcheck and racecheck side by side on the candidate's kernels at h_q 128 (2 'fast' cases a format); the rule
# (s17_h1r2_rule.py). Last line: `SHIP 6805538547887300616 (...)` or `KEEP 6787524149377818632 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6787524149377818632; C=6805538547887300616
STAGE=${STAGE:-.devstage/s17-h1r2}; HB=/tmp/s17h1r2-hb; END=${END:-104} # seconds after the start by which all is done
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $C
sparse_slot_base $HB $SHIP
PYTHONUNBUFFERED=1 timeout -k 3 40 python3 .gpu-host/anchors/flashmla-sparse/bench_sparse.py --out "$OUT/flashmla-sparse.json" > "$OUT/flashmla-sparse.txt" 2>&1
ts "flashmla sparse rc=$?"
left=$((END - (SECONDS - S)))
OUT=$OUT HB=$HB CASES=${CASES:-20} REPS=10 ROUNDS=$([ $left -ge 66 ] && echo 3 || echo 2) CHECK_TIMEOUT=28 TIME_TIMEOUT=$((left > 66 ? 34 : left - 34)) \
  timeout -k 3 $((left - 2)) bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$OUT/flashmla-sparse.json" "$C" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$? (rounds $([ $left -ge 66 ] && echo 3 || echo 2))"; tee -a "$OUT/log.txt" < "$OUT/ab.txt"
left=$((END - 2 - (SECONDS - S)))
if [ $left -ge 20 ] && [ -d /tmp/sab-m$C ]; then
  sparse_slot_san /tmp/sab-m$C $left
else
  ts "sanitizers skipped (time: $left s left)"
fi
python3 bench/cuda/hopper/s17_h1r2_rule.py "$OUT/sparse-sm90-final-ab.json" "$OUT/ab.txt" "$OUT" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"

#!/usr/bin/env bash
# Session 18, helper h2's sparse slot (docs/notes/cuda-sparse-decode.md, "Session 18, helper h2"): bits 55 / 56, the pair
# entries' stage written and handed over in two halves of S's contraction (55 MODEL1, 56 V3.2). One candidate on the shipped
# 6805538547887300616 (prebuilt, stage .devstage/s18-h2): 6913624938944192520 = shipped + 55 + 56, whose MODEL1 pair entries
# are the + 55 build's code and V3.2 pair entries the + 56 build's (per-entry .text compared), so one timing judges both
# classes; two probes for the item probe only (never checked, never decide): the consumer-bound time C (bit 2: the producer
# loads no tokens but converts and stores) of shipped and of the candidate, built without bit 59 (it is for the one-CTA V3.2
# entries only and refuses bit 2).
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc (main's is enough):
#   OUT=$OUT timeout 150 bash bench/cuda/hopper/s18_h2_slot.sh         (~135 s warm)
# Steps: the staged shipped fatbin swapped into dist/cuda if it is not there (logged); FlashMLA's bench_sparse.py (same call);
# sparse-sm90-final-ab.sh on the candidate (checks: goldens both precisions, 30 + 30 random sm90 cases at h_q 128 (+ 8 + 8
# 'exact', + the 10 + 10 wide-score cases); then shipped and the candidate on the 12 shapes, 3 rounds of 10); memcheck and
# racecheck side by side on the candidate's kernels at h_q 128 (2 'fast' cases a format); the MODEL1 item probe (--shapes
# m1items, 2 rounds: shipped, the candidate if its checks passed, C of shipped, C of the candidate) if the time allows; the
# rule (s18_h2_rule.py). Last line: `SHIP <mode> (...)` (shipped + the qualifying classes' bits) or
# `KEEP 6805538547887300616 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6805538547887300616; C=6913624938944192520; CS=6229077795583877132; CC=6337164186640769036 # C probes: shipped / candidate - 59 + 2
STAGE=${STAGE:-.devstage/s18-h2}; HB=/tmp/s18h2-hb; END=${END:-146} # seconds after the start by which all is done
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_begin "$STAGE" $HB $SHIP 40 $C $CS $CC
left=$((END - (SECONDS - S)))
FLASHMLA_GPU_SPARSE_SM90_HQ=128 OUT=$OUT HB=$HB CASES=${CASES:-30} REPS=10 ROUNDS=3 CHECK_TIMEOUT=45 TIME_TIMEOUT=40 \
  timeout -k 3 $((left > 92 ? 90 : left - 2)) bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$OUT/flashmla-sparse.json" "$C" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; tee -a "$OUT/log.txt" < "$OUT/ab.txt"
left=$((END - 2 - (SECONDS - S)))
if [ $left -ge 15 ] && [ -d /tmp/sab-m$C ]; then
  sparse_slot_san /tmp/sab-m$C $((left > 30 ? 28 : left))
else
  ts "sanitizers skipped (time: $left s left)"
fi
# the item probe: shipped, the candidate if its checks passed, and the two C probes (kernel folders made here)
left=$((END - 2 - (SECONDS - S)))
if [ $left -ge 12 ]; then
  BL="shipped=$PWD/dist/cuda"
  sparse_slot_checked "$OUT/ab.txt" $C && [ -d /tmp/sab-m$C ] && BL="$BL m$C=/tmp/sab-m$C"
  for m in $CS $CC; do
    d=/tmp/sab-m$m; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/ && sparse_sm90_swap $HB/sparse_sm90_m$m.fatbin $d && BL="$BL m$m=$d"
  done
  sparse_slot_m1items $((left > 22 ? 20 : left - 2)) $BL
else
  ts "m1items skipped (time: $left s left)"
fi
python3 bench/cuda/hopper/s18_h2_rule.py "$OUT/sparse-sm90-final-ab.json" "$OUT/ab.txt" "$OUT" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"

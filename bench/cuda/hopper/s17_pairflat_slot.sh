#!/usr/bin/env bash
# Next session's first sparse slot (prepared in session 16 after its device time was spent; docs/notes/cuda-sparse-decode.md,
# "Session 16, after the device time: bits 60 / 61"): the pair entries' straight-line store phase. One candidate build,
# 4472673940909383688 = shipped 1013909427088842760 + 60 (V3.2 pair) + 61 (MODEL1 pair); its V3.2 pair entries are 60's
# code and its MODEL1 pair entries 61's (per-entry .text compared), so one timing decides both classes.
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/s17_pairflat_slot.sh          (stage .devstage/s17-pair; ~100 s warm)
# Steps: FlashMLA's bench_sparse.py (same call), sparse-sm90-final-ab.sh (checks: goldens both precisions, 40 + 40 random
# sm90 cases; then the 12 shapes, 3 rounds of 10), the rule: per pair class (V3.2: shapes 1-4; MODEL1 h_q 128: the four
# pair shapes), SHIP its bit if the candidate passed its checks, the class geomean is >= 0.5 % faster than shipped and no
# shape of the class > 0.5 % slower; the one-CTA shapes (shipped's code) must stay within 1.5 % (else KEEP: noise);
# s17_pairflat_rule.py (s16_h2_rule.py's helpers).
# Last line: `SHIP <mode> (...)` or `KEEP 1013909427088842760 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=1013909427088842760; CAND=4472673940909383688; STAGE=${STAGE:-.devstage/s17-pair}; HB=/tmp/s17pair-hb
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_begin "$STAGE" $HB $SHIP 60 $CAND
OUT=$OUT HB=$HB CASES=${CASES:-40} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} TIME_TIMEOUT=${TIME_TIMEOUT:-90} CHECK_TIMEOUT=${CHECK_TIMEOUT:-60} \
  timeout -k 5 170 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$OUT/flashmla-sparse.json" "$CAND" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; cat "$OUT/ab.txt" | tee -a "$OUT/log.txt"
python3 bench/cuda/hopper/s17_pairflat_rule.py "$OUT/sparse-sm90-final-ab.json" "$OUT/ab.txt" | tee -a "$OUT/log.txt"

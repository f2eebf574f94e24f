#!/usr/bin/env bash
# Session 18, helper h2, round 4 (docs/notes/cuda-sparse-decode.md, "Session 18, helper h2, round 4"): bits 51 / 44 of
# sparse_sm90.cu on the MODEL1 pair entries (the pair producer's own chain: 51 the token's row and scale row in unsigned
# 32-bit arithmetic, 44 the CTA's 32 validity flags a tile by one producer warp after the rounds), on the shipped
# 6879003516808781832. Prebuilt (stage .devstage/s18-h2/r4): shipped (main fc315d0's file, SAME CODE as call I's AB), A = +51,
# B = +44, AB = +51 +44 (each differs from shipped only in mla_sparse_sm90_model1_bf16_c2 / _c2_sp), and this branch's
# sparse-sm90-final-ab.js (tsc output, one file: --shapes m1pair), copied beside main's as s18-h2r4-final-ab.js.
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc (main's):
#   OUT=$OUT timeout 100 bash bench/cuda/hopper/s18_h2r4_slot.sh         (~90 s warm)
# Steps: the staged shipped fatbin swapped into dist/cuda if it is not there (logged); FlashMLA's bench_sparse.py (12 shapes,
# this call; cut at 24 s, session 18 call B's JSON if it fails); sparse-sm90-final-ab.sh's checks of the three candidates side
# by side at h_q 128 (FLASHMLA_GPU_SPARSE_SM90_HQ=128: goldens in both precisions, CASES (30) random MODEL1 + CASES V3.2 cases
# each; TIME_TIMEOUT=1: its timing is cut, the slot times below); memcheck of each at h_q 128 (the pair entries), side by
# side; shipped, A, B, AB on --shapes m1pair (FlashMLA's four MODEL1 h_q 128 shapes + the guard, 2 rounds of 10); the item
# probe on the four builds if >= 14 s are left (logged only); the rule (s18_h2r4_rule.py). Last line: `SHIP <mode> (...)` or
# `KEEP 6879003516808781832 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6879003516808781832; A=6881255316622467080; B=6879021108994826248; AB=6881272908808511496
STAGE=${STAGE:-.devstage/s18-h2/r4}; HB=/tmp/s18h2r4-hb; END=${END:-96} # seconds after the start by which all is done
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_begin "$STAGE" $HB $SHIP 24 $AB $A $B
FM=$OUT/flashmla-sparse.json
[ -s "$FM" ] || { FM=results/gpu-host/bench/hopper/s18_callB/h2/flashmla-sparse.json; ts "FlashMLA: session 18 call B's JSON instead"
  echo '{"rows": []}' > "$OUT/flashmla-sparse.json"; } # the item probe reads this file: an empty FlashMLA column there
cp "$STAGE/sparse-sm90-final-ab.js" build/bench/cuda/hopper/s18-h2r4-final-ab.js || ts "no staged final-ab.js"
# 1. checks at h_q 128 (final-ab.sh makes /tmp/sab-m<mode>), then memcheck of the three side by side
FLASHMLA_GPU_SPARSE_SM90_HQ=128 OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 48 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$AB $A $B" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for m in $AB $A $B; do
  [ -d /tmp/sab-m$m ] || continue
  mkdir -p "$OUT/san-m$m"; (OUT=$OUT/san-m$m SAN_HQ=128 sparse_slot_san /tmp/sab-m$m 15 memcheck > /dev/null) &
done
wait
for m in $AB $A $B; do ts "m$m san-memcheck: $(grep -hE '^# (pass|fail) ' "$OUT/san-m$m/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san-m$m/san-memcheck.txt" 2>/dev/null | tail -1)"; done
# 2. the MODEL1 pair shapes (and the guard), the four builds interleaved
BL="shipped=$PWD/dist/cuda"
for m in $AB $A $B; do [ -d /tmp/sab-m$m ] && BL="$BL m$m=/tmp/sab-m$m"; done
left=$((END - 2 - (SECONDS - S))); left=$((left > 36 ? 36 : left < 1 ? 1 : left)) # the item probe takes what is left after
timeout -k 3 $left node build/bench/cuda/hopper/s18-h2r4-final-ab.js "$FM" $BL --shapes m1pair \
  --reps 10 --rounds ${PROUNDS:-2} --json "$OUT/ab-m1pair.json" > "$OUT/time-m1pair.txt" 2>&1
ts "MODEL1 pair shapes: rc=$?"; grep -v '^\[+' "$OUT/time-m1pair.txt" | tee -a "$OUT/log.txt"
# 3. the item probe (logged: each build's steady tile)
left=$((END - 2 - (SECONDS - S)))
if [ $left -ge 14 ]; then sparse_slot_m1items $((left - 1)) $BL; else ts "item probe skipped (time: $left s left)"; fi
python3 bench/cuda/hopper/s18_h2r4_rule.py "$OUT/ab-m1pair.json" "$OUT/ab.txt" "$OUT" "$OUT/m1items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

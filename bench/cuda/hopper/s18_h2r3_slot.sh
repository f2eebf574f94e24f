#!/usr/bin/env bash
# Session 18, helper h2, round 3 (docs/notes/cuda-sparse-decode.md, "Session 18, helper h2, round 3"): bits 48 / 50 of
# sparse_sm90.cu on the one-CTA V3.2 entries (FlashMLA's h_q 64 producer details: 48 the row address in unsigned 32-bit
# arithmetic, 50 the tile's validity flags by one producer warp after the rounds), on the shipped 6877596141925228552.
# Prebuilt (stage .devstage/s18-h2/r3): shipped (the build call E staged, bdcd1fce...), A = +48, B = +50, AB = +48 +50; each
# candidate differs from shipped only in mla_sparse_sm90_v32_bf16 / _sp (per-entry .text compared).
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc (main's is enough):
#   OUT=$OUT timeout 120 bash bench/cuda/hopper/s18_h2r3_slot.sh         (~100 s warm)
# Steps: the staged shipped fatbin swapped into dist/cuda if it is not there (logged); sparse-sm90-final-ab.sh's checks of the
# three candidates side by side at h_q 64 (FLASHMLA_GPU_SPARSE_SM90_HQ=64: goldens in both precisions, CASES (40) random V3.2
# + CASES MODEL1 cases each; TIME_TIMEOUT=1: its own timing is cut, the slot times below); memcheck of each candidate at
# h_q 64 (2 'fast' cases a format), the three side by side; FlashMLA's four V3.2 shapes at h_q 64 (flashmla_sparse_v32h64.py,
# this call); shipped, A, B, AB on them (--shapes v32h64, 3 rounds of 10); shipped and AB on FlashMLA's 12 shapes (the same
# code there: the noise guard; 2 rounds if the time allows, else 1; FlashMLA's column from call A's JSON); the rule
# (s18_h2r3_rule.py). Last line: `SHIP <mode> (...)` or `KEEP 6877596141925228552 (...)`.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6877596141925228552; A=6877877616901939208; B=6878722041832071176; AB=6879003516808781832
STAGE=${STAGE:-.devstage/s18-h2/r3}; HB=/tmp/s18h2r3-hb; END=${END:-116} # seconds after the start by which all is done
FM12=${FM12:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $AB $A $B
sparse_slot_base $HB $SHIP
# 1. checks at h_q 64 (final-ab.sh makes /tmp/sab-m<mode>), then memcheck of the three side by side
FLASHMLA_GPU_SPARSE_SM90_HQ=64 OUT=$OUT HB=$HB CASES=${CASES:-40} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 50 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM12" "$AB $A $B" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for m in $AB $A $B; do
  [ -d /tmp/sab-m$m ] || continue
  mkdir -p "$OUT/san-m$m"; (OUT=$OUT/san-m$m SAN_HQ=64 sparse_slot_san /tmp/sab-m$m 20 memcheck > /dev/null) &
done
wait
for m in $AB $A $B; do ts "m$m san-memcheck: $(grep -hE '^# (pass|fail) ' "$OUT/san-m$m/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san-m$m/san-memcheck.txt" 2>/dev/null | tail -1)"; done
# 2. FlashMLA's V3.2 h_q 64 shapes (this call), then ours on them
PYTHONUNBUFFERED=1 timeout -k 3 25 python3 bench/cuda/hopper/flashmla_sparse_v32h64.py --out "$OUT/flashmla-sparse-v32h64.json" > "$OUT/flashmla-v32h64.txt" 2>&1
ts "flashmla v32h64 rc=$?"; tee -a "$OUT/log.txt" < "$OUT/flashmla-v32h64.txt" | tail -4
FMV=$OUT/flashmla-sparse-v32h64.json
[ -s "$FMV" ] || { FMV=results/gpu-host/bench/hopper/s16_callF/flashmla-sparse-v32h64.json; ts "FlashMLA v32h64: session 16 call F's JSON instead"; }
BV="shipped=$PWD/dist/cuda"
for m in $AB $A $B; do [ -d /tmp/sab-m$m ] && BV="$BV m$m=/tmp/sab-m$m"; done
left=$((END - (SECONDS - S)))
timeout -k 3 $((left > 60 ? 24 : left / 3)) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FMV" $BV --shapes v32h64 \
  --reps 10 --rounds ${VROUNDS:-3} --json "$OUT/ab-v32h64.json" > "$OUT/time-v32h64.txt" 2>&1
ts "A/B, V3.2 h_q 64: rc=$?"; grep -v '^\[+' "$OUT/time-v32h64.txt" | tee -a "$OUT/log.txt"
# 3. the 12 shapes, shipped and AB (shipped's code in both): the noise guard
left=$((END - 2 - (SECONDS - S)))
R12=$([ $left -ge 36 ] && echo 2 || echo 1)
if [ $left -ge 18 ] && [ -d /tmp/sab-m$AB ]; then
  timeout -k 2 $((left - 1)) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM12" shipped=$PWD/dist/cuda m$AB=/tmp/sab-m$AB --reps 10 --rounds $R12 \
    --json "$OUT/ab12.json" > "$OUT/time12.txt" 2>&1
  ts "12 shapes ($R12 rounds): rc=$?"; grep -v '^\[+' "$OUT/time12.txt" | tail -3 | tee -a "$OUT/log.txt"
else
  ts "12 shapes skipped (time: $left s left)"
fi
python3 bench/cuda/hopper/s18_h2r3_rule.py "$OUT/ab-v32h64.json" "$OUT/ab12.json" "$OUT/ab.txt" "$OUT" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

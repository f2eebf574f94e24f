#!/usr/bin/env bash
# Session 19, helper h2 (docs/notes/cuda-sparse-decode.md, "Session 19, helper h2"): the session-18 sparse plan's next steps
# on the shipped 6881255316622467080, as one slot:
#  1. bit 51 confirmed: shipped against m6879003516808781832 (shipped without 51) on --shapes m1pair, 4 rounds of 10 (no build);
#  2. the producer alone: the item probe (--shapes m1items) on shipped, m6879003516808781832 and the probe
#     m6881396054110822408 (+ bit 47: the MODEL1 pair consumers only wait and hand the stage back) -> P vs T a tile;
#  3. bit 46 (48 / 51's unsigned 32-bit row address in the V3.2 pair and one-CTA MODEL1 entries), m6881325685366644744:
#     checks at h_q 64 / 128 (sparse-sm90-final-ab.sh, goldens both precisions + CASES random sm90 cases a format), memcheck
#     at h_q 64 and at h_q 128, then shipped and it on FlashMLA's 12 shapes (2 rounds if the time allows, else 1).
# FlashMLA's column: session 18 call A's JSON (42 rows, no error; not re-run: bench_sparse.py needs >= 40 s).
# Prebuilt (stage .devstage/s19-h2: fatbins.tar.xz with SHA256SUMS). GPU host, the merged tree's root, .gpu-host entered,
# dist/cuda = the shipped kernels, build/ by tsc (main's 778559e is enough):
#   OUT=$OUT timeout 120 bash bench/cuda/hopper/s19_h2_slot.sh         (~110 s warm)
# Last line: `SHIP <mode> (...)` or `KEEP 6881255316622467080 (...)` (s19_h2_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881255316622467080; NO51=6879003516808781832; CAND=6881325685366644744; PROBE=6881396054110822408
STAGE=${STAGE:-.devstage/s19-h2}; HB=/tmp/s19h2-hb; END=${END:-116} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $NO51 $CAND $PROBE
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json" # the item probe reads its FlashMLA column from here
K=/tmp/s19h2-k; rm -rf $K
for m in $NO51 $CAND $PROBE; do mkdir -p $K/m$m && cp dist/cuda/* $K/m$m/ && sparse_sm90_swap $HB/sparse_sm90_m$m.fatbin $K/m$m; done
# 1. bit 51: shipped and shipped without 51 on the MODEL1 pair shapes (+ the guard), 4 rounds of 10
timeout -k 3 30 node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" shipped=$PWD/dist/cuda m$NO51=$K/m$NO51 --shapes m1pair \
  --reps 10 --rounds ${PROUNDS:-4} --json "$OUT/ab-m1pair.json" > "$OUT/time-m1pair.txt" 2>&1
ts "MODEL1 pair shapes (bit 51): rc=$?"; grep -v '^\[+' "$OUT/time-m1pair.txt" | tee -a "$OUT/log.txt"
# 2. the item probe: shipped, without 51, the producer alone (bit 47)
sparse_slot_m1items 20 shipped=$PWD/dist/cuda m$NO51=$K/m$NO51 m$PROBE=$K/m$PROBE
# 3. bit 46: checks at h_q 64 / 128, memcheck at each, then the 12 shapes
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 48 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for h in 64 128; do
  mkdir -p "$OUT/san$h/san-m$CAND"; (OUT=$OUT/san$h/san-m$CAND SAN_HQ=$h sparse_slot_san $K/m$CAND 15 memcheck > /dev/null) &
done
wait
for h in 64 128; do ts "m$CAND san-memcheck h_q $h: $(grep -hE '^# (pass|fail) ' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"; done
left=$((END - 2 - (SECONDS - S)))
R12=$([ $left -ge 40 ] && echo 2 || echo 1)
if [ $left -ge 18 ] && sparse_slot_checked "$OUT/ab.txt" $CAND; then
  timeout -k 2 $((left - 1)) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" shipped=$PWD/dist/cuda m$CAND=$K/m$CAND --reps 10 --rounds $R12 \
    --json "$OUT/ab12.json" > "$OUT/time12.txt" 2>&1
  ts "12 shapes ($R12 rounds): rc=$?"; grep -v '^\[+' "$OUT/time12.txt" | tee -a "$OUT/log.txt"
else
  ts "12 shapes skipped ($left s left, or the checks did not pass)"
fi
python3 bench/cuda/hopper/s19_h2_rule.py "$OUT/ab-m1pair.json" "$OUT/m1items.json" "$OUT/ab12.json" "$OUT/ab.txt" "$OUT" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

#!/usr/bin/env bash
# Session 19, helper h2, round 3 (docs/notes/cuda-sparse-decode.md, "Session 19, helper h2, round 3"): bit 25, the MODEL1
# pair producer's peer copy first (pair probe 4 made correct: the peer's bytes land before `full` instead of the consumers
# waiting for them), m6881325685400199176 = the shipped 6881325685366644744 + 25, against shipped:
#  1. checks at h_q 64 / 128 (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions + CASES random sm90 cases a
#     format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, as call B had), memcheck at h_q 64 and at h_q 128;
#  2. if the checks passed: --shapes m1pair (the four MODEL1 pair shapes + the h_q 64 guard), 6 rounds of 10; FlashMLA's
#     12 shapes, 2 rounds; the item probe (T against T25 a tile, and pair probe 6: bit 25's order taken to the end, both
#     rounds' peer copies first, the conversions done twice; a diagnostic), 3 rounds, with what is left.
# FlashMLA's column: session 18 call A's JSON (not re-run). Prebuilt (stage .devstage/s19-h2/r3: fatbins.tar.xz with
# SHA256SUMS). GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (an older sparse_sm90 is
# swapped for the staged shipped 631dd888), build/ by tsc (main's 778559e is enough):
#   OUT=$OUT timeout 110 bash bench/cuda/hopper/s19_h2r3_slot.sh         (~95 s warm; every step ends by +106 s)
# Last line: `SHIP 6881325685400199176 (...)` or `KEEP 6881325685366644744 (...)` (s19_h2r3_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685366644744; CAND=6881325685400199176
STAGE=${STAGE:-.devstage/s19-h2/r3}; HB=/tmp/s19h2r3-hb; END=${END:-106} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
left() { echo $((END - (SECONDS - S))); }
cap() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; } # a step's timeout: its own, or what is left
. bench/cuda/hopper/sparse-sm90-modes.sh
if [ -z "${FLASHMLA_GOLDEN_SPARSE:-}" ] && [ -f .gpu-host/golden-sparse.tar.xz ]; then # the goldens carried packed
  tar xJf .gpu-host/golden-sparse.tar.xz -C .gpu-host && [ -d .gpu-host/golden-sparse ] && export FLASHMLA_GOLDEN_SPARSE=$PWD/.gpu-host/golden-sparse
fi
ts "goldens: ${FLASHMLA_GOLDEN_SPARSE:-none (the checks will not pass: the rule needs the goldens)}"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND ${CAND}_p6
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json" # the item probe reads its FlashMLA column from here
K=/tmp/s19h2r3-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
mkdir -p $K/p6 && cp dist/cuda/* $K/p6/ && sparse_sm90_swap $HB/sparse_sm90_m${CAND}_p6.fatbin $K/p6
B=(shipped=$PWD/dist/cuda m$CAND=$K/m$CAND)
# 1. checks at h_q 64 / 128, then memcheck at each (side by side)
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 48 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for h in 64 128; do
  mkdir -p "$OUT/san$h/san-m$CAND"; (OUT=$OUT/san$h/san-m$CAND SAN_HQ=$h sparse_slot_san $K/m$CAND 15 memcheck > /dev/null) &
done
wait
for h in 64 128; do ts "m$CAND san-memcheck h_q $h: $(grep -hE '^# (pass|fail) ' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"; done
if sparse_slot_checked "$OUT/ab.txt" $CAND; then
  # 2. the MODEL1 pair shapes (+ the guard), 6 rounds of 10
  t=$(cap 30)
  timeout -k 2 $t node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" "${B[@]}" --shapes m1pair --reps 10 --rounds ${PROUNDS:-6} \
    --json "$OUT/ab-m1pair.json" > "$OUT/time-m1pair.txt" 2>&1
  ts "MODEL1 pair shapes (6 rounds): rc=$?"; grep -v '^\[+' "$OUT/time-m1pair.txt" | tee -a "$OUT/log.txt"
  # 3. FlashMLA's 12 shapes, 2 rounds (1 if less than 40 s are left)
  l=$(left); R12=$([ $l -ge 52 ] && echo 2 || echo 1)
  if [ $l -ge 20 ]; then
    timeout -k 2 $((l - 14 > 18 ? l - 14 : l - 2)) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" "${B[@]}" --reps 10 --rounds $R12 \
      --json "$OUT/ab12.json" > "$OUT/time12.txt" 2>&1
    ts "12 shapes ($R12 rounds): rc=$?"; grep -v '^\[+' "$OUT/time12.txt" | tee -a "$OUT/log.txt"
  else
    ts "12 shapes skipped ($l s left)"
  fi
  # 4. the item probe (logged only), with what is left
  l=$(left)
  if [ $l -ge 11 ]; then
    timeout -k 2 $((l - 1)) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$OUT/flashmla-sparse.json" "${B[@]}" p6=$K/p6 --shapes m1items --reps 10 \
      --rounds $([ $l -ge 15 ] && echo 3 || echo 2) --json "$OUT/m1items.json" > "$OUT/m1items.txt" 2>&1
    ts "m1items rc=$?"
    timeout 5 python3 bench/cuda/hopper/sparse_sm90_items_s13.py "$OUT/m1items.json" 2>&1 | grep -E 'us an item|^FlashMLA' | tee -a "$OUT/log.txt"
  else
    ts "m1items skipped ($l s left)"
  fi
else
  ts "timing skipped: the checks of m$CAND did not pass"
fi
python3 bench/cuda/hopper/s19_h2r3_rule.py "$OUT/ab12.json" "$OUT/ab.txt" "$OUT" "$OUT/ab-m1pair.json" "$OUT/m1items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

#!/usr/bin/env bash
# Session 20, helper s20-h2, slot 2 (optional; docs/notes/cuda-sparse-decode.md, "Session 19's end, helper s20-h2"): bit 11,
# bit 9's staged output in the one-CTA V3.2 entries, V = m6881325685400201224 on the shipped 6881325685400199176:
#  1. checks of V at h_q 64 / 128 (sparse-sm90-final-ab.sh, goldens both precisions + CASES random sm90 cases a format),
#     memcheck at h_q 64 and at h_q 128 side by side;
#  2. --shapes v32h64 (FlashMLA's four V3.2 shapes at h_q 64), two processes of 3 rounds of 10, shipped first, then V first.
# Stage and prologue as s20_h2_slot.sh (.devstage/s20-h2, the sparse goldens carried). FlashMLA's V3.2 h_q 64 column:
# session 16 call F's JSON (not re-run: the rule compares with shipped).
#   OUT=$OUT timeout 75 bash bench/cuda/hopper/s20_h2v_slot.sh          (~60 s warm; every step ends by +72 s)
# Last line: `SHIP 6881325685400201224 (...)` or `KEEP 6881325685400199176 (...)` (s20_h2_rule.py --v32).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685400199176; V=6881325685400201224
STAGE=${STAGE:-.devstage/s20-h2}; HB=/tmp/s20h2v-hb; END=${END:-72}
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
FMV=${FMV:-results/gpu-host/bench/hopper/s16_callF/flashmla-sparse-v32h64.json}
left() { echo $((END - (SECONDS - S))); }
cap() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_goldens
tar xJf "$STAGE/build.tar.xz" && ts "build/: sparse-sm90-final-ab.js unpacked" || ts "build/: STAGED FILE MISSING (the tree's own build/ is used)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $V
sparse_slot_base $HB $SHIP
K=/tmp/s20h2v-k; rm -rf $K; mkdir -p $K/m$V && cp dist/cuda/* $K/m$V/ && sparse_sm90_swap $HB/sparse_sm90_m$V.fatbin $K/m$V
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 48 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$V" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for h in 64 128; do mkdir -p "$OUT/san$h/san-m$V"; (OUT=$OUT/san$h/san-m$V SAN_HQ=$h sparse_slot_san $K/m$V $(cap 15) memcheck > /dev/null) & done
wait
for h in 64 128; do ts "m$V san-memcheck h_q $h: $(grep -hE '^# (pass|fail) ' "$OUT/san$h/san-m$V/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san$h/san-m$V/san-memcheck.txt" 2>/dev/null | tail -1)"; done
if sparse_slot_checked "$OUT/ab.txt" $V; then
  k=1
  for order in "shipped=$PWD/dist/cuda m$V=$K/m$V" "m$V=$K/m$V shipped=$PWD/dist/cuda"; do
    l=$(left)
    if [ $l -ge 6 ]; then
      timeout -k 2 $(cap $((k == 1 ? l / 2 : l - 1))) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FMV" $order --shapes v32h64 --reps 10 --rounds 3 \
        --json "$OUT/ab-v32h64-$k.json" > "$OUT/time-v32h64-$k.txt" 2>&1
      ts "V3.2 h_q 64 run $k: rc=$?"; grep -v '^\[+' "$OUT/time-v32h64-$k.txt" | tee -a "$OUT/log.txt"
    else
      ts "V3.2 h_q 64 run $k skipped ($l s left)"
    fi
    k=2
  done
else
  ts "V: checks did not pass, not timed"
fi
python3 bench/cuda/hopper/s20_h2_rule.py --v32 "$OUT/ab.txt" "$OUT" "$OUT/ab-v32h64-1.json" "$OUT/ab-v32h64-2.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

#!/usr/bin/env bash
# Session 20, helper s20-h2 (prepared at session 19's end; docs/notes/cuda-sparse-decode.md, "Session 19's end, helper
# s20-h2"): the pair's item boundary in the one-CTA MODEL1 entries, on the shipped 6881325685400199176:
#   A  = m6881325685400199688 (+ bit 9: bit 53's staged bf16 output by bulk copies),
#   AB = m6881325685400200712 (+ bits 9 and 10: and bit 62's L2 prefetch of the next item's Q).
#  1. checks of A and AB at h_q 64 / 128 side by side (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions
#     + CASES random sm90 cases a format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, as calls B / C4 / E
#     had), then memcheck at h_q 64 and at h_q 128 for both (four processes side by side);
#  2. --shapes m1h64 (the four MODEL1 h_q 64 shapes + the h_q 128 k512 guard, a pair entry: the same code), shipped, A, AB
#     (those whose checks passed), 6 rounds of 10;
#  3. --shapes m1h64items (the one-CTA MODEL1 item fit: 32 tiles a part as 1, 2, 4 items, FlashMLA's peak case), the
#     builds in the reverse order (AB, A, shipped), 3 rounds (2 if time is short).
# FlashMLA's column: session 18 call A's JSON (not re-run; the rule compares with shipped). Prebuilt (stage
# .devstage/s20-h2: fatbins.tar.xz with SHA256SUMS: shipped 9b7656e9 (the default build of this branch, SAME CODE as main's
# dist/cuda), A, AB; build.tar.xz: the tsc output of sparse-sm90-final-ab.js, unchanged since 041c025, unpacked over
# build/ in case the tree's build/ predates it). GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the
# shipped kernels, build/ by tsc:
#   OUT=$OUT timeout 110 bash bench/cuda/hopper/s20_h2_slot.sh          (~95 s warm; every step ends by +106 s)
# Last line: `SHIP <mode> (...)` or `KEEP 6881325685400199176 (...)` (s20_h2_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685400199176; A=6881325685400199688; AB=6881325685400200712
STAGE=${STAGE:-.devstage/s20-h2}; HB=/tmp/s20h2-hb; END=${END:-106} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
left() { echo $((END - (SECONDS - S))); }
cap() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; } # a step's timeout: its own, or what is left
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_goldens
tar xJf "$STAGE/build.tar.xz" && ts "build/: sparse-sm90-final-ab.js unpacked ($(sha256sum < build/bench/cuda/hopper/sparse-sm90-final-ab.js | cut -c1-16))" \
  || ts "build/: STAGED FILE MISSING (the tree's own build/ is used)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $A $AB
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json"
K=/tmp/s20h2-k; rm -rf $K
for m in $A $AB; do mkdir -p $K/m$m && cp dist/cuda/* $K/m$m/ && sparse_sm90_swap $HB/sparse_sm90_m$m.fatbin $K/m$m; done
# 1. checks at h_q 64 / 128 (both candidates side by side), then memcheck at each (four processes side by side)
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 48 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$A $AB" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for m in $A $AB; do
  for h in 64 128; do
    mkdir -p "$OUT/san$h/san-m$m"; (OUT=$OUT/san$h/san-m$m SAN_HQ=$h sparse_slot_san $K/m$m $(cap 18) memcheck > /dev/null) &
  done
done
wait
for m in $A $AB; do
  for h in 64 128; do ts "m$m san-memcheck h_q $h: $(grep -hE '^# (pass|fail) ' "$OUT/san$h/san-m$m/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san$h/san-m$m/san-memcheck.txt" 2>/dev/null | tail -1)"; done
done
B=(shipped=$PWD/dist/cuda); R=()
for m in $A $AB; do
  if sparse_slot_checked "$OUT/ab.txt" $m; then B+=(m$m=$K/m$m); R=(m$m=$K/m$m "${R[@]}"); else ts "m$m: checks did not pass, not timed"; fi
done
R+=(shipped=$PWD/dist/cuda)
# 2. the four MODEL1 h_q 64 shapes + the guard, 6 rounds (~22 s with three builds)
if [ ${#B[@]} -gt 1 ]; then
  timeout -k 2 $(cap 30) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" "${B[@]}" --shapes m1h64 --reps 10 --rounds ${HROUNDS:-6} \
    --json "$OUT/ab-m1h64.json" > "$OUT/time-m1h64.txt" 2>&1
  ts "MODEL1 h_q 64 shapes (6 rounds): rc=$?"; grep -v '^\[+' "$OUT/time-m1h64.txt" | tee -a "$OUT/log.txt"
fi
# 3. the item fit, builds in the reverse order, with what is left (~18 s with three builds)
l=$(left)
if [ $l -ge 12 ]; then
  timeout -k 2 $(cap $((l - 1))) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" "${R[@]}" --shapes m1h64items --reps 10 \
    --rounds $([ $l -ge 26 ] && echo 3 || echo 2) --json "$OUT/m1h64items.json" > "$OUT/m1h64items.txt" 2>&1
  ts "m1h64items rc=$?"; grep -v '^\[+' "$OUT/m1h64items.txt" | tail -6 | tee -a "$OUT/log.txt"
else
  ts "m1h64items skipped ($l s left)"
fi
python3 bench/cuda/hopper/s20_h2_rule.py "$OUT/ab.txt" "$OUT" "$OUT/ab-m1h64.json" "$OUT/m1h64items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

#!/usr/bin/env bash
# Session 20, helper s20-s1 (docs/notes/cuda-sparse-decode.md, "Session 20, helper s20-s1"): bit 4, the MODEL1 pair
# producer's e4m3 -> bf16 conversions by bit operations (dq4x: PRMT, SHF, LOP3 and the bf16 multiply a pair of values
# instead of F2FP, 2 HADD2.F32, F2FP and the multiply), m6881325685400201752 = the shipped 6881325685400201736 + 16:
#  1. checks at h_q 64 / 128 (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions + CASES random sm90 cases a
#     format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, or .gpu-host/golden-sparse.tar.xz), then
#     memcheck at h_q 128 (the pair entries) and, beside it, sparse-sm90-bitexact.js (shipped and candidate on the same
#     MODEL1 h_q 128 inputs, 8 cases, both precisions: out and lse byte for byte);
#  2. if the checks passed: --shapes m1pair (the four MODEL1 pair shapes + the h_q 64 k1024 guard, a one-CTA entry: the
#     same code), 3 rounds of 10 with shipped first, then 3 rounds with the candidate first (a second process);
#  3. the item fit (--shapes m1items, 2 rounds: us a tile), with what is left; logged only.
# FlashMLA's column: session 18 call A's JSON (not re-run; the rule compares with shipped). Prebuilt (stage .devstage/s20-s1:
# fatbins.tar.xz with SHA256SUMS: shipped 46a5ad7c (the default build of this branch, SAME CODE as main's dist/cuda after
# c4f094e) and the candidate; build.tar.xz: the tsc output of sparse-sm90-final-ab.js and sparse-sm90-bitexact.js, unpacked
# over build/). GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (an older
# sparse_sm90 is swapped for the staged shipped, logged), build/ by tsc:
#   OUT=$OUT timeout 100 bash bench/cuda/hopper/s20_s1_slot.sh          (~80 s warm; every step ends by +96 s)
# Last line: `SHIP 6881325685400201752 (...)` or `KEEP 6881325685400201736 (...)` (s20_s1_rule.py).
# s20_s2_slot.sh runs this frame for bit 6 (env CAND, STAGE, S20_RULE_BIT for the rule, BITEXACT_ARGS for the bitexact tool).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685400201736; CAND=${CAND:-6881325685400201752}
STAGE=${STAGE:-.devstage/s20-s1}; HB=/tmp/s20s1-hb; END=${END:-96} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_slot_*, slot_left, slot_cap
sparse_slot_goldens
tar xJf "$STAGE/build.tar.xz" && ts "build/: sparse-sm90-final-ab.js, sparse-sm90-bitexact.js unpacked ($(cat build/bench/cuda/hopper/sparse-sm90-{final-ab,bitexact}.js | sha256sum | cut -c1-16))" \
  || ts "build/: STAGED FILE MISSING (the tree's own build/ is used)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json" # the item fit reads its FlashMLA column from here
K=/tmp/s20s1-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
# 1. checks at h_q 64 / 128, then memcheck at h_q 128
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 46 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
mkdir -p "$OUT/san128/san-m$CAND"; (OUT=$OUT/san128/san-m$CAND SAN_HQ=128 sparse_slot_san $K/m$CAND $(slot_cap 15) memcheck > /dev/null) &
# beside it: shipped and candidate on the same MODEL1 h_q 128 inputs (scale bytes 0..150, every finite e4m3 byte), out / lse byte for byte
timeout -k 2 $(slot_cap 15) node build/bench/cuda/hopper/sparse-sm90-bitexact.js shipped=$PWD/dist/cuda m$CAND=$K/m$CAND ${BITEXACT_ARGS:-} > "$OUT/bitexact.txt" 2>&1
ts "bitexact rc=$?: $(tail -1 "$OUT/bitexact.txt")"; grep -E 'DIFFERS|Error' "$OUT/bitexact.txt" | head -4 | tee -a "$OUT/log.txt"
wait
ts "m$CAND san-memcheck h_q 128: $(grep -hE '^# (pass|fail) ' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"
if sparse_slot_checked "$OUT/ab.txt" $CAND; then
  # 2. the MODEL1 pair shapes (+ the guard): 3 rounds shipped first, then 3 rounds the candidate first (~11 s each)
  k=0
  for order in "shipped=$PWD/dist/cuda m$CAND=$K/m$CAND" "m$CAND=$K/m$CAND shipped=$PWD/dist/cuda"; do
    k=$((k + 1))
    timeout -k 2 $(slot_cap 18) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" $order --shapes m1pair --reps 10 --rounds ${PROUNDS:-3} \
      --json "$OUT/ab-m1pair-$k.json" > "$OUT/time-m1pair-$k.txt" 2>&1
    ts "MODEL1 pair shapes, run $k (${order%%=*} first): rc=$?"; grep -v '^\[+' "$OUT/time-m1pair-$k.txt" | tee -a "$OUT/log.txt"
  done
  # 3. the item fit (logged only; 2 rounds), with what is left
  l=$(slot_left); if [ $l -ge 11 ]; then sparse_slot_m1items $((l - 1)) shipped=$PWD/dist/cuda m$CAND=$K/m$CAND; else ts "m1items skipped ($l s left)"; fi
else
  ts "timing skipped: the checks of m$CAND did not pass"
fi
python3 bench/cuda/hopper/s20_s1_rule.py "$OUT/ab.txt" "$OUT" "$OUT/ab-m1pair-1.json" "$OUT/ab-m1pair-2.json" "$OUT/m1items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

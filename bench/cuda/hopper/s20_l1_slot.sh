#!/usr/bin/env bash
# Session 20, helper s20-l1 (docs/notes/cuda-sparse-decode.md, "Session 20, helper s20-l1"): bit 8, the lazy reference
# maximum in the consumers' softmax (every entry), m6881325685400201992 = the shipped 6881325685400201736 + 256, in
# s20_s1_slot.sh's frame:
#  1. checks at h_q 64 / 128 (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions + CASES random sm90 cases
#     a format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, or .gpu-host/golden-sparse.tar.xz), then
#     memcheck at h_q 128 (the pair entries) and h_q 64 (the one-CTA entries) side by side; no bitexact step: bit 8's P
#     is rounded at another exponent, so its bytes differ from shipped's in the last bits by design;
#  2. if the checks passed: --shapes pair (FlashMLA's four V3.2 h_q 128 shapes, the four MODEL1 h_q 128 shapes, then the
#     one-CTA MODEL1 h_q 64 k1024 shape), 3 rounds of 10 with shipped first, then 3 rounds with bit 8 first (a second process).
# FlashMLA's column: session 18 call A's JSON (not re-run; the rule compares with shipped). Prebuilt (stage .devstage/s20-l1:
# fatbins.tar.xz with SHA256SUMS: shipped 46a5ad7c (the default build of this branch, byte-identical to s20-s1's / s20-s2's
# staged shipped) and the candidate 7bdfc08b; build.tar.xz: this branch's tsc output of sparse-sm90-final-ab.js (the
# `pair` shape set), unpacked over build/). GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped
# kernels (an older sparse_sm90 is swapped for the staged shipped, logged), build/ by tsc:
#   OUT=$OUT timeout 100 bash bench/cuda/hopper/s20_l1_slot.sh          (~80 s warm; every step ends by +96 s)
# Last line: `SHIP 6881325685400201992 (...)` or `KEEP 6881325685400201736 (...)` (s20_l1_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685400201736; CAND=6881325685400201992
STAGE=${STAGE:-.devstage/s20-l1}; HB=/tmp/s20l1-hb; END=${END:-96} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_slot_*, slot_left, slot_cap
sparse_slot_goldens
tar xJf "$STAGE/build.tar.xz" && ts "build/: sparse-sm90-final-ab.js unpacked ($(sha256sum < build/bench/cuda/hopper/sparse-sm90-final-ab.js | cut -c1-16))" \
  || ts "build/: STAGED FILE MISSING (the tree's own build/ is used)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND
sparse_slot_base $HB $SHIP
K=/tmp/s20l1-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
# 1. checks at h_q 64 / 128, then memcheck at h_q 128 and 64
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 46 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for h in 128 64; do mkdir -p "$OUT/san$h/san-m$CAND"; (OUT=$OUT/san$h/san-m$CAND SAN_HQ=$h sparse_slot_san $K/m$CAND $(slot_cap 15) memcheck > /dev/null) & done
wait
for h in 128 64; do
  ts "m$CAND san-memcheck h_q $h: $(grep -hE '^# (pass|fail) ' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"
done
if sparse_slot_checked "$OUT/ab.txt" $CAND; then
  # 2. the pair shapes (+ the one-CTA MODEL1 shape): 3 rounds shipped first, then 3 rounds bit 8 first (~22 s each)
  k=1
  for order in "shipped=$PWD/dist/cuda m$CAND=$K/m$CAND" "m$CAND=$K/m$CAND shipped=$PWD/dist/cuda"; do
    l=$(slot_left)
    if [ $l -ge 8 ]; then
      timeout -k 2 $(slot_cap $((k == 1 ? l / 2 : l - 1))) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" $order --shapes pair --reps 10 \
        --rounds ${PROUNDS:-3} --json "$OUT/ab-pair-$k.json" > "$OUT/time-pair-$k.txt" 2>&1
      ts "pair shapes, run $k (${order%%=*} first): rc=$?"; grep -v '^\[+' "$OUT/time-pair-$k.txt" | tee -a "$OUT/log.txt"
    else
      ts "pair shapes, run $k skipped ($l s left)"
    fi
    k=2
  done
else
  ts "timing skipped: the checks of m$CAND did not pass"
fi
python3 bench/cuda/hopper/s20_l1_rule.py "$OUT/ab.txt" "$OUT" "$OUT/ab-pair-1.json" "$OUT/ab-pair-2.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

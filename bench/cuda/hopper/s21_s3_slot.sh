#!/usr/bin/env bash
# Session 21, helper s3 (docs/notes/cuda-sparse-decode.md, "Session 21 (s3)"): bit 44, FlashMLA's producer map in the
# MODEL1 pair entries (four lanes a token, one round a tile; tile loop 855 -> 512 static instructions),
# m6881343277586246408 = the shipped 6881325685400201992 + 17592186044416, in s20_s1_slot.sh's frame:
#  1. checks at h_q 64 / 128 (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions + CASES random sm90 cases a
#     format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, or .gpu-host/golden-sparse.tar.xz), then
#     memcheck at h_q 128 (the pair entries) and, beside it, sparse-sm90-bitexact.js (shipped and bit 44 on the same MODEL1
#     h_q 128 inputs, 8 cases, both precisions, page block sizes 64 / 37 / 1 / 100, extra caches, e4m3 NaN bytes and scale
#     bytes 255 / 0 in named tokens: out and lse byte for byte, NaN as NaN);
#  2. if the checks passed: --shapes m1pairv (the four MODEL1 pair shapes, then the V3.2 b 64 s_q 2 / 1 pair shapes: the
#     same code, the noise guards), 4 rounds of 10 with shipped first, then 4 rounds with bit 44 first (a second process);
#  3. the item fit (--shapes m1items, 2 rounds: us a tile), with what is left; logged only.
# FlashMLA's column: session 18 call A's JSON (not re-run; the rule compares with shipped). Prebuilt (stage .devstage/s21-s3:
# fatbins.tar.xz with SHA256SUMS: shipped 7bdfc08b (this branch's default build, byte-identical to main's dist/cuda at
# df27629) and bit 44; build.tar.xz: this branch's tsc output of sparse-sm90-final-ab.js (the m1pairv set) and
# sparse-sm90-bitexact.js (--nan), unpacked over build/). GPU host, the merged tree's root, .gpu-host entered, dist/cuda =
# the shipped kernels (another sparse_sm90 is swapped for the staged shipped, logged), build/ by tsc:
#   OUT=$OUT timeout 95 bash bench/cuda/hopper/s21_s3_slot.sh          (~85 s warm; every step ends by +88 s)
# Last line: `SHIP 6881343277586246408 (...)` or `KEEP 6881325685400201992 (...)` (s21_s3_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685400201992; CAND=6881343277586246408
STAGE=${STAGE:-.devstage/s21-s3}; HB=/tmp/s21s3-hb; END=${END:-88} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_slot_*, slot_left, slot_cap
sparse_slot_goldens
tar xJf "$STAGE/build.tar.xz" && ts "build/: sparse-sm90-final-ab.js, sparse-sm90-bitexact.js unpacked ($(cat build/bench/cuda/hopper/sparse-sm90-{final-ab,bitexact}.js | sha256sum | cut -c1-16))" \
  || ts "build/: STAGED FILE MISSING (the tree's own build/ is used)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json" # the item fit reads its FlashMLA column from here
K=/tmp/s21s3-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
# 1. checks at h_q 64 / 128, then memcheck at h_q 128 with the bitexact tool beside it
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 46 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
mkdir -p "$OUT/san128/san-m$CAND"; (OUT=$OUT/san128/san-m$CAND SAN_HQ=128 sparse_slot_san $K/m$CAND $(slot_cap 15) memcheck > /dev/null) &
timeout -k 2 $(slot_cap 15) node build/bench/cuda/hopper/sparse-sm90-bitexact.js shipped=$PWD/dist/cuda m$CAND=$K/m$CAND \
  --pages 64,37,1,100 --extra --nan > "$OUT/bitexact.txt" 2>&1
ts "bitexact rc=$?: $(tail -1 "$OUT/bitexact.txt")"; grep -E 'DIFFERS|Error|NaN out' "$OUT/bitexact.txt" | head -8 | tee -a "$OUT/log.txt"
wait
ts "m$CAND san-memcheck h_q 128: $(grep -hE '^# (pass|fail) ' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"
if sparse_slot_checked "$OUT/ab.txt" $CAND; then
  # 2. the MODEL1 pair shapes + the V3.2 guards: 4 rounds shipped first, then 4 rounds bit 44 first (~15 s each)
  k=1
  for order in "shipped=$PWD/dist/cuda m$CAND=$K/m$CAND" "m$CAND=$K/m$CAND shipped=$PWD/dist/cuda"; do
    l=$(slot_left)
    if [ $l -ge 8 ]; then
      timeout -k 2 $(slot_cap $((k == 1 ? l / 2 : l - 1))) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" $order --shapes m1pairv --reps 10 \
        --rounds ${PROUNDS:-4} --json "$OUT/ab-m1pairv-$k.json" > "$OUT/time-m1pairv-$k.txt" 2>&1
      ts "m1pairv run $k (${order%%=*} first): rc=$?"; grep -v '^\[+' "$OUT/time-m1pairv-$k.txt" | tee -a "$OUT/log.txt"
    else
      ts "m1pairv run $k skipped ($l s left)"
    fi
    k=2
  done
  # 3. the item fit (logged only; 2 rounds), with what is left
  l=$(slot_left); if [ $l -ge 11 ]; then sparse_slot_m1items $((l - 1)) shipped=$PWD/dist/cuda m$CAND=$K/m$CAND; else ts "m1items skipped ($l s left)"; fi
else
  ts "timing skipped: the checks of m$CAND did not pass"
fi
python3 bench/cuda/hopper/s21_s3_rule.py "$OUT/ab.txt" "$OUT" "$OUT/ab-m1pairv-1.json" "$OUT/ab-m1pairv-2.json" "$OUT/m1items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
tar czf "$OUT/san128.tgz" -C "$OUT" san128 && rm -rf "$OUT/san128" # one file for the device tool (the rule has read it)
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

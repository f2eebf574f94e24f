#!/usr/bin/env bash
# Session 21, helper s4 (docs/notes/cuda-sparse-decode.md, "Session 21 (s4)"): bit 10, bit 44's map in the V3.2 pair entries
# (four lanes a token, one round a tile, bit 56's two halves kept: the tile loop's common path ~780 -> ~565 static
# instructions, FlashMLA's 638), m6881343277586247432 = the shipped 6881343277586246408 + 1024, in s21_s3_slot.sh's frame:
#  1. checks at h_q 64 / 128 (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions + CASES random sm90 cases a
#     format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, or .gpu-host/golden-sparse.tar.xz), then
#     memcheck at h_q 128 (the pair entries) and, beside it, sparse-sm90-bitexact.js --v32 (shipped and bit 10 on the same
#     V3.2 h_q 128 inputs, 8 cases, both precisions, page block sizes 64 / 37 / 1 / 100, extra caches, f32 scales 2^-20..2^2
#     and some that are not bf16, e4m3 NaN bytes and NaN scales in named tokens: out and lse byte for byte, NaN as NaN);
#  2. if the checks passed: --shapes v32pairm (FlashMLA's four V3.2 h_q 128 shapes, then the MODEL1 pair k512 / k1024
#     shapes: the same code, the noise guards), 4 rounds of 10 with shipped first, then 4 rounds with bit 10 first (a
#     second process);
#  3. the V3.2 item fit (--shapes v32items, 2 rounds: us a tile), with what is left; logged only.
# FlashMLA's column: session 18 call A's JSON (not re-run; the rule compares with shipped). Prebuilt (stage .devstage/s21-s4:
# fatbins.tar.xz with SHA256SUMS: shipped (main's dist/cuda sparse_sm90 of s21-call) and bit 10; build.tar.xz: this
# branch's tsc output of sparse-sm90-final-ab.js (v32pairm) and sparse-sm90-bitexact.js (--v32), unpacked over build/).
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (another sparse_sm90 is swapped for
# the staged shipped, logged), build/ by tsc:
#   OUT=$OUT timeout 95 bash bench/cuda/hopper/s21_s4_slot.sh          (~85 s warm; every step ends by +88 s)
# Last line: `SHIP 6881343277586247432 (...)` or `KEEP 6881343277586246408 (...)` (s21_s4_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881343277586246408; CAND=6881343277586247432
STAGE=${STAGE:-.devstage/s21-s4}; HB=/tmp/s21s4-hb; END=${END:-88} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_slot_*, slot_left, slot_cap
sparse_slot_goldens
tar xJf "$STAGE/build.tar.xz" && ts "build/: sparse-sm90-final-ab.js, sparse-sm90-bitexact.js unpacked ($(cat build/bench/cuda/hopper/sparse-sm90-{final-ab,bitexact}.js | sha256sum | cut -c1-16))" \
  || ts "build/: STAGED FILE MISSING (the tree's own build/ is used)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json"
K=/tmp/s21s4-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
# 1. checks at h_q 64 / 128, then memcheck at h_q 128 with the bitexact tool beside it
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 46 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
mkdir -p "$OUT/san128/san-m$CAND"; (OUT=$OUT/san128/san-m$CAND SAN_HQ=128 sparse_slot_san $K/m$CAND $(slot_cap 15) memcheck > /dev/null) &
timeout -k 2 $(slot_cap 15) node build/bench/cuda/hopper/sparse-sm90-bitexact.js shipped=$PWD/dist/cuda m$CAND=$K/m$CAND \
  --v32 --pages 64,37,1,100 --extra --nan > "$OUT/bitexact.txt" 2>&1
ts "bitexact rc=$?: $(tail -1 "$OUT/bitexact.txt")"; grep -E 'DIFFERS|Error|NaN out' "$OUT/bitexact.txt" | head -8 | tee -a "$OUT/log.txt"
wait
ts "m$CAND san-memcheck h_q 128: $(grep -hE '^# (pass|fail) ' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"
if sparse_slot_checked "$OUT/ab.txt" $CAND; then
  # 2. the V3.2 pair shapes + the MODEL1 guards: 4 rounds shipped first, then 4 rounds bit 10 first (~15 s each)
  k=1
  for order in "shipped=$PWD/dist/cuda m$CAND=$K/m$CAND" "m$CAND=$K/m$CAND shipped=$PWD/dist/cuda"; do
    l=$(slot_left)
    if [ $l -ge 8 ]; then
      timeout -k 2 $(slot_cap $((k == 1 ? l / 2 : l - 1))) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" $order --shapes v32pairm --reps 10 \
        --rounds ${PROUNDS:-4} --json "$OUT/ab-v32pairm-$k.json" > "$OUT/time-v32pairm-$k.txt" 2>&1
      ts "v32pairm run $k (${order%%=*} first): rc=$?"; grep -v '^\[+' "$OUT/time-v32pairm-$k.txt" | tee -a "$OUT/log.txt"
    else
      ts "v32pairm run $k skipped ($l s left)"
    fi
    k=2
  done
  # 3. the V3.2 item fit (logged only; 2 rounds), with what is left
  l=$(slot_left)
  if [ $l -ge 11 ]; then
    timeout -k 2 $((l - 1)) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$OUT/flashmla-sparse.json" shipped=$PWD/dist/cuda m$CAND=$K/m$CAND \
      --shapes v32items --reps 10 --rounds 2 --json "$OUT/v32items.json" > "$OUT/v32items.txt" 2>&1
    ts "v32items rc=$?"; grep -v '^\[+' "$OUT/v32items.txt" | tail -8 | tee -a "$OUT/log.txt"
  else
    ts "v32items skipped ($l s left)"
  fi
else
  ts "timing skipped: the checks of m$CAND did not pass"
fi
python3 bench/cuda/hopper/s21_s4_rule.py "$OUT/ab.txt" "$OUT" "$OUT/ab-v32pairm-1.json" "$OUT/ab-v32pairm-2.json" "$OUT/v32items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
tar czf "$OUT/san128.tgz" -C "$OUT" san128 && rm -rf "$OUT/san128" # one file for the device tool (the rule has read it)
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

#!/usr/bin/env bash
# Session 21, helper s5, for session 22's first device call (docs/notes/cuda-sparse-decode.md, "Session 22 (s5), prepared
# in session 21"): bit 43, the pair producers of bits 44 / 10 walk the part's items as one stream of tiles (the next item's
# first tile gathered during the current item's last, its schedule fields and indices read ahead),
# m6881352073679269640 = the shipped 6881343277586247432 + 2^43, in s21_s4_slot.sh's frame, built here from the tree:
#  0. nvcc builds sparse_sm90.cu twice side by side (the candidate and the shipped mode, the library's flags, ~30-60 s);
#     dist/cuda's sparse_sm90 is kept when scripts/compare-fatbins.py says SAME CODE against the shipped build, else the
#     shipped build is swapped in (logged); the candidate must differ from it in the four pair entries only (logged);
#  1. checks at h_q 64 / 128 (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions + CASES random sm90 cases a
#     format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, or .gpu-host/golden-sparse.tar.xz), then
#     memcheck at h_q 128 (the pair entries) and, beside it, sparse-sm90-bitexact.js four times (shipped and bit 43 on the
#     same inputs, out and lse byte for byte, NaN as NaN): MODEL1 and V3.2 h_q 128 with NaN bytes (--pages 64,37,1,100
#     --extra --nan), then both formats with many short items a part (--items: 2-6 items a part, 1-5 tiles an item,
#     random topkLength, extra caches);
#  2. if the checks passed: --shapes pair (FlashMLA's four V3.2 and four MODEL1 h_q 128 shapes, then the one-CTA MODEL1
#     h_q 64 k1024 shape: the same code, the noise guard), PROUNDS (3) rounds of 10 with shipped first, then with bit 43
#     first (a second process);
#  3. the MODEL1 pair item fit (--shapes m1items, 2 rounds: us a tile and an item), with what is left; logged only.
# FlashMLA's column: session 18 call A's JSON (not re-run; the rule compares with shipped).
# GPU host, the merged tree's root, .gpu-host entered (Node), build/ by tsc (this branch's sparse-sm90-bitexact.js: --items),
# dist/cuda = the library's kernels, nvcc 13.0 on PATH or at /usr/local/cuda/bin; nothing staged:
#   OUT=$OUT timeout 150 bash bench/cuda/hopper/s21_s5_slot.sh          (~130 s; every step ends by +144 s)
# with a candidate (session 22, s8: CAND, required since bit 43 left the code; s21_s5_rule.py reads $CAND):
#   CAND=6881343286176182024 OUT=$OUT timeout 150 bash bench/cuda/hopper/s21_s5_slot.sh
# Last line: `SHIP 6881352073679269640 (...)` or `KEEP 6881343277586247432 (...)` (s21_s5_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
# SHIP: the shipped mode until session 22's call F (6881343303356051208 since); bit 43's mode, the old default, left the
# code in session 22 (commit ea972ca has it), so CAND is now required.
SHIP=6881343277586247432; CAND=${CAND:?CAND=<mode> picks the candidate (the rule reads it too)}
export CAND
HB=/tmp/s21s5-hb; END=${END:-144} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
command -v nvcc > /dev/null || export PATH=$PATH:/usr/local/cuda/bin
. bench/cuda/hopper/sparse-sm90-modes.sh # sparse_slot_*, sparse_sm90_swap, slot_left, slot_cap
sparse_slot_goldens
cp "$FM" "$OUT/flashmla-sparse.json"
# 0. the two builds, side by side (each one nvcc process; a build that is not done by +85 s is cut: KEEP)
rm -rf $HB; mkdir -p $HB
for m in $CAND $SHIP; do
  timeout -k 2 $(slot_cap 85) nvcc -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -DMLA_SPARSE_SM90_MODE=$m \
    -gencode arch=compute_90a,code=sm_90a -fatbin -o $HB/sparse_sm90_m$m.fatbin src/backends/cuda/kernels/sparse_sm90.cu > "$OUT/nvcc-m$m.txt" 2>&1 &
done
wait
for m in $CAND $SHIP; do
  if [ -s $HB/sparse_sm90_m$m.fatbin ]; then ts "built m$m $(sha256sum < $HB/sparse_sm90_m$m.fatbin | cut -c1-16)"
  else ts "m$m: NO FATBIN ($(head -3 "$OUT/nvcc-m$m.txt" | tr '\n' ' '))"; fi
done
if [ -s $HB/sparse_sm90_m$SHIP.fatbin ]; then
  if python3 scripts/compare-fatbins.py dist/cuda/sparse_sm90.fatbin $HB/sparse_sm90_m$SHIP.fatbin > "$OUT/cmp-dist.txt" 2>&1; then
    ts "dist/cuda sparse_sm90 $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16): SAME CODE as the built m$SHIP (kept)"
  else
    have=$(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16); sparse_sm90_swap $HB/sparse_sm90_m$SHIP.fatbin dist/cuda
    ts "dist/cuda sparse_sm90 was $have, not the built m$SHIP's code: the built one swapped in ($(tail -1 "$OUT/cmp-dist.txt"))"
  fi
fi
[ -s $HB/sparse_sm90_m$CAND.fatbin ] && python3 scripts/compare-fatbins.py dist/cuda/sparse_sm90.fatbin $HB/sparse_sm90_m$CAND.fatbin 2>&1 \
  | grep -E 'sections identical|differs:' | tee -a "$OUT/log.txt"
K=/tmp/s21s5-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && [ -s $HB/sparse_sm90_m$CAND.fatbin ] && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
# 1. checks at h_q 64 / 128, then memcheck at h_q 128 with the bitexact runs beside it
if [ -s $HB/sparse_sm90_m$CAND.fatbin ]; then
  OUT=$OUT HB=$HB CASES=${CASES:-24} TIME_TIMEOUT=1 CHECK_TIMEOUT=$(slot_cap 40) \
    timeout -k 3 $(slot_cap 46) bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
  ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
  cap=$(slot_cap 24)
  mkdir -p "$OUT/san128/san-m$CAND"; (OUT=$OUT/san128/san-m$CAND SAN_HQ=128 sparse_slot_san $K/m$CAND $cap memcheck > /dev/null) &
  bx() { timeout -k 2 $cap node build/bench/cuda/hopper/sparse-sm90-bitexact.js shipped=$PWD/dist/cuda m$CAND=$K/m$CAND "${@:2}" > "$OUT/bitexact-$1.txt" 2>&1; }
  # the --items runs under memcheck (the stream's item boundaries: the random sm90 cases hold few items a part)
  bxs() { timeout -k 2 $cap compute-sanitizer --tool memcheck --print-limit 20 node build/bench/cuda/hopper/sparse-sm90-bitexact.js \
    shipped=$PWD/dist/cuda m$CAND=$K/m$CAND "${@:2}" > "$OUT/bitexact-$1.txt" 2>&1; }
  (bx m1 --pages 64,37,1,100 --extra --nan; bxs m1items --items --pages 64,1,37 --extra --nan --cases 6) &
  (bx v32 --v32 --pages 64,37,1,100 --extra --nan; bxs v32items --v32 --items --pages 64,37,1 --extra --nan --cases 6) &
  wait
  for t in m1 v32 m1items v32items; do
    ts "bitexact $t: $(grep -E '^bitexact: ' "$OUT/bitexact-$t.txt" 2>/dev/null) $(grep -E 'ERROR SUMMARY' "$OUT/bitexact-$t.txt" 2>/dev/null | tail -1)"; grep -E 'DIFFERS|Error' "$OUT/bitexact-$t.txt" 2>/dev/null | head -4 | tee -a "$OUT/log.txt"
  done
  ts "m$CAND san-memcheck h_q 128: $(grep -hE '^# (pass|fail) ' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san128/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"
else
  ts "checks skipped: no candidate fatbin"
fi
if [ -s $HB/sparse_sm90_m$CAND.fatbin ] && sparse_slot_checked "$OUT/ab.txt" $CAND; then
  # 2. the pair shapes + the one-CTA guard: PROUNDS rounds shipped first, then bit 43 first (~20 s each)
  k=1
  for order in "shipped=$PWD/dist/cuda m$CAND=$K/m$CAND" "m$CAND=$K/m$CAND shipped=$PWD/dist/cuda"; do
    l=$(slot_left)
    if [ $l -ge 10 ]; then
      timeout -k 2 $(slot_cap $((k == 1 ? l / 2 : l - 1))) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" $order --shapes pair --reps 10 \
        --rounds ${PROUNDS:-3} --json "$OUT/ab-pair-$k.json" > "$OUT/time-pair-$k.txt" 2>&1
      ts "pair run $k (${order%%=*} first): rc=$?"; grep -v '^\[+' "$OUT/time-pair-$k.txt" | tee -a "$OUT/log.txt"
    else
      ts "pair run $k skipped ($l s left)"
    fi
    k=2
  done
  # 3. the MODEL1 pair item fit (logged only; 2 rounds), with what is left
  l=$(slot_left); if [ $l -ge 12 ]; then sparse_slot_m1items $((l - 1)) shipped=$PWD/dist/cuda m$CAND=$K/m$CAND; else ts "m1items skipped ($l s left)"; fi
else
  ts "timing skipped: the checks of m$CAND did not pass"
fi
python3 bench/cuda/hopper/s21_s5_rule.py "$OUT/ab.txt" "$OUT" "$OUT/ab-pair-1.json" "$OUT/ab-pair-2.json" "$OUT/m1items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
[ -d "$OUT/san128" ] && tar czf "$OUT/san128.tgz" -C "$OUT" san128 && rm -rf "$OUT/san128" # one file for the device tool (the rule has read it)
tar czf "$OUT/bitexact.tgz" -C "$OUT" $(cd "$OUT" && ls bitexact-*.txt nvcc-*.txt cmp-dist.txt 2>/dev/null) && (cd "$OUT" && rm -f bitexact-*.txt nvcc-*.txt cmp-dist.txt)
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

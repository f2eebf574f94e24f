#!/usr/bin/env bash
# Session 19, helper h2, round 2 (docs/notes/cuda-sparse-decode.md, "Session 19, helper h2, round 2"): what in the MODEL1
# pair's coupling costs. Probes only (garbage output, nothing can ship): the item probe's steady tile (--shapes m1items) of
# the shipped 6881325685366644744 against bit 47 (the producer alone, call B: P/T 0.715) and the five
# MLA_SPARSE_SM90_PAIR_PROBE builds of the shipped mode: p1 no P V, p2 no S, p3 no release to the peer CTA, p4 the peer's
# bytes waited for after the math, p5 the consumers alone; then the MODEL1 pair shapes (--shapes m1pair) on all of them.
# The two probes that change the pair's synchronization (p3, p4) run in their own process after the others, so a hang
# there costs only its own step.
# Prebuilt (stage .devstage/s19-h2/r2: fatbins.tar.xz with SHA256SUMS). GPU host, the merged tree's root, .gpu-host
# entered, dist/cuda = the shipped kernels (an older sparse_sm90 is swapped for the staged shipped build), build/ by tsc:
#   OUT=$OUT timeout 120 bash bench/cuda/hopper/s19_h2r2_slot.sh         (~75 s warm)
# Last line: `KEEP 6881325685366644744 (probe: VERDICT ...)` (s19_h2r2_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685366644744; P47=6881396054110822408
STAGE=${STAGE:-.devstage/s19-h2/r2}; HB=/tmp/s19h2r2-hb; END=${END:-114}
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $P47 ${SHIP}_p1 ${SHIP}_p2 ${SHIP}_p3 ${SHIP}_p4 ${SHIP}_p5
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json" # the item probe reads its FlashMLA column from here
K=/tmp/s19h2r2-k; rm -rf $K
B=(shipped=$PWD/dist/cuda)
for n in p47 p1 p2 p3 p4 p5; do
  f=$HB/sparse_sm90_m${SHIP}_$n.fatbin; [ $n = p47 ] && f=$HB/sparse_sm90_m$P47.fatbin
  mkdir -p $K/$n && cp dist/cuda/* $K/$n/ && sparse_sm90_swap $f $K/$n && B+=($n=$K/$n)
done
items() { # NAME SECONDS BUILD...: the item probe, 3 rounds of 10, into $OUT/NAME.json / .txt
  local n=$1 t=$2; shift 2
  timeout -k 3 "$t" node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$OUT/flashmla-sparse.json" "$@" --shapes m1items --reps 10 \
    --rounds ${IROUNDS:-3} --json "$OUT/$n.json" > "$OUT/$n.txt" 2>&1
  local rc=$?; ts "$n rc=$rc"
  timeout 10 python3 bench/cuda/hopper/sparse_sm90_items_s13.py "$OUT/$n.json" 2>&1 | grep -E 'us an item|^FlashMLA' | tee -a "$OUT/log.txt"
  return $rc
}
# 1. the steady tile: shipped, the producer alone, no P V, no S, the consumers alone (the pair's synchronization unchanged)
items m1items 40 "${B[0]}" "${B[1]}" "${B[2]}" "${B[3]}" "${B[6]}"
# 2. the same for the two synchronization probes (shipped again beside them)
items m1items-sync 26 "${B[0]}" "${B[4]}" "${B[5]}" || { B=("${B[@]:0:4}" "${B[6]}"); ts "p3 / p4 left out of the MODEL1 pair shapes"; }
# 3. the MODEL1 pair shapes (+ the h_q 64 guard, the same code in all), 2 rounds, all builds (not p3 / p4 if their step
#    failed), with what time is left
left=$((END - 4 - (SECONDS - S)))
if [ $left -ge 12 ]; then
  timeout -k 2 $left node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$OUT/flashmla-sparse.json" "${B[@]}" --shapes m1pair \
    --reps 10 --rounds 2 --json "$OUT/ab-m1pair.json" > "$OUT/time-m1pair.txt" 2>&1
  ts "MODEL1 pair shapes: rc=$?"; grep -v '^\[+' "$OUT/time-m1pair.txt" | tee -a "$OUT/log.txt"
else
  ts "MODEL1 pair shapes skipped ($left s left)"
fi
python3 bench/cuda/hopper/s19_h2r2_rule.py "$OUT/m1items.json" "$OUT/m1items-sync.json" "$OUT/ab-m1pair.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

#!/usr/bin/env bash
# Session 18, helper h2 round 2's sparse slot (docs/notes/cuda-sparse-decode.md, "Session 18, helper h2, round 2"): a probe,
# nothing can ship. Bit 55 (the MODEL1 pair's stage handed to S in two halves) cost the MODEL1 pair tile 0.57 us in call B;
# the item probe times its parts side by side on the MODEL1 h_q 128 item shapes (prebuilt, stage .devstage/s18-h2/r2):
#   shipped 6877596141925228552 (dist/cuda; the staged build is swapped in if dist/cuda is not it, logged),
#   A = 6913624938944192520 (+ 55: call B's MODEL1 pair code),
#   X = 6913627137967448072 (+ 55 + 41: the gather issued in the halves' order),
#   Y = 6913629336990703624 (+ 55 + 42: S waits for both halves: no early start),
#   Z = 6913638133083725832 (+ 55 + 42 + 43: and no fence between the halves: the store order and extra arrival alone).
# Each differs from shipped only in the two MODEL1 pair entries. No checks (probes never ship); no FlashMLA run (a stub
# JSON stands in: the probe's FlashMLA column is empty).
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (or cc45306's), build/ by tsc (main's):
#   OUT=$OUT timeout 75 bash bench/cuda/hopper/s18_h2r2_slot.sh         (~35 s warm)
# Last line: the rule's (s18_h2r2_rule.py): `KEEP 6877596141925228552 (probe: ...)`, after its VERDICT line.
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6877596141925228552; A=6913624938944192520; X=6913627137967448072; Y=6913629336990703624; Z=6913638133083725832
STAGE=${STAGE:-.devstage/s18-h2/r2}; HB=/tmp/s18h2r2-hb
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $A $X $Y $Z
sparse_slot_base $HB $SHIP
echo '{"rows": []}' > "$OUT/flashmla-sparse.json" # no FlashMLA rows: the item probe's FlashMLA column stays empty
BL="shipped=$PWD/dist/cuda"
for m in $A $X $Y $Z; do
  d=/tmp/sab-m$m; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/ && sparse_sm90_swap $HB/sparse_sm90_m$m.fatbin $d && BL="$BL m$m=$d"
done
# two passes (each 2 rounds of 10, builds interleaved): the rule reads both (their spread is the noise reading)
sparse_slot_m1items 40 $BL
cp "$OUT/m1items.json" "$OUT/m1items-1.json" 2>/dev/null; cp "$OUT/m1items.txt" "$OUT/m1items-1.txt"
[ $((SECONDS - S)) -lt 38 ] && { sparse_slot_m1items 30 $BL; mv "$OUT/m1items.json" "$OUT/m1items-2.json"; mv "$OUT/m1items.txt" "$OUT/m1items-2.txt"; } || ts "second pass skipped"
python3 bench/cuda/hopper/s18_h2r2_rule.py "$OUT"/m1items-*.json | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"

#!/usr/bin/env bash
# Record of session 13 call C: sparse_sm90.cu bits 46 and 47 no longer exist (removed in session 14; commit d39f109 has them).
# Session 13, round 2, sparse slot (helper s13-h1; docs/notes/cuda-sparse-decode.md, "Session 13, round 2, helper h1:
# the next item's Q before the epilogue"). run_s13_h1.sh's frame, <= 90 s warm, nothing built on the host. GPU host,
# the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (sparse_sm90 70b532da = 35461465432072),
# build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/run_s13_h1r2.sh        # carry .devstage/s13-h1-r2 (fatbins.tar.xz, README.txt)
#  1. A/B (sparse-sm90-final-ab.sh): bit 46 (105830209609736: warpgroup 0 issues the next item's Q before the epilogue)
#     and bits 46 + 47 (246567697965064: warpgroup 1 issues it) against the shipped build: checks side by side (the six
#     goldens, CASES random sm90 cases a format at h_q 64 / 128, the sinks-far-above-lse cases, the spread-score cases),
#     then timing of the 3 builds on FlashMLA's 12 shapes (3 rounds of 10);
#  2. sparse_sm90_pick_s13r2.py: `SHIP MODE n` or `KEEP 35461465432072` (rule in its docstring and the note);
#  3. the MODEL1 h_q 128 item probe's shapes (unchecked timing) on the timed builds: us an item / a tile / fixed.
# Everything under $OUT/h1s13r2/, packed into $OUT/h1s13r2.tgz; the pick's line is printed last again.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1s13r2; mkdir -p "$OUT"
BASE=35461465432072; CA=105830209609736; CB=246567697965064
STAGE=${STAGE:-.devstage/s13-h1-r2}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s13-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
HB=/tmp/h1s13r2-hb; rm -rf $HB; mkdir -p $HB
tar xJf "$STAGE/fatbins.tar.xz" -C $HB && (cd $HB && sha256sum -c --quiet SHA256SUMS) && ts "fatbins: $(ls $HB | grep -c fatbin) ok (SHA256SUMS)" || ts "fatbins: BAD STAGE"
echo "dist/cuda sparse_sm90 $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16) (expect 70b532dad3438: $BASE)" | tee -a "$OUT/log.txt"
for m in $CA $CB; do echo "m$m $(sha256sum < $HB/sparse_sm90_m$m.fatbin | cut -c1-16)" | tee -a "$OUT/log.txt"; done

# 1-2. the A/B and the pick
PROBES= CASES=${CASES:-20} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} CHECK_TIMEOUT=${CHECK_TIMEOUT:-34} TIME_TIMEOUT=${TIME_TIMEOUT:-52} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-88} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "$CA $CB" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -20 | tee -a "$OUT/log.txt"
for m in $CA $CB; do # the sink and spread-score tests by name (the A/B's line counts them only in pass / fail)
  tar xzf "$OUT/final-ab.tgz" -O final-ab/check-m$m.tap 2>/dev/null | grep -E '^\s*(not )?ok [0-9]+ - .*(a kind, hQ 64 / 128|softmaxScale 16)' \
    | sed -E "s/^\s*/m$m: /" | tee -a "$OUT/log.txt"
done
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_pick_s13r2.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee "$OUT/pick.txt" | tee -a "$OUT/log.txt"
[ -s "$OUT/pick.txt" ] || echo "KEEP $BASE (no timing)" | tee "$OUT/pick.txt" | tee -a "$OUT/log.txt"

# 3. the item probe's shapes on the builds the A/B timed (their folders are /tmp/sab-m*)
B="shipped=$PWD/dist/cuda"
for m in $CA $CB; do [ -d /tmp/sab-m$m ] && grep -q "^m$m: geomean\|m$m:.*geomean" "$OUT/ab.txt" && B="$B m$m=/tmp/sab-m$m"; done
LEFT=$(( ${SLOT_S:-86} - (SECONDS - S) ))
if [ $LEFT -ge 8 ]; then
  timeout -k 2 $(( LEFT < 16 ? LEFT : 16 )) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$F" $B --shapes m1items --reps 10 --rounds 1 \
    --json "$OUT/items.json" > "$OUT/items.txt" 2>&1
  ts "items rc=$?"
  [ -s "$OUT/items.json" ] && python3 bench/cuda/hopper/sparse_sm90_items_s13.py "$OUT/items.json" 2>&1 | grep -E 'us an item|^FlashMLA' | tee -a "$OUT/log.txt"
else
  ts "items: skipped (${LEFT} s left)"
fi
ts end
tail -1 "$OUT/pick.txt" | tee -a "$OUT/log.txt"
tar czf "$OUT0/h1s13r2.tgz" -C "$OUT0" h1s13r2 && rm -rf "$OUT"

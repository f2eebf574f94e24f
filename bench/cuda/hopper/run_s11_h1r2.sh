#!/usr/bin/env bash
# Session 11, helper h1, round 2 (issue #14): the lead's <= 60 s slot. Two prebuilt candidates against the shipped
# sparse_sm90 build 2215436296, checks then timing in one process (sparse-sm90-final-ab.sh), then the ship rule
# (sparse_sm90_pick_r2.py). Candidates (docs/notes/cuda-sparse-decode.md, "Session 11, round 2"):
#   174014128136 = 2215436296 + bit 35 (pair entries: validity flags computed in each CTA, none by st.async)
#                              + bit 37 (one-CTA entries: bit 31's lane map on the swizzled tile)
#   70934978568  = 2215436296 + bit 16 + bit 36 (the pair producer keeps two tiles of loads in flight, both formats)
# GPU host, from the root of the merged tree, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/run_s11_h1r2.sh
# Fatbins: $HB/sparse_sm90_m<mode>.fatbin (default .devstage/s11-h1-r2, sha256 in its README.txt); nvcc builds a
# missing one (~20 s each, in parallel), which the 60 s slot cannot afford.
# Everything it writes goes to $OUT/h1r2/, packed into $OUT/h1r2.tgz at the end (one file back); the lines that
# decide are printed.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1r2; mkdir -p "$OUT"
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s11-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
ts "s11-h1 r2: A/B of 174014128136 70934978568 against shipped 2215436296 ($F)"
CASES=${CASES:-30} REPS=${REPS:-8} ROUNDS=${ROUNDS:-2} CHECK_TIMEOUT=${CHECK_TIMEOUT:-25} TIME_TIMEOUT=${TIME_TIMEOUT:-42} HB=${HB:-.devstage/s11-h1-r2} OUT=$OUT \
  timeout ${AB_TIMEOUT:-57} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "174014128136 70934978568" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -20 | tee -a "$OUT/log.txt"
for m in 174014128136 70934978568; do f=${HB:-.devstage/s11-h1-r2}/sparse_sm90_m$m.fatbin
  [ -f $f ] && echo "m$m: sha256 $(sha256sum < $f | cut -c1-16), SASS LDL/STL $(timeout 10 cuobjdump -sass $f | grep -cE '\b(LDL|STL)')" | tee -a "$OUT/log.txt"; done
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_pick_r2.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee -a "$OUT/log.txt"
ts end
tar czf "$OUT0/h1r2.tgz" -C "$OUT0" h1r2 && rm -rf "$OUT"

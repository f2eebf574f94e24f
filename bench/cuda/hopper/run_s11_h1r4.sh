#!/usr/bin/env bash
# Session 11, helper h1, round 4 (issue #14): the next session's first <= 60 s slot. One prebuilt candidate against the
# shipped sparse_sm90 build 2215436296, checks then timing in one process (sparse-sm90-final-ab.sh), then the ship rule
# (sparse_sm90_pick_r4.py). Candidate (docs/notes/cuda-sparse-decode.md, "Session 11, round 4"):
#   277093343240 = 2215436296 + bit 38 (bit 35's code on the V3.2 pair entry alone: its validity flags computed in each
#                  CTA, none sent by st.async; the other three entries are the shipped machine code)
# GPU host, from the root of the merged tree, .gpu-host entered, dist/cuda = the shipped kernels, build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/run_s11_h1r4.sh
# Fatbin: $HB/sparse_sm90_m277093343240.fatbin (default .devstage/s11-h1-r4, sha256 in its README.txt); nvcc builds a
# missing one (~20 s), which the 60 s slot cannot afford.
# Everything it writes goes to $OUT/h1r4/, packed into $OUT/h1r4.tgz at the end (one file back); the lines that
# decide are printed.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1r4; mkdir -p "$OUT"
M=277093343240; HB=${HB:-.devstage/s11-h1-r4}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s11-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
ts "s11-h1 r4: A/B of $M (bit 38) against shipped 2215436296 ($F)"
f=$HB/sparse_sm90_m$M.fatbin
if [ -f $f ]; then # the candidate's other entries must be the shipped code, its V3.2 pair entry must not
  echo "m$M: sha256 $(sha256sum < $f | cut -c1-16), SASS LDL/STL $(timeout 10 cuobjdump -sass $f | grep -cE '\b(LDL|STL)')" | tee -a "$OUT/log.txt"
  timeout 10 python3 scripts/compare-fatbins.py dist/cuda/sparse_sm90.fatbin $f 2>&1 | grep -E 'identical|differs:' | tee -a "$OUT/log.txt"
fi
CASES=${CASES:-30} REPS=${REPS:-8} ROUNDS=${ROUNDS:-2} CHECK_TIMEOUT=${CHECK_TIMEOUT:-25} TIME_TIMEOUT=${TIME_TIMEOUT:-38} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-54} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "$M" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -16 | tee -a "$OUT/log.txt"
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_pick_r4.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee -a "$OUT/log.txt"
ts end
tar czf "$OUT0/h1r4.tgz" -C "$OUT0" h1r4 && rm -rf "$OUT"

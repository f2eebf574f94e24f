#!/usr/bin/env bash
# Slot 1 of helper s19-h3, re-targeted at session 19's end to the shipped f16 score path (MLA_DENSE_FP8_SHIPPED
# 109953712948800, "F"; call G) and left ready for session 20 (<= 120 s warm, ~20-40 s expected): where a 16-row launch
# should leave the two-consumer n16 entry for the three-consumer n16w3 (denseFp8Sm90W3Tiles, dense-fp8-sm90-launch.ts;
# 48 tiles an SM part since session 18, set for the session-18 codes). Call G's diagnostic puts F's crossover far
# higher (F's n16w3 / F's n16: 1.027 at 31 tiles, 1.016 at 62, 0.975 at 124). docs/notes/cuda-dense-fp8.md, "Session 19,
# round 2 measured" and "Next session's plan (dense FP8, written at session 19's end)": the prediction and this rule,
# written before any run. (The first form of this slot, with call A's v30788875748928, was never run: F's n16w3 is
# faster than V's, and V with F's bits spills; commit 3848563 has it.) No nvcc, no stage, no new TS: from the merged
# tree's root on the GPU host with .gpu-host/enter.sh sourced, dist/cuda (the shipped fatbins: F) and build/ (tsc of
# main 778559e or later: the launch path reads the manifest's threshold, null and 0 included):
#   OUT=$OUT/h3 timeout 120 bash bench/cuda/dense-fp8/s19_h3.sh 2>&1 | tee $OUT/h3-s19.txt
# 1. Three kernel folders differing only in the manifest's denseFp8Sm90W3Tiles: shipped = dist/cuda (48; where
#    compare-fatbins says dist/cuda is not F and .devstage/s19-h3 has F's fatbin, all three take that), n16 = a copy
#    with null (every 16-row launch on n16), sw3 = a copy with 0 (every one on n16w3). Timed in one process (ab.js,
#    interleaved rounds), twice (pass 1 with the bf16 path, pass 2 in reverse order without it), b = 128, s_k 2048 3072
#    4096 5120 6144 7168 8192 x 16 x 1 (31.0 .. 124.1 tiles an SM part).
# 2. The rule (s19_h3_rule.py, in its header) from the two passes' means: the crossover T and whether moving 48 to T
#    pays. No checks: both entries are the shipped, checked code (call G: 240 dense90 cases with every 16-row launch on
#    n16w3; n16 is what every launch under 48 tiles runs). Last line `SHIP denseFp8Sm90W3Tiles=T (shipped build)` or
#    `KEEP ...`.
set -uo pipefail
OUT=${OUT:-/tmp}; mkdir -p "$OUT"
T0=$SECONDS; el() { echo "[s19-h3 $((SECONDS - T0))s] $*"; }
here=$(dirname "${BASH_SOURCE[0]}")
FB=dist/cuda/dense_fp8_sm90.fatbin
[ -f "$FB" ] || { echo "KEEP the shipped build (no $FB)"; exit 0; }
FF=${FF:-$PWD/.devstage/s19-h3/dense_fp8_sm90_v109953712948800.fatbin} # call G's F, where a stage still has it
cmp='no copy here'; [ -f "$FF" ] && cmp=$(python3 scripts/compare-fatbins.py "$FF" "$FB" 2>&1 | tail -1)
echo "dist/cuda dense fatbin sha256 $(sha256sum "$FB" | cut -c1-16); vs call G's F: $cmp"
. "$here/pick-checks.sh"
# dist/cuda older than F (a stage built before main ac846b9) with F's fatbin at hand: all three folders take F's
S=$PWD/dist/cuda USE=
if [ "$cmp" = "CODE DIFFERS" ]; then USE=$FF S=/tmp/h3-s48; w3Folder $S 48 "$USE"; echo "timing F's fatbin ($FF) in all three folders"; fi
w3Folder /tmp/h3-n16 null $USE
w3Folder /tmp/h3-sw3 0 $USE
SH=${SH:-2048x16x1,3072x16x1,4096x16x1,5120x16x1,6144x16x1,7168x16x1,8192x16x1}
timeout -k 3 ${TIME_TIMEOUT:-45} node build/bench/cuda/dense-fp8/ab.js shipped=$S n16=/tmp/h3-n16 sw3=/tmp/h3-sw3 \
  --shapes $SH --reps ${REPS:-20} --rounds ${ROUNDS:-5} --json "$OUT/pass1.json" > "$OUT/pass1.txt" 2>&1
el "pass 1 rc $?"
timeout -k 3 ${TIME_TIMEOUT:-45} node build/bench/cuda/dense-fp8/ab.js sw3=/tmp/h3-sw3 n16=/tmp/h3-n16 shipped=$S \
  --no-bf16 --shapes $SH --reps ${REPS:-20} --rounds ${ROUNDS:-5} --json "$OUT/pass2.json" > "$OUT/pass2.txt" 2>&1
el "pass 2 rc $?"
grep -E '^# [0-9]+x' "$OUT/pass1.txt" "$OUT/pass2.txt" | sed 's/^.*pass/pass/'
python3 "$here/s19_h3_rule.py" "$OUT/pass1.json" "$OUT/pass2.json"

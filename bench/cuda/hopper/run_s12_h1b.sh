#!/usr/bin/env bash
# Session 12, helper h1, second slot (issue #14): bits 39 / 40 (each round's loads of tile t + 1 issued as soon as that
# round of tile t is stored; docs/notes/cuda-sparse-decode.md, "Session 12, helper h1") against the new shipped mode
# 277093343240 (bit 38), in one process. GPU host, tree root, .gpu-host entered, build/ by tsc, dist/cuda = main's
# kernels (its sparse_sm90.fatbin is replaced here by HB's m277093343240 = the library build of this branch):
#   OUT=$OUT bash bench/cuda/hopper/run_s12_h1b.sh
# HB (default .devstage/s12-h1) holds sparse_sm90_m277093343240.fatbin (b5ad22c7...) and
# sparse_sm90_m1926360784904.fatbin (277093343240 + 39 + 40, 0 spills; sha256 in its README.txt).
#  1. sparse-sm90-final-ab.sh (checks: goldens + CASES random sm90 cases a format; timing 12 shapes, 3 rounds);
#  2. sparse_sm90_pick_s12.py: per class (pair: bit 39, one-CTA: bit 40) `qualifies|no`, `SHIP MODE n`;
#  3. if a class ships: two suite processes on the candidate's kernels and synccheck on 2 h_q-128 V3.2 cases.
# Everything under $OUT/h1s12b/, packed into $OUT/h1s12b.tgz.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1s12b; mkdir -p "$OUT"
C=1926360784904; HB=${HB:-.devstage/s12-h1}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s11-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
sparse_sm90_swap $HB/sparse_sm90_m277093343240.fatbin dist/cuda
echo "dist/cuda sparse_sm90 $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16) (277093343240); m$C $(sha256sum < $HB/sparse_sm90_m$C.fatbin | cut -c1-16)" | tee -a "$OUT/log.txt"
CASES=${CASES:-20} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} CHECK_TIMEOUT=${CHECK_TIMEOUT:-30} TIME_TIMEOUT=${TIME_TIMEOUT:-80} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-115} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "$C" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -18 | tee -a "$OUT/log.txt"
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_pick_s12.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee "$OUT/pick.txt" | tee -a "$OUT/log.txt"
if [ -d /tmp/sab-m$C ] && grep -q "qualifies" "$OUT/pick.txt" 2>/dev/null; then
  ts "3. suites on m$C + synccheck"
  export FLASHMLA_CUDA_KERNELS=/tmp/sab-m$C
  for i in 0 1; do
    FLASHMLA_GPU_SPARSE_CASES=10 FLASHMLA_GPU_DENSE90_CASES=10 FLASHMLA_GPU_SPARSE_SM90_CASES=${SUITE_CASES:-60} FLASHMLA_GPU_SPARSE_SM90_SEED=$((9000 + i * 100)) \
      timeout -k 3 ${SUITE_S:-45} node --test --test-reporter=tap build/test/gpu/sparse.test.js > "$OUT/suite-$i.tap" 2>&1 &
  done
  FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_DENSE90_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 timeout -k 3 ${SAN_S:-45} compute-sanitizer --tool synccheck \
    --target-processes all --print-limit 10 node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" build/test/gpu/sparse.test.js > "$OUT/san-synccheck.txt" 2>&1 &
  wait
  unset FLASHMLA_CUDA_KERNELS
  for f in "$OUT"/suite-*.tap "$OUT"/san-*.txt; do
    echo "$(basename $f): $(grep -E '^# (pass|fail) ' $f | tr -d '#' | xargs) $(grep -E 'ERROR SUMMARY' $f | tail -1)" | tee -a "$OUT/log.txt"
    grep -E '^\s*not ok' $f | head -3 | tee -a "$OUT/log.txt"
  done
fi
ts end
tar czf "$OUT0/h1s12b.tgz" -C "$OUT0" h1s12b && rm -rf "$OUT"

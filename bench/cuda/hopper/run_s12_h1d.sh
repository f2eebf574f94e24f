#!/usr/bin/env bash
# Session 12 round 2, helper h1 (issue #14): bits 41 / 42 (the producer's 16-byte gather loads with the .L2::256B
# prefetch hint; 41 = pair entries, 42 = one-CTA entries) and + 43 (also .L1::evict_last) against the shipped
# 277093343240 in one process (docs/notes/cuda-sparse-decode.md, "Session 12, round 2, helper h1"). GPU host, tree
# root, .gpu-host entered, build/ by tsc, dist/cuda = the tree's kernels (sparse_sm90.fatbin b5ad22c7...):
#   HB=<dir with the fatbins> OUT=$OUT bash bench/cuda/hopper/run_s12_h1d.sh
# HB holds sparse_sm90_m6874163109896.fatbin and sparse_sm90_m15670256132104.fatbin (0 spills; sha256 c1c68396... /
# cad72a8c...) and the probes' (sparse_sm90_m277093343272 / m277093474344 / m277093474312); without them nvcc builds
# them here (~15 s).
#  1. sparse-sm90-final-ab.sh: checks (goldens + CASES random sm90 cases a format, both candidates side by side), timing
#     (12 shapes, ROUNDS rounds, the shipped build and the candidates that passed);
#  2. sparse_sm90_pick_s12r2.py: per class `qualifies|no`, `SHIP MODE n`;
#  3. if a mode other than 277093343240 ships: two suite processes on its kernels (disjoint seeds) and memcheck on 2
#     h_q 64 / 128 cases (the loads changed).
# Everything under $OUT/h1s12d/, packed into $OUT/h1s12d.tgz.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1s12d; mkdir -p "$OUT"
BASE=277093343240; C1=6874163109896; C2=15670256132104; HB=${HB:-.devstage/s12-h1d}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s11-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
echo "dist/cuda sparse_sm90 $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16) (expect b5ad22c7: $BASE)" | tee -a "$OUT/log.txt"
for m in $C1 $C2; do [ -f $HB/sparse_sm90_m$m.fatbin ] && echo "m$m $(sha256sum < $HB/sparse_sm90_m$m.fatbin | cut -c1-16)" | tee -a "$OUT/log.txt"; done
# Probes (measurement only, timed unchecked): + bit 5 (one bf16 P: half the P V wgmmas and V reads), + 5 + 17 (the
# same consumers alone), + 17 (consumers alone, shipped P): does the consumers' shared-memory traffic slow the fill?
PROBES=${PROBES-277093343272 277093474344 277093474312} CASES=${CASES:-20} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} CHECK_TIMEOUT=${CHECK_TIMEOUT:-35} TIME_TIMEOUT=${TIME_TIMEOUT:-110} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-160} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "$C1 $C2" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -20 | tee -a "$OUT/log.txt"
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_pick_s12r2.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee "$OUT/pick.txt" | tee -a "$OUT/log.txt"
M=$(sed -nE 's/^SHIP MODE ([0-9]+).*/\1/p' "$OUT/pick.txt" 2>/dev/null)
if [ -n "$M" ] && [ "$M" != $BASE ]; then
  K=/tmp/sab-m$M
  if [ ! -d $K ]; then # a class alone: build that mode
    sparse_sm90_build $M "$OUT/m$M.fatbin" > "$OUT/nvcc-m$M.txt" 2>&1 && { rm -rf $K; mkdir -p $K; cp dist/cuda/* $K/; sparse_sm90_swap "$OUT/m$M.fatbin" $K; }
  fi
  ts "3. suites on m$M ($(sha256sum < $K/sparse_sm90.fatbin | cut -c1-16)) + memcheck"
  export FLASHMLA_CUDA_KERNELS=$K
  for i in 0 1; do
    FLASHMLA_GPU_SPARSE_CASES=10 FLASHMLA_GPU_DENSE90_CASES=10 FLASHMLA_GPU_SPARSE_SM90_CASES=${SUITE_CASES:-60} FLASHMLA_GPU_SPARSE_SM90_SEED=$((9400 + i * 100)) \
      timeout -k 3 ${SUITE_S:-45} node --test --test-reporter=tap build/test/gpu/sparse.test.js > "$OUT/suite-$i.tap" 2>&1 &
  done
  FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_DENSE90_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 timeout -k 3 ${SAN_S:-45} compute-sanitizer --tool memcheck \
    --target-processes all --print-limit 10 node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" build/test/gpu/sparse.test.js > "$OUT/san-memcheck.txt" 2>&1 &
  wait
  unset FLASHMLA_CUDA_KERNELS
  for f in "$OUT"/suite-*.tap "$OUT"/san-*.txt; do
    echo "$(basename $f): $(grep -E '^# (pass|fail) ' $f | tr -d '#' | xargs) $(grep -E 'ERROR SUMMARY' $f | tail -1)" | tee -a "$OUT/log.txt"
    grep -E '^\s*not ok' $f | head -3 | tee -a "$OUT/log.txt"
  done
fi
ts end
tar czf "$OUT0/h1s12d.tgz" -C "$OUT0" h1s12d && rm -rf "$OUT"

#!/usr/bin/env bash
# Session 9 (h3), third call (short): the shipped pair build (57352) at h_q 256 (two clusters along z), bit 16's smoke
# test and its timing against the shipped build. Same staging as run_s9_h3.sh (HB = h3-stage).
set -uo pipefail
S=$SECONDS; ts() { echo "[+$((SECONDS-S))s] $*"; }
export CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
HB=${HB:-h3-stage}; CAND=${CAND:-122888}; SHIP=${SHIP:-57352}
T=$OUT/t; mkdir -p $T
. bench/cuda/hopper/sparse-sm90-modes.sh
mkdir -p dist && rm -rf dist/cuda && cp -r $HB/cuda dist/cuda && cp -rn build/src/. dist/ 2>/dev/null
sparse_sm90_swap $HB/sparse_sm90_m$SHIP.fatbin
K=/tmp/kc$CAND; rm -rf $K; mkdir -p $K; cp dist/cuda/* $K/; sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K
TS=build/test/gpu/sparse.test.js
FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=3 FLASHMLA_GPU_SPARSE_SM90_HQ=256 timeout -k 5 40 \
  node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $TS > $T/h256.tap 2>&1 &
FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=8 FLASHMLA_GPU_SPARSE_SM90_HQ=128 timeout -k 5 40 \
  node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" $TS > $T/smoke-m$CAND.tap 2>&1 &
wait
ts "m$SHIP h_q 256: $(grep -E '^# (pass|fail) ' $T/h256.tap | tr '\n' ' ') | m$CAND smoke: $(grep -E '^# (pass|fail) ' $T/smoke-m$CAND.tap | tr '\n' ' ')"
grep -E '^\s*not ok' $T/h256.tap $T/smoke-m$CAND.tap | head -4
if grep -qE '^# fail 0' $T/smoke-m$CAND.tap; then
  timeout -k 5 ${TIME_TIMEOUT:-45} node build/bench/cuda/hopper/sparse-sm90-final-ab.js $HB/flashmla-sparse.json shipped=$PWD/dist/cuda m$CAND=$K \
    --reps ${REPS:-10} --rounds ${ROUNDS:-2} --json $OUT/sparse-sm90-h3-ab3.json > $T/time.txt 2>&1
  ts "timing rc=$?"; tail -16 $T/time.txt
fi
tar czf $OUT/t.tgz -C $OUT t; rm -rf $T

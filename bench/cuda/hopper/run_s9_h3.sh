#!/usr/bin/env bash
# Session 9 (h3): sparse_sm90.cu's pair entries as 2-CTA clusters (build-mode bit 13, candidate CAND = 8200) on the
# H200, one call. From the staged worktree root with .gpu-host entered, build/ compiled by tsc, and HB (h3-stage)
# holding: cuda/ (a built kernel folder), sparse_sm90_mN.fatbin for 8 (shipped mode with the pair entries) and the
# candidate and probe modes (nvcc of scripts/build-kernels.mjs's flags, built off the GPU host), flashmla-sparse.json
# (FlashMLA's bench_sparse.py on the H200; FLASHMLA_RUN=1 runs it here instead).
#   OUT=$OUT bash bench/cuda/hopper/run_s9_h3.sh
#  0. smoke: goldens + 4 + 4 random sm90 cases on CAND (40 s); stops here if they fail or hang;
#  1. side by side on CAND: SHARDS x CASES random sm90 cases per format at h_q 64/128, the rest of sparse.test.ts,
#     compute-sanitizer memcheck / synccheck / racecheck on a few sm90 cases;
#  2. timing (one process, interleaved): shipped (mode 8) vs CAND on FlashMLA's 12 shapes (sparse-sm90-final-ab.js);
#  3. probes through the library: PROBES modes on shape 0 (V3.2 b64 s_q 2) and 7 (MODEL1 h128 topk 1024).
set -uo pipefail
S=$SECONDS; ts() { echo "[+$((SECONDS-S))s] $*"; }
export CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
HB=${HB:-h3-stage}; CAND=${CAND:-8200}; PROBES=${PROBES:-8200 8202 8204}
T=$OUT/t; mkdir -p $T
. bench/cuda/hopper/sparse-sm90-modes.sh
mkdir -p dist && rm -rf dist/cuda && cp -r $HB/cuda dist/cuda && cp -rn build/src/. dist/
sparse_sm90_swap $HB/sparse_sm90_m8.fatbin
K=/tmp/k$CAND; rm -rf $K; mkdir -p $K; cp dist/cuda/* $K/; sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader > $T/card.txt
TS=build/test/gpu/sparse.test.js
ts "smoke m$CAND"
FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=4 FLASHMLA_GPU_SPARSE_SM90_HQ=128 timeout -k 5 ${SMOKE_TIMEOUT:-40} \
  node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" $TS > $T/smoke.tap 2>&1
rc=$?; ts "smoke rc=$rc: $(grep -E '^# (pass|fail) ' $T/smoke.tap | tr '\n' ' ')"
if [ $rc -ne 0 ]; then grep -E 'not ok|Error|error' $T/smoke.tap | head -20; tar czf $OUT/t.tgz -C $OUT t; exit 1; fi
ts "step 1: correctness of m$CAND"
for i in $(seq 0 $(( ${SHARDS:-8} - 1 ))); do
  FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-63} FLASHMLA_GPU_SPARSE_SM90_SEED=$((9000 + i * ${CASES:-63})) \
    timeout -k 5 ${TEST_TIMEOUT:-110} node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $TS > $T/shard$i.tap 2>&1 &
done
FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=${MAIN_CASES:-20} FLASHMLA_GPU_SPARSE_SM90_CASES=0 timeout -k 5 ${TEST_TIMEOUT:-110} \
  node --test --test-reporter=tap $TS > $T/main.tap 2>&1 &
for tool in memcheck synccheck racecheck; do
  FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 FLASHMLA_GPU_SPARSE_SM90_HQ=128 timeout -k 5 ${SAN_TIMEOUT:-110} \
    compute-sanitizer --tool $tool --target-processes all --print-limit 10 \
    node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $TS > $T/san-$tool.txt 2>&1 &
done
wait
ts "step 1 done"
for f in $T/main.tap $T/shard*.tap; do echo "$(basename $f): $(grep -E '^# (pass|fail) ' $f | tr '\n' ' ') $(grep -E '^\s*not ok' $f | head -3 | tr '\n' ' ')"; done
grep -hE '^\s*ok [0-9]+ - [0-9]+ cases, hQ 64 / 128' $T/shard*.tap | sed -E 's/.* - ([0-9]+) cases.*/\1/' | awk '{ s += $1 } END { print "random sm90 cases passed: " s }'
grep -h 'cos diff' $T/main.tap | head -8
for f in $T/san-*.txt; do echo "$(basename $f): $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $f | tail -2 | tr '\n' ' ') $(grep -E '^# (pass|fail)' $f | tr '\n' ' ')"; done
F=$HB/flashmla-sparse.json
if [ -n "${FLASHMLA_RUN:-}" ]; then
  PYTHONUNBUFFERED=1 timeout 80 python3 .gpu-host/anchors/flashmla-sparse/bench_sparse.py --out $T/flashmla-sparse.json > $T/flashmla-sparse.txt 2>&1 && F=$T/flashmla-sparse.json
  ts "flashmla rc=$?"
fi
ts "step 2: timing shipped vs m$CAND (FlashMLA: $F)"
timeout -k 5 ${TIME_TIMEOUT:-70} node build/bench/cuda/hopper/sparse-sm90-final-ab.js $F shipped=$PWD/dist/cuda m$CAND=$K --reps ${REPS:-10} --rounds ${ROUNDS:-2} \
  --json $OUT/sparse-sm90-h3-ab.json > $T/time.txt 2>&1
ts "timing rc=$?"; cat $T/time.txt | tail -20
ts "step 3: probes"
for m in $PROBES; do
  d=/tmp/kp$m; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/; sparse_sm90_swap $HB/sparse_sm90_m$m.fatbin $d
  for sh in 0 7; do
    echo "m$m shape $sh: $(FLASHMLA_CUDA_KERNELS=$d timeout 30 node build/bench/cuda/hopper/sparse-sm90-bench.js $F --all --reps ${REPS:-10} --sm90-only --shape $sh 2>&1 | head -1)"
  done
done
ts end
tar czf $OUT/t.tgz -C $OUT t; rm -rf $T

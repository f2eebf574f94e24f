#!/usr/bin/env bash
# Session 9 (h3), second call: sparse_sm90.cu pair-entry variants against the shipped build, on the H200. Same staging
# as run_s9_h3.sh (HB = h3-stage with cuda/, sparse_sm90_mN.fatbin, flashmla-sparse.json).
#   OUT=$OUT FULL=57352 PART=24584 CANDS="8200 24584 57352" PROBES="57354 57356 57384" NCU=57352 bash bench/cuda/hopper/run_s9_h3b.sh
#  0. SASS of the pair entries (cuobjdump): fences and barrier instructions a build;
#  1. smoke (goldens + 4 + 4 random h_q-128 sm90 cases) of FULL and PART;
#  2. side by side: FULL with SHARDS x CASES random sm90 cases a format, the rest of sparse.test.ts and the three
#     sanitizers; PART with SHARDS/2 shards;
#  3. timing in one process, interleaved: shipped (mode 8) and every mode of CANDS on FlashMLA's 12 shapes;
#  4. probes (PROBES) on shapes 0 and 7 through the library; 5. ncu (SpeedOfLight, WarpStateStats, SchedulerStats,
#     ComputeWorkloadAnalysis) of the NCU build on shape 0.
set -uo pipefail
S=$SECONDS; ts() { echo "[+$((SECONDS-S))s] $*"; }
export CI=1 FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
HB=${HB:-h3-stage}; FULL=${FULL:-57352}; PART=${PART:-24584}; CANDS=${CANDS:-8200 24584 57352}; PROBES=${PROBES:-57354 57356 57384}; NCU=${NCU:-57352}
T=$OUT/t; mkdir -p $T
. bench/cuda/hopper/sparse-sm90-modes.sh
mkdir -p dist && rm -rf dist/cuda && cp -r $HB/cuda dist/cuda && cp -rn build/src/. dist/ 2>/dev/null
sparse_sm90_swap $HB/sparse_sm90_m8.fatbin
kdir() { local d=/tmp/k$1; [ -d $d ] || { mkdir -p $d; cp dist/cuda/* $d/; sparse_sm90_swap $HB/sparse_sm90_m$1.fatbin $d; }; echo $d; }
for m in $CANDS $PROBES $FULL $PART; do kdir $m > /dev/null; done
for m in 8200 24584 57352; do
  [ -f $HB/sparse_sm90_m$m.fatbin ] || continue
  cuobjdump -sass $HB/sparse_sm90_m$m.fatbin > $T/sass-m$m.txt 2>&1
  echo "m$m v32_c2: $(awk '/Function : mla_sparse_sm90_v32_bf16_c2/{f=1;next} /Function :/{f=0} f' $T/sass-m$m.txt | grep -oE '(MEMBAR|FENCE|SYNCS|CCTL|ERRBAR)[A-Z0-9_.]*' | sort | uniq -c | tr '\n' ' ')"
done
TS=build/test/gpu/sparse.test.js
ts "smoke m$FULL m$PART"
for m in $FULL $PART; do
  FLASHMLA_CUDA_KERNELS=$(kdir $m) FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=4 FLASHMLA_GPU_SPARSE_SM90_HQ=128 timeout -k 5 40 \
    node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" $TS > $T/smoke-m$m.tap 2>&1 &
done
wait
for m in $FULL $PART; do echo "smoke m$m: $(grep -E '^# (pass|fail) ' $T/smoke-m$m.tap | tr '\n' ' ')"; done
grep -qE '^# fail 0' $T/smoke-m$FULL.tap || { echo "m$FULL failed its smoke test"; grep -E 'not ok' $T/smoke-m$FULL.tap | head; }
ts "step 2: correctness"
K=$(kdir $FULL)
for i in $(seq 0 $(( ${SHARDS:-8} - 1 ))); do
  FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-63} FLASHMLA_GPU_SPARSE_SM90_SEED=$((12000 + i * ${CASES:-63})) \
    timeout -k 5 ${TEST_TIMEOUT:-110} node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $TS > $T/shard$i.tap 2>&1 &
done
for i in $(seq 0 $(( ${SHARDS:-8} / 2 - 1 ))); do
  FLASHMLA_CUDA_KERNELS=$(kdir $PART) FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-63} FLASHMLA_GPU_SPARSE_SM90_SEED=$((15000 + i * ${CASES:-63})) \
    timeout -k 5 ${TEST_TIMEOUT:-110} node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $TS > $T/part$i.tap 2>&1 &
done
FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=${MAIN_CASES:-20} FLASHMLA_GPU_SPARSE_SM90_CASES=0 timeout -k 5 ${TEST_TIMEOUT:-110} \
  node --test --test-reporter=tap $TS > $T/main.tap 2>&1 &
for tool in memcheck synccheck racecheck; do
  FLASHMLA_CUDA_KERNELS=$K FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 FLASHMLA_GPU_SPARSE_SM90_HQ=${SAN_HQ:-128} timeout -k 5 ${SAN_TIMEOUT:-110} \
    compute-sanitizer --tool $tool --target-processes all --print-limit 10 \
    node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $TS > $T/san-$tool.txt 2>&1 &
done
wait
ts "step 2 done"
for f in $T/main.tap $T/shard*.tap $T/part*.tap; do echo "$(basename $f): $(grep -E '^# (pass|fail) ' $f | tr '\n' ' ') $(grep -E '^\s*not ok' $f | head -3 | tr '\n' ' ')"; done
for g in shard part; do
  grep -hE '^\s*ok [0-9]+ - [0-9]+ cases, hQ 64 / 128' $T/$g*.tap | sed -E 's/.* - ([0-9]+) cases.*/\1/' | awk -v g=$g '{ s += $1 } END { print g ": random sm90 cases passed: " s }'
done
grep -h 'cos diff' $T/main.tap | head -8
for f in $T/san-*.txt; do echo "$(basename $f): $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $f | tail -2 | tr '\n' ' ') $(grep -E '^# (pass|fail)' $f | tr '\n' ' ')"; done
F=$HB/flashmla-sparse.json
ts "step 3: timing shipped vs $CANDS (FlashMLA: $F)"
B="shipped=$PWD/dist/cuda"; for m in $CANDS; do B="$B m$m=$(kdir $m)"; done
timeout -k 5 ${TIME_TIMEOUT:-90} node build/bench/cuda/hopper/sparse-sm90-final-ab.js $F $B --reps ${REPS:-10} --rounds ${ROUNDS:-2} \
  --json $OUT/sparse-sm90-h3-ab2.json > $T/time.txt 2>&1
ts "timing rc=$?"; tail -20 $T/time.txt
ts "step 4: probes"
for m in $PROBES; do
  for sh in 0 7; do
    echo "m$m shape $sh: $(FLASHMLA_CUDA_KERNELS=$(kdir $m) timeout 30 node build/bench/cuda/hopper/sparse-sm90-bench.js $F --all --reps ${REPS:-10} --sm90-only --shape $sh 2>&1 | head -1)"
  done
done
if [ -n "$NCU" ]; then
  ts "step 5: ncu m$NCU shape 0"
  FLASHMLA_CUDA_KERNELS=$(kdir $NCU) timeout ${NCU_S:-60} ncu --clock-control none --section SpeedOfLight --section WarpStateStats --section SchedulerStats \
    --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis -k regex:mla_sparse_sm90 --launch-skip 2 --launch-count 1 \
    node build/bench/cuda/hopper/sparse-sm90-bench.js $F --all --reps 2 --sm90-only --shape 0 > $T/ncu-m$NCU.txt 2>&1
  ts "ncu rc=$?"
  grep -E "Duration|Throughput|Issue Slots|Issued Ipc|No Eligible|Warp Cycles Per Issued|Eligible Warps|Stall|Shared|Pipe|Tensor" $T/ncu-m$NCU.txt | head -40
fi
ts end
tar czf $OUT/t.tgz -C $OUT t; rm -rf $T

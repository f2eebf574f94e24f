#!/usr/bin/env bash
# Session 45, call 3 (H200): (1) the batched MLA step's test after the caps fix (a backend made on an existing device now
# sees the device's subgroup matrices: call 2 showed that was session 43's mismatch); (2) the sparse suite with the e4m3
# pattern test on the direct kernel; (3) the layer profile's A/B of MlaAttentionOptions.batchStep (off / on / off / on,
# WebGPU, V3 shape, b 64, context 4096, f32). Predictions: results/gpu-host/bench/hopper/s45/predictions.txt.
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s45.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
W=/tmp/s45c3; rm -rf $W; mkdir -p $W
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
lim() { local left=$(( 290 - ($(date +%s) - T0) )); [ $left -lt 15 ] && echo 1 || echo $(( left < $1 ? left : $1 )); }
for t in webgpu-batch webgpu-sparse webgpu-sparse-gather; do
  timeout -k 5 $(lim 70) node --test build/test/backends/$t.test.js > $W/$t.tap 2>&1; echo "$t rc $?"
  grep -E "^# (pass|fail|skipped|todo)|^\s*not ok|differ|vs " $W/$t.tap | cut -c1-240 | head -12
done
ts "tests done"
for arm in off on; do
  n=$(ls $W | grep -c "^prof-$arm") ; bs=$([ $arm = on ] && echo 1 || echo 0)
  timeout -k 5 $(lim 90) node build/bench/mla/layer-profile.js --backend webgpu --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --batch-step $bs --json "$W/prof-$arm-$n.json" > "$W/prof-$arm-$n.txt" 2>&1
  echo "profile batch-step $arm #$n rc $?"; grep -E "chained|step median|median" "$W/prof-$arm-$n.txt" | head -4
done
ts "end"
tar czf "$OUT/s45-call3.tgz" -C $W .
cp $W/prof-*.json $OUT/ 2>/dev/null

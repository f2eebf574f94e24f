#!/usr/bin/env bash
# Session 41, calls 6-10 (H200): where the WebGPU MLA layer step's 31 ms go (call 3: V3-shaped layer, b 64, context 4096;
# CUDA bf16 2.4 ms): bench/mla/layer-profile.ts on WebGPU f32 / bf16 and CUDA f32 / bf16 (every recorded layer op replayed
# between synchronizations; whole steps; synchronize() alone). At most 8 files in $OUT. ARMS picks BACKEND:PRECISION[+wait]
# [+staged]: +wait / +staged set FLASHMLA_WEBGPU_DOWNLOAD_WAIT / FLASHMLA_WEBGPU_WRITE_STAGED, knobs of the measurement
# builds at commits 56ab979c / b1331249 (calls 9 / 10), removed after them (no effect).
#   OUT=$OUT bash bench/cuda/hopper/s41_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s41c6.tar.xz}"
W=/tmp/s41-c6; mkdir -p $W
for arm in ${ARMS:-webgpu:f32 webgpu:bf16 cuda:f32 cuda:bf16}; do
  be=${arm%%:*}; pr=${arm##*:}; pr=${pr%%+*}; unset FLASHMLA_WEBGPU_DOWNLOAD_WAIT FLASHMLA_WEBGPU_WRITE_STAGED
  case $arm in *+wait*) export FLASHMLA_WEBGPU_DOWNLOAD_WAIT=1 ;; esac; case $arm in *+staged*) export FLASHMLA_WEBGPU_WRITE_STAGED=1 ;; esac
  timeout -k 5 120 node build/bench/mla/layer-profile.js --backend "$be" --precision "$pr" --shape v3 --batch 64 --context 4096 --reps 5 --json "$W/prof-${arm//[:+]/-}.json" > "$W/prof-${arm//[:+]/-}.txt" 2>&1
  echo "== $arm rc $?"; grep -vE '^#|warning|^ *\^|^ *let |^:' "$W/prof-${arm//[:+]/-}.txt" | grep -E "^(step|forwardDevice|gemm)" | cut -c1-400
done
tar czf "$OUT/s41c6.tgz" -C $W .

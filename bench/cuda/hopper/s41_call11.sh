#!/usr/bin/env bash
# Session 41, call 11 (H200): the WebGPU layer GEMM's split-K (kernels/layer.ts mla_layer_gemm_part / _reduce, the
# default) against FLASHMLA_WEBGPU_LAYER_SPLITK=0 and a wider rule (minK=1024,minChunk=128), bench/mla/layer-profile.ts on
# the V3-shaped layer (b 64, context 4096, f32, then bf16 with the default); test/backends/webgpu-layer.test.ts on the card.
# Predictions: results/gpu-host/bench/hopper/s41/predictions.txt. At most 8 files in $OUT. (At this call split-K was the
# default, so the arm 'on' unset the knob; it is opt-in since, FLASHMLA_WEBGPU_LAYER_SPLITK=1.)
#   OUT=$OUT bash bench/cuda/hopper/s41_call11.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s41c11.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s41-c11; mkdir -p $W
for arm in f32:off f32:on f32:wide bf16:on; do
  pr=${arm%%:*}; k=${arm##*:}
  case $k in off) export FLASHMLA_WEBGPU_LAYER_SPLITK=0 ;; wide) export FLASHMLA_WEBGPU_LAYER_SPLITK='minK=1024,minChunk=128' ;; *) unset FLASHMLA_WEBGPU_LAYER_SPLITK ;; esac
  timeout -k 5 120 node build/bench/mla/layer-profile.js --backend webgpu --precision "$pr" --shape v3 --batch 64 --context 4096 --reps 5 --json "$W/prof-$pr-$k.json" > "$W/prof-$pr-$k.txt" 2>&1
  echo "== $arm rc $?"; grep -E "^(step|forwardDevice|gemm)" "$W/prof-$pr-$k.txt" | cut -c1-200
done
unset FLASHMLA_WEBGPU_LAYER_SPLITK
timeout -k 5 150 node --test --test-reporter=tap build/test/backends/webgpu-layer.test.js > "$W/webgpu-layer.tap" 2>&1
echo "webgpu-layer rc $?: $(grep -E '^# (pass|fail|skipped)' "$W/webgpu-layer.tap" | tr -d '#' | xargs) $(grep -m3 '^ *not ok' "$W/webgpu-layer.tap" | tr '\n' ' ')"
tar czf "$OUT/s41c11.tgz" -C $W .

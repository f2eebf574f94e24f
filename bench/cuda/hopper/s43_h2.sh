#!/usr/bin/env bash
# Session 43, helper h2 (H200): the bf16 tensor-core gemm's split-K (mla_gemm_bf16_part + mla_gemm_reduce) against its
# off switch, the V3-shaped bf16 step at b 64, context 4096: layer-profile on / off / on (FLASHMLA_CUDA_LAYER_SPLITK=0
# turns off both kernels' split; the bf16 step runs only bf16 gemms), two tuning arms for information (no rule), then
# bench/mla/layer.ts on / off / on and the GPU test test/gpu/mla-device (the split gemm against float64, run to run,
# on vs off, the layers). Prediction and shipping rule: docs/notes/cuda-mla-layer.md, "Session 43".
# Pack (development machine, the tree's root):
#   npx tsc -p tsconfig.build.json && node scripts/build-kernels.mjs --gencode arch=compute_90a,code=sm_90a --out dist/cuda
#   npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false
#   mkdir -p dist-s43pre/cuda && cp dist/cuda/* dist-s43pre/cuda/ && git show 4fc70899:src/backends/cuda/kernels/layer.cu > /tmp/l.cu
#   nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -I src/backends/cuda/kernels -fatbin -o dist-s43pre/cuda/layer.fatbin /tmp/l.cu
#   (and layer.fatbin's sha256 in dist-s43pre/cuda/manifest.json)
#   source bench/cuda/hopper/s29_common.sh && s29_pack .devstage/s43h2.tar.xz s43pre
# Run (carry .gpu-host and the pack):   OUT=$OUT bash bench/cuda/hopper/s43_h2.sh
# PART=bench: the bits, profiles and layer runs only; PART=test: the GPU test only (each fits one 600 s call; all: ~6-9 min).
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s43h2.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
PART=${PART:-all}
W=/tmp/s43-h2-$PART; rm -rf $W; mkdir -p $W
if [ "$PART" != test ]; then
# The unsplit bf16 kernel keeps its bits: layer-gemm-bits with split-K off under the build before session 43
# (dist-s43pre: layer.fatbin of 4fc70899) and this one; prediction: all cases the same.
for d in dist-s43pre dist; do
  FLASHMLA_CUDA_LAYER_SPLITK=0 FLASHMLA_CUDA_KERNELS=$d/cuda timeout -k 5 120 node build/bench/cuda/hopper/layer-gemm-bits.js > $W/bits-$d.txt 2>&1; echo "bits $d rc $?"
done
if cmp -s $W/bits-dist-s43pre.txt $W/bits-dist.txt; then echo "BITS SAME ($(wc -l < $W/bits-dist.txt) cases)"; else echo "BITS DIFFER"; diff $W/bits-dist-s43pre.txt $W/bits-dist.txt | head -20; fi
prof() { # NAME [ENV=V]
  local n=$1; shift
  env "$@" timeout -k 5 120 node build/bench/mla/layer-profile.js --backend cuda --precision bf16 --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$n.json" > "$W/prof-$n.txt" 2>&1
  echo "== prof $n rc $?"; grep -E "^(step 4|forwardDevice chained|replayed|gemm|decode )" "$W/prof-$n.txt" | cut -c1-100
}
prof bf16-split
prof bf16-nosplit FLASHMLA_CUDA_LAYER_SPLITK=0
prof bf16-split2
prof bf16-split-4an-sm FLASHMLA_CUDA_LAYER_SPLITK=ctasPerSmBf16=4
prof bf16-split-chunk128 FLASHMLA_CUDA_LAYER_SPLITK=minChunk=128
layer() { # NAME [ENV=V]
  local n=$1; shift
  env "$@" timeout -k 5 120 node build/bench/mla/layer.js --backend cuda --precision bf16 --shape v3 --batch 64 --context 4096 --reps 20 --json "$W/layer-$n.json" > "$W/layer-$n.txt" 2>&1
  echo "== layer $n rc $? $(grep -o '"median_ms":[0-9.]*,"min_ms":[0-9.]*' "$W/layer-$n.txt") $(grep -o '"device_median_ms":[0-9.]*' "$W/layer-$n.txt")"
}
layer bf16-split
layer bf16-nosplit FLASHMLA_CUDA_LAYER_SPLITK=0
layer bf16-split2
fi
if [ "$PART" != bench ]; then
timeout -k 5 400 node --test build/test/gpu/mla-device.test.js > $W/mla-device.tap 2>&1; echo "mla-device rc $?"
grep -E "^# (pass|fail|skipped)|^not ok|# (bf16|f32) gemm -> |SMs: |bf16 split, case" $W/mla-device.tap | head -40
fi
tar czf "$OUT/s43h2-$PART.tgz" -C $W .

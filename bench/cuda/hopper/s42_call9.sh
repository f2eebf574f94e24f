#!/usr/bin/env bash
# Session 42, call 9 (H200): helper h3's f32 tile loop (float4 shared loads, the same fmaf chains) against the previous
# layer.fatbin (dist-s42pre): the gemm's output bits under both builds, layer-profile (cuda f32) new / old / new; then the
# recorded MLA layer runs (bench/mla/layer.ts: cuda and webgpu, f32 and bf16) with transformers' bf16 layer in the same
# call (bench/mla/torch_layer.py, bench/mla/compare.js); the CUDA device-step GPU test on the new build.
#   OUT=$OUT bash bench/cuda/hopper/s42_call9.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c9.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s42-c9; rm -rf $W; mkdir -p $W
for d in dist-s42pre dist; do
  FLASHMLA_CUDA_KERNELS=$d/cuda timeout -k 5 120 node build/bench/cuda/hopper/layer-gemm-bits.js > $W/bits-$d.txt 2>&1; echo "bits $d rc $?"
done
if cmp -s $W/bits-dist-s42pre.txt $W/bits-dist.txt; then echo "BITS SAME ($(wc -l < $W/bits-dist.txt) cases)"; else echo "BITS DIFFER"; diff $W/bits-dist-s42pre.txt $W/bits-dist.txt | head -20; fi
prof() { # NAME KERNELS
  FLASHMLA_CUDA_KERNELS=$2 timeout -k 5 120 node build/bench/mla/layer-profile.js --backend cuda --precision f32 --shape v3 --batch 64 --context 4096 --reps 5 --chain 20 --json "$W/prof-$1.json" > "$W/prof-$1.txt" 2>&1
  echo "== prof $1 rc $?"; grep -E "^(forwardDevice chained|replayed|gemm)" "$W/prof-$1.txt" | cut -c1-100
}
prof new1 dist/cuda; prof old dist-s42pre/cuda; prof new2 dist/cuda
day=$(date -u +%F); C=${FLASHMLA_COMMIT:-unknown}
for be in cuda webgpu; do for p in f32 bf16; do
  timeout -k 5 120 node build/bench/mla/layer.js --backend $be --precision $p --shape v3 --batch 64 --context 4096 --reps 20 --json "$W/mla-layer-v3-$be-$p-h200-$day.json" > "$W/layer-$be-$p.txt" 2>&1
  echo "== layer $be $p rc $? $(grep -o '"median_ms":[0-9.]*,"min_ms":[0-9.]*' "$W/layer-$be-$p.txt")"
done; done
timeout -k 5 200 python3 bench/mla/torch_layer.py --batch 64 --context 4096 --reps 10 --out "$W/mla-layer-torch-h200-$day.json" > $W/torch.txt 2>&1; echo "torch rc $?"; tail -3 $W/torch.txt
for p in bf16 f32; do
  node build/bench/mla/compare.js --ours "$W/mla-layer-v3-cuda-$p-h200-$day.json" --torch "$W/mla-layer-torch-h200-$day.json" --commit "$C" --out "$W/mla-layer-v3-cuda-$p-vs-torch-h200-$day.json"
done
timeout -k 5 250 node --test build/test/gpu/mla-device.test.js > $W/mla-device.tap 2>&1; echo "mla-device rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/mla-device.tap | head
tar czf "$OUT/s42c9.tgz" -C $W .

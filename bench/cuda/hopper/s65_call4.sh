#!/usr/bin/env bash
# Session 65, call 4 (issue #14): more random cases on call 3's noxq build (left on the host by call 3's unpack), eight
# processes side by side (the float64 reference is the slow part), seeds of their own:
#   1. FLASHMLA_GPU_SPARSE_SM90_CASES=64 at hQ 64 / 128: 8 x (64 + 16 exact) x 2 formats = 1280 cases;
#   2. FLASHMLA_GPU_SPARSE_SM90_HQ=1,16,33,63 (part-empty head tiles), 48 cases: 8 x (48 + 12) x 2 = 960 cases.
# Measured (H100, 2026-12-07): all pass (results/gpu-host/bench/hopper/s65/call4/random-sm90.tap.xz).
#   (device, after s65_call3.sh) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s65_call4.sh
source .gpu-host/enter.sh >/dev/null 2>&1
export FLASHMLA_CUDA_KERNELS=dist/cuda FLASHMLA_GOLDEN_SPARSE=$PWD/test/fixtures/golden-sparse
OUT=${OUT:-./out}; mkdir -p "$OUT"
for i in 0 1 2 3 4 5 6 7; do
  FLASHMLA_GPU_SPARSE_SM90_CASES=64 FLASHMLA_GPU_SPARSE_SM90_SEED=$((20000 + i * 1000)) timeout -k 5 220 \
    node --test --test-reporter=tap --test-name-pattern "with 64 / 128 heads" build/test/gpu/sparse.test.js > "$OUT/r$i.tap" 2>&1 &
done
wait
for i in 0 1 2 3 4 5 6 7; do
  FLASHMLA_GPU_SPARSE_SM90_HQ=1,16,33,63 FLASHMLA_GPU_SPARSE_SM90_CASES=48 FLASHMLA_GPU_SPARSE_SM90_SEED=$((40000 + i * 1000)) timeout -k 5 150 \
    node --test --test-reporter=tap --test-name-pattern "with 64 / 128 heads" build/test/gpu/sparse.test.js > "$OUT/p$i.tap" 2>&1 &
done
wait
for f in "$OUT"/r*.tap "$OUT"/p*.tap; do echo "$(basename "$f"): $(grep -aE '^# (pass|fail)' "$f" | tr '\n' ' ')"; done
grep -ah "not ok" "$OUT"/*.tap | head

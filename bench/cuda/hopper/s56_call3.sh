#!/usr/bin/env bash
# Session 56, call 3: regression on the final kernels (SparseMmaParams grew by planState / planParts / the raw length
# pointers; mla_dense_fp8_lists's plan now through planRows; the workspaces' graph holds and the staging's forgetStaged
# in every dense call): test/gpu/cuda.test.ts in full, the sparse goldens and 60 random cases a kind, the 64 / 128-head
# cases, the dense FP8 lists plan and its device-length cases; then FlashMLA's sparse table and ours (host plan, and
# --device-plan) in the same call.
# Predictions (written before the run): all pass; ours / FlashMLA as in session 55 (geomean ~1.01-1.02x on an H100),
#     --device-plan within 1 % of the host plan's geomean.
#   (here)   s29_pack .devstage/s56c3.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=570 OUT=$OUT bash bench/cuda/hopper/s56_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s56c3.tar.xz s50_setup c3 # (W, CLI, ts, lim)
timeout -k 5 "$(lim 170)" node --test --test-reporter=tap build/test/gpu/cuda.test.js > "$W/cuda.tap" 2>&1
echo "cuda rc $?"; grep -E "cases, .* runs in|^# (pass|fail)|^\s*not ok" "$W/cuda.tap" | cut -c1-200 | head -8
ts "cuda suite"
FLASHMLA_GPU_SPARSE_CASES=60 FLASHMLA_GPU_DENSE64_CASES=40 FLASHMLA_GPU_DENSE_FOLD_CASES=40 timeout -k 5 "$(lim 110)" node --test --test-reporter=tap \
  --test-name-pattern "FlashMLA goldens|random cases vs|with 64 / 128 heads|mla_dense_fp8_lists|lengths on the device" build/test/gpu/sparse.test.js > "$W/sparse.tap" 2>&1
echo "sparse rc $?"; grep -E "^# (pass|fail)|^\s*not ok|^\s+ok [0-9]+ - [0-9]+ (random )?cases" "$W/sparse.tap" | cut -c1-200 | head -14
ts "sparse suite"
s57_sparse_flashmla host: dev:--device-plan # (session 57 moved this loop into s50_common.sh)
s50_sparse_rows cuda-sparse-dev.json cuda-sparse-host.json
ts "end"
tar czf "$OUT/s56c3.tgz" -C "$W" .

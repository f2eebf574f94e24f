#!/usr/bin/env bash
# (Its timing / ncu / FlashMLA loops were moved into s50_common.sh's s57_* helpers after the run: the same steps.)
# Session 57, call 5: the final build (call 4's pack) on the rest of the sparse suite and against FlashMLA. Call 4's
# whole test/gpu/sparse.test.ts run stopped at its 200 s bound (no failure before it); this runs the goldens, 60 random
# cases a kind and the 64 / 128-head cases, then FlashMLA 9241ae3's sparse table and ours (host plan, and
# --device-plan) in the same call: mla_sparse_bound's CTAs now carry 37 KB of static shared memory (the walk's), 16 KB
# before.
# Predictions (written before the run): pass; against FlashMLA as in session 56 call 3 (1.019x host, 1.015x device plan,
# within the calls' +-2 %); --device-plan / host 0.99-1.01 a row.
#   (device) ln -sfn .ghc .gpu-host && BUDGET=400 OUT=$OUT bash bench/cuda/hopper/s57_call5.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s57c4.tar.xz s50_setup c5 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
FLASHMLA_GPU_SPARSE_CASES=60 timeout -k 5 "$(lim 120)" node --test --test-reporter=tap \
  --test-name-pattern "FlashMLA goldens|random cases vs|with 64 / 128 heads" build/test/gpu/sparse.test.js > "$W/sparse.tap" 2>&1
echo "sparse rc $?"; grep -E "^# (pass|fail)|^\s*not ok|^\s+ok [0-9]+ - [0-9]+ (random )?cases" "$W/sparse.tap" | cut -c1-200 | head -14
ts "sparse suite"
s57_sparse_flashmla host: dev:--device-plan
s50_sparse_rows cuda-sparse-dev.json cuda-sparse-host.json
ts "end"
tar czf "$OUT/s57c5.tgz" -C "$W" .

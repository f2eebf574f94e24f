#!/usr/bin/env bash
# Session 55, call 8: call 7's sparse suite ran out of its 170 s inside the 300 random cases (the spec reporter printed
# nothing of them); here 60 random cases a kind and the 64 / 128-head cases with the TAP reporter, on the final build.
# Prediction (written before the run): passes.
#   (here)   s29_pack .devstage/s55c8.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=100 OUT=$OUT bash bench/cuda/hopper/s55_call8.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s55c8.tar.xz s50_setup c8 # (W, CLI, ts, lim)
FLASHMLA_GPU_SPARSE_CASES=60 timeout -k 5 "$(lim 85)" node --test --test-reporter=tap --test-name-pattern "random cases vs|with 64 / 128 heads" \
  build/test/gpu/sparse.test.js > "$W/sparse.tap" 2>&1
echo "sparse rc $?"; grep -E "^# (pass|fail)|^\s*not ok|^\s+ok [0-9]+ - [0-9]+ cases" "$W/sparse.tap" | cut -c1-200 | head -10
ts "end"
tar czf "$OUT/s55c8.tgz" -C "$W" .

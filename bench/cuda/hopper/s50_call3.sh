#!/usr/bin/env bash
# Session 50, call 3: the folded dense FP8 tests against two mutants of sparse_mma.cu, each must fail them:
#   mA: mla_dense_fp8_tail adds no key (its loop runs from `shared` to `shared`): rows of later queries miss their last keys;
#   mB: mla_dense_fp8_lists ignores listShift: every query of a folded step sees the last sQ - 1 keys.
# 30 + 30 folded random cases each (seeds 99000.., 99500..); the shipped build's run is call 2's (200 / 200 pass).
#   (dev machine) node scripts/build-kernels.mjs --out dist-mA/cuda (and mB) with the mutation applied, then
#                 s29_pack .devstage/s50c.tar.xz mA mB
#   (device) ln -sfn .ghc .gpu-host && BUDGET=200 OUT=$OUT bash bench/cuda/hopper/s50_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && s50_setup c # (W, CLI, ts, lim)
for m in mA mB; do
  FLASHMLA_CUDA_KERNELS=dist-$m/cuda FLASHMLA_GPU_DENSE_FOLD_CASES=30 timeout -k 5 $(lim 80) node --test \
    --test-name-pattern "folded" build/test/gpu/sparse.test.js > $W/$m.tap 2>&1
  echo "mutant $m rc $? (must fail)"; grep -E "^# (pass|fail)|seed [0-9]+|cos|bound" $W/$m.tap | cut -c1-200 | head -6
done
ts "end"
tar czf "$OUT/s50c3.tgz" -C $W .

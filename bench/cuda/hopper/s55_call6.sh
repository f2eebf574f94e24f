#!/usr/bin/env bash
# Session 55, call 6: call 5's sparse NaN test had a plan that did not split (the extra length 0 leaves no extra tile);
# now the extra length is 1 with query 0's one extra entry -1 (the fuzz's case 245). On this build and on dist-pdl.
# Predictions (written before the run): passes here; on dist-pdl query 0's rows are out 0 / lse +inf at every kernel.
#   (here)   s29_pack .devstage/s55c6.tar.xz pdl
#   (device) ln -sfn .ghc .gpu-host && BUDGET=120 OUT=$OUT bash bench/cuda/hopper/s55_call6.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s55c6.tar.xz s50_setup c6 # (W, CLI, ts, lim)
for arm in new:dist/cuda old:dist-pdl/cuda; do
  FLASHMLA_CUDA_KERNELS=${arm#*:} timeout -k 5 "$(lim 40)" node --test --test-reporter=tap --test-name-pattern "a NaN key in a piece" build/test/gpu/sparse.test.js > "$W/sparse-nan-${arm%%:*}.tap" 2>&1
  echo "sparse-nan ${arm%%:*} rc $?"; grep -E "^# (pass|fail)|^\s+not ok|^\s+(v32|bf16) hQ|NaN expected" "$W/sparse-nan-${arm%%:*}.tap" | cut -c1-240 | head -6
done
ts "end"
tar czf "$OUT/s55c6.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 68, call 3 (issue #14): the record of the build shipped after call 2, on whatever card the call gets (an H200
# is the issue's card): bench/cuda/hopper/s60_sparse.sh (FlashMLA 9241ae3's sparse table, then ours twice: arm a with the
# dense FP8 rows at 16 and 32 heads against our bf16 dense decode, arm b without), and the default build's sparse suites
# (goldens, random cases at 64 and 128 heads, the item, sink, page and out-view tests).
#   (here)   s29_pack .devstage/s68c3.tar.xz (the tree at the shipping commit)
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s68_call3.sh > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
# Not run in session 68 (nothing shipped to record).
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
BUDGET=330 PACK=.devstage/s68c3.tar.xz OUT=$OUT bash bench/cuda/hopper/s60_sparse.sh > "$OUT/rec.txt" 2>&1; echo "record rc $?"; tail -32 "$OUT/rec.txt" | cut -c1-200
export PACK=.devstage/s68c3.tar.xz BUDGET=${BUDGET:-560}
source bench/cuda/hopper/s50_common.sh && s50_setup s68c3 # (W, CLI, ts, lim)
FLASHMLA_GPU_SPARSE_SM90_CASES=120 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=20 FLASHMLA_GPU_SPARSE_SM90_SEED=3680 timeout -k 5 "$(lim 150)" \
  node --test --test-reporter=tap --test-name-pattern "with 64" build/test/gpu/sparse.test.js > "$W/rand.tap" 2>&1 &
FLASHMLA_GPU_SPARSE_PAGE_CASES=12 FLASHMLA_GPU_SPARSE_SINK_CASES=24 FLASHMLA_GPU_SPARSE_ITEM_CASES=30 timeout -k 5 "$(lim 150)" \
  node --test --test-reporter=tap --test-name-pattern "goldens|out as a view|sinks far above|not powers of two|many requests a part" \
  build/test/gpu/sparse.test.js > "$W/other.tap" 2>&1 &
wait
for f in rand other; do echo "$f: $(grep -aE "^# (pass|fail)" "$W/$f.tap" | tr "\n" " ")"; grep -aE "^not ok|seed [0-9]+" "$W/$f.tap" | grep -v SKIP | head -3 | cut -c1-200; done
ts "checks"
xz -T8 "$W"/*.tap 2>/dev/null; tar cf "$OUT/s68c3.tar" -C "$W" .
ts end

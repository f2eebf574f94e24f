#!/usr/bin/env bash
# Session 68, call 2c (issue #14): s68_call2.sh cut further (19:11 UTC, 314 s of device time left after thirteen tries
# without a machine): the same pack and builds, predictions and rules (s68_call2.sh's header); no FlashMLA run (the
# A/B's FlashMLA column is session 67 call 2's H100 table, .devstage/fp/, so its ratios are across calls; the decision
# reads the builds' times in this call); checks qv1 60 random MODEL1 and 60 V3.2 cases at 64 heads (+ 12 exact each),
# the goldens, sink, page, many-requests and dense FP8 64-head tests; the A/B over the 12 shapes (shipped, qv1; two
# rounds). ni is not run.
#   (device) ln -sfn .ghc .gpu-host && OUT=$OUT bash bench/cuda/hopper/s68_call2c.sh > $OUT/log.txt 2>&1   (carry .ghc/node_modules)
# Not run in session 68: at 19:13 UTC the 314 s left were too few to start a machine.
export PACK=.devstage/s68c2.tar.xz BUDGET=${BUDGET:-170}
source bench/cuda/hopper/s50_common.sh && s50_setup s68c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
cp .devstage/fp/fp-sparse-h100-s67c2.json "$W/fp-sparse.json"
rnd() { # rnd TAG KERNELS KIND SEED HQ N: N random cases (+ N / 5 exact)
  FLASHMLA_CUDA_KERNELS=$2 FLASHMLA_GPU_SPARSE_SM90_HQ=$5 FLASHMLA_GPU_SPARSE_SM90_CASES=$6 FLASHMLA_GPU_SPARSE_SM90_EXACT_CASES=$(( $6 / 5 )) \
    FLASHMLA_GPU_SPARSE_SM90_SEED=$4 timeout -k 5 "$(lim 60)" node --test --test-reporter=tap --test-name-pattern "$3 with 64" \
    build/test/gpu/sparse.test.js > "$W/$1.tap" 2>&1
}
rnd qv1-m dist-qv1/cuda model1 680 64 60 & rnd qv1-v dist-qv1/cuda v32 680 64 60 &
for v in qv1; do
  FLASHMLA_CUDA_KERNELS=dist-$v/cuda FLASHMLA_GPU_SPARSE_PAGE_CASES=6 FLASHMLA_GPU_SPARSE_SINK_CASES=8 FLASHMLA_GPU_SPARSE_ITEM_CASES=12 \
    FLASHMLA_GPU_DENSE64_CASES=12 FLASHMLA_GPU_DENSE_FOLD_CASES=12 timeout -k 5 "$(lim 60)" \
    node --test --test-reporter=tap --test-name-pattern "goldens|sinks far above|not powers of two|many requests a part|64 heads and more" \
    build/test/gpu/sparse.test.js > "$W/other-$v.tap" 2>&1 &
done
wait
for f in qv1-m qv1-v other-qv1; do echo "$f: $(grep -aE "^# (pass|fail)" "$W/$f.tap" | tr "\n" " ")"; grep -aE "^not ok|seed [0-9]+" "$W/$f.tap" | grep -v SKIP | head -3 | cut -c1-200; done
ts "checks"
s65_sparse_ab 2 ship:dist/cuda: qv1:dist-qv1/cuda:
ts "ab"
xz -T8 "$W"/*.txt "$W"/*.tap 2>/dev/null; tar cf "$OUT/s68c2c.tar" -C "$W" .
ts end

#!/usr/bin/env bash
# (Its suite, sanitizer and A/B loops were moved into s50_common.sh's s58_* helpers after the run: the same steps.)
# Session 58, call 1: session 57's prepared entry split (its patch applied, then removed) and the two
# plan functions made one (planStep: sparse and dense FP8 device plans keep the same record [4 + b] = 1, b, parts, 0,
# each request's blocks; the sparse metadata's planState was [1 + 2b] clamped lengths).
# (1) the device-plan suites (the plans row by row against the host scheduler, the record / capture tests, the lists
#     test past the parallel walk's bounds, device-length dense cases), then memcheck on a few of them;
# (2) FlashMLA's 12 sparse shapes, host plan, this build against `old` (362cb8be: one entry a pass, the walk's 37 KB in
#     every CTA), alternating, two rounds;
# (3) FlashMLA 9241ae3's sparse table and ours (host plan, --device-plan) in the same call.
# Predictions (written before the run): (1) pass, memcheck 0 errors; (2) new / old 0.99-1.00 a row (session 57 call 6
#     measured the 37 KB at 1.003x: the split should take that back); (3) within +-2 % of session 57 call 5 (1.008x /
#     1.008x on an H100), device / host 0.99-1.01 a row; on an H200 session 37's 1.030x +-2 %.
#   (here)   s29_pack .devstage/s58c1.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=560 OUT=$OUT bash bench/cuda/hopper/s58_call1.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s58c1.tar.xz s50_setup c1 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
s58_devplan 40 10 100
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=6 FLASHMLA_GPU_DENSE64_CASES=2 FLASHMLA_GPU_DENSE_FOLD_CASES=2 \
  s58_sanitize "metadata planned on the device|plan \(its record\)" 90 memcheck
s58_sparse_ab sp "" new1:dist/cuda old1:dist-old/cuda new2:dist/cuda old2:dist-old/cuda
for r in 1 2; do s50_sparse_rows sp-new$r.json sp-old$r.json; echo; done
ts "split a/b"
s57_sparse_flashmla "host:--dense-heads 16,32" dev:--device-plan
s50_sparse_rows cuda-sparse-dev.json cuda-sparse-host.json
ts "end"
tar czf "$OUT/s58c1.tgz" -C "$W" .

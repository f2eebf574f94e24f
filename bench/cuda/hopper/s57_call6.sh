#!/usr/bin/env bash
# (Its suite and A/B loops were moved into s50_common.sh's s58_* helpers after the run: the same steps.)
# Session 57, call 6: does the walk's static shared memory (37 KB in every CTA of mla_sparse_bound and
# mla_dense_fp8_lists, 16 KB before) cost the sparse steps anything? FlashMLA's 12 sparse shapes, host plan (the bound
# pass copies device indices, no plan CTA), this build against `old` (session 56's kernels, whose bound pass is launched
# the same way), alternating, two rounds. Call 5 had 1.008x FlashMLA where session 56's call 3 had 1.019x.
# Prediction (written before the run): this / old 0.99-1.01 a row (the pass is short and its CTAs leave before the decode's).
#   (here)   s29_pack .devstage/s57c6.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=240 OUT=$OUT bash bench/cuda/hopper/s57_call6.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s57c6.tar.xz s50_setup c6 # (W, CLI, ts, lim)
s58_sparse_ab sp "" new1:dist/cuda old1:dist-old/cuda new2:dist/cuda old2:dist-old/cuda
for r in 1 2; do s50_sparse_rows sp-new$r.json sp-old$r.json; echo; done
ts "end"
tar czf "$OUT/s57c6.tgz" -C "$W" .

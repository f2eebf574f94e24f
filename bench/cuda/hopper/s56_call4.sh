#!/usr/bin/env bash
# Session 56, call 4: the GPU fuzz (test/gpu/fuzz.test.ts) at two fresh seeds on CUDA and the hardware WebGPU adapter;
# its sparse cases now also plan about 30 % of CUDA's calls on the device with the lengths there (session 56), where a
# length outside 0..topk is accepted and must count clamped.
# Prediction (written before the run): no untyped error, no hang, every accepted call equal to the reference.
#   (here)   s29_pack .devstage/s56c4.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=330 OUT=$OUT bash bench/cuda/hopper/s56_call4.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s56c4.tar.xz s50_setup c4 # (W, CLI, ts, lim)
for s in 36 37; do s50_fuzz $s 150; ts "fuzz $s"; done
grep -h "planned on the device" "$W"/fuzz-*.tap | head -3
tar czf "$OUT/s56c4.tgz" -C "$W" .

#!/usr/bin/env bash
# Prepared in session 52 (no device lent) for the next device session: the fuzz suites of npm test on the GPU host
# (test/gpu/fuzz.test.ts: dense, sparse and dense FP8 decode with corrupted arguments on CUDA and on the hardware WebGPU
# adapter; each call a typed FlashMlaError or the float64 reference's output, none ending in device_lost or
# driver_error), then the same suites at another seed. Nothing in it has run on a GPU yet: a failure at its first run may
# be a rule of the suite (CUDA gets no NaN/inf inputs; sparse outputs held to tolerances.cudaSparseFast), not the library.
#   (here)   stage as usual (docs/gpu-host.md; s29_pack .devstage/s52fz.tar.xz)
#   (device) ln -sfn .ghc .gpu-host && BUDGET=240 OUT=$OUT bash bench/cuda/hopper/s52_fuzz.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s52fz.tar.xz s50_setup fz # (W, CLI, ts, lim)
for seed in 7275089 11; do s50_fuzz "$seed" 100; done
ts "end"
tar czf "$OUT/s52fz.tgz" -C "$W" .

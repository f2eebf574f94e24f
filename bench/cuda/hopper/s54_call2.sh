#!/usr/bin/env bash
# Session 54, call 2: (1) the GPU fuzz with causalBandNaN (test/support/fuzz.ts) at the two seeds that failed in call 1
# (7275089: CUDA dense case 122; 11: CUDA dense FP8 case 89 and WebGPU case 39, all a non-finite V in a causal band) and
# a fresh one (12); (2) the sparse device-index pre-pass (mla_sparse_bound) timed: call 1's old arm failed (the build
# before the bound has no mla_sparse_bound; FLASHMLA_CUDA_SPARSE_BOUND=0 runs it as it was). Arms alternate new, old,
# new, old, each a full `flashmla bench --mode sparse` (indices on the device).
# Predictions (written before the run): (1) every suite passes at 7275089 and 11, 12 unknown; (2) new / old 1.00-1.04
# per shape (4 bytes an index read and written plus one launch of ~3-5 us against 80-370 us).
#   (here)   s29_pack .devstage/s54c2.tar.xz old
#   (device) ln -sfn .ghc .gpu-host && BUDGET=520 OUT=$OUT bash bench/cuda/hopper/s54_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s54c2.tar.xz s50_setup c2 # (W, CLI, ts, lim)
for s in 7275089 11 12; do s50_fuzz $s 110; ts "fuzz $s"; done
for arm in new1:dist/cuda:1 old1:dist-old/cuda:0 new2:dist/cuda:1 old2:dist-old/cuda:0; do
  IFS=: read -r tag dir bound <<< "$arm"
  FLASHMLA_CUDA_SPARSE_BOUND=$bound FLASHMLA_CUDA_KERNELS=$dir timeout -k 5 "$(lim 40)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 30 \
    --out "$W/ab-$tag.json" > "$W/ab-$tag.txt" 2>&1; echo "ab $tag rc $?"
done
s50_sparse_rows ab-new1.json ab-old1.json
s50_sparse_rows ab-new2.json ab-old2.json
ts "end"
tar czf "$OUT/s54c2.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 55, call 4: the PDL launch of sparse_sm90.cu after the bound pass, captured in a CUDA graph (a programmatic
# edge) and run directly, against the bits of the same calls with clean host indices (test/gpu/sparse.test.ts, "after the
# bound pass"); the GPU fuzz (a third of its sparse cases keep indices on the device; dense FP8 of 64+ rows runs the
# lists pass) at two fresh seeds on CUDA and WebGPU.
# Predictions (written before the run): both pass.
#   (here)   s29_pack .devstage/s55c4.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=300 OUT=$OUT bash bench/cuda/hopper/s55_call4.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s55c4.tar.xz s50_setup c4 # (W, CLI, ts, lim)
s50_sparse_suite graph 60 "after the bound pass"
grep -E "^# (v32|model1) hQ" "$W/graph.tap" | head -4; grep -E "^not ok|Error|expected" "$W/graph.tap" | head -8
ts "graph"
for s in 31 32; do s50_fuzz $s 80; ts "fuzz $s"; done
tar czf "$OUT/s55c4.tgz" -C "$W" .

#!/usr/bin/env bash
# (Its timing / ncu / FlashMLA loops were moved into s50_common.sh's s57_* helpers, its sanitizer loop into s58_sanitize, after the run: the same steps.)
# Session 57, call 4 (after call 3: the lists kernel's loads batched, 5.7-7.0 us from 11.3-12.3; dense FP8 64 heads
# 0.985-0.994 of call 2's build in the loop). Now the lists are cut into CTAs of 2048 entries (kListChunk), so that a
# row of 8192 keys is four CTAs of one load round each instead of one CTA of four rounds. `c3` = call 3's build.
# (1) the final build's checks: the GPU fuzz at two new seeds (CUDA and WebGPU), test/gpu/sparse.test.ts whole, the graph
#     tests of test/gpu/cuda.test.ts (graphs now also hold the dense plan buffer), memcheck and racecheck on the lists
#     test and the record / capture test.
# (2) time, two rounds alternating: dense FP8 64 / 128 heads, host and device lengths, this build and c3.
# (3) ncu of the lists kernel, this build and c3, host lengths.
# Predictions (written before the run): (1) pass, 0 errors, no hazards outside the known _sp sites; (2) this / c3
#     0.993-0.999 (the lists kernel is mostly hidden behind the decode's launch under PDL); (3) lists 3-4 us (from 5.7-7.0).
#   (here)   s29_pack .devstage/s57c4.tar.xz c3
#   (device) ln -sfn .ghc .gpu-host && BUDGET=500 OUT=$OUT bash bench/cuda/hopper/s57_call4.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s57c4.tar.xz s50_setup c4 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
for s in 40 41; do s50_fuzz $s 90; ts "fuzz $s"; done
s50_sparse_suite all 200 "."
grep -E "^\s*not ok|Error|expected|actual" "$W/all.tap" | cut -c1-240 | head -12; grep -E "^# (pass|fail|skip)" "$W/all.tap"
ts "sparse.test"
timeout -k 5 "$(lim 60)" node --test --test-name-pattern "graph" build/test/gpu/cuda.test.js > "$W/graph.tap" 2>&1
echo "graph rc $?"; grep -E "^# (pass|fail)|^not ok" "$W/graph.tap" | head -6
ts "graph"
s58_sanitize "mla_dense_fp8_lists|plan \(its record\)" 60 memcheck racecheck
s57_dense_builds new:dist/cuda c3:dist-c3/cuda
ts "time"
s57_ncu_dense new:dist/cuda c3:dist-c3/cuda
ts "end"
tar czf "$OUT/s57c4.tgz" -C "$W" .

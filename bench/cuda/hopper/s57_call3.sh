#!/usr/bin/env bash
# (Its timing / ncu / FlashMLA loops were moved into s50_common.sh's s57_* helpers after the run: the same steps.)
# Session 57, call 3 (after call 2: the dense plan record correct and racecheck-clean; dense FP8 64 heads with device
# lengths 1.006 / 1.017 of host lengths; ncu: mla_dense_fp8_lists takes 11.3 us with host lengths (the plan CTA's walk
# only +0.2-1.3 us beside it), ahead of every dense FP8 step of 64+ heads, and device-planned steps run the merge
# (3.7 us) where the host plan splits no request). Now the lists kernel issues 8 entries' table loads before their
# stores (__restrict__, unrolled): each entry's load sat behind the previous store. `c2` = call 2's build.
# (1) correctness: the lists plan test, the device-length and host-length random dense cases (40 + 40 + 40), the record /
#     capture test, the folded cases (40); memcheck on the lists test.
# (2) time, two rounds alternating: dense FP8 64 / 128 heads, host and device lengths, this build and c2.
# (3) ncu of the lists kernel, this build and c2, host lengths.
# Predictions (written before the run): (1) pass, 0 errors; (2) this / c2 at 64 heads 0.980-0.990 (-5 to -9 us of ~476),
#     at 128 heads 0.988-0.995 (the same microseconds of ~780); (3) lists 2-4 us (from 11.3).
#   (here)   s29_pack .devstage/s57c3.tar.xz c2
#   (device) ln -sfn .ghc .gpu-host && BUDGET=420 OUT=$OUT bash bench/cuda/hopper/s57_call3.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s57c3.tar.xz s50_setup c3 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
FLASHMLA_GPU_DENSE64_CASES=40 FLASHMLA_GPU_DENSE_FOLD_CASES=40 \
  s50_sparse_suite dense 150 "mla_dense_fp8_lists|random cases \(seed 97000|lengths on the device|plan \(its record\)|random folded cases \(seed 99000"
grep -E "^\s*not ok|Error|expected|actual" "$W/dense.tap" | cut -c1-240 | head -12; grep -E "^\s+ok [0-9]+ - " "$W/dense.tap" | grep -v SKIP | cut -c1-150
ts "checks"
timeout -k 5 "$(lim 60)" compute-sanitizer --tool memcheck --print-limit 20 node --test --test-name-pattern "mla_dense_fp8_lists" build/test/gpu/sparse.test.js > "$W/memcheck.txt" 2>&1
echo "memcheck rc $?: $(grep -E 'ERROR SUMMARY' "$W/memcheck.txt" | tail -1) $(grep -E '^# (pass|fail)' "$W/memcheck.txt" | tr '\n' ' ')"
ts "memcheck"
s57_dense_builds new:dist/cuda c2:dist-c2/cuda
ts "time"
s57_ncu_dense new:dist/cuda c2:dist-c2/cuda
ts "end"
tar czf "$OUT/s57c3.tgz" -C "$W" .

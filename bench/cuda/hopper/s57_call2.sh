#!/usr/bin/env bash
# (Its timing / ncu / FlashMLA loops were moved into s50_common.sh's s57_* helpers, its suite and sanitizer loop into s58_devplan and s58_sanitize, after the run: the same steps.)
# Session 57, call 2 (after call 1: the one-axis walk correct; sparse walk +4.8-5.8 us a call where session 56's ballot
# took +6.3-12.3; dense FP8 64 heads with device lengths still +8-13 us over host lengths). Now dense FP8 steps planned
# on the device keep their plan and a record of it in the runner's own buffer (densePlan: [4 + b] = 1, b, parts, 0,
# each request's blocks), so a step's later layers skip the walk, as sparse metadata's planState does.
# (1) correctness: the new record / capture test (three shapes: eager calls with the same lengths, moved within and
#     across blocks, captured steps replayed with new lengths, bits against host-length calls), the lists plan test, the
#     device-length random cases (40 + 40), the sparse device-plan suite (60 seeds); memcheck and racecheck on the new test.
# (2) time, two rounds alternating: dense FP8 64 / 128 heads, host lengths / device lengths / device lengths with
#     FLASHMLA_CUDA_SPARSE_REPLAN=1 (the walk at every call). (3) ncu gpu__time_duration of the lists kernel, the decode
#     and the merge at 64 heads, host and device lengths (REPLAN=1), kernels serialised.
# Predictions (written before the run): (1) pass, 0 errors, no hazard outside the known _sp sites; (2) device / host 0.99-1.01
#     at 64 and 128 heads (the record check: 128 lengths read by one CTA); REPLAN / host 1.01-1.02 at 64 heads;
#     (3) the lists kernel ~3-4 us host, +4-6 us with the walk; decode and merge equal within 2 %.
#   (here)   s29_pack .devstage/s57c2.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=420 OUT=$OUT bash bench/cuda/hopper/s57_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s57c2.tar.xz s50_setup c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
s58_devplan 60 40 150
s58_sanitize "plan \(its record\)" 60 memcheck racecheck
for arm in host1:0: dev1:0:--dense-device-lens rep1:1:--dense-device-lens host2:0: dev2:0:--dense-device-lens rep2:1:--dense-device-lens; do
  IFS=: read -r tag rep flag <<< "$arm"
  FLASHMLA_CUDA_SPARSE_REPLAN=$rep timeout -k 5 "$(lim 45)" "${CLI[@]}" bench --mode sparse --backend cuda --flush-mb 256 --rep-ms 40 --dense-only --dense-heads 64,128 $flag \
    --out "$W/dense-$tag.json" > "$W/dense-$tag.txt" 2>&1; echo "dense $tag rc $?"; grep -E "^dense V3" "$W/dense-$tag.txt" | cut -c1-170
done
ts "time"
s57_ncu_dense host:dist/cuda:; FLASHMLA_CUDA_SPARSE_REPLAN=1 s57_ncu_dense rep:dist/cuda:--dense-device-lens
ts "end"
tar czf "$OUT/s57c2.tgz" -C "$W" .

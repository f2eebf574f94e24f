#!/usr/bin/env bash
# (Its suite, sanitizer and A/B loops were moved into s50_common.sh's s58_* helpers after the run: the same steps.)
# Session 58, call 2. Call 1 (H100) found the entry split worth more than session 57 measured for its 37 KB: with the
# host plan, FlashMLA's 12 sparse shapes took 0.942-1.005x the time of the one-entry build (MODEL1 64-head rows 0.97-0.99,
# CONFIG3 0.94-0.955), and --device-plan, whose plan entry still carried the 37 KB in every copy CTA, took 1.06x the
# host plan's time on CONFIG3. Why: MODEL1's decode CTAs (209 KB of shared memory) fit beside a pass CTA on an SM only
# while the pass holds < ~17 KB (V3.2's, 225 KB, never do). Now the plan entries come in two capacities (PlanSmall:
# 1024 requests / 512 parts in ~10 KB, mla_*_plan; PlanWide: 37 KB, mla_*_plan_wide past it).
# (1) the device-plan suites, with the new direct tests of both plan entries of each pass (rows against the host
#     scheduler about both capacities, the record and the skipped walk), then memcheck on them;
# (2) --device-plan, this build against call 1's (dist-c1: its _plan entry 37 KB; the same TS choice of entry below 1025
#     requests), alternating, two rounds;
# (3) FlashMLA 9241ae3's sparse table and ours (host plan with the dense FP8 rows, --device-plan) in the same call;
# (4) dense FP8 64 heads with host and device lengths (the lists' plan entry now 10 KB).
# Predictions (written before the run): (1) pass, 0 errors; (2) MODEL1 64-head rows and CONFIG3 0.94-0.99, V3.2 and
#     MODEL1 128-head rows 0.99-1.01; (3) host as call 1 (1.019x) +-2 %, device plan within 1 % of the host plan a row
#     (CONFIG3 included); (4) device / host lengths 1.00-1.03 as session 57.
#   (here)   s29_pack .devstage/s58c2.tar.xz c1
#   (device) ln -sfn .ghc .gpu-host && BUDGET=420 OUT=$OUT bash bench/cuda/hopper/s58_call2.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s58c2.tar.xz s50_setup c2 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
s58_devplan 20 6 100
s58_sanitize "_plan / _plan_wide" 90 memcheck
s58_sparse_ab dp --device-plan new1:dist/cuda c1a:dist-c1/cuda new2:dist/cuda c1b:dist-c1/cuda
s50_sparse_rows dp-new1.json dp-c1a.json; echo; s50_sparse_rows dp-new2.json dp-c1b.json
ts "plan entry a/b"
s57_sparse_flashmla "host:--dense-heads 16,32" dev:--device-plan
s50_sparse_rows cuda-sparse-dev.json cuda-sparse-host.json
ts "flashmla"
s50_dense_lens_ab 64
ts "end"
tar czf "$OUT/s58c2.tgz" -C "$W" .

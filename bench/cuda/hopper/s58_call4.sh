#!/usr/bin/env bash
# Session 58, call 4: call 3's ncu found MODEL1 CONFIG3's decode kernel itself ~6.5 us longer with --device-plan (115
# against 108.6 us, the merge the same 8.8 us), CONFIG4 ~1 us. bench/cuda/hopper/s58_config3.ts builds the bench's
# inputs for those rows, reads back the plan the device wrote against the host scheduler's, and times both plans
# alternating. Prediction (written before the run): the plans the SAME (the suites compare them on random shapes), the
# gap as in calls 2-3 (CONFIG3 1.04-1.06); if the plans differ, that is the bug.
#   (here)   s29_pack .devstage/s58c4.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=200 OUT=$OUT bash bench/cuda/hopper/s58_call4.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s58c4.tar.xz s50_setup c4 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
timeout -k 5 "$(lim 150)" node build/bench/cuda/hopper/s58_config3.js "MODEL1 CONFIG3,MODEL1 CONFIG4,MODEL1 CONFIG1" 2>&1 | tee "$W/config3.txt"
ts "end"

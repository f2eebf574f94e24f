#!/usr/bin/env bash
# Session 58, call 6: calls 4-5 left two differences between a host-planned and a device-planned MODEL1 64-head step with
# lengths (the device plan ~6 us slower, the same rows, any staging pad): the decode reads the rows and split counts
# from the metadata's own allocations, and the lengths from the pass's clamped copy. s58_config3.ts --arms takes them
# apart: host lengths with onDevice metadata (metadata allocations, staged lengths, the plan CTA), and without lengths
# the host plan staged against the same host-made plan in device tensors (no plan CTA, no lengths).
# Predictions (written before the run): if the metadata's allocations are the cause, "host lengths, device metadata" is
# as slow as "device" and "no lengths, device tensors" slower than "no lengths, host plan" by a like amount; if the
# length copy, "host lengths, device metadata" is as fast as "host".
#   (here)   s29_pack .devstage/s58c6.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=120 OUT=$OUT bash bench/cuda/hopper/s58_call6.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s58c6.tar.xz s50_setup c6 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
timeout -k 5 "$(lim 90)" node build/bench/cuda/hopper/s58_config3.js "MODEL1 CONFIG3,MODEL1 CONFIG1" --arms 2>&1 | tee "$W/arms.txt"
ts "end"

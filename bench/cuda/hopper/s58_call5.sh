#!/usr/bin/env bash
# Session 58, call 5: call 4 found the device-written plan the SAME as the host's on MODEL1 CONFIG3 / CONFIG4 / CONFIG1
# (with lengths), yet the device plan ~6 us slower at 64 heads (CONFIG3 130 against 123.5 us, CONFIG1 102.6 against
# 96.6) and ~1.5 at 128 heads. The inputs and rows are the same; what differs for the decode kernel is where its
# buffers sit: a host plan stages its lengths, rows and split counts at the front of the staging workspace (3584 bytes
# at CONFIG3), so the accumulators and the index copies after them start 3584 bytes later than a device plan's.
# FLASHMLA_CUDA_SPARSE_STAGE_PAD moves them by that many bytes (a measurement knob). Both plans at pads 0 / 512 / 1024 /
# 2048 / 3584 / 4096, one process each.
# Prediction (written before the run): if placement is the cause, device at pad 3584 = host at pad 0 (+-1 %), and the
# times vary with the pad in both plans; else the pad changes nothing.
#   (here)   s29_pack .devstage/s58c5.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=200 OUT=$OUT bash bench/cuda/hopper/s58_call5.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s58c5.tar.xz s50_setup c5 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
for pad in 0 3584 512 1024 2048 4096 0; do
  echo "pad $pad: $(FLASHMLA_CUDA_SPARSE_STAGE_PAD=$pad timeout -k 5 "$(lim 40)" node build/bench/cuda/hopper/s58_config3.js "MODEL1 CONFIG3,MODEL1 CONFIG1" 2>&1 | grep -E "host|DIFFER" | tr '\n' ' ')"
done
ts "end"

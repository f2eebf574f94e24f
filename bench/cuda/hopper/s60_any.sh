#!/usr/bin/env bash
# Session 60: one command for whichever card comes. An H200 runs the record call (s58_record.sh: the dense grid under
# both protocols and the WebGPU grid, FlashMLA 9241ae3 in the same call; no H200 number since sessions 37 / 43); any
# other card runs s60_call2.sh (the in-process slowdown probes, the gemm probe's set 3, the WebGPU grid). Everything
# under $OUT but log.txt is packed into $OUT/all.tgz (a call brings back 8 files at most).
#   (device) ln -sfn .ghc .gpu-host && PACK=.devstage/s60c.tar.xz OUT=$OUT bash bench/cuda/hopper/s60_any.sh > $OUT/log.txt 2>&1
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); echo "card: $card"
if [[ "$card" == *H200* && -z "${NO_RECORD:-}" ]]; then BUDGET=${BUDGET:-545} bash bench/cuda/hopper/s58_record.sh
else BUDGET=${BUDGET:-400} bash bench/cuda/hopper/s60_call2.sh; fi
( cd "$OUT" && tar czf /tmp/all.tgz --exclude=./log.txt . && find . -mindepth 1 ! -name log.txt -delete && mv /tmp/all.tgz . )

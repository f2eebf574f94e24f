#!/usr/bin/env bash
# Session 57, call 7 — PREPARED, NOT RUN (the session's device time ran out; the landed tree does not have the split):
# first `git apply bench/cuda/hopper/s57-entry-split.patch`, build (tsc + build-kernels), then pack and run as below.
# The passes split into two entries each (mla_sparse_bound / _plan, mla_dense_fp8_lists / _plan): the walk's 37 KB of
# static shared memory only in the entries with the plan CTA (call 6: with it in every copy CTA, the 12 sparse shapes
# took 1.003x session 56's time, 0.993-1.012 a row). Add call 6's A/B (this build against the landed one) if time allows.
# (1) the device-plan suites (the plans row by row, the record / capture test, the lists test, device-length cases);
# (2) FlashMLA 9241ae3's sparse table and ours (host plan) in the same call.
# Predictions (written before the run): (1) pass; (2) within +-2 % of call 5's 1.008x on the same card kind (H100), or a
#     first H200 record since session 50 if one comes (session 39's H200: 1.034x).
#   (here)   s29_pack .devstage/s57c7.tar.xz
#   (device) ln -sfn .ghc .gpu-host && BUDGET=240 OUT=$OUT bash bench/cuda/hopper/s57_call7.sh > $OUT/log.txt 2>&1
source bench/cuda/hopper/s50_common.sh && PACK=.devstage/s57c7.tar.xz s50_setup c7 # (W, CLI, ts, lim)
nvidia-smi --query-gpu=name --format=csv,noheader
FLASHMLA_GPU_SPARSE_DEVPLAN_CASES=30 FLASHMLA_GPU_DENSE64_CASES=10 FLASHMLA_GPU_DENSE_FOLD_CASES=10 \
  s50_sparse_suite devplan 80 "metadata planned on the device|mla_dense_fp8_lists|lengths on the device|plan \(its record\)"
grep -E "^\s*not ok|Error|expected|actual" "$W/devplan.tap" | cut -c1-240 | head -12; grep -E "^\s+ok [0-9]+ - " "$W/devplan.tap" | grep -v SKIP | cut -c1-150
ts "devplan"
s57_sparse_flashmla host:
grep -E "^ *(V3|MODEL1)" "$W/cuda-sparse-host.txt" | cut -c1-160 | head -16
ts "end"
tar czf "$OUT/s57c7.tgz" -C "$W" .

#!/usr/bin/env bash
# Session 42, call 10 (H200): the GPU tests of the session's final tree (the CUDA layer test after its mask refactor, the
# WebGPU layer and read-back tests; ONLY=cuda: the CUDA test alone, as call 11 ran it).   OUT=$OUT bash bench/cuda/hopper/s42_call10.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s42c10.tar.xz}"
N=${N:-10}
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s42-c$N; rm -rf $W; mkdir -p $W
timeout -k 5 150 node --test build/test/gpu/mla-device.test.js > $W/mla-device.tap 2>&1; echo "mla-device rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/mla-device.tap | head
[ "${ONLY:-}" = cuda ] || timeout -k 5 150 node --test build/test/backends/webgpu-layer.test.js > $W/webgpu-layer.tap 2>&1; echo "webgpu-layer rc $?"; grep -E "^# (pass|fail|skipped)|^not ok" $W/webgpu-layer.tap | head
[ "${ONLY:-}" = cuda ] || timeout -k 5 100 node --test --test-name-pattern="read-back" build/test/backends/webgpu.test.js > $W/webgpu-readback.tap 2>&1; echo "read-back rc $?"; grep -E "^# (pass|fail)" $W/webgpu-readback.tap
tar czf "$OUT/s42c$N.tgz" -C $W .

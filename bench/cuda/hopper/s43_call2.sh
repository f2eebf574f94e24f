#!/usr/bin/env bash
# Session 43, call 2 (H200): the GPU tests of the merged tree: test/gpu/mla-device (helper h2's bf16 split-K: the
# shipping rule's clause (a)) and test/backends/webgpu-batch (the step batched: a todo on GPUs; its new control: the
# step unbatched on two fresh backends).   OUT=$OUT bash bench/cuda/hopper/s43_call2.sh  (carry .ghc, .devstage)
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_unpack "${PACK:-.devstage/s43c2.tar.xz}"
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s43-c2; rm -rf $W; mkdir -p $W
timeout -k 5 100 node --test build/test/backends/webgpu-batch.test.js > $W/webgpu-batch.tap 2>&1; echo "webgpu-batch rc $?"; grep -E "^# (pass|fail|skipped|todo)|^not ok|^ok|# TODO" $W/webgpu-batch.tap | head -12
timeout -k 5 420 node --test build/test/gpu/mla-device.test.js > $W/mla-device.tap 2>&1; echo "mla-device rc $?"
grep -E "^# (pass|fail|skipped)|^not ok|^ok" $W/mla-device.tap | head -20
tar czf "$OUT/s43c2.tgz" -C $W .

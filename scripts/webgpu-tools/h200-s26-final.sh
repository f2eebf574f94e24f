#!/usr/bin/env bash
# Session 26 (issue #13): the recorded WebGPU run on the H200 with the session's defaults ('auto' plan by the WebGPU
# rule, firstEarly by the plan): h200-s25-final.sh (FlashMLA's grid plus b=1 and the uneven batch, the small-batch
# set, FlashMLA 9241ae3 in the same call, the WGSL ceilings, the GPU matrix suite with 300 random cases, the backend
# suite, the wide combine's suite), then webgpu-schedule and webgpu-nan on the default. From the tree's root,
# .gpu-host (webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s26-final.sh
set -u
[ -n "${SUITES_ONLY:-}" ] || OUT=$OUT bash scripts/webgpu-tools/h200-s25-final.sh 2>&1 | grep -v '^$'
mkdir -p /tmp/s25-final
source scripts/webgpu-tools/h200-s25-common.sh
source .gpu-host/enter.sh >/dev/null # (the first run of this script lacked this line: its two suites found no node)
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s25-final
R=(timeout -k 2 ${SUITE_TIMEOUT:-150} node --test --test-reporter=tap)
"${R[@]}" build/test/backends/webgpu-schedule.test.js > "$W/schedule.tap" 2>&1 &
"${R[@]}" build/test/backends/webgpu-nan.test.js > "$W/nan.tap" 2>&1 &
wait
for f in schedule nan; do suite_line "$W/$f.tap"; done
tar czf "$OUT/all.tgz" -C "$W" .

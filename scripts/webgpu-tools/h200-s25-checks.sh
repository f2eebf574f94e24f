#!/usr/bin/env bash
# Session 25 (issue #13): the WebGPU suites that the recorded run did not run, on the H200's new default (the combine's
# column slices, qRowLanes by the plan): webgpu-nan, webgpu-schedule (both plans), webgpu-wide-combine, mla (the MLA
# layer). From the tree's root, .gpu-host (webgpu) and build/ carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-checks.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s25-checks
R=(timeout -k 2 ${SUITE_TIMEOUT:-150} node --test --test-reporter=tap)
"${R[@]}" build/test/backends/webgpu-nan.test.js > "$W/nan.tap" 2>&1 &
"${R[@]}" build/test/backends/webgpu-schedule.test.js > "$W/schedule.tap" 2>&1 &
"${R[@]}" build/test/gpu/mla.test.js > "$W/mla.tap" 2>&1 &
wait
for f in nan schedule mla; do suite_line "$W/$f.tap"; done
tar czf "$OUT/all.tgz" -C "$W" .

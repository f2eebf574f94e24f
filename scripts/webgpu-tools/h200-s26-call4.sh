#!/usr/bin/env bash
# Session 26 (issue #13), call 4: (1) firstEarly by the plan (the tree's default) against the default without it on
# ten shapes not used to fit the rule, two tile16-ab processes, judged by s26_fe_rule.py; (2) the recorded run
# (h200-s25-final.sh: FlashMLA's grid plus b=1 and the uneven batch, the small-batch set, FlashMLA 9241ae3 in the same
# call, the GPU matrix suite with 300 random cases, the backend suite, the wide combine's suite), with firstEarly as
# the rule decided (FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY=auto on SHIP, 0 on KEEP); (3) webgpu-schedule and webgpu-nan.
# From the tree's root, .gpu-host (webgpu and the anchors) and build/ carried; FLASHMLA_COMMIT set:
#   OUT=$OUT bash scripts/webgpu-tools/h200-s26-call4.sh
source scripts/webgpu-tools/h200-s25-common.sh; ab_frame /tmp/s26-c4
cfg='[{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":8192,"h_q":16,"s_q":1},{"b":32,"s_k":2048,"h_q":16,"s_q":1},{"b":4,"s_k":16384,"h_q":64,"s_q":1},{"b":1,"s_k":131072,"h_q":16,"s_q":1},{"b":2,"s_k":4096,"h_q":128,"s_q":2},{"b":3,"seqlens":[20000,3000,9000],"h_q":16,"s_q":2},{"b":64,"s_k":2048,"h_q":16,"s_q":1},{"b":64,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":2048,"h_q":64,"s_q":1}]'
AB_TIMEOUT=150 ab_run dflt,nofe "$cfg" ab-1 15 > /dev/null
AB_TIMEOUT=150 ab_run dflt,nofe "$cfg" ab-2 15 2 > /dev/null
python3 scripts/webgpu-tools/s26_fe_rule.py "$W/ab-1.txt" "$W/ab-2.txt" | tee "$W/rule.txt"
grep -q 'VERDICT SHIP' "$W/rule.txt" && FE=auto || FE=0
echo "recorded run with FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY=$FE"
FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY=$FE OUT=/tmp bash scripts/webgpu-tools/h200-s25-final.sh 2>&1 | grep -v '^$'
cp /tmp/all.tgz "$W/final.tgz"
R=(timeout -k 2 ${SUITE_TIMEOUT:-150} node --test --test-reporter=tap)
FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY=$FE "${R[@]}" build/test/backends/webgpu-schedule.test.js > "$W/schedule.tap" 2>&1 &
FLASHMLA_WEBGPU_MATRIX_FIRSTEARLY=$FE "${R[@]}" build/test/backends/webgpu-nan.test.js > "$W/nan.tap" 2>&1 &
wait
for f in schedule nan; do suite_line "$W/$f.tap"; done
tar czf "$OUT/all.tgz" -C "$W" .
cp /tmp/s25-final/webgpu.json /tmp/s25-final/webgpu-small.json "$OUT/" 2>/dev/null; true

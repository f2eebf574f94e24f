#!/usr/bin/env bash
# Session 25 (issue #13), call 5: (a) qRowLanes picked by the plan ('auto') against the default and qRowLanes forced on
# ten hold-out shapes; (b) infSafe 'seen' and the 'fill' plan at b = 1 around s_k 32768; (c) the SASS of matrix5-seen
# and matrix5-q1. Predictions and rules: results/gpu-host/bench/hopper/s25_webgpu/predictions.txt. From the tree's
# root, .gpu-host (webgpu), build/ and .devstage/s24a (zstd) carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call5.sh
set -u
source .gpu-host/enter.sh >/dev/null
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s25-c5; rm -rf "$W"; mkdir -p "$W"
echo '[{"b":1,"s_k":2048,"h_q":16,"s_q":1},{"b":1,"s_k":131072,"h_q":16,"s_q":1},{"b":8,"s_k":8192,"h_q":16,"s_q":1},{"b":64,"s_k":2048,"h_q":16,"s_q":1},{"b":4,"s_k":16384,"h_q":64,"s_q":1},{"b":128,"s_k":2048,"h_q":16,"s_q":1},{"b":32,"s_k":8192,"h_q":16,"s_q":1},{"b":64,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":2048,"h_q":64,"s_q":1},{"b":16,"s_k":32768,"h_q":16,"s_q":1}]' > "$W/cfg-a.json"
echo '[{"b":1,"s_k":24576,"h_q":16,"s_q":1},{"b":1,"s_k":28672,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":36864,"h_q":16,"s_q":1},{"b":1,"s_k":40960,"h_q":16,"s_q":1}]' > "$W/cfg-b.json"
ARMS=dflt,q2,q2a ISO_RANDOM=6 timeout 200 node scripts/webgpu-tools/tile16-ab.mjs --configs "$W/cfg-a.json" --reps 15 --out "$W/ab-a.json" > "$W/ab-a.txt" 2>&1
echo "ab-a rc $?"; grep -E '^(CHECK|TIME|DECISION|BEST|device)' "$W/ab-a.txt"
ARMS=dflt,seen,fill,seenf ISO_RANDOM=2 timeout 150 node scripts/webgpu-tools/tile16-ab.mjs --configs "$W/cfg-b.json" --reps 20 --out "$W/ab-b.json" > "$W/ab-b.txt" 2>&1
echo "ab-b rc $?"; grep -E '^(CHECK|TIME|DECISION|BEST)' "$W/ab-b.txt"
( ZSTD=$PWD/.devstage/s24a/zstdw NAMES="matrix5-q1 matrix5-seen" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
tar czf "$OUT/all.tgz" -C "$W" .

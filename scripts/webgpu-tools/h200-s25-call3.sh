#!/usr/bin/env bash
# Session 25 (issue #13), call 3: the combine's column slices alone, infSafe 'seen' with the 'fill' plan, qRowLanes and
# all of them together against the shipped default (tile16-ab arms old, c1s, seen, seenf, sfc, q2, all) on 13 shapes,
# then the SASS of the default (matrix5-q1) and of qRowLanes (matrix5-q2), then the wide-combine suite. Predictions and
# rules: results/gpu-host/bench/hopper/s25_webgpu/predictions.txt. From the tree's root, .gpu-host (webgpu), build/
# and .devstage/s24a (zstd) carried:   OUT=$OUT bash scripts/webgpu-tools/h200-s25-call3.sh
set -u
source .gpu-host/enter.sh >/dev/null
export FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s25-c3; rm -rf "$W"; mkdir -p "$W"
cfg=${CONFIGS:-'[{"b":1,"s_k":4096,"h_q":16,"s_q":1},{"b":1,"s_k":16384,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":1,"s_k":65536,"h_q":16,"s_q":1},{"b":2,"s_k":16384,"h_q":16,"s_q":1},{"b":4,"s_k":8192,"h_q":32,"s_q":1},{"b":16,"s_k":4096,"h_q":16,"s_q":1},{"b":32,"s_k":2048,"h_q":16,"s_q":1},{"b":128,"s_k":1024,"h_q":16,"s_q":1},{"b":128,"s_k":4096,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":64,"s_k":8192,"h_q":64,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'}
echo "$cfg" > "$W/cfg.json"
ARMS=${ARMS:-old,c1s,seen,seenf,sfc,q2,all} ISO_RANDOM=${ISO_RANDOM:-6} timeout ${AB_TIMEOUT:-300} node scripts/webgpu-tools/tile16-ab.mjs --configs "$W/cfg.json" --reps ${REPS:-20} --out "$W/ab.json" > "$W/ab.txt" 2>&1
echo "ab rc $?"; grep -E '^(CHECK|TIME|DECISION|BEST|device)' "$W/ab.txt"
[ -n "${NO_SASS:-}" ] || ( ZSTD=$PWD/.devstage/s24a/zstdw NAMES="${SASS_NAMES:-matrix5-q1 matrix5-q2}" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
if [ -z "${NO_SUITE:-}" ]; then
  timeout -k 2 ${SUITE_TIMEOUT:-120} node --test --test-reporter=tap build/test/backends/webgpu-wide-combine.test.js > "$W/suite-wide.tap" 2>&1
  echo "suite-wide: $(grep -E '^# (pass|fail|skipped|todo) ' "$W/suite-wide.tap" | tr -d '#' | xargs) $(grep -m3 '^ *not ok' "$W/suite-wide.tap" | tr '\n' ' ')"
fi
tar czf "$OUT/all.tgz" -C "$W" .

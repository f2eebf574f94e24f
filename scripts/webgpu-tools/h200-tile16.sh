#!/usr/bin/env bash
# Session 11, helper s11-h4: the tile16 candidate of v5 on the H200 in one call (docs/notes/webgpu-matrix-tile16.md),
# from the staged tree (build/ compiled by tsc) after `source .gpu-host/enter.sh`:
#   1. tile16-ab.mjs: v5 (shipped, lazy) and the candidate kernels checked against the float64 reference (CHECK lines), then the
#      arms timed in one process (TIME lines; ratios to v5 at 132 parts) and a DECISION line;
#   2. if SUITE_KERNEL's CHECK passed (t16 | pair | t16pair | ahead | best, default t16): the GPU suite (test/gpu/webgpu-matrix.test.ts)
#      with that kernel in v5's default layout's place, CASES random cases (default 100).
# Leaves log.txt, ab.txt, ab.json and gpu-test.txt under $OUT. TIMEOUT_AB / TIMEOUT_TEST bound the steps.
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/h200-log.sh" h200-tile16 # OUT, $L, say, quiet
CONFIGS=${CONFIGS:-'[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1}]'}
echo "$CONFIGS" > "$OUT/configs.json"
say "tile16-ab (checks, then timing of what passed)"
FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-test/fixtures/golden} timeout "${TIMEOUT_AB:-100}" node "$here/tile16-ab.mjs" --configs "$OUT/configs.json" --out "$OUT/ab.json" > "$OUT/ab.txt" 2>&1
echo "exit $?" >> "$L"
grep -E '^(device|CHECK|TIME|DECISION)' "$OUT/ab.txt" >> "$L"
grep -q '^DECISION' "$OUT/ab.txt" || grep -v '^\[' "$OUT/ab.txt" | tail -20 >> "$L"
grep -E '^BEST' "$OUT/ab.txt" >> "$L"
# SUITE_KERNEL=best: the kernel of the fastest candidate arm (tile16-ab.mjs's BEST line).
[ "${SUITE_KERNEL:-t16}" = best ] && SUITE_KERNEL=$(awk '/^BEST/ { print $2 }' "$OUT/ab.txt")
if grep -q "^CHECK ${SUITE_KERNEL:-t16} .* pass" "$OUT/ab.txt" && [ "${SUITE:-1}" = 1 ]; then
  say "GPU suite, ${SUITE_KERNEL:-t16}, ${CASES:-100} random cases"
  k=${SUITE_KERNEL:-t16}; t16=0; pr=0; la=0; tr=0; case $k in t16) t16=1;; pair) pr=1;; t16pair) t16=1; pr=1;; ahead) la=1;; trim) tr=1;; tlate) tr=late;; esac
  FLASHMLA_MATRIX_TEST_TRIM=$tr FLASHMLA_MATRIX_TEST_TILE16=$t16 FLASHMLA_MATRIX_TEST_PAIR=$pr FLASHMLA_MATRIX_TEST_LOOKAHEAD=$la FLASHMLA_GPU_CASES=${CASES:-100} FLASHMLA_GOLDEN=test/fixtures/golden timeout "${TIMEOUT_TEST:-45}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/gpu-test.txt" 2>&1
  echo "exit $?" >> "$L"
  grep -E '^# (tests|pass|fail)|^not ok|^# .# [0-9]+ cases|^# device' "$OUT/gpu-test.txt" >> "$L"
  grep -E '^ +not ok' "$OUT/gpu-test.txt" | head -8 >> "$L"
fi
say end
cat "$L"

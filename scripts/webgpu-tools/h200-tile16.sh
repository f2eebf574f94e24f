#!/usr/bin/env bash
# Session 11, helper s11-h4: the tile16 candidate of v5 on the H200 in one call (docs/notes/webgpu-matrix-tile16.md),
# from the staged tree (build/ compiled by tsc) after `source .gpu-host/enter.sh`:
#   1. tile16-ab.mjs: v5 (shipped, lazy), t16 and nopf checked against the float64 reference (CHECK lines), then the
#      arms timed in one process (TIME lines; ratios to v5 at 132 parts) and a DECISION line;
#   2. if t16's CHECK passed: the GPU suite (test/gpu/webgpu-matrix.test.ts) with tile16 in v5's default layout's
#      place, CASES random cases (default 100).
# Leaves log.txt, ab.txt, ab.json and gpu-test-t16.txt under $OUT. TIMEOUT_AB / TIMEOUT_TEST bound the steps.
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
if grep -q '^CHECK t16 .* pass' "$OUT/ab.txt" && [ "${SUITE:-1}" = 1 ]; then
  say "GPU suite, tile16, ${CASES:-100} random cases"
  FLASHMLA_MATRIX_TEST_TILE16=1 FLASHMLA_GPU_CASES=${CASES:-100} FLASHMLA_GOLDEN=test/fixtures/golden timeout "${TIMEOUT_TEST:-45}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/gpu-test-t16.txt" 2>&1
  echo "exit $?" >> "$L"
  grep -E '^# (tests|pass|fail)|^not ok|^# .# [0-9]+ cases|^# device' "$OUT/gpu-test-t16.txt" >> "$L"
  grep -E '^ +not ok' "$OUT/gpu-test-t16.txt" | head -8 >> "$L"
fi
say end
cat "$L"

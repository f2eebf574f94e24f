#!/usr/bin/env bash
# v5's lazy rescale of O on the H200 (docs/notes/webgpu-matrix-kernel.md, "v5 lazy"), one device call of ~3 minutes,
# from the staged tree (build/ compiled by tsc) after `source .gpu-host/enter.sh`:
#   1. timing, v5 against v5 lazy in one process (ab-matrix5-lazy.mjs, four arms a config: v5 / lazy / v5 / lazy) on
#      the four shapes and b = 128 s_k = 8192 at h_q 32 and 64 (CONFIGS overrides them);
#   2. the GPU suite (test/gpu/webgpu-matrix.test.ts) with FLASHMLA_MATRIX_TEST_LAZY set to each of MODES (default 1;
#      e.g. MODES="1 side scratch"): v5 lazy in both layouts, every golden case, extremes, NaN and +inf rows, keys
#      growing along the sequence, CASES random cases (default 150).
# Leaves log.txt (both steps' summaries), ab.json and gpu-test-MODE.txt (the suite's TAP) under $OUT. TIMEOUT_AB and
# TIMEOUT_TEST bound the steps (defaults 60 and 150 s). A dry run on lavapipe (emulated products, 4 subgroups):
#   OUT=/tmp/lz ABLATE_EMULATE=1 FLASHMLA_MATRIX_TEST_EMULATE=1 CASES=4 CONFIGS='[{"b":2,"s_k":100,"h_q":16,"s_q":1}]' bash scripts/webgpu-tools/h200-matrix-lazy.sh
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/h200-log.sh" h200-matrix-lazy # OUT, $L, say, quiet
shapes='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":64,"s_q":1}]'
cfg=$(mktemp)
echo "${CONFIGS:-$shapes}" > "$cfg"
say "v5 vs v5 lazy (one process)"
timeout "${TIMEOUT_AB:-60}" node "$here/ab-matrix5-lazy.mjs" --configs "$cfg" --reps 10 --out "$OUT/ab.json" 2>&1 | quiet >> "$L"
echo "exit ${PIPESTATUS[0]}" >> "$L"
for mode in ${MODES:-1}; do
  say "GPU suite, v5 lazy=$mode, ${CASES:-150} random cases"
  FLASHMLA_MATRIX_TEST_LAZY=$mode FLASHMLA_GPU_CASES=${CASES:-150} FLASHMLA_GOLDEN=test/fixtures/golden timeout "${TIMEOUT_TEST:-150}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/gpu-test-$mode.txt" 2>&1
  echo "exit $?" >> "$L"
  grep -E '^# (device|unforced|random|[0-9]+ cases|tests|pass|fail|skipped)|^# .# (random|[0-9]+ cases)|^not ok|^ok' "$OUT/gpu-test-$mode.txt" >> "$L"
  grep -E '^ +not ok' "$OUT/gpu-test-$mode.txt" | head -12 >> "$L"
  grep -E 'FAIL' "$OUT/gpu-test-$mode.txt" | head -3 >> "$L"
done
say end

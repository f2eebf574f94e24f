#!/usr/bin/env bash
# One H200 round for the matrix kernel v6 (docs/notes/webgpu-matrix-kernel.md, "v6": 32 rows a workgroup, opt-in by
# FLASHMLA_WEBGPU_MATRIX_VERSION=6): FlashMLA, the f32 kernel, v5 (the default) and v6 on the issue's four shapes plus
# b=128 s_k=8192 h_q=32 and 64, then the GPU test with v6 in v5's place (FLASHMLA_MATRIX_TEST_VERSION=6) and CASES
# random cases (default 300), in one device call of about 80 s. From the staged tree (build/ compiled by tsc) after
# `source .gpu-host/enter.sh`. Leaves three files under $OUT: log.txt (every timing line and the test's summary),
# test.txt (the test's TAP output) and bench.tar.gz (the JSON and SVG files of the four timings).
# SKIP_TEST=1 skips the test; CONFIGS overrides the configurations (JSON).
set -uo pipefail
CONFIGS=${CONFIGS:-'[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":64,"s_q":1}]'}
. "$(dirname "${BASH_SOURCE[0]}")/h200-matrix-common.sh" h200-matrix-v6 # log, CLI, $cfg, FlashMLA and the f32 kernel
say "matrix kernel v5 (the default path)"
FLASHMLA_WEBGPU_DECODE_PATH=matrix timeout 40 "${CLI[@]}" bench --backend webgpu --configs "$cfg" "${F[@]}" \
  --no-ceilings --check 1 --warmup 2 --reps 10 --out "$OUT/matrix-v5.json" 2>&1 | quiet | grep -E '^config|^b=|rror' >> "$L"
say "matrix kernel v6 (with the copy and matrix ceilings)"
FLASHMLA_WEBGPU_DECODE_PATH=matrix FLASHMLA_WEBGPU_MATRIX_VERSION=6 timeout 60 "${CLI[@]}" bench --backend webgpu --configs "$cfg" "${F[@]}" \
  --check 1 --warmup 2 --reps 10 --out "$OUT/matrix-v6.json" 2>&1 | quiet | grep -E '^config|^b=|rror|ceiling' >> "$L"
if [ "${SKIP_TEST:-0}" != 1 ]; then
  say "matrix kernel GPU test (FLASHMLA_MATRIX_TEST_VERSION=6, FLASHMLA_GPU_CASES=${CASES:-300} on v6)"
  FLASHMLA_MATRIX_TEST_VERSION=6 FLASHMLA_GOLDEN=test/fixtures/golden FLASHMLA_GPU_CASES=${CASES:-300} timeout "${TEST_TIMEOUT:-55}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/test.txt" 2>&1
  echo "exit $?" >> "$OUT/test.txt"; grep -E '^# (pass|fail)|^not ok|cases in|random cases on|FAIL|^# device|^exit' "$OUT/test.txt" | head -24 | tee -a "$L"
fi
say end
# At most three files come back: the log, the test's output, the rest in one archive.
(cd "$OUT" && ls | grep -v -x -e log.txt -e test.txt -e bench.tar.gz | tar czf bench.tar.gz -T - && ls | grep -v -x -e log.txt -e test.txt -e bench.tar.gz | xargs -r rm -f)

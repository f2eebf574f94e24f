#!/usr/bin/env bash
# One H200 round for the matrix kernel v5 (docs/notes/webgpu-matrix-kernel.md, "v5"): FlashMLA, the f32 kernel, v5 in
# its default layout (8 subgroups, with the copy and matrix ceilings: per row bound and roofline_fraction) and with 4
# subgroups on the issue's shapes, then the GPU test with CASES random cases (default 300) on v5, in one device call.
# From the staged tree (build/ compiled by tsc) after `source .gpu-host/enter.sh`; at most 8 files under $OUT.
# SKIP_TEST=1 skips the test; CONFIGS overrides the configurations (JSON).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/h200-matrix-common.sh" h200-matrix-v5 # log, CLI, $cfg, FlashMLA and the f32 kernel
rm -f "$OUT"/*.svg
say "matrix kernel v5, default layout (with the copy and matrix ceilings)"
FLASHMLA_WEBGPU_DECODE_PATH=matrix timeout 60 "${CLI[@]}" bench --backend webgpu --configs "$cfg" "${F[@]}" \
  --check 1 --warmup 2 --reps 10 --out "$OUT/matrix-v5.json" 2>&1 | quiet | tail -7 >> "$L"
rm -f "$OUT"/*.svg
say "matrix kernel v5, 4 subgroups"
FLASHMLA_WEBGPU_DECODE_PATH=matrix FLASHMLA_WEBGPU_MATRIX_SUBGROUPS=4 timeout 40 "${CLI[@]}" bench --backend webgpu --configs "$cfg" \
  --no-ceilings --check 1 --warmup 2 --reps 10 --out "$(mktemp -d)/x.json" 2>&1 | grep -E '^b=|rror' >> "$L"
if [ "${SKIP_TEST:-0}" != 1 ]; then
  say "matrix kernel GPU test (FLASHMLA_GPU_CASES=${CASES:-300} on v5)"
  FLASHMLA_GOLDEN=test/fixtures/golden FLASHMLA_GPU_CASES=${CASES:-300} timeout "${TEST_TIMEOUT:-100}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/test.txt" 2>&1
  echo "exit $?" >> "$OUT/test.txt"; grep -E '^# (pass|fail)|^not ok|cases in|random cases on|FAIL|^# device' "$OUT/test.txt" | head -20 | tee -a "$L"
fi
say end

#!/usr/bin/env bash
# One H200 round for the matrix kernel v4 (docs/notes/webgpu-matrix-kernel.md): its GPU test (CASES random cases,
# default 300, on v4), FlashMLA, the f32 kernel and the v4 kernel on the shapes in one device call. From the
# staged tree (build/ compiled by tsc) after `source .gpu-host/enter.sh`; at most 6 files under $OUT.
# SKIP_TEST=1 skips the test; CONFIGS overrides the configurations (JSON).
set -uo pipefail
OUT=${OUT:-/tmp/h200-matrix-v4}; mkdir -p "$OUT"
L=$OUT/log.txt
CLI=(node scripts/flashmla-dist.mjs build/src)
cfg=$(mktemp)
def='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4},{"b":128,"s_k":8192,"h_q":128,"s_q":1}]'
echo "${CONFIGS:-$def}" > "$cfg"
say() { echo "== $(date -u +%T) $*" | tee -a "$L"; }
if [ "${SKIP_TEST:-0}" != 1 ]; then
  say "matrix kernel GPU test (FLASHMLA_GPU_CASES=${CASES:-300})"
  FLASHMLA_GOLDEN=test/fixtures/golden FLASHMLA_GPU_CASES=${CASES:-300} timeout "${TEST_TIMEOUT:-100}" node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/test.txt" 2>&1
  echo "exit $?" >> "$OUT/test.txt"; grep -E '^# (pass|fail)|^not ok|addressing|cases in|FAIL' "$OUT/test.txt" | head -20 | tee -a "$L"
fi
say "FlashMLA"
PYTHONUNBUFFERED=1 timeout 40 python3 .gpu-host/anchors/bench_flashmla.py --configs "$cfg" --out "$OUT/flashmla.json" --no-triton 2>&1 | tail -6 >> "$L"
F=(); [ -s "$OUT/flashmla.json" ] && F=(--flashmla "$OUT/flashmla.json")
say "f32 kernel"
timeout 40 "${CLI[@]}" bench --backend webgpu --configs "$cfg" "${F[@]}" --no-ceilings --check 1 --warmup 2 --reps 10 --out "$OUT/f32.json" 2>&1 | grep -v '^\[' | tail -9 >> "$L"
say "matrix kernel v4 (with the copy and matrix ceilings; SM parts ${NUMSMS:-132,528})"
FLASHMLA_WEBGPU_DECODE_PATH=matrix timeout 60 "${CLI[@]}" bench --backend webgpu --configs "$cfg" "${F[@]}" --check 1 --warmup 2 --reps 10 --num-sms "${NUMSMS:-132,528}" --out "$OUT/matrix-v4.json" 2>&1 | grep -v '^\[' | grep -v -i 'warning\|^ *\^\|^ *let \|^ *{ var mc\|^ *subgroupMatrix\|^$' | tail -14 >> "$L"
say end

#!/usr/bin/env bash
# One H200 round for the matrix kernel v4 (docs/notes/webgpu-matrix-kernel.md): FlashMLA, the f32 kernel and v4 with
# 4 and with 8 subgroups a workgroup on the issue's shapes (FLASHMLA_WEBGPU_MATRIX_VERSION=4: v5 is the default since
# session 8), then the GPU test (which since session 8 runs its random cases on v5, the layout FLASHMLA_MATRIX_TEST_
# SUBGROUPS names), in one device call. From the staged tree (build/
# compiled by tsc) after `source .gpu-host/enter.sh`; at most 8 files under $OUT.
# SKIP_TEST=1 skips the test; CONFIGS overrides the configurations (JSON); NUMSMS the matrix rows' SM parts;
# ABLATIONS="qk-convert pv-convert,..." also times the faster layout at b=128 s_k=8192 h_q=16 with each listed set of
# parts cut out (scripts/webgpu-tools/ablate-matrix4.mjs; wrong results on purpose), one log line each.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/h200-matrix-common.sh" h200-matrix-v4 # log, CLI, $cfg, FlashMLA and the f32 kernel
for S in 8 4; do
  say "matrix kernel v4, $S subgroups (with the copy and matrix ceilings; SM parts ${NUMSMS:-132})"
  FLASHMLA_WEBGPU_DECODE_PATH=matrix FLASHMLA_WEBGPU_MATRIX_VERSION=4 FLASHMLA_WEBGPU_MATRIX_SUBGROUPS=$S timeout 60 "${CLI[@]}" bench --backend webgpu --configs "$cfg" "${F[@]}" \
    --check 1 --warmup 2 --reps 10 --num-sms "${NUMSMS:-132}" --out "$OUT/matrix-v4-s$S.json" 2>&1 | quiet | tail -7 >> "$L"
done
rm -f "$OUT"/*.svg
best=$(node -e 'const f=require("fs");const ms=(s)=>{try{return JSON.parse(f.readFileSync(process.argv[1]+"/matrix-v4-s"+s+".json")).rows[0].ms}catch{return Infinity}};console.log(ms(8)<ms(4)?8:4)' "$OUT")
if [ -n "${ABLATIONS:-}" ]; then
  acfg=$(mktemp); echo '[{"b":128,"s_k":8192,"h_q":16,"s_q":1}]' > "$acfg"
  for A in none ${ABLATIONS}; do
    say "ablation $A ($best subgroups)"
    ABLATE=$([ "$A" = none ] || echo "$A") FLASHMLA_WEBGPU_MATRIX_SUBGROUPS=$best timeout 30 node scripts/webgpu-tools/ablate-matrix4.mjs --backend webgpu --configs "$acfg" \
      --no-ceilings --check 0 --warmup 2 --reps 10 --out "$(mktemp -d)/a.json" 2>&1 | grep -E '^b=|rror' >> "$L"
  done
fi
if [ "${SKIP_TEST:-0}" != 1 ]; then
  say "matrix kernel GPU test (FLASHMLA_GPU_CASES=${CASES:-300} on $best subgroups)"
  FLASHMLA_GOLDEN=test/fixtures/golden FLASHMLA_GPU_CASES=${CASES:-300} FLASHMLA_MATRIX_TEST_SUBGROUPS=$best timeout "${TEST_TIMEOUT:-100}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/test.txt" 2>&1
  echo "exit $?" >> "$OUT/test.txt"; grep -E '^# (pass|fail)|^not ok|cases in|subgroups$|FAIL' "$OUT/test.txt" | head -20 | tee -a "$L"
fi
say end

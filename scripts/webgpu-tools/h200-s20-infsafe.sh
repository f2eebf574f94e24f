#!/usr/bin/env bash
# Session 20, helper h4's WebGPU slot (docs/notes/webgpu-tensor-core.md, "s20-h4: v5's infinite inputs fixed"): v5
# with its infinite-input fixes (matrix.infSafe, this branch's default) against v5's WGSL before them
# (FLASHMLA_WEBGPU_MATRIX_INFSAFE=0), on the default matrix path (lazy + trim + bounded, robust device), then the GPU
# matrix suite, webgpu-nan.test.ts and webgpu-schedule.test.ts on the fixed default (no `todo` left on the matrix path:
# every NaN / -inf case must equal the reference). From the merged tree's root after the lead's frame (stage unpacked,
# .gpu-host entered; carry .gpu-host enter.sh node.xz node_modules gl anchors + .devstage/s20-h4; no goldens needed):
#   OUT=$OUT timeout 75 bash scripts/webgpu-tools/h200-s20-infsafe.sh        (~70 s warm)
# Steps: build/ of this branch from the stage (dist/ refreshed from it); the four robustness configs (b128 s_k 8192
# h16 / h128, b1 s_k 32768, uneven b4: --only 16,22,24,25, 10 reps), one process a variant, base then fix (WG_T
# 15 s each); then the three suites at once with what is left of END (at least 40 s); the rule
# (scripts/webgpu-tools/s20_infsafe_rule.py). Last line: `SHIP infSafe (...)` or `KEEP ... (...)`.
set -uo pipefail
O=${OUT:?}; S=$SECONDS; END=${END:-70}; STAGE=${STAGE:-.devstage/s20-h4}
ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$O/log.txt"; }
rm -rf build && tar xJf "$STAGE/build.tar.xz" && mkdir -p dist && cp -r build/src/. dist/
ts "stage: build/ of $(cat build/COMMIT 2>/dev/null || echo '?') unpacked, dist/ refreshed"
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden}
WG_T=${WG_T:-15} WG_CEIL=--no-ceilings; . scripts/webgpu-tools/h200-variant-run.sh
for v in base:FLASHMLA_WEBGPU_MATRIX_INFSAFE=0 fix:FLASHMLA_WEBGPU_MATRIX_INFSAFE=; do
  run ${v%%:*} FLASHMLA_DAWN_FLAGS= FLASHMLA_WEBGPU_ROBUSTNESS= ${v#*:} | tee -a "$O/log.txt"
done
left=$((END - (SECONDS - S))); [ $left -lt 40 ] && left=40
ts "suites (fixed v5, the default matrix path, robust), side by side: ${left} s"
unset FLASHMLA_WEBGPU_MATRIX_INFSAFE
R=(timeout -k 2 $left node --test --test-reporter=tap)
FLASHMLA_GPU_CASES=${CASES:-100} "${R[@]}" build/test/gpu/webgpu-matrix.test.js > "$O/suite-matrix.tap" 2>&1 &
"${R[@]}" build/test/backends/webgpu-nan.test.js > "$O/suite-nan.tap" 2>&1 &
"${R[@]}" build/test/backends/webgpu-schedule.test.js > "$O/suite-schedule.tap" 2>&1 &
wait
for f in matrix nan schedule; do
  ts "suite-$f: $(grep -E '^# (pass|fail|skipped|todo) ' "$O/suite-$f.tap" | tr -d '#' | xargs) $(grep -m3 '^not ok' "$O/suite-$f.tap" | tr '\n' ' ')"
done
python3 scripts/webgpu-tools/s20_infsafe_rule.py "$O" > "$O/rule.txt" 2>&1
(cd "$O" && gzip -f suite-matrix.tap suite-nan.tap suite-schedule.tap base.txt fix.txt 2>/dev/null)
tee -a "$O/log.txt" < "$O/rule.txt"

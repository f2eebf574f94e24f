#!/usr/bin/env bash
# Session 18 round 2, helper h1's WebGPU slot (docs/notes/webgpu-tensor-core.md, "Session 18, round 2: the loop
# guards"): the default matrix path (v5 lazy + trim + bounded) against the same with `finite` (kernels/finite-loops.ts:
# the combine's three loops over the splits and v5's work-item, q-prologue and epilogue loops in the form Tint proves
# finite, so that Dawn's robustness gives them no iteration counter). From the merged tree's root after the lead's frame
# (stage18 unpacked, .gpu-host entered; carry .gpu-host enter.sh node.xz node_modules gl anchors + .devstage/s18-h1):
#   OUT=$OUT timeout 75 bash scripts/webgpu-tools/h200-s18-finite.sh        (~70 s warm: two bench processes of
# at most 9 s, then the suite with the rest of 70 s and at least 50)
# Steps: build/ of this branch from the stage (dist/ refreshed from it); b1 s_k 32768 and uneven b4 (--only 24,25: where
# the robust cost is left), one process a variant: base, fin (FLASHMLA_WEBGPU_MATRIX_FINITE=1) (no second base run:
# the suite's 50 s leave no room for it; the rule checks base against call C's bnd instead); then
# test/gpu/webgpu-matrix.test.ts on fin (robust, FLASHMLA_MATRIX_TEST_FINITE=1), 100 random cases, with at least 50 s of
# its own, beside Dawn's SPIR-V of bnd and fin (lazy-spirv.mjs: loop guards, clamps); the rule
# (scripts/webgpu-tools/s18_finite_rule.py). Last line: `SHIP finite (...)` or `KEEP bounded (...)`.
set -uo pipefail
O=${OUT:?}; S=$SECONDS; END=${END:-70}; STAGE=${STAGE:-.devstage/s18-h1}
ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$O/log.txt"; }
rm -rf build && tar xJf "$STAGE/build.tar.xz" && mkdir -p dist && cp -r build/src/. dist/
ts "stage: build/ of $(cat build/COMMIT 2>/dev/null || echo '?') unpacked, dist/ refreshed"
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden}
WG_T=${WG_T:-9} WG_ONLY=${WG_ONLY:-24,25} WG_CEIL=--no-ceilings; . scripts/webgpu-tools/h200-variant-run.sh
for v in base: fin:FLASHMLA_WEBGPU_MATRIX_FINITE=1; do
  run ${v%%:*} FLASHMLA_DAWN_FLAGS= FLASHMLA_WEBGPU_MATRIX_BOUNDED= FLASHMLA_WEBGPU_MATRIX_FINITE= FLASHMLA_WEBGPU_ROBUSTNESS= ${v#*:} | tee -a "$O/log.txt"
done
left=$((END - (SECONDS - S))); [ $left -lt 50 ] && left=50
ts "suite (fin, robust) and dumps: ${left} s"
FLASHMLA_MATRIX_TEST_FINITE=1 FLASHMLA_GPU_CASES=${CASES:-100} timeout -k 2 $left node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$O/suite-fin.tap" 2>&1 &
FLASHMLA_DIST=build/src timeout -k 2 30 node scripts/webgpu-tools/lazy-spirv.mjs "$O/spv" bnd,fin > "$O/spv.txt" 2>&1 &
wait
ts "suite (fin, robust): $(grep -E '^# (pass|fail) ' "$O/suite-fin.tap" | tr -d '#' | xargs) $(grep -m3 '^not ok' "$O/suite-fin.tap" | tr '\n' ' ')"
ts "spirv robust: $(tr '\n' ' ' < "$O/spv.txt" | cut -c1-400)"
python3 scripts/webgpu-tools/s18_finite_rule.py "$O" > "$O/rule.txt" 2>&1
(cd "$O" && tar czf spirv.tgz spv 2>/dev/null && rm -rf spv; gzip -f suite-fin.tap base.txt fin.txt 2>/dev/null)
tee -a "$O/log.txt" < "$O/rule.txt"

#!/usr/bin/env bash
# Session 18, helper h1's WebGPU slot (docs/notes/webgpu-tensor-core.md, "Session 18: v5 with indices Tint can bound"):
# v5 lazy + trim (the default matrix path on the H200) against the same kernel with `bounded` (kernels/decode-matrix5.ts:
# lane indices, QK's part start and the softmax's key slot written so that Tint's range analysis proves them in range, so
# Dawn's robustness transform, still on, drops the clamps and matrix-load predicates in the tile loop). From the merged
# tree's root after the lead's frame (stage18 unpacked, .gpu-host entered; carry .gpu-host enter.sh node.xz node_modules
# gl anchors + .devstage/s18-h1):
#   OUT=$OUT timeout 75 bash scripts/webgpu-tools/h200-s18-bounded.sh        (~70 s warm)
# Steps: build/ of this branch from the stage (dist/ refreshed from it); four configs (b128 s_k 8192 h16 / h128,
# b1 s_k 32768, uneven b4), one process a variant: base0, bnd, base-norob, bnd-norob (FLASHMLA_WEBGPU_ROBUSTNESS=0), base1;
# then test/gpu/webgpu-matrix.test.ts on bnd, robust, 100 random cases, beside Dawn's SPIR-V of trim and bnd both ways
# (scripts/webgpu-tools/lazy-spirv.mjs, counts of clamps and predicated matrix loads); the rule
# (scripts/webgpu-tools/s18_bounded_rule.py). Last line: `SHIP bounded (...)` or `KEEP v5 (...)`.
set -uo pipefail
O=${OUT:?}; S=$SECONDS; END=${END:-73}; STAGE=${STAGE:-.devstage/s18-h1}
ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$O/log.txt"; }
rm -rf build && tar xJf "$STAGE/build.tar.xz" && mkdir -p dist && cp -r build/src/. dist/
ts "stage: build/ of $(cat build/COMMIT 2>/dev/null || echo '?') unpacked, dist/ refreshed"
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden}
WG_T=${WG_T:-13} WG_CEIL=--no-ceilings; . scripts/webgpu-tools/h200-variant-run.sh # CLI, $O/configs.json, run TAG [VAR=VALUE ...]
# (base: FLASHMLA_WEBGPU_MATRIX_BOUNDED=0 since bounded became the default after this slot's calls C / D.)
for v in base0:FLASHMLA_WEBGPU_MATRIX_BOUNDED=0 bnd:FLASHMLA_WEBGPU_MATRIX_BOUNDED=1 \
  "base-norob:FLASHMLA_WEBGPU_MATRIX_BOUNDED=0 FLASHMLA_WEBGPU_ROBUSTNESS=0" \
  "bnd-norob:FLASHMLA_WEBGPU_MATRIX_BOUNDED=1 FLASHMLA_WEBGPU_ROBUSTNESS=0" base1:FLASHMLA_WEBGPU_MATRIX_BOUNDED=0; do
  run ${v%%:*} FLASHMLA_DAWN_FLAGS= FLASHMLA_WEBGPU_MATRIX_BOUNDED= FLASHMLA_WEBGPU_ROBUSTNESS= ${v#*:} | tee -a "$O/log.txt"
done
left=$((END - (SECONDS - S))); [ $left -lt 8 ] && left=8
# The suite on the candidate (robust, the default device) beside the SPIR-V dumps (CPU only; nothing timed now).
FLASHMLA_MATRIX_TEST_BOUNDED=1 FLASHMLA_GPU_CASES=${CASES:-100} timeout -k 2 $left node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$O/suite-bnd.tap" 2>&1 &
FLASHMLA_DIST=build/src timeout -k 2 $left node scripts/webgpu-tools/lazy-spirv.mjs "$O/spv-robust" trim,bnd > "$O/spv-robust.txt" 2>&1 &
FLASHMLA_DIST=build/src FLASHMLA_DAWN_FLAGS=enable-dawn-features=disable_robustness timeout -k 2 $left node scripts/webgpu-tools/lazy-spirv.mjs "$O/spv-norobust" trim,bnd > "$O/spv-norobust.txt" 2>&1 &
wait
ts "suite (bnd, robust): $(grep -E '^# (pass|fail) ' "$O/suite-bnd.tap" | tr -d '#' | xargs) $(grep -m3 '^not ok' "$O/suite-bnd.tap" | tr '\n' ' ')"
ts "spirv robust: $(tr '\n' ' ' < "$O/spv-robust.txt" | cut -c1-400)"
ts "spirv norobust: $(tr '\n' ' ' < "$O/spv-norobust.txt" | cut -c1-400)"
(cd "$O" && tar czf spirv.tgz spv-robust spv-norobust 2>/dev/null && rm -rf spv-robust spv-norobust)
python3 scripts/webgpu-tools/s18_bounded_rule.py "$O" | tee "$O/rule.txt" | tee -a "$O/log.txt"

#!/usr/bin/env bash
# Session 19, helper h4's WebGPU slot (docs/notes/webgpu-tensor-core.md, "Session 19: the combine at b = 1"): the default
# split-KV combine against the wide combine (kernels/combine.ts `groups`: 256 lanes a row, the splits' lse reduced in
# workgroup memory, O merged by 4 or 8 lane groups) in one process on the default decode path (v5 lazy + trim + bounded,
# robust device), then the GPU matrix suite with every combine wide (8 groups). From the merged tree's root after the
# lead's frame (stage unpacked, .gpu-host entered; carry .gpu-host enter.sh node.xz node_modules gl anchors +
# .devstage/s19-h4):
#   OUT=$OUT timeout 75 bash scripts/webgpu-tools/h200-s19-combine.sh        (~70 s warm)
# Steps: build/ of this branch from the stage (dist/ refreshed from it); scripts/webgpu-tools/ab-combine.mjs on
# --only 24,25,16,22 of the full grid (b1 s_k 32768, uneven b4, b128 s_k 8192 h16 / h128: the ones that matter first, so a
# time-out keeps them; ab.json is written after each config), arms base / w4 / w8 / nocomb (timing
# probe: the combine returning at once) in two alternating rounds, 10 reps, 2 warm-ups, no spot check (the suite checks); then test/gpu/webgpu-matrix.test.ts with
# FLASHMLA_MATRIX_TEST_COMBINE=8 and 100 random cases, with what is left of END (at least 45 s); the rule
# (scripts/webgpu-tools/s19_combine_rule.py). Dry run on lavapipe (plumbing only): AB_CONFIGS=<small configs> WG_ONLY=0,1,0,1
# FLASHMLA_MATRIX_TEST_EMULATE=1 CASES=2 STAGE=<this stage>. Last line: `SHIP wide combine g8 (...)` or `KEEP default combine (...)`.
set -uo pipefail
O=${OUT:?}; S=$SECONDS; END=${END:-72}; STAGE=${STAGE:-.devstage/s19-h4}
ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$O/log.txt"; }
rm -rf build && tar xJf "$STAGE/build.tar.xz" && mkdir -p dist && cp -r build/src/. dist/
ts "stage: build/ of $(cat build/COMMIT 2>/dev/null || echo '?') unpacked, dist/ refreshed"
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden}
node scripts/flashmla-dist.mjs build/src bench --grid full --emit-configs "$O/configs.json" > /dev/null 2>&1
timeout -k 3 ${AB_T:-27} node scripts/webgpu-tools/ab-combine.mjs --configs "${AB_CONFIGS:-$O/configs.json}" --only ${WG_ONLY:-24,25,16,22} \
  --reps 10 --warmup 2 --check 0 --out "$O/ab.json" > "$O/ab.txt" 2>&1
ts "ab rc=$?"; grep -E '^device|^ROW|rror' "$O/ab.txt" | cut -c1-260 | tee -a "$O/log.txt"
left=$((END - (SECONDS - S))); [ $left -lt 45 ] && left=45
ts "suite (wide combine g8, robust): ${left} s"
FLASHMLA_MATRIX_TEST_COMBINE=8 FLASHMLA_GPU_CASES=${CASES:-100} timeout -k 2 $left node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$O/suite-w8.tap" 2>&1
ts "suite: $(grep -E '^# (pass|fail) ' "$O/suite-w8.tap" | tr -d '#' | xargs) $(grep -m3 '^not ok' "$O/suite-w8.tap" | tr '\n' ' ')"
python3 scripts/webgpu-tools/s19_combine_rule.py "$O" > "$O/rule.txt" 2>&1
(cd "$O" && gzip -f suite-w8.tap ab.txt 2>/dev/null)
tee -a "$O/log.txt" < "$O/rule.txt"

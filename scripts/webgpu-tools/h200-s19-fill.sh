#!/usr/bin/env bash
# Session 19, helper h4's round-3 WebGPU slot (docs/notes/webgpu-tensor-core.md, "Session 19, round 3"): the WebGPU
# backend's own split-KV plan, `schedule: 'fill'` (core/scheduler.ts: FlashMLA's walk with the payload floor lowered
# from two overheads to one overhead and one block; MlaDecoder plans it for the backend), against main's default
# (`schedule: 'flashmla'`, getMlaMetadata's plan: the opt-out), in one process on the default decode path and combine
# choice (robust device), then the GPU matrix suite, test/backends/webgpu.test.ts and test/backends/webgpu-schedule.test.ts
# with the fill plan as the callers' metadata (FLASHMLA_TEST_SCHEDULE=fill), side by side. From the merged tree's root after
# the lead's frame (stage unpacked, .gpu-host entered; carry .gpu-host enter.sh node.xz node_modules gl anchors +
# .devstage/s19-h4):
#   OUT=$OUT timeout 75 bash scripts/webgpu-tools/h200-s19-fill.sh        (~60 s warm)
# Steps: build/ of this branch from the stage (dist/ refreshed from it); ab-combine.mjs with VARIANTS=main,fill,mainnc,fillnc
# on scripts/webgpu-tools/s19_fill_configs.json (b1 s_k 32768, b1 s_k 8192, the uneven b4, b128 s_k 8192 h16 / h128;
# ab.json written after each config), two alternating rounds, 20 reps, 2 warm-ups, no spot check (the suites check;
# mainnc / fillnc: the decode pass alone on either plan, the nocomb probe); then the three suites at once with what is
# left of END (at least 40 s); the rule (scripts/webgpu-tools/s19_fill_rule.py). Dry run on lavapipe (plumbing only):
# AB_CONFIGS=<small configs> FLASHMLA_MATRIX_TEST_EMULATE=1 CASES=2 WG_CASES=2 BIG=default STAGE=<this stage>.
# Last line: `SHIP fill schedule (...)` or `KEEP flashmla schedule (...)`.
set -uo pipefail
O=${OUT:?}; S=$SECONDS; END=${END:-72}; STAGE=${STAGE:-.devstage/s19-h4}
ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$O/log.txt"; }
rm -rf build && tar xJf "$STAGE/build.tar.xz" && mkdir -p dist && cp -r build/src/. dist/
ts "stage: build/ of $(cat build/COMMIT 2>/dev/null || echo '?') unpacked, dist/ refreshed"
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden}
VARIANTS=main,fill,mainnc,fillnc timeout -k 3 ${AB_T:-30} node scripts/webgpu-tools/ab-combine.mjs \
  --configs "${AB_CONFIGS:-scripts/webgpu-tools/s19_fill_configs.json}" --reps ${REPS:-20} --warmup 2 --check 0 --out "$O/ab.json" > "$O/ab.txt" 2>&1
ts "ab rc=$?"; grep -E '^device|^ROW|rror' "$O/ab.txt" | cut -c1-260 | tee -a "$O/log.txt"
left=$((END - (SECONDS - S))); [ $left -lt 40 ] && left=40
ts "suites (fill plan as the callers' metadata, robust), side by side: ${left} s"
export FLASHMLA_TEST_SCHEDULE=fill
R=(timeout -k 2 $left node --test --test-reporter=tap)
FLASHMLA_GPU_CASES=${CASES:-100} "${R[@]}" build/test/gpu/webgpu-matrix.test.js > "$O/suite-matrix.tap" 2>&1 &
big=(WEBGPU_BIG_CACHE_BYTES=${BIG:-5000000000}); [ "${BIG:-}" = default ] && big=()
env WEBGPU_RANDOM_CASES=${WG_CASES:-100} "${big[@]}" "${R[@]}" build/test/backends/webgpu.test.js > "$O/suite-webgpu.tap" 2>&1 &
"${R[@]}" build/test/backends/webgpu-schedule.test.js > "$O/suite-schedule.tap" 2>&1 &
wait
for f in matrix webgpu schedule; do
  ts "suite-$f: $(grep -E '^# (pass|fail|skipped) ' "$O/suite-$f.tap" | tr -d '#' | xargs) $(grep -m3 '^not ok' "$O/suite-$f.tap" | tr '\n' ' ')"
done
python3 scripts/webgpu-tools/s19_fill_rule.py "$O" > "$O/rule.txt" 2>&1
(cd "$O" && gzip -f suite-matrix.tap suite-webgpu.tap suite-schedule.tap ab.txt 2>/dev/null)
tee -a "$O/log.txt" < "$O/rule.txt"

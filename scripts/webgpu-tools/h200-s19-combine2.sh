#!/usr/bin/env bash
# Session 19, helper h4's round-2 WebGPU slot (docs/notes/webgpu-tensor-core.md, "Session 19, round 2"): the backend's new
# default combine choice (kernels/combine.ts chooseCombine: the wide combine, 8 groups, where some request has >= 8 splits,
# the default combine elsewhere, no combine pass where no request is split) against the opt-out (`combine: 0`, the
# default combine on every launch: the shipped behaviour), in one process on the default decode path (robust device),
# then the GPU matrix suite and test/backends/webgpu.test.ts on the new default, side by side. From the merged tree's
# root after the lead's frame (stage unpacked, .gpu-host entered; carry .gpu-host enter.sh node.xz node_modules gl
# anchors + .devstage/s19-h4):
#   OUT=$OUT timeout 75 bash scripts/webgpu-tools/h200-s19-combine2.sh        (~55 s warm)
# Steps: build/ of this branch from the stage (dist/ refreshed from it); ab-combine.mjs with VARIANTS=base,new,w8 on
# --only 24,25,16,18,20,22 of the full grid (b1 s_k 32768, uneven b4, b128 s_k 8192 h16 / h32 / h64 / h128; ab.json
# written after each config), two alternating rounds, 20 reps, 2 warm-ups, no spot check (the suites check); then the
# matrix suite (100 random cases) and webgpu.test.ts (100 random cases, a 5 GB cache) at once with what is left of END
# (at least 40 s); the rule (scripts/webgpu-tools/s19_combine2_rule.py). Dry run on lavapipe (plumbing only):
# AB_CONFIGS=<small configs> WG_ONLY=0,1 FLASHMLA_MATRIX_TEST_EMULATE=1 CASES=2 WG_CASES=2 BIG=default STAGE=<this stage>.
# Last line: `SHIP new default combine choice (...)` or `KEEP opt-out behaviour (...)`.
set -uo pipefail
O=${OUT:?}; S=$SECONDS; END=${END:-72}; STAGE=${STAGE:-.devstage/s19-h4}
ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$O/log.txt"; }
rm -rf build && tar xJf "$STAGE/build.tar.xz" && mkdir -p dist && cp -r build/src/. dist/
ts "stage: build/ of $(cat build/COMMIT 2>/dev/null || echo '?') unpacked, dist/ refreshed"
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-$PWD/test/fixtures/golden}
node scripts/flashmla-dist.mjs build/src bench --grid full --emit-configs "$O/configs.json" > /dev/null 2>&1
VARIANTS=base,new,w8 timeout -k 3 ${AB_T:-30} node scripts/webgpu-tools/ab-combine.mjs --configs "${AB_CONFIGS:-$O/configs.json}" \
  --only ${WG_ONLY:-24,25,16,18,20,22} --reps ${REPS:-20} --warmup 2 --check 0 --out "$O/ab.json" > "$O/ab.txt" 2>&1
ts "ab rc=$?"; grep -E '^device|^ROW|rror' "$O/ab.txt" | cut -c1-230 | tee -a "$O/log.txt"
left=$((END - (SECONDS - S))); [ $left -lt 40 ] && left=40
ts "suites (new default, robust), side by side: ${left} s"
R=(timeout -k 2 $left node --test --test-reporter=tap)
FLASHMLA_GPU_CASES=${CASES:-100} "${R[@]}" build/test/gpu/webgpu-matrix.test.js > "$O/suite-matrix.tap" 2>&1 &
big=(WEBGPU_BIG_CACHE_BYTES=${BIG:-5000000000}); [ "${BIG:-}" = default ] && big=()
env WEBGPU_RANDOM_CASES=${WG_CASES:-100} "${big[@]}" "${R[@]}" build/test/backends/webgpu.test.js > "$O/suite-webgpu.tap" 2>&1 &
wait
for f in matrix webgpu; do
  ts "suite-$f: $(grep -E '^# (pass|fail|skipped) ' "$O/suite-$f.tap" | tr -d '#' | xargs) $(grep -m3 '^not ok' "$O/suite-$f.tap" | tr '\n' ' ')"
done
python3 scripts/webgpu-tools/s19_combine2_rule.py "$O" > "$O/rule.txt" 2>&1
(cd "$O" && gzip -f suite-matrix.tap suite-webgpu.tap ab.txt 2>/dev/null)
tee -a "$O/log.txt" < "$O/rule.txt"

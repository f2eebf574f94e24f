#!/usr/bin/env bash
# Session 11's first WebGPU step (docs/notes/webgpu-matrix-kernel.md, "Session 10, round 2"): one device call of about
# a minute, from the staged tree (build/ compiled by tsc) after `source .gpu-host/enter.sh`:
#   1. lazy-isolate.mjs: v5, the rebuilt lazy and the probes that say why lazy failed (4 subgroups, scratch, every,
#      pad4, pad64) and a speed probe (late), each on a few cases against the float64 reference (CHECK lines), the
#      passing ones timed against v5 at b = 128 s_k = 8192 h_q 16 and 128 (TIME lines), then a DECISION line;
#   2. only if the DECISION says SHIP lazy: the GPU suite (test/gpu/webgpu-matrix.test.ts) on lazy, CASES random cases
#      (default 100); the lead then sets matrix5LazyDefault = true (kernels/decode-matrix5.ts) if it passes 25/25;
#      otherwise (SPIRV=1, the default) the SPIR-V Dawn gives the driver for v5, lazy, every and scratch
#      (lazy-spirv.mjs, spirv.tgz), to diff off-line.
# Leaves log.txt, isolate.txt, isolate.json and gpu-test-lazy.txt or spirv.tgz under $OUT. TIMEOUT_ISO / TIMEOUT_TEST bound the steps
# (defaults 60 / 30 s). A dry run on lavapipe (emulated products; checks the plumbing only):
#   OUT=/tmp/lz2 ABLATE_EMULATE=1 ISO_RANDOM=1 VARIANTS=v5,lazy,pad4,late CONFIGS='[{"b":2,"s_k":100,"h_q":16,"s_q":1}]' bash scripts/webgpu-tools/h200-matrix-lazy2.sh
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/h200-log.sh" h200-matrix-lazy2 # OUT, $L, say, quiet
cfg=()
if [ -n "${CONFIGS:-}" ]; then echo "$CONFIGS" > "$OUT/configs.json"; cfg=(--configs "$OUT/configs.json"); fi
say "lazy-isolate (checks, then timing of what passed)"
FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-test/fixtures/golden} timeout "${TIMEOUT_ISO:-60}" node "$here/lazy-isolate.mjs" "${cfg[@]}" --out "$OUT/isolate.json" > "$OUT/isolate.txt" 2>&1
echo "exit $?" >> "$L"
grep -E '^(device|CHECK|TIME|DECISION)' "$OUT/isolate.txt" >> "$L"
grep -q '^DECISION' "$OUT/isolate.txt" || tail -20 "$OUT/isolate.txt" >> "$L"
if grep -q '^DECISION: SHIP lazy' "$OUT/isolate.txt"; then
  say "GPU suite, v5 lazy, ${CASES:-100} random cases"
  FLASHMLA_MATRIX_TEST_LAZY=1 FLASHMLA_GPU_CASES=${CASES:-100} FLASHMLA_GOLDEN=test/fixtures/golden timeout "${TIMEOUT_TEST:-30}" \
    node --test --test-reporter=tap build/test/gpu/webgpu-matrix.test.js > "$OUT/gpu-test-lazy.txt" 2>&1
  echo "exit $?" >> "$L"
  grep -E '^# (tests|pass|fail)|^not ok|^# .# [0-9]+ cases' "$OUT/gpu-test-lazy.txt" >> "$L"
  grep -E '^ +not ok' "$OUT/gpu-test-lazy.txt" | head -8 >> "$L"
fi
if ! grep -q '^DECISION: SHIP lazy' "$OUT/isolate.txt" && [ "${SPIRV:-1}" = 1 ]; then
  say "SPIR-V of v5, lazy, every, scratch (Dawn's dump, for diffing off-line)"
  timeout "${TIMEOUT_SPIRV:-25}" node "$here/lazy-spirv.mjs" "$OUT/spirv" >> "$L" 2>&1
  echo "exit $?" >> "$L"
  tar czf "$OUT/spirv.tgz" -C "$OUT" spirv && rm -rf "$OUT/spirv"
fi
say end
cat "$L"

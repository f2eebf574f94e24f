#!/usr/bin/env bash
# Session 24 (issue #13): packedMax against the default v5 (trim, bounded, lazy) on the H200, one process: the SASS of
# both pipelines (glcache-sass.py), tile16-ab's checks and timing (arms v5 = session 11's kernel, pmax, dflt), then the
# GPU suite (test/gpu/webgpu-matrix.test.ts) with packedMax in every v5 pipeline. Prediction and rule: the note
# docs/notes/webgpu-matrix-kernel.md, "Session 24". From the tree's root, .gpu-host (with webgpu) and build/ carried:
#   OUT=$OUT ZSTD=... bash scripts/webgpu-tools/h200-s24-pmax.sh
set -u
source .gpu-host/enter.sh >/dev/null
export PATH=/usr/local/cuda/bin:$PATH FLASHMLA_GOLDEN=$PWD/test/fixtures/golden
W=/tmp/s24-pmax; rm -rf "$W"; mkdir -p "$W"
[ -n "${NO_SASS:-}" ] || ( NAMES="${SASS_NAMES:-matrix5-sg8 matrix5-pmax}" OUT=$W WORK=$W/sass bash scripts/webgpu-tools/h200-s24-sass.sh 2>&1 | grep -E '^==|section|registers' ) | tee "$W/sass.txt"
shapes='[{"b":128,"s_k":8192,"h_q":16,"s_q":1},{"b":128,"s_k":8192,"h_q":32,"s_q":1},{"b":128,"s_k":8192,"h_q":128,"s_q":1},{"b":1,"s_k":32768,"h_q":16,"s_q":1},{"b":4,"seqlens":[4641,45118,1730,1696],"h_q":16,"s_q":4}]'
echo "${CONFIGS:-$shapes}" > "$W/cfg.json"
ARMS=${ARMS:-pmax,dflt} ISO_RANDOM=${ISO_RANDOM:-6} timeout ${AB_TIMEOUT:-200} node scripts/webgpu-tools/tile16-ab.mjs --configs "$W/cfg.json" --reps 10 --out "$W/ab.json" > "$W/ab.txt" 2>&1
echo "ab rc $?"; grep -E '^(CHECK|TIME|DECISION|BEST|device)' "$W/ab.txt"
[ -n "${NO_SUITE:-}" ] || FLASHMLA_MATRIX_TEST_PMAX=${SUITE_PMAX:-1} FLASHMLA_GPU_CASES=${CASES:-100} timeout ${SUITE_TIMEOUT:-150} node --test build/test/gpu/webgpu-matrix.test.js > "$W/suite.txt" 2>&1
echo "suite rc $?"; grep -E '^# (tests|pass|fail|skipped)|^not ok' "$W/suite.txt" | head -20
tar czf "$OUT/all.tgz" -C "$W" $(cd "$W" && ls -d sass.txt ab.txt ab.json suite.txt sass/sass 2>/dev/null)

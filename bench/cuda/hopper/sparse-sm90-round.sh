#!/usr/bin/env bash
# One device round of the Hopper sparse kernel (sparse_sm90.cu, V3.2 and MODEL1) on the GPU host, from a worktree with
# dist/ (JS), build/ (compiled tests and benches) and .gpu-host entered: the sm_90a kernels, then side by side
#   SHARDS (8) processes of CASES (63) random cases per format at h_q 64/128 on sparse_sm90 (disjoint seeds),
#   the rest of test/gpu/sparse.test.ts (goldens, bit patterns, MAIN_CASES (40) sparse_mma cases, dense FP8),
#   compute-sanitizer memcheck (goldens + 3 + 3 random sm90 cases) and synccheck (2 + 2),
# then `gpu-host-run.sh bench-sparse` (FlashMLA's bench_sparse.py and ours, same call) and, with AB_MODES set, the
# build-mode A/B (sparse-sm90-ab.sh) against that FlashMLA run. BUILD_MODE (e.g. 136) swaps that build mode of
# sparse_sm90.cu into dist/cuda before the tests, so the tests, sanitizers and bench-sparse run it (AB_MODES=8 then
# times the shipped build in the same call). Logs under $OUT.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/sparse-sm90-modes.sh"
OUT=${OUT:?}
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
mkdir -p "$OUT/t" # (the tool brings back 8 files: the logs go into one t.tgz)
node scripts/build-kernels.mjs --gencode arch=compute_90a,code=sm_90a --launch build/src/backends/cuda/kernels/launch.js --out dist/cuda > "$OUT/t/build.txt" 2>&1
el "build rc $?"
if [ -n "${BUILD_MODE:-}" ]; then
  sparse_sm90_build "$BUILD_MODE" dist/cuda/sparse_sm90.fatbin || exit 1
  sparse_sm90_rehash dist/cuda
  el "sparse_sm90.fatbin: build mode $BUILD_MODE"
fi
T=build/test/gpu/sparse.test.js
for i in $(seq 0 $(( ${SHARDS:-8} - 1 ))); do
  FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-63} FLASHMLA_GPU_SPARSE_SM90_SEED=$(( i * ${CASES:-63} )) timeout 200 \
    node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $T > "$OUT/t/shard$i.txt" 2>&1 &
done
FLASHMLA_GPU_SPARSE_CASES=${MAIN_CASES:-40} FLASHMLA_GPU_SPARSE_SM90_CASES=0 timeout 200 node --test --test-reporter=tap $T > "$OUT/t/main.txt" 2>&1 &
FLASHMLA_GPU_SPARSE_SM90_CASES=3 timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
  node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" $T > "$OUT/t/memcheck.txt" 2>&1 &
FLASHMLA_GPU_SPARSE_SM90_CASES=2 timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool synccheck --target-processes all --print-limit 20 \
  node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" $T > "$OUT/t/synccheck.txt" 2>&1 &
wait
el "tests done"
for f in "$OUT"/t/{main,shard*,memcheck,synccheck}.txt; do echo "$(basename $f): $(grep -E '^# (pass|fail) ' $f | tr '\n' ' ') $(grep -E 'ERROR SUMMARY' $f | tail -1)"; grep -E '^not ok|seed' $f | head -5; done
grep -h 'cos diff' "$OUT/t/main.txt"
OUT=$OUT timeout 200 bash scripts/gpu-host-run.sh bench-sparse > "$OUT/bench.txt" 2>&1
el "bench rc $?"
grep -E 'x FlashMLA|geomean|error' "$OUT/bench.txt" | grep -v '^\[.*\]$' | tail -16
if [ -n "${AB_MODES:-}" ]; then
  FLASHMLA_JSON=$OUT/flashmla-sparse-$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-').json \
    MODES="$AB_MODES" timeout 120 bash bench/cuda/hopper/sparse-sm90-ab.sh > "$OUT/ab.txt" 2>&1
  el "ab rc $?"; cat "$OUT/ab.txt" | grep -E '==|geomean|MODEL1|V3.2'
fi
tar czf "$OUT/t.tgz" -C "$OUT" t && rm -rf "$OUT/t"

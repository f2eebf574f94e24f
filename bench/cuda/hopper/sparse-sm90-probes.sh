#!/usr/bin/env bash
# Build modes of sparse_sm90.cu (MLA_SPARSE_SM90_MODE, see the .cu) and time each through the library on one of
# FlashMLA's V3.2 shapes, after a correctness run of TEST_MODE. On the GPU host, from a worktree whose dist/ holds
# the built kernels (dist/cuda) and the compiled tests (build/), with .gpu-host entered:
#   TEST_MODE=8 CASES=200 MODES="8 10 12 40" SHAPE=0 bash bench/cuda/hopper/sparse-sm90-probes.sh
# Modes: 8 shipped (whole-tile producer), +2 consumers skip wgmma (producer-bound time), +4 producer skips the token
# loads (consumer-bound time), +32 a single bf16 P (40).
# dist/cuda/sparse_sm90.fatbin is restored at the end.
set -uo pipefail
OUT=${OUT:-.}
. "$(dirname "${BASH_SOURCE[0]}")/sparse-sm90-modes.sh"
F=${FLASHMLA_JSON:-.gpu-host/anchors/flashmla-sparse/results-h200-2026-11-29.json}
mkdir -p dist/probes
cp dist/cuda/sparse_sm90.fatbin dist/probes/shipped.fatbin
for m in $(echo "${TEST_MODE:-8} ${MODES:-8 10 12 40}" | tr ' ' '\n' | sort -un); do
  sparse_sm90_build $m dist/probes/m$m.fatbin &
done
wait
t=${TEST_MODE:-8}
sparse_sm90_swap dist/probes/m$t.fatbin
hq=${TEST_HQ:-64,128}
FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_HQ=$hq FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-200} timeout ${TEST_TIMEOUT:-120} node --test --test-reporter=tap \
  --test-name-pattern="hQ 64 / 128|sparse_v32" build/test/gpu/sparse.test.js > "$OUT/probe-test-m$t.txt" 2>&1
echo "m$t test rc=$?"; grep -E "^\s*(not )?ok [0-9]+ - (sparse_v32|[0-9]+ cases)|^# (pass|fail)" "$OUT/probe-test-m$t.txt"
for m in ${MODES:-8 10 12 40}; do
  sparse_sm90_swap dist/probes/m$m.fatbin
  echo "m$m: $(timeout 30 node build/bench/cuda/hopper/sparse-sm90-bench.js $F --reps ${REPS:-10} --sm90-only --shape ${SHAPE:-0} 2>&1 | head -1)"
done
sparse_sm90_swap dist/probes/shipped.fatbin

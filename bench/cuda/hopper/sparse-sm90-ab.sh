#!/usr/bin/env bash
# A/B of sparse_sm90.cu build modes (MLA_SPARSE_SM90_MODE, see the .cu) on all twelve of FlashMLA's sparse shapes,
# through the library (sparse-sm90-bench.ts --all --sm90-only), against FlashMLA's times of the same session. On the
# GPU host, from a worktree whose dist/cuda holds the built kernels and build/ the compiled benches, .gpu-host entered:
#   FLASHMLA_JSON=out/flashmla-sparse-nvidia-h200.json MODES="8 136 10" bash bench/cuda/hopper/sparse-sm90-ab.sh
# Modes: 8 shipped; +2 consumers skip every wgmma (producer-bound time); +4 producer skips the token loads; +128 MODEL1
# scale decoded at its load (session 8's first build). dist/cuda/sparse_sm90.fatbin is restored at the end.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/sparse-sm90-modes.sh"
F=${FLASHMLA_JSON:-.gpu-host/anchors/flashmla-sparse/results-h200-2026-11-29.json}
mkdir -p dist/probes
cp dist/cuda/sparse_sm90.fatbin dist/probes/shipped.fatbin
for m in ${MODES:-8 136 10}; do
  sparse_sm90_build $m dist/probes/m$m.fatbin &
done
wait
for m in ${MODES:-8 136 10}; do
  sparse_sm90_swap dist/probes/m$m.fatbin
  echo "== mode $m"
  timeout "${STEP_TIMEOUT:-60}" node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --sm90-only --reps "${REPS:-10}" 2>&1 | tail -13
done
sparse_sm90_swap dist/probes/shipped.fatbin

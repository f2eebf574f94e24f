#!/usr/bin/env bash
# A/B of sparse_sm90.cu build modes (MLA_SPARSE_SM90_MODE, see the .cu) on all twelve of FlashMLA's sparse shapes,
# through the library (sparse-sm90-bench.ts --all --sm90-only), against FlashMLA's times of the same session. On the
# GPU host, from a worktree whose dist/cuda holds the built kernels and build/ the compiled benches, .gpu-host entered:
#   FLASHMLA_JSON=out/flashmla-sparse-nvidia-h200.json MODES="8 136 10" bash bench/cuda/hopper/sparse-sm90-ab.sh
# Modes: 8 shipped; +2 consumers skip every wgmma (producer-bound time); +4 producer skips the token loads; +128 MODEL1
# scale decoded at its load (session 8's first build). dist/cuda/sparse_sm90.fatbin is restored at the end.
set -uo pipefail
K=src/backends/cuda/kernels
F=${FLASHMLA_JSON:-.gpu-host/anchors/flashmla-sparse/results-h200-2026-11-29.json}
mkdir -p dist/probes
cp dist/cuda/sparse_sm90.fatbin dist/probes/shipped.fatbin
for m in ${MODES:-8 136 10}; do
  nvcc -std=c++17 -O3 --Werror all-warnings -DMLA_SPARSE_SM90_MODE=$m -gencode arch=compute_90a,code=sm_90a -Xptxas -warn-spills \
    -fatbin -o dist/probes/m$m.fatbin $K/sparse_sm90.cu &
done
wait
swap() {
  cp "$1" dist/cuda/sparse_sm90.fatbin
  python3 - <<'PY'
import hashlib, json
j = json.load(open("dist/cuda/manifest.json"))
j["files"]["sparse_sm90.fatbin"] = hashlib.sha256(open("dist/cuda/sparse_sm90.fatbin", "rb").read()).hexdigest()
json.dump(j, open("dist/cuda/manifest.json", "w"), indent=1)
PY
}
for m in ${MODES:-8 136 10}; do
  swap dist/probes/m$m.fatbin
  echo "== mode $m"
  timeout "${STEP_TIMEOUT:-60}" node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --sm90-only --reps "${REPS:-10}" 2>&1 | tail -13
done
swap dist/probes/shipped.fatbin

#!/usr/bin/env bash
# The benchmarks of the README on the H100 host, FlashMLA timed in the same call. Prepare here (where npm works):
#   npm run build                      # dist/: the CLI as JS and the CUDA fatbins (the host has node, no tsx)
#   ../shared/tools/gpu-host/pack.sh .gpu-host
# then one device call with carry [".gpu-host", "dist"] runs, from the repository root:
#   bash bench/h100.sh flashmla cuda webgpu
# Steps: flashmla (bench_flashmla.py on the configs of GRID, default full), cuda / webgpu (`flashmla bench` on the
# same configs, merged with FlashMLA's rows). Everything lands in $OUT.
set -uo pipefail
source .gpu-host/enter.sh >/dev/null
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
GRID=${GRID:-full}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.mem --format=csv,noheader | tee "$OUT/card.txt"
node bin/flashmla.mjs bench --grid "$GRID" --emit-configs "$OUT/configs.json" || exit 1
for step in "$@"; do
  case $step in
    flashmla) PYTHONUNBUFFERED=1 timeout "${FLASHMLA_TIMEOUT:-240}" python3 .gpu-host/anchors/bench_flashmla.py \
                --configs "$OUT/configs.json" --out "$OUT/flashmla.json" --no-triton 2>&1 | tail -40 | tee "$OUT/flashmla.txt" ;;
    cuda|webgpu) timeout "${BENCH_TIMEOUT:-300}" node bin/flashmla.mjs bench --backend "$step" --configs "$OUT/configs.json" \
                --flashmla "$OUT/flashmla.json" --out "$OUT/$step-h100.json" ${BENCH_ARGS:-} 2>&1 | grep -v artificially | tee "$OUT/$step.txt" ;;
    *) echo "unknown step $step"; exit 2 ;;
  esac
done

#!/usr/bin/env bash
# What one device call runs, from the repository root on the GPU host (carry .gpu-host .golden build dist):
#   bash test/gpu/run-h100.sh smoke|test|reliability|quick|sanitize|sweep|bench|sparse|sanitize-sparse|bench-sparse [more...]
# sparse*: carry .golden-sparse (../shared/golden-sparse) and the anchor (.gpu-host/anchors/flashmla-sparse or SPARSE_ANCHOR).
# quick: CASES random cases (default 400; FLASHMLA_GPU_VARIANTS narrows the forced rotation); sweep: grid configs
# ONLY (indices into bench.ts's list) for each variant tag in VARIANTS, FlashMLA on the same configs, host overhead.
# Everything it prints also goes to $OUT/<step>.txt.
set -o pipefail
source .gpu-host/enter.sh >/dev/null
export FLASHMLA_GOLDEN=.golden
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader | tee /tmp/card.txt
for step in "$@"; do
  case $step in
    smoke) timeout 120 node build/test/gpu/smoke.js 2>&1 | tee "$OUT/smoke.txt" || exit 1 ;;
    test) { date -u; cat /tmp/card.txt; timeout 400 node --test --test-reporter=spec build/test/gpu/cuda.test.js; } 2>&1 | tee "$OUT/test.txt" ;;
    reliability) { date -u; cat /tmp/card.txt; FLASHMLA_REQUIRE=${REQUIRE:-cuda} timeout ${RELIABILITY_TIMEOUT:-580} node --test --test-reporter=spec build/test/gpu/reliability.test.js; } 2>&1 | tee "$OUT/reliability.txt" ;;
    sanitize)
      for tool in memcheck racecheck; do
        { date -u; cat /tmp/card.txt; FLASHMLA_GPU_CASES=${SANITIZE_CASES:-6} timeout ${SANITIZE_TIMEOUT:-120} compute-sanitizer --tool $tool --target-processes all --print-limit 20 node --test --test-name-pattern='golden|random' build/test/gpu/cuda.test.js; echo "exit $?"; } 2>&1 | grep -v '^  ✔' | tail -60 > "$OUT/sanitize-$tool.txt"
      done ;;
    quick) { date -u; cat /tmp/card.txt; FLASHMLA_GPU_CASES=${CASES:-400} timeout ${TEST_TIMEOUT:-150} node --test --test-reporter=spec build/test/gpu/cuda.test.js; } 2>&1 | grep -v '^  *✔' | tee "$OUT/test-quick.txt" ;;
    sweep)
      L="$OUT/sweep-log.txt"
      timeout ${SWEEP_TIMEOUT:-200} node build/bench/cuda/bench.js sweep --only "${ONLY:-0,1,2,9,10,17,18,8,16,24}" --variants "${VARIANTS:-auto}" --emit-configs /tmp/configs.json --out "$OUT/sweep.json" 2>&1 | tee -a "$L"
      PYTHONUNBUFFERED=1 timeout 200 python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/configs.json --out "$OUT/fm.json" --no-triton 2>&1 | tail -20 | tee -a "$L" ;;
    sparse) { date -u; cat /tmp/card.txt; FLASHMLA_GOLDEN_SPARSE=${FLASHMLA_GOLDEN_SPARSE:-.golden-sparse} FLASHMLA_GPU_SPARSE_CASES=${SPARSE_CASES:-1000} timeout ${TEST_TIMEOUT:-400} node --test --test-reporter=spec build/test/gpu/sparse.test.js; } 2>&1 | grep -v '^  *✔' | tee "$OUT/sparse.txt" ;;
    sanitize-sparse)
      for tool in memcheck racecheck; do
        { date -u; cat /tmp/card.txt; FLASHMLA_GOLDEN_SPARSE=${FLASHMLA_GOLDEN_SPARSE:-.golden-sparse} FLASHMLA_GPU_SPARSE_CASES=${SANITIZE_CASES:-6} timeout ${SANITIZE_TIMEOUT:-200} compute-sanitizer --tool $tool --target-processes all --print-limit 20 node --test build/test/gpu/sparse.test.js; echo "exit $?"; } 2>&1 | grep -v '^  ✔' | tail -60 > "$OUT/sanitize-sparse-$tool.txt"
      done ;;
    bench-sparse)
      L="$OUT/bench-sparse-log.txt"
      PYTHONUNBUFFERED=1 timeout 300 python3 ${SPARSE_ANCHOR:-.gpu-host/anchors/flashmla-sparse}/bench_sparse.py --out "$OUT/flashmla-sparse.json" 2>&1 | tail -20 | tee -a "$L"
      timeout 300 node bin/flashmla.mjs bench --mode sparse --backend cuda --flashmla "$OUT/flashmla-sparse.json" --out "$OUT/sparse-bench.json" 2>&1 | tee -a "$L" ;;
    bench)
      L="$OUT/bench-log.txt"
      timeout 300 node build/bench/cuda/bench.js run --emit-configs /tmp/configs.json --out "$OUT/ours.json" 2>&1 | tee -a "$L"
      PYTHONUNBUFFERED=1 timeout 240 python3 .gpu-host/anchors/bench_flashmla.py --configs /tmp/configs.json --out "$OUT/flashmla.json" --no-triton 2>&1 | tee -a "$L"
      node build/bench/cuda/bench.js merge --ours "$OUT/ours.json" --flashmla "$OUT/flashmla.json" --out "$OUT/result.json" --svg "$OUT/chart.svg" --commit "${COMMIT:-unknown}" --date "$(date -u +%F)" 2>&1 | tee -a "$L" ;;
  esac
done

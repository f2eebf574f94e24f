#!/usr/bin/env bash
# One GPU-host run, from the repository root on the host (docs/gpu-host.md). Prepare here:
#   npm run build                                   # dist/: JS + CUDA fatbins
#   npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false   # tests as JS
#   (maintainer environment) pack.sh .gpu-host      # node, native packages, Vulkan loaders, FlashMLA anchors
# then carry .gpu-host, dist and build, and run:
#   bash scripts/gpu-host-run.sh STEP [STEP...]
# Steps: cuda (golden + CASES random cases on CUDA), sanitize (memcheck, racecheck, synccheck on a few cases),
# webgpu (the WebGPU suite on the GPU), mla-cases (transformers reference cases for MlaAttention, into
# $OUT/mla-cases.tgz and build/test/fixtures/mla), mla-bench (a V3-shaped layer decode step, ours on CUDA vs
# transformers bf16 in the same call), reliability (test/gpu/reliability.test.ts, then test/webgpu-nan.test.ts on
# the card), and any test/gpu/NAME.test.ts as NAME (mla, sparse...).
# Each step's log is <step>-<card>.txt (the card read from nvidia-smi) in $OUT/logs.tgz; $OUT/summary-<card>.txt
# says which steps passed.
set -uo pipefail
source .gpu-host/enter.sh >/dev/null
OUT=${OUT:-/tmp/gpu-host-out}; mkdir -p "$OUT"
LOG=$(mktemp -d)
export FLASHMLA_GOLDEN=${FLASHMLA_GOLDEN:-test/fixtures/golden} CI=1
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader; git log -1 --format=%H 2>/dev/null || true; } > "$LOG/card-$card.txt"
summary=()
run() { # name, timeout, command...
  local name=$1 t=$2; shift 2
  local f="$LOG/$name-$card.txt"
  { date -u; cat "$LOG/card-$card.txt"; timeout "$t" "$@"; echo "exit $?"; } > "$f" 2>&1
  local rc; rc=$(tail -1 "$f" | awk '{print $2}')
  summary+=("$name: exit $rc; $(grep -E '^# (pass|fail) ' "$f" | tr '\n' ' ')")
  grep -E '^not ok|^# (tests|pass|fail)|Error' "$f" | grep -v '^    ' | head -15
}
for step in "$@"; do
  echo "== $step"
  case $step in
    cuda) FLASHMLA_GPU_CASES=${CASES:-1000} run cuda "${CUDA_TIMEOUT:-300}" node --test --test-reporter=tap build/test/gpu/cuda.test.js ;;
    sanitize)
      for tool in memcheck racecheck synccheck; do
        FLASHMLA_GPU_CASES=${SANITIZE_CASES:-6} run "sanitize-$tool" "${SANITIZE_TIMEOUT:-150}" compute-sanitizer --tool $tool \
          --target-processes all --print-limit 20 node --test --test-reporter=tap --test-name-pattern='golden|random' build/test/gpu/cuda.test.js
        grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$LOG/sanitize-$tool-$card.txt" | tail -2
      done ;;
    mla-cases) run mla-cases 300 python3 scripts/make-mla-cases.py "$LOG/mla" && tail -6 "$LOG/mla-cases-$card.txt"
       mkdir -p build/test/fixtures && rm -rf build/test/fixtures/mla && cp -r "$LOG/mla" build/test/fixtures/mla \
         && tar czf "$OUT/mla-cases.tgz" -C "$LOG" mla ;;
    mla-bench)
      run mla-layer-cuda 240 node build/bench/mla/layer.js --shape v3 --batch 64 --context 4096 --backend cuda --reps 10 --json "$LOG/mla-layer-cuda.json"
      run mla-layer-torch 240 python3 bench/mla/torch_layer.py --batch 64 --context 4096 --reps 10 --out "$LOG/mla-layer-torch.json"
      tail -4 "$LOG/mla-layer-cuda-$card.txt" "$LOG/mla-layer-torch-$card.txt" ;;
    sanitize-sparse)
      FLASHMLA_GPU_SPARSE_CASES=${SANITIZE_CASES:-6} run sanitize-sparse "${SANITIZE_TIMEOUT:-150}" compute-sanitizer --tool memcheck \
        --target-processes all --print-limit 20 node --test --test-reporter=tap build/test/gpu/sparse.test.js
      grep -E 'ERROR SUMMARY' "$LOG/sanitize-sparse-$card.txt" | tail -1 ;;
    reliability) # issue #10: concurrency, disposal, OOM, 10^5-call leaks, faults (CUDA and WebGPU), then NaN/inf on the card
      run reliability "${STEP_TIMEOUT:-300}" node --test --test-reporter=tap build/test/gpu/reliability.test.js
      grep -E '# summary' "$LOG/reliability-$card.txt" | sed 's/^# \\# /  /'
      run webgpu-nan 120 node --test --test-reporter=tap build/test/webgpu-nan.test.js ;;
    webgpu) WEBGPU_RANDOM_CASES=${WEBGPU_CASES:-120} run webgpu "${WEBGPU_TIMEOUT:-200}" node --test --test-reporter=tap build/test/webgpu.test.js ;;
    *) if [ -f "build/test/gpu/$step.test.js" ]; then run "$step" "${STEP_TIMEOUT:-300}" node --test --test-reporter=tap "build/test/gpu/$step.test.js"
       else echo "unknown step $step"; summary+=("$step: unknown"); fi ;;
  esac
done
echo "== summary ($card)"; printf '%s\n' "${summary[@]}" | tee "$OUT/summary-$card.txt"
tar czf "$OUT/logs.tgz" -C "$LOG" .

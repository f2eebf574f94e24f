#!/usr/bin/env bash
# The one GPU-host runner, from the repository root on the host (docs/gpu-host.md). Prepare here:
#   npm run build                                   # dist/: JS + CUDA fatbins (the CLI and bench run from it)
#   npx tsc -p tsconfig.json --noEmit false --outDir build --declaration false --sourceMap false   # tests as JS
#   (maintainer environment) pack.sh .gpu-host      # node, native packages, Vulkan loaders, FlashMLA anchors
# then carry .gpu-host, dist and build, and run:
#   bash scripts/gpu-host-run.sh STEP [STEP...]
# Steps:
#   smoke            one decode per kernel path on CUDA (build/test/gpu/smoke.js)
#   test             the CUDA suite (cuda) and the WebGPU suite (webgpu); each also runs alone
#   sanitize         compute-sanitizer memcheck, racecheck, synccheck on a few CUDA cases; sanitize-sparse likewise;
#                    hopper-sanitize: racecheck + synccheck of the Hopper kernels' harnesses (bench/cuda/hopper)
#   racecheck-verify racecheck_probe.cu's hand-off forms (one process a mode) and racecheck through the library on the
#                    shipped kernels and on their verification build (dist-strict/cuda, built here with
#                    MLA_RACECHECK_STRICT when absent), reports grouped by kernel (docs/notes/sanitizers.md)
#   bench            FlashMLA (bench_flashmla.py) on GRID (default full), then `flashmla bench` on each of
#                    BENCH_BACKENDS (default "cuda webgpu") with FlashMLA's times merged: $OUT/bench-<backend>-<card>.json
#   bench-compare    "nothing slower": `flashmla bench` of two builds, BEFORE (default dist-before) and AFTER
#                    (default dist), interleaved ROUNDS times (default 2) on COMPARE_BACKEND (default cuda) over GRID
#                    (default flashmla); per-config medians compared, bar TOLERANCE (default 0.03):
#                    $OUT/bench-compare-<backend>-<card>.txt, exit 1 when a config is slower
#   bench-sparse     FlashMLA's sparse benchmark, then `flashmla bench --mode sparse --backend cuda`
#   host, graphs     `flashmla bench --mode host|graphs`: the host time of one call, the CUDA-graph saving
#   cuda-run         `flashmla bench --backend cuda --variants winners` on GRID (default full): a variant study, then
#                    each config with its row bucket's winner, FlashMLA merged ($OUT/cuda-run-<card>.json + .svg),
#                    then the host and graphs steps
#   sweep            the CUDA kernel-variant sweep, `flashmla bench --backend cuda --variants VARIANTS` (default auto)
#                    on the ONLY configs of the full grid, FlashMLA merged: $OUT/sweep-<card>.json
#   webgpu-bench     the WebGPU numSms / ceiling study, `flashmla bench --backend webgpu --num-sms NUMSMS` (default
#                    132,264) --mul-add auto on the flashmla grid, FlashMLA merged: $OUT/webgpu-bench-<card>.json
#   reliability      test/gpu/reliability.test.ts (concurrency, disposal, OOM, 10^5-call leaks, faults on CUDA and WebGPU),
#                    then test/backends/webgpu-nan.test.ts on the card
#   mla-cases, mla-bench, and any test/gpu/NAME.test.ts as NAME (mla, mla-device, sparse, sm90...)
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
# The CLI of one build (dist/ or a second build carried beside it): "${CLI[@]}" DIST flashmla-arguments...
CLI=(node scripts/flashmla-dist.mjs)
flashmla_times() { # configs.json, out.json: FlashMLA on the same configs, same call, under do_bench's protocol and back to back
  # (bench/cuda/flashmla_protocols.py: bench_flashmla.py's inputs and do_bench, plus our harness's back-to-back loop)
  PYTHONUNBUFFERED=1 timeout "${FLASHMLA_TIMEOUT:-240}" python3 bench/cuda/flashmla_protocols.py .gpu-host/anchors --configs "$1" --out "$2" 2>&1 | tail -30
}
steps=()
for step in "$@"; do [ "$step" = test ] && steps+=(cuda webgpu) || steps+=("$step"); done
for step in "${steps[@]}"; do
  echo "== $step"
  case $step in
    smoke) run smoke 120 node build/test/gpu/smoke.js ;;
    bench)
      "${CLI[@]}" dist bench --grid "${GRID:-full}" --emit-configs "$LOG/configs.json" >/dev/null || { summary+=("bench: no configs"); continue; }
      flashmla_times "$LOG/configs.json" "$OUT/flashmla-$card.json" | tee "$LOG/flashmla-$card.txt"
      for be in ${BENCH_BACKENDS:-cuda webgpu}; do
        # back to back against FlashMLA back to back; CUDA also under do_bench's protocol on both sides (--flush-mb 256)
        run "bench-$be" "${BENCH_TIMEOUT:-300}" "${CLI[@]}" dist bench --backend "$be" --configs "$LOG/configs.json" \
          --flashmla "$OUT/flashmla-$card.json" --out "$OUT/bench-$be-$card.json" ${BENCH_ARGS:-}
        grep -vE 'artificially' "$LOG/bench-$be-$card.txt" | tail -35
        if [ "$be" = cuda ]; then
          run "bench-$be-flush" "${BENCH_TIMEOUT:-300}" "${CLI[@]}" dist bench --backend "$be" --configs "$LOG/configs.json" \
            --flashmla "$OUT/flashmla-$card.json" --flush-mb 256 --out "$OUT/bench-$be-flush-$card.json" ${BENCH_ARGS:-}
          grep -vE 'artificially' "$LOG/bench-$be-flush-$card.txt" | tail -35
        fi
      done ;;
    bench-compare)
      be=${COMPARE_BACKEND:-cuda} before=${BEFORE:-dist-before} after=${AFTER:-dist}
      for d in "$before" "$after"; do [ -f "$d/cli/main.js" ] || { echo "bench-compare: $d/cli/main.js missing"; summary+=("bench-compare: $d missing"); continue 2; }; done
      "${CLI[@]}" "$after" bench --grid "${GRID:-flashmla}" --emit-configs "$LOG/compare-configs.json" >/dev/null
      extra=(--check 0); [ "$be" = webgpu ] && extra+=(--no-ceilings)
      for r in $(seq "${ROUNDS:-2}"); do
        for side in before after; do
          dir=$before; [ $side = after ] && dir=$after
          run "compare-$be-$side-$r" "${BENCH_TIMEOUT:-200}" "${CLI[@]}" "$dir" bench --backend "$be" --configs "$LOG/compare-configs.json" \
            "${extra[@]}" --out "$LOG/compare-$be-$side-$r.json" ${BENCH_ARGS:-}
        done
      done
      node scripts/bench-compare.mjs --lib "$after" --tolerance "${TOLERANCE:-0.03}" --before "$LOG"/compare-$be-before-*.json \
        --after "$LOG"/compare-$be-after-*.json | tee "$OUT/bench-compare-$be-$card.txt"
      summary+=("bench-compare ($be): $(tail -1 "$OUT/bench-compare-$be-$card.txt")") ;;
    bench-sparse)
      PYTHONUNBUFFERED=1 timeout 300 python3 "${SPARSE_ANCHOR:-.gpu-host/anchors/flashmla-sparse}/bench_sparse.py" \
        --out "$OUT/flashmla-sparse-$card.json" 2>&1 | tail -20 | tee "$LOG/flashmla-sparse-$card.txt"
      run bench-sparse 300 "${CLI[@]}" dist bench --mode sparse --backend cuda --flashmla "$OUT/flashmla-sparse-$card.json" --out "$OUT/bench-sparse-$card.json"
      tail -20 "$LOG/bench-sparse-$card.txt" ;;
    sweep)
      "${CLI[@]}" dist bench --grid full --only "${ONLY:-0,1,2,9,10,17,18,8,16,24}" --emit-configs "$LOG/sweep-configs.json" >/dev/null \
        || { summary+=("sweep: no configs"); continue; }
      flashmla_times "$LOG/sweep-configs.json" "$OUT/sweep-flashmla-$card.json" | tee "$LOG/sweep-flashmla-$card.txt"
      run sweep "${SWEEP_TIMEOUT:-200}" "${CLI[@]}" dist bench --backend cuda --configs "$LOG/sweep-configs.json" --variants "${VARIANTS:-auto}" \
        --reps 60 --flashmla "$OUT/sweep-flashmla-$card.json" --out "$OUT/sweep-$card.json" ${BENCH_ARGS:-}
      tail -15 "$LOG/sweep-$card.txt" ;;
    host|graphs) run "bench-$step" "${BENCH_TIMEOUT:-300}" "${CLI[@]}" dist bench --mode "$step" --out "$OUT/bench-$step-$card.json"
      tail -3 "$LOG/bench-$step-$card.txt" ;;
    cuda-run) # the grid with each row bucket's winning variant, then the host overhead of one call and the CUDA-graph saving
      "${CLI[@]}" dist bench --grid "${GRID:-full}" --emit-configs "$LOG/run-configs.json" >/dev/null || { summary+=("cuda-run: no configs"); continue; }
      flashmla_times "$LOG/run-configs.json" "$OUT/run-flashmla-$card.json" | tee "$LOG/run-flashmla-$card.txt"
      run cuda-run "${BENCH_TIMEOUT:-300}" "${CLI[@]}" dist bench --backend cuda --configs "$LOG/run-configs.json" --variants winners \
        --reps 100 --flashmla "$OUT/run-flashmla-$card.json" --out "$OUT/cuda-run-$card.json" ${BENCH_ARGS:-}
      tail -30 "$LOG/cuda-run-$card.txt"
      for m in host graphs; do run "bench-$m" "${BENCH_TIMEOUT:-300}" "${CLI[@]}" dist bench --mode "$m" --out "$OUT/bench-$m-$card.json"; done ;;
    webgpu-bench)
      "${CLI[@]}" dist bench --grid flashmla --emit-configs "$LOG/wg-configs.json" >/dev/null || { summary+=("webgpu-bench: no configs"); continue; }
      flashmla_times "$LOG/wg-configs.json" "$OUT/wg-flashmla-$card.json" > /dev/null
      run webgpu-bench "${BENCH_TIMEOUT:-300}" "${CLI[@]}" dist bench --backend webgpu --configs "$LOG/wg-configs.json" --num-sms "${NUMSMS:-132,264}" \
        --mul-add auto --reps 30 --flashmla "$OUT/wg-flashmla-$card.json" --out "$OUT/webgpu-bench-$card.json" ${BENCH_ARGS:-}
      tail -30 "$LOG/webgpu-bench-$card.txt" ;;
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
      run mla-layer-cuda 240 node build/bench/mla/layer.js --shape v3 --batch 64 --context 4096 --backend cuda --precision bf16 --reps 10 --json "$LOG/mla-layer-cuda.json"
      run mla-layer-torch 240 python3 bench/mla/torch_layer.py --batch 64 --context 4096 --reps 10 --out "$LOG/mla-layer-torch.json"
      tail -4 "$LOG/mla-layer-cuda-$card.txt" "$LOG/mla-layer-torch-$card.txt" ;;
    hopper-sanitize) # the Hopper kernels' standalone harnesses (built here unless HOPPER_BIN holds them) under racecheck
      # and synccheck, and the named-barrier probe (docs/notes/cuda-hopper-decode.md)
      hb=${HOPPER_BIN:-$LOG/hopper}; mkdir -p "$hb"
      for h in harness harness_wide racecheck_probe; do
        [ -x "$hb/$h" ] || nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -DMLA_SM90W_SWAP_PROBE -o "$hb/$h" "bench/cuda/hopper/$h.cu" \
          > "$LOG/build-$h-$card.txt" 2>&1 || { summary+=("hopper-sanitize: $h does not build"); continue 2; }
      done
      for h in harness harness_wide; do
        run "check-$h" 60 "$hb/$h" check "${SANITIZE_CASES:-40}" 7
        for tool in racecheck synccheck; do
          run "$tool-$h" "${SANITIZE_TIMEOUT:-60}" compute-sanitizer --tool $tool --print-limit 12 "$hb/$h" check 2 11
          grep -E 'SUMMARY' "$LOG/$tool-$h-$card.txt" | tail -1
        done
      done
      run racecheck-probe 60 compute-sanitizer --tool racecheck --racecheck-report all "$hb/racecheck_probe"
      grep -E 'SUMMARY|probe:' "$LOG/racecheck-probe-$card.txt" ;;
    racecheck-verify)
      hb=$LOG/rprobe; nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o "$hb" bench/cuda/hopper/racecheck_probe.cu > "$LOG/build-rprobe-$card.txt" 2>&1 \
        || { summary+=("racecheck-verify: the probe does not build"); continue; }
      for m in 0 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17; do
        ( PROBE_MODE=$m timeout -k 5 60 compute-sanitizer --tool racecheck --racecheck-report all "$hb" > "$LOG/probe-$m-$card.txt" 2>&1 ) &
      done
      wait
      for m in 0 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17; do echo "probe $m: $(grep -E 'probe mode' "$LOG/probe-$m-$card.txt" | head -1) | $(grep -E 'RACECHECK SUMMARY' "$LOG/probe-$m-$card.txt" | tail -1)"; done
      [ -d dist-strict/cuda ] || node scripts/build-kernels.mjs --gencode arch=compute_90a,code=sm_90a --define MLA_RACECHECK_STRICT --out dist-strict/cuda > "$LOG/build-strict-$card.txt" 2>&1 \
        || { summary+=("racecheck-verify: the verification build failed"); continue; }
      kd=${FLASHMLA_CUDA_KERNELS:-dist/cuda}
      rv() { # tag kernels-dir configs-json
        echo "$3" > "$LOG/rv-$1.json"
        ( FLASHMLA_CUDA_KERNELS=$2 timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 60 "${CLI[@]}" dist bench --backend cuda \
            --configs "$LOG/rv-$1.json" --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q --out "$LOG/rv-$1-out.json" > "$LOG/rc-$1-$card.txt" 2>&1 ) &
      }
      for b in ship strict; do
        k=$kd; [ $b = strict ] && k=dist-strict/cuda
        rv "wide64-$b" "$k" '[{"b": 1, "s_k": 8192, "h_q": 64, "s_q": 1}]'
        rv "wide256-$b" "$k" '[{"b": 2, "s_k": 1024, "h_q": 128, "s_q": 2}]'
        ( FLASHMLA_CUDA_KERNELS=$k timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 60 node build/test/gpu/sparse-count.js 3 cuda random,heads > "$LOG/rc-sparse-$b-$card.txt" 2>&1 ) &
      done
      for b in ship strict; do
        k=$kd; [ $b = strict ] && k=dist-strict/cuda
        rv "n16-$b" "$k" '[{"b": 4, "s_k": 2048, "h_q": 16, "s_q": 1}]'
        rv "n16-1t-$b" "$k" '[{"b": 1, "s_k": 4096, "h_q": 16, "s_q": 1}]' # items of one tile (session 29)
        rv "n32-$b" "$k" '[{"b": 2, "s_k": 1024, "h_q": 32, "s_q": 1}]'
        rv "n32-13t-$b" "$k" '[{"b": 16, "s_k": 1024, "h_q": 32, "s_q": 1}]'
        ( FLASHMLA_CUDA_KERNELS=$k timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 60 node build/test/gpu/sparse-count.js 3 cuda dense90,dense90q > "$LOG/rc-dense90-$b-$card.txt" 2>&1 ) &
      done
      rv wide128b-strict dist-strict/cuda '[{"b": 4, "s_k": 4096, "h_q": 64, "s_q": 2}]'
      wait
      for f in "$LOG"/rc-*-"$card".txt; do echo "$(basename "$f" "-$card.txt"): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done
      python3 bench/cuda/hopper/s28_race_classes.py "$LOG"/rc-*-"$card".txt > "$LOG/race-classes-$card.txt"
      summary+=("racecheck-verify: see probe-*, rc-* and race-classes in logs.tgz") ;;
    sanitize-sparse)
      FLASHMLA_GPU_SPARSE_CASES=${SANITIZE_CASES:-6} run sanitize-sparse "${SANITIZE_TIMEOUT:-150}" compute-sanitizer --tool memcheck \
        --target-processes all --print-limit 20 node --test --test-reporter=tap build/test/gpu/sparse.test.js
      grep -E 'ERROR SUMMARY' "$LOG/sanitize-sparse-$card.txt" | tail -1 ;;
    reliability) # issue #10: concurrency, disposal, OOM, 10^5-call leaks, faults (CUDA and WebGPU), then NaN/inf on the card
      run reliability "${STEP_TIMEOUT:-300}" node --test --test-reporter=tap build/test/gpu/reliability.test.js
      grep -E '# summary' "$LOG/reliability-$card.txt" | sed 's/^# \\# /  /'
      run webgpu-nan 120 node --test --test-reporter=tap build/test/backends/webgpu-nan.test.js ;;
    webgpu) WEBGPU_RANDOM_CASES=${WEBGPU_CASES:-120} WEBGPU_BIG_CACHE_BYTES=${WEBGPU_BIG_CACHE_BYTES:-5000000000} run webgpu "${WEBGPU_TIMEOUT:-200}" node --test --test-reporter=tap build/test/backends/webgpu.test.js ;;
    *) if [ -f "build/test/gpu/$step.test.js" ]; then run "$step" "${STEP_TIMEOUT:-300}" node --test --test-reporter=tap "build/test/gpu/$step.test.js"
       else echo "unknown step $step"; summary+=("$step: unknown"); fi ;;
  esac
done
echo "== summary ($card)"; printf '%s\n' "${summary[@]}" | tee "$OUT/summary-$card.txt"
tar czf "$OUT/logs.tgz" -C "$LOG" .

#!/usr/bin/env bash
# Session 28, call 4 (H200): (1) the racecheck options this compute-sanitizer has, and where one of them models
# barrier dependences transitively, the probe modes 7 / 8 and the reporting library runs again with it; (2) the
# recorded small-batch run of the CUDA backend (bench/cuda/small-batch.json + bench/cuda/combine-holdout.json, the
# combine bounds 10 / 24) with FlashMLA 9241ae3 in the same call. Carry .gpu-host (node, koffi, anchors without the old
# build) and .devstage/s28c2.tar.xz:
#   OUT=$OUT bash bench/cuda/hopper/s28_call4.sh
set -uo pipefail
PACK=${PACK:-.devstage/s28c2.tar.xz}
source bench/cuda/hopper/s28_common.sh && s28_unpack "$PACK"
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
CLI=(node scripts/flashmla-dist.mjs build/src)
compute-sanitizer --version | tail -1
compute-sanitizer --help 2>&1 | grep -i -A2 'racecheck' | grep -E '^\s+--' | tee "$OUT/f/racecheck-options.txt"
IND=$(grep -oE -- '--racecheck-indirect-barrier-dependence' "$OUT/f/racecheck-options.txt" | head -1)
if [ -n "$IND" ]; then
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o "$OUT/rprobe" bench/cuda/hopper/racecheck_probe.cu
  for m in 4 7 8 9; do ( PROBE_MODE=$m timeout -k 5 60 compute-sanitizer --tool racecheck $IND yes "$OUT/rprobe" > "$OUT/f/probe-ind-$m.txt" 2>&1 ) & done
  echo '[{"b": 2, "s_k": 1024, "h_q": 32, "s_q": 1}]' > "$OUT/n1.json"
  echo '[{"b": 2, "s_k": 1024, "h_q": 128, "s_q": 2}]' > "$OUT/w2.json"
  BQ=(bench --backend cuda --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q)
  ( timeout -k 5 150 compute-sanitizer --tool racecheck $IND yes --print-limit 20 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/n1.json" --out "$OUT/f/n1.json" > "$OUT/f/rc-ind-n1.txt" 2>&1 ) &
  ( FLASHMLA_CUDA_KERNELS=dist/cuda timeout -k 5 150 compute-sanitizer --tool racecheck $IND yes --print-limit 20 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/w2.json" --out "$OUT/f/w2.json" > "$OUT/f/rc-ind-w2-ship.txt" 2>&1 ) &
  ( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 150 compute-sanitizer --tool racecheck $IND yes --print-limit 20 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/w2.json" --out "$OUT/f/w2s.json" > "$OUT/f/rc-ind-w2-strict.txt" 2>&1 ) &
  ( timeout -k 5 150 compute-sanitizer --tool racecheck $IND yes --print-limit 20 node build/test/gpu/sparse-count.js 1 cuda dense90 > "$OUT/f/rc-ind-dense90.txt" 2>&1 ) &
  wait
  for f in "$OUT"/f/probe-ind-*.txt "$OUT"/f/rc-ind-*.txt; do echo "$(basename "$f"): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1)"; done
else
  echo "no indirect-barrier option in this compute-sanitizer"
fi
ts "sanitizer done"
python3 - "$OUT/union.json" <<'P'
import json, sys
a = json.load(open('bench/cuda/small-batch.json')); b = json.load(open('bench/cuda/combine-holdout.json'))
json.dump(a + [x for x in b if x not in a], open(sys.argv[1], 'w'))
P
PYTHONUNBUFFERED=1 timeout -k 5 200 python3 .gpu-host/anchors/bench_flashmla.py --configs "$OUT/union.json" --out "$OUT/f/flashmla.json" --no-triton > "$OUT/f/flashmla.txt" 2>&1; echo "flashmla rc $?"
ts "flashmla done"
timeout -k 5 200 "${CLI[@]}" bench --backend cuda --configs "$OUT/union.json" --reps 40 --flashmla "$OUT/f/flashmla.json" --out "$OUT/f/cuda-small-batch.json" > "$OUT/f/bench.txt" 2>&1; echo "bench rc $?"
tail -65 "$OUT/f/bench.txt"
ts "bench done"
tar czf "$OUT/s28c4-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"

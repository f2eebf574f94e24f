#!/usr/bin/env bash
# One GPU-host round for dense_fp8_sm90.cu (after the build: dist/cuda and build/ in place, .gpu-host/enter.sh sourced):
# its SASS (wgmma count, no local memory), correctness (the dense90 and dense count suites, 8 shards side by side),
# compute-sanitizer memcheck and synccheck on a few cases, and the timing of bf16 / this kernel / the previous FP8 path.
#   bash bench/cuda/dense-fp8/round.sh OUT_DIR [cases=1000]
# Writes OUT_DIR/dense-fp8-round.txt (everything) and OUT_DIR/dense-fp8-time.json.
set -uo pipefail
out=${1:?OUT_DIR}; n=${2:-1000}
log=$out/dense-fp8-round.txt
{
  echo "== SASS"
  cuobjdump -sass dist/cuda/dense_fp8_sm90.fatbin > /tmp/dfp8.sass && echo "HGMMA $(grep -c HGMMA /tmp/dfp8.sass), LDL/STL $(grep -cE '\bLDL|\bSTL' /tmp/dfp8.sass)"
  echo "== counts ($n dense90 + $((n / 4)) dense, 8 shards)"
  for i in 0 1 2 3 4 5 6 7; do
    (timeout 200 node build/test/gpu/sparse-count.js "$n" cuda dense90 $i/8; timeout 100 node build/test/gpu/sparse-count.js $((n / 4)) cuda dense $i/8) > /tmp/dfp8-c$i.txt 2>&1 &
  done
  wait
  cat /tmp/dfp8-c?.txt
  echo "== compute-sanitizer"
  timeout 120 compute-sanitizer --tool memcheck node build/test/gpu/sparse-count.js 3 cuda dense90 2>&1 | tail -2
  timeout 120 compute-sanitizer --tool synccheck node build/test/gpu/sparse-count.js 2 cuda dense90 2>&1 | tail -2
  echo "== timing"
  timeout 150 node build/bench/cuda/dense-fp8/time.js 30 "$out/dense-fp8-time.json"
} 2>&1 | tee "$log"

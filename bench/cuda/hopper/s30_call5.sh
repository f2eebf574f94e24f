#!/usr/bin/env bash
# Session 30, call 5 (H200): the wide kernel's item end, E1 (kVarBStLds: the staged output rows out by shared loads and
# coalesced warp stores instead of 64 bulk copies), E3 (kVarBQPf: the next item's Q into L2 at the last pair), E2 (both)
# against the default build A: checks of E2 (sm90-wide.test, memcheck, synccheck), the stamps of E2 beside the
# default's, then arms A E1 E2 E3 E3 E2 E1 A on bench/cuda/hopper/s30_wide_e.json. Predictions and rule:
# results/gpu-host/bench/hopper/s30/predictions.txt. Carry .ghc (.gpu-host) and .devstage/s30c5.tar.xz
# (s29_pack ... E1 E2 E3 trace traceE2):   OUT=$OUT bash bench/cuda/hopper/s30_call5.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c5.tar.xz}"
export FLASHMLA_GOLDEN=test/fixtures/golden
mkdir -p "$OUT/f/ab"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
s29_cfg w256 4 1024 128 2; s29_cfg w128 16 2048 64 2; s29_cfg w64 8 1000 64 1; s29_cfg w256b 3 1500 128 2
for t in memcheck synccheck; do
  for c in w256 w128 w64 w256b; do
    echo "FLASHMLA_CUDA_KERNELS=dist-E2/cuda timeout -k 5 120 compute-sanitizer --tool $t --print-limit 50 ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-$t-$c.json > $OUT/f/san-$t-$c.txt 2>&1" >> "$OUT/jobs.txt"
  done
done
( FLASHMLA_CUDA_KERNELS=dist-E2/cuda FLASHMLA_SM90W_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90-wide-E2.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-wide-E2.txt" ) &
s29_run_jobs 8
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90-wide-E2.txt" | tr '\n' ' '; echo
C='[{"b":128,"s_k":1024,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":8192,"h_q":64,"s_q":1}]'
for v in trace traceE2; do
  FLASHMLA_CUDA_KERNELS=dist-$v/cuda timeout -k 5 100 node build/bench/cuda/hopper/s30_trace.js "$C" > "$OUT/f/$v.txt" 2>&1; echo "$v rc $?"
  sed "s/ lib / $v /" "$OUT/f/$v.txt"
done
ts "traces done"
i=0
for arm in A E1 E2 E3 E3 E2 E1 A; do
  i=$((i + 1)); k=dist/cuda; [ $arm != A ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs bench/cuda/hopper/s30_wide_e.json --reps 30 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
for f in "$OUT"/f/ab/ab-*-A.json; do mv "$f" "${f%-A.json}-ship.json"; done
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" E1 E2 E3 | tee "$OUT/f/ab.txt"
rm -f "$OUT"/f/ab/*.svg "$OUT"/f/*.svg
tar czf "$OUT/s30c5-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

#!/usr/bin/env bash
# Session 31, call 3 (H200): the >= 64-row kernel with unsplit output rows stored from registers and every item's
# next Q issued in its last pair (R: -DMLA_SM90W_STREG=1) against the library (A): checks of R (sm90-wide.test,
# memcheck, synccheck), session 30's trace tool on trA / trR (the same two with -DMLA_SM90W_TRACE
# -DMLA_SM90W_LIB_TRACE), then arms A R R A on bench/cuda/hopper/s30_wide_e.json. Predictions and rule:
# results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c3.tar.xz from s29_pack ... R trA trR):
#   OUT=$OUT bash bench/cuda/hopper/s31_call3.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c3.tar.xz}"
export FLASHMLA_GOLDEN=test/fixtures/golden
mkdir -p "$OUT/f/ab"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
s29_cfg w256 4 1024 128 2; s29_cfg w128 16 2048 64 2; s29_cfg w64 8 1000 64 1; s29_cfg w256b 3 1500 128 2
for t in memcheck synccheck; do
  for c in w256 w128 w64 w256b; do
    echo "FLASHMLA_CUDA_KERNELS=dist-R/cuda timeout -k 5 120 compute-sanitizer --tool $t --print-limit 50 ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-$t-$c.json > $OUT/f/san-$t-$c.txt 2>&1" >> "$OUT/jobs.txt"
  done
done
( FLASHMLA_CUDA_KERNELS=dist-R/cuda FLASHMLA_SM90W_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90-wide-R.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-wide-R.txt" ) &
s29_run_jobs 8
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90-wide-R.txt" | tr '\n' ' '; echo
C='[{"b":128,"s_k":1024,"h_q":128,"s_q":2},{"b":128,"s_k":4096,"h_q":128,"s_q":2},{"b":128,"s_k":1024,"h_q":64,"s_q":2}]'
for v in trA trR; do
  FLASHMLA_CUDA_KERNELS=dist-$v/cuda timeout -k 5 100 node build/bench/cuda/hopper/s30_trace.js "$C" > "$OUT/f/$v.txt" 2>&1; echo "$v rc $?"
  sed "s/ lib / $v /" "$OUT/f/$v.txt" | cut -c1-400
done
ts "traces done"
i=0
for arm in A R R A; do
  i=$((i + 1)); k=dist/cuda; [ $arm != A ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs bench/cuda/hopper/s30_wide_e.json --reps 30 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
for f in "$OUT"/f/ab/ab-*-A.json; do mv "$f" "${f%-A.json}-ship.json"; done
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" R | tee "$OUT/f/ab.txt"
rm -f "$OUT"/f/ab/*.svg "$OUT"/f/*.svg
tar czf "$OUT/s31c3-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

#!/usr/bin/env bash
# Session 31, call 4 (H200): the >= 64-row kernel with its pair's one-way hand-offs on mbarriers (M:
# -DMLA_SM90W_MBHAND=1) against the library (A): racecheck on session 29's 17 shapes (and two shipped controls), the
# checks (sm90-wide.test, memcheck, synccheck on four shapes), then arms A M M A on bench/cuda/hopper/s30_wide_e.json.
# Predictions and rule: results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c4.tar.xz
# from s29_pack ... M):   OUT=$OUT bash bench/cuda/hopper/s31_call4.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c4.tar.xz}"
export FLASHMLA_GOLDEN=test/fixtures/golden
mkdir -p "$OUT/f/ab"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
for c in "w64:1:8192:64:1" "w128:2:1024:128:1" "w256c:1:8192:128:2" "w256odd:3:1500:128:2" "w64odd:1:1000:64:1" \
         "a:2:1024:128:2" "b:2:1050:128:2" "c:1:1024:128:2" "d:4:1024:128:2" "e:2:2048:128:2" "f:8:1024:128:2" \
         "g:4:4096:64:2" "h:4:4096:64:1" "i:4:4096:128:1" "j:2:1024:64:4" "k:4:4000:64:2"; do
  IFS=: read -r tag b sk hq sq <<<"$c"; s29_cfg "$tag" "$b" "$sk" "$hq" "$sq"
  s29_rc "M-$tag-$b-$sk-$hq-$sq" dist-M/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-M-$tag.json"
done
s29_rc "M-a-flashmla-plan" dist-M/cuda "env FLASHMLA_CUDA_SCHEDULE=flashmla ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-a.json --out $OUT/f/o-M-a-fm.json"
for tag in w64 a; do s29_rc "ship-$tag" dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-ship-$tag.json"; done
s29_cfg s256 4 1024 128 2; s29_cfg s128 16 2048 64 2; s29_cfg s64 8 1000 64 1; s29_cfg s256b 3 1500 128 2
for t in memcheck synccheck; do
  for c in s256 s128 s64 s256b; do
    echo "FLASHMLA_CUDA_KERNELS=dist-M/cuda timeout -k 5 120 compute-sanitizer --tool $t --print-limit 50 ${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$c.json --out $OUT/f/o-$t-$c.json > $OUT/f/san-$t-$c.txt 2>&1" >> "$OUT/jobs.txt"
  done
done
( FLASHMLA_CUDA_KERNELS=dist-M/cuda FLASHMLA_SM90W_CASES=100 timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90-wide.test.js > "$OUT/f/sm90-wide-M.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-wide-M.txt" ) &
s29_run_jobs 14
for f in "$OUT"/f/san-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1)"; done
grep -E '^# (pass|fail)|^not ok|ran the sm90w' "$OUT/f/sm90-wide-M.txt" | tr '\n' ' '; echo
mkdir -p "$OUT/keep"; cp "$OUT/f/sm90-wide-M.txt" "$OUT"/f/san-*.txt "$OUT/keep/" 2>/dev/null
s29_race_report s31c4-race
mkdir -p "$OUT/f/ab"
i=0
for arm in A M M A; do
  i=$((i + 1)); k=dist/cuda; [ $arm != A ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs bench/cuda/hopper/s30_wide_e.json --reps 30 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
for f in "$OUT"/f/ab/ab-*-A.json; do mv "$f" "${f%-A.json}-ship.json"; done
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" M | tee "$OUT/f/ab.txt"
rm -f "$OUT"/f/ab/*.svg "$OUT"/f/*.svg
mv "$OUT"/keep "$OUT/f/"
tar czf "$OUT/s31c4-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

#!/usr/bin/env bash
# Session 30, call 6 (H200): racecheck_probe.cu modes 16 / 17 (mode 17: mode 16's unequal syncs on mbarriers), then
# build X (decode_sm90.cu with -DMLA_SM90_EXACT_MBAR: the lazy vote's exact path syncs on a per-warpgroup mbarrier)
# under racecheck on the <= 32-row shapes of session 29 (and two shipped controls), the sm90 suite on X, and X against
# the default in arms ship X X ship on session 29's 68 A/B shapes. Predictions and rule:
# results/gpu-host/bench/hopper/s30/predictions.txt. Carry .ghc (.gpu-host) and .devstage (s30c6.tar.xz from
# s29_pack ... X, and rp: racecheck_probe.cu built for sm_90a):   OUT=$OUT bash bench/cuda/hopper/s30_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s30c6.tar.xz}"
export FLASHMLA_GOLDEN=test/fixtures/golden
mkdir -p "$OUT/f/ab"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
for m in 16 17; do
  echo "PROBE_MODE=$m timeout -k 5 170 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 20 .devstage/rp > $OUT/f/rc-probe$m.txt 2>&1" >> "$OUT/jobs.txt"
done
for c in "n16-1t:1:4096:16" "n16-2t:4:2048:16" "n32-1t:1:4096:32" "n32-1tb:3:1024:32" "n32-1tc:2:1024:32" "n32-2t:4:2048:32" "n32-13t:16:1024:32" "n16-long:128:1024:16" "n32-long:32:8192:32"; do
  IFS=: read -r tag b sk hq <<<"$c"; s29_cfg "$tag" "$b" "$sk" "$hq"
  s29_rc "X-$tag" dist-X/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-X-$tag.json"
done
for tag in n32-1t n32-13t; do s29_rc "ship-$tag" dist/cuda "${CLI[*]} ${BQ[*]} --configs $OUT/f/c-$tag.json --out $OUT/f/o-ship-$tag.json"; done
( FLASHMLA_CUDA_KERNELS=dist-X/cuda timeout -k 5 200 node --test --test-reporter=tap build/test/gpu/sm90.test.js > "$OUT/f/sm90-X.txt" 2>&1; echo "exit $?" >> "$OUT/f/sm90-X.txt" ) &
s29_run_jobs 14
for f in "$OUT"/f/rc-probe*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY|out\[5\]' "$f" | tr '\n' ' ')"; done
grep -E '^# (pass|fail)|^not ok' "$OUT/f/sm90-X.txt" | tr '\n' ' '; echo
s29_race_report s30c6-race
mkdir -p "$OUT/f/ab"
s29_ab_configs "$OUT/ab.json"
i=0
for arm in ship X X ship; do
  i=$((i + 1)); k=dist/cuda; [ $arm != ship ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 100 "${CLI[@]}" bench --backend cuda --configs "$OUT/ab.json" --reps 40 --check 1 -q --out "$OUT/f/ab/ab-$i-$arm.json" > "$OUT/f/ab/ab-$i-$arm.txt" 2>&1 || echo "ab $arm rc $?"
  ts "arm $i $arm"
done
python3 bench/cuda/hopper/s29_ab_read.py "$OUT/f/ab" X | tee "$OUT/f/ab.txt" | grep -E '^X:|sm90_bf16_n|CHECK' | cut -c1-120
rm -f "$OUT"/f/ab/*.svg "$OUT"/f/*.svg
tar czf "$OUT/s30c6-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

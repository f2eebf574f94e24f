#!/usr/bin/env bash
# Session 28, call 2 (H200): racecheck logs of the reporting kernels, kept this time (packed: a call returns few
# files), and the second combine hold-out for the bounds 10 a wave / 24 in all (launch.ts). Predictions and rules:
# results/gpu-host/bench/hopper/s28/predictions.txt (4), (5). Carry .gpu-host (node, koffi) and
# .devstage/s28c2.tar.xz (build/ = tsc of this tree, dist/cuda, strict/ as in call 1):
#   OUT=$OUT bash bench/cuda/hopper/s28_call2.sh
set -uo pipefail
PACK=${PACK:-.devstage/s28c2.tar.xz}
source bench/cuda/hopper/s28_common.sh && s28_unpack "$PACK"
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/logs"
T0=$(date +%s); ts() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
CLI=(node scripts/flashmla-dist.mjs build/src)
BQ=(bench --backend cuda --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q)
echo '[{"b": 1, "s_k": 8192, "h_q": 64, "s_q": 1}]' > "$OUT/w1.json"
echo '[{"b": 2, "s_k": 1024, "h_q": 128, "s_q": 2}]' > "$OUT/w2.json"
echo '[{"b": 2, "s_k": 1024, "h_q": 32, "s_q": 1}]' > "$OUT/n1.json"
echo '[{"b": 4, "s_k": 2048, "h_q": 16, "s_q": 1}]' > "$OUT/n2.json"
san() { # tag kernels-dir command...
  local tag=$1 k=$2; shift 2
  ( FLASHMLA_CUDA_KERNELS=$k timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 60 "$@" > "$OUT/logs/rc-$tag.txt" 2>&1; echo "exit $?" >> "$OUT/logs/rc-$tag.txt" ) &
}
for c in w1 w2; do
  san "$c-ship" dist/cuda "${CLI[@]}" "${BQ[@]}" --configs "$OUT/$c.json" --out "$OUT/logs/$c-ship.json"
  san "$c-strict" dist-strict/cuda "${CLI[@]}" "${BQ[@]}" --configs "$OUT/$c.json" --out "$OUT/logs/$c-strict.json"
done
for c in n1 n2; do san "$c-ship" dist/cuda "${CLI[@]}" "${BQ[@]}" --configs "$OUT/$c.json" --out "$OUT/logs/$c-ship.json"; done
san dense90-ship dist/cuda node build/test/gpu/sparse-count.js 1 cuda dense90
san sparse-ship dist/cuda node build/test/gpu/sparse-count.js 3 cuda random,heads
wait
ts "racecheck done"
python3 bench/cuda/hopper/s28_race_classes.py "$OUT"/logs/rc-*.txt | tee "$OUT/race-classes.txt"
for f in "$OUT"/logs/rc-*.txt; do echo "$(basename "$f"): $(tail -1 "$f") $(grep -E 'pass \(' "$f" | tr '\n' ' ')"; done

cat > "$OUT/holdout2.json" <<'J'
[{"b": 5, "s_k": 1024, "h_q": 16, "s_q": 2}, {"b": 6, "s_k": 7000, "h_q": 16, "s_q": 2}, {"b": 4, "s_k": 1536, "h_q": 16, "s_q": 4},
 {"b": 5, "s_k": 3000, "h_q": 16, "s_q": 4}, {"b": 6, "s_k": 12288, "h_q": 16, "s_q": 4}, {"b": 7, "s_k": 12288, "h_q": 16, "s_q": 4},
 {"b": 8, "s_k": 4096, "h_q": 16, "s_q": 1}, {"b": 6, "s_k": 5000, "h_q": 16, "s_q": 2}, {"b": 9, "s_k": 16384, "h_q": 16, "s_q": 1},
 {"b": 7, "s_k": 1536, "h_q": 16, "s_q": 1}, {"b": 8, "s_k": 2500, "h_q": 16, "s_q": 1}, {"b": 4, "s_k": 8192, "h_q": 16, "s_q": 4},
 {"b": 5, "s_k": 16384, "h_q": 16, "s_q": 4}]
J
mkdir -p "$OUT/ho2"; i=0
for arm in warps cta lib cta warps lib; do
  i=$((i + 1))
  env_=(); [ $arm != lib ] && env_=(FLASHMLA_CUDA_COMBINE=$arm)
  env "${env_[@]}" timeout -k 5 60 "${CLI[@]}" bench --backend cuda --configs "$OUT/holdout2.json" --reps 40 --check 1 -q --out "$OUT/ho2/ho-$i-$arm.json" > "$OUT/ho2/ho-$i-$arm.txt" 2>&1 || echo "holdout $arm rc $?"
done
ts "holdout 2 done"
python3 bench/cuda/hopper/s28_holdout_read.py "$OUT/ho2" 2 | tee "$OUT/holdout2.txt"
tar czf "$OUT/s28c2-files.tgz" -C "$OUT" logs ho2 race-classes.txt holdout2.txt && rm -rf "$OUT/logs" "$OUT/ho2" "$OUT"/*.json
ts end

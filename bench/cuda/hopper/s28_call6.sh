#!/usr/bin/env bash
# Session 28, call 6 (H200): the reporting library runs of call 2 again under racecheck with --racecheck-memcpy-async
# no (the tool's checks of asynchronous copies off), and with it on, side by side: whether the reports at the kernels'
# bar.sync-ordered hand-offs come with the tool's async-copy tracking. Carry .gpu-host and .devstage/s28c2.tar.xz.
#   OUT=$OUT bash bench/cuda/hopper/s28_call6.sh
set -uo pipefail
PACK=${PACK:-.devstage/s28c2.tar.xz}
source bench/cuda/hopper/s28_common.sh && s28_unpack "$PACK"
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
CLI=(node scripts/flashmla-dist.mjs build/src)
BQ=(bench --backend cuda --reps 1 --warmup 0 --warm-ms 0 --idle-warm-ms 0 --check 2 --rotate-mb 1 -q)
echo '[{"b": 2, "s_k": 1024, "h_q": 32, "s_q": 1}]' > "$OUT/n1.json"
echo '[{"b": 2, "s_k": 1024, "h_q": 128, "s_q": 2}]' > "$OUT/w2.json"
for ma in no yes; do
  ( timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-memcpy-async $ma --print-limit 20 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/n1.json" --out "$OUT/f/n1-$ma.json" > "$OUT/f/rc-n1-$ma.txt" 2>&1 ) &
  ( FLASHMLA_CUDA_KERNELS=dist-strict/cuda timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-memcpy-async $ma --print-limit 20 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/w2.json" --out "$OUT/f/w2s-$ma.json" > "$OUT/f/rc-w2strict-$ma.txt" 2>&1 ) &
  ( timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-memcpy-async $ma --print-limit 20 node build/test/gpu/sparse-count.js 1 cuda dense90 > "$OUT/f/rc-dense90-$ma.txt" 2>&1 ) &
  ( timeout -k 5 150 compute-sanitizer --tool racecheck --racecheck-memcpy-async $ma --print-limit 20 "${CLI[@]}" "${BQ[@]}" --configs "$OUT/w2.json" --out "$OUT/f/w2-$ma.json" > "$OUT/f/rc-w2ship-$ma.txt" 2>&1 ) &
done
wait
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f"): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1) $(grep -E 'pass \(' "$f" | tr '\n' ' ')"; done
tar czf "$OUT/s28c6-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"

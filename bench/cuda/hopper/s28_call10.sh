#!/usr/bin/env bash
# Session 28, call 10 (H200): probe mode 16 (mode 3 at scale: 132 CTAs, 32 rounds, the unequal per-warpgroup barriers
# on odd rounds) under racecheck, six processes side by side and two alone. Nothing to carry.
#   OUT=$OUT bash bench/cuda/hopper/s28_call10.sh
set -uo pipefail
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o "$OUT/rprobe" bench/cuda/hopper/racecheck_probe.cu || exit 1
for i in 1 2 3 4 5 6; do ( PROBE_MODE=16 timeout -k 5 120 compute-sanitizer --tool racecheck --racecheck-report all "$OUT/rprobe" > "$OUT/f/p16-$i.txt" 2>&1 ) & done
wait
for i in 7 8; do PROBE_MODE=16 timeout -k 5 120 compute-sanitizer --tool racecheck --racecheck-report all "$OUT/rprobe" > "$OUT/f/p16-$i.txt" 2>&1; done
for i in 1 2 3 4 5 6 7 8; do echo "mode 16 run $i$([ $i -gt 6 ] && echo ' (alone)'): $(grep -E 'probe mode' "$OUT/f/p16-$i.txt" | head -1) | $(grep -E 'RACECHECK SUMMARY' "$OUT/f/p16-$i.txt" | tail -1) | blocks: $(grep -oE 'in block \([0-9,]+\)' "$OUT/f/p16-$i.txt" | sort -u | wc -l)"; done
tar czf "$OUT/s28c10-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"

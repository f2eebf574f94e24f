#!/usr/bin/env bash
# Session 28, call 9 (H200): racecheck's repeatability on the probe. Modes 0 (the exchange alone), 3 (with unequal
# per-warpgroup bar.sync 1 / 2 before it: reported once in call 8's racecheck-verify, clean in call 1) and 12 (a
# per-warpgroup barrier on a register id) run 8 times each, 24 racecheck processes side by side; how many of each
# report anything. Nothing to carry.
#   OUT=$OUT bash bench/cuda/hopper/s28_call9.sh
set -uo pipefail
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o "$OUT/rprobe" bench/cuda/hopper/racecheck_probe.cu || exit 1
for m in 0 3 12; do for i in 1 2 3 4 5 6 7 8; do
  ( PROBE_MODE=$m timeout -k 5 90 compute-sanitizer --tool racecheck --racecheck-report all "$OUT/rprobe" > "$OUT/f/probe-$m-$i.txt" 2>&1 ) &
done; done
wait
for m in 0 3 12; do
  n=0; line=""
  for i in 1 2 3 4 5 6 7 8; do
    e=$(grep -oE 'RACECHECK SUMMARY: [0-9]+ hazards displayed \(([0-9]+) errors' "$OUT/f/probe-$m-$i.txt" | grep -oE '\(([0-9]+)' | tr -d '(')
    line="$line ${e:-?}"; [ "${e:-0}" != 0 ] && n=$((n + 1))
  done
  echo "mode $m: $n of 8 runs report (errors a run:$line)"
done
for i in 1 2 3; do ( PROBE_MODE=3 timeout -k 5 90 compute-sanitizer --tool racecheck --racecheck-report all "$OUT/rprobe" > "$OUT/f/probe-3-alone-$i.txt" 2>&1 ); done
echo "mode 3 alone (one process at a time): $(for i in 1 2 3; do grep -oE '\(([0-9]+) errors' "$OUT/f/probe-3-alone-$i.txt"; done | tr '\n' ' ')"
tar czf "$OUT/s28c9-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"

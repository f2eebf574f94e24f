#!/usr/bin/env bash
# Session 28, call 5 (H200): racecheck_probe.cu modes 11-15 (what in the kernels' straight-line bar.sync 3 hand-offs
# the tool may not model: predicated-off barriers, register barrier ids, bar.red votes, an active third warpgroup,
# setmaxnreg), mode 0 as the control. Nothing to carry beyond the tree.
#   OUT=$OUT bash bench/cuda/hopper/s28_call5.sh
set -uo pipefail
OUT=${OUT:-/tmp/s28}; mkdir -p "$OUT/f"
nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -o "$OUT/rprobe" bench/cuda/hopper/racecheck_probe.cu || { echo "probe build failed"; exit 1; }
cuobjdump -sass "$OUT/rprobe" > "$OUT/f/probe.sass"
python3 - "$OUT/f/probe.sass" <<'P'
import re, sys
fn = None
for line in open(sys.argv[1]):
    m = re.search(r'Function : (\S+)', line)
    if m: fn = m.group(1); continue
    if fn and re.search(r'Li1[1-5]E', fn) and re.search(r'\b(BAR|SETMAXNREG|USETMAXREG)\b', line):
        print(fn[:24], re.sub(r'\s+', ' ', line.split(';')[0]).strip())
P
for m in 0 11 12 13 14 15; do
  ( PROBE_MODE=$m timeout -k 5 60 compute-sanitizer --tool racecheck --racecheck-report all "$OUT/rprobe" > "$OUT/f/probe-$m.txt" 2>&1 ) &
done
wait
for m in 0 11 12 13 14 15; do echo "probe $m: $(grep -E 'probe mode' "$OUT/f/probe-$m.txt" | head -1) | $(grep -E 'RACECHECK SUMMARY' "$OUT/f/probe-$m.txt" | tail -1)"; done
tar czf "$OUT/s28c5-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"

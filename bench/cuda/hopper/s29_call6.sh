#!/usr/bin/env bash
# Session 29, call 6 (H200): dense FP8's running maxima set before the item's barrier (the race call 5 found): racecheck
# of the verification build and of the fix, the seeded dense FP8 cases on the fix, and the dense FP8 rows of
# `bench --mode sparse` before / after. Predictions: results/gpu-host/bench/hopper/s29/predictions.txt.
# Carry .gpu-host and .devstage/s29c6.tar.xz (s29_pack ... new strict):   OUT=$OUT bash bench/cuda/hopper/s29_call6.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s29c6.tar.xz}"
mkdir -p "$OUT/f/ab"
rc() { s29_rc "$@"; }
for s in 0/2 1/2; do rc "strict-dense90-${s%/*}" dist-strict/cuda node build/test/gpu/sparse-count.js 6 cuda dense90,dense90q $s; done
rc new-dense90 dist-new/cuda node build/test/gpu/sparse-count.js 3 cuda dense90
for s in 0/4 1/4 2/4 3/4; do echo "FLASHMLA_CUDA_KERNELS=dist-new/cuda timeout -k 5 200 node build/test/gpu/sparse-count.js 200 cuda dense90,dense90q $s > $OUT/f/dense90-new-${s%/*}.txt 2>&1" >> "$OUT/jobs.txt"; done
xargs -P 8 -I{} bash -c '{}' < "$OUT/jobs.txt"
ts "racecheck and tests done"
cat "$OUT"/f/dense90-new-*.txt | grep -E 'pass|fail|Error' | head -20
for f in "$OUT"/f/rc-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'RACECHECK SUMMARY' "$f" | tail -1) $(grep -E ' pass' "$f" | tr '\n' ' ')"; done | sort
python3 bench/cuda/hopper/s28_race_classes.py "$OUT"/f/rc-*.txt 2>&1 | grep -v '^\s*$' | head -20
i=0
for arm in dist new new dist; do
  i=$((i + 1)); k=dist/cuda; [ $arm != dist ] && k=dist-$arm/cuda
  FLASHMLA_CUDA_KERNELS=$k timeout -k 5 150 "${CLI[@]}" bench --backend cuda --mode sparse -q --out "$OUT/f/ab/sp-$i-$arm.json" > "$OUT/f/ab/sp-$i-$arm.txt" 2>&1 || echo "bench $arm rc $?"
  ts "arm $i $arm"
done
python3 - "$OUT/f/ab" <<'P'
import json, glob, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'sp-*.json'))):
    d = json.load(open(f))
    print(os.path.basename(f), ' '.join(f"h{r['h_q']}: fp8 {r['us']:.1f} bf16 {r['bf16_us']:.1f}" for r in d['dense']), '| sparse geomean', round(sum(r['us'] for r in d['rows']), 1), 'us total')
P
for f in "$OUT"/f/rc-*.txt; do xz -T4 "$f"; done
tar cf "$OUT/s29c6-files.tar" -C "$OUT" f && rm -rf "$OUT/f"
ts end

#!/usr/bin/env bash
# Session 31, call 1 (H200): dense FP8 (dense_fp8_sm90.cu) made racecheck-clean in the shipped build, as decode_sm90.cu
# was in session 30: the lazy vote's exact path syncs on a per-warpgroup mbarrier (exBar), a warpgroup that ran fewer of
# an item's tiles passes its named barrier for the missing one, and every lane hands a raw slot back (count 128).
# Builds: dist/cuda (the previous library: control), F (the change), FL (F with lane 0's slot hand-back,
# -DMLA_DFP8_LANE0_RELEASE), FS (F's verification build), F3 (F with the three-consumer 16-row entry forced: manifest
# denseFp8Sm90W3Tiles 0). racecheck of the seeded dense90 / dense90q cases, the cases on F and F3, then F and FL against
# the control with bench/cuda/dense-fp8/ab.js (one process, interleaved rounds) at b 128 and b 4.
# Predictions and rule: results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c1.tar.xz from
# s29_pack ... F FL FS F3):   OUT=$OUT bash bench/cuda/hopper/s31_call1.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c1.tar.xz}"
rc() { s29_rc "$@"; }
for s in 0/2 1/2; do
  rc "F-d90-${s%/*}" dist-F/cuda node build/test/gpu/sparse-count.js 6 cuda dense90,dense90q $s
  rc "F3-d90-${s%/*}" dist-F3/cuda node build/test/gpu/sparse-count.js 6 cuda dense90,dense90q $s
done
rc FL-d90 dist-FL/cuda node build/test/gpu/sparse-count.js 3 cuda dense90
rc FS-d90 dist-FS/cuda node build/test/gpu/sparse-count.js 3 cuda dense90
rc ship-d90 dist/cuda node build/test/gpu/sparse-count.js 2 cuda dense90
for s in 0/4 1/4 2/4 3/4; do echo "FLASHMLA_CUDA_KERNELS=dist-F/cuda timeout -k 5 200 node build/test/gpu/sparse-count.js 200 cuda dense90,dense90q $s > $OUT/f/cases-F-${s%/*}.txt 2>&1" >> "$OUT/jobs.txt"; done
for s in 0/2 1/2; do echo "FLASHMLA_CUDA_KERNELS=dist-F3/cuda timeout -k 5 200 node build/test/gpu/sparse-count.js 100 cuda dense90,dense90q $s > $OUT/f/cases-F3-${s%/*}.txt 2>&1" >> "$OUT/jobs.txt"; done
s29_run_jobs 14
cat "$OUT"/f/cases-*.txt | grep -E 'pass|fail|Error' | head -30
s29_race_report s31c1-race
mkdir -p "$OUT/f"
AB=(node build/bench/cuda/dense-fp8/ab.js ship=dist/cuda F=dist-F/cuda FL=dist-FL/cuda --abba --rounds 6 --reps 20)
timeout -k 5 200 "${AB[@]}" --json "$OUT/ab-b128.json" > "$OUT/f/ab-b128.txt" 2>&1 || echo "ab b128 rc $?"
ts "ab b128"; grep -vE '^#' "$OUT/f/ab-b128.txt" | tail -12
timeout -k 5 150 "${AB[@]}" --b 4 --shapes 1024x16x1,1024x32x1,4096x16x1,4096x32x1,4096x16x2,16384x16x1 --json "$OUT/ab-b4.json" > "$OUT/f/ab-b4.txt" 2>&1 || echo "ab b4 rc $?"
ts "ab b4"; grep -vE '^#' "$OUT/f/ab-b4.txt" | tail -12
tar czf "$OUT/s31c1-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

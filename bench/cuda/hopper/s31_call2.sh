#!/usr/bin/env bash
# Session 31, call 2 (H200): dense FP8's call-1 candidate F against the previous library again (two runs of
# bench/cuda/dense-fp8/ab.js, b 128 and b 4 shapes), memcheck and synccheck on F (and F3: the n16w3 entry forced), and
# racecheck of the shipped sparse kernel on more seeded cases. Predictions and rule:
# results/gpu-host/bench/hopper/s31/predictions.txt. Carry .ghc and .devstage (s31c1.tar.xz):
#   OUT=$OUT bash bench/cuda/hopper/s31_call2.sh
set -uo pipefail
source bench/cuda/hopper/s29_common.sh && s29_setup "${PACK:-.devstage/s31c1.tar.xz}"
san() { echo "FLASHMLA_CUDA_KERNELS=$2 timeout -k 5 170 compute-sanitizer --tool $3 --print-limit 40 ${*:4} > $OUT/f/$3-$1.txt 2>&1" >> "$OUT/jobs.txt"; }
for k in F F3; do
  san "$k" "dist-$k/cuda" memcheck node build/test/gpu/sparse-count.js 4 cuda dense90,dense90q
  san "$k" "dist-$k/cuda" synccheck node build/test/gpu/sparse-count.js 4 cuda dense90,dense90q
done
for s in 0/2 1/2; do s29_rc "sparse-${s%/*}" dist/cuda node build/test/gpu/sparse-count.js 6 cuda random,heads $s; done
s29_run_jobs 8
for f in "$OUT"/f/memcheck-*.txt "$OUT"/f/synccheck-*.txt; do echo "$(basename "$f" .txt): $(grep -E 'ERROR SUMMARY' "$f" | tail -1) $(grep -E ' pass' "$f" | tr '\n' ' ')"; done
s29_race_report s31c2-race
mkdir -p "$OUT/f"
AB=(node build/bench/cuda/dense-fp8/ab.js ship=dist/cuda F=dist-F/cuda --abba --rounds 8 --reps 20)
for run in 1 2; do
  timeout -k 5 200 "${AB[@]}" --json "$OUT/ab-b128-$run.json" > "$OUT/f/ab-b128-$run.txt" 2>&1 || echo "ab b128 rc $?"
  ts "ab b128 run $run"; grep -E '^F:' "$OUT/f/ab-b128-$run.txt"
  timeout -k 5 150 "${AB[@]}" --b 4 --shapes 1024x16x1,1024x32x1,4096x16x1,4096x32x1,4096x16x2,16384x16x1 --json "$OUT/ab-b4-$run.json" > "$OUT/f/ab-b4-$run.txt" 2>&1 || echo "ab b4 rc $?"
  ts "ab b4 run $run"; grep -E '^F:' "$OUT/f/ab-b4-$run.txt"
done
tar czf "$OUT/s31c2-files.tgz" -C "$OUT" f && rm -rf "$OUT/f"
ts end

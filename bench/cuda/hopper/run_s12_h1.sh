#!/usr/bin/env bash
# Session 12, helper h1 (issue #14): bit 38 (mode 277093343240) timed against the shipped 2215436296 in one process,
# the ship rule, and the ncu stall split of the V3.2 pair's producer (`empty` waits vs load waits) that the note's plan
# item 3 asks for before the stage hand-off is built (docs/notes/cuda-sparse-decode.md, "Session 12").
# GPU host, from the root of a tree with build/ (tsc), dist/cuda = the shipped kernels (sm_90a), .gpu-host entered:
#   OUT=$OUT bash bench/cuda/hopper/run_s12_h1.sh
# Candidate fatbin: $HB/sparse_sm90_m277093343240.fatbin (default .devstage/s11-h1-r4, sha256 b5ad22c7...).
#  1. sparse-sm90-final-ab.sh: checks (goldens + CASES random sm90 cases a format), then timing in one process, with
#     a timeout that fits it (session 12's first call cut it at 38 s: 12 shapes' host inputs and uploads take ~40 s);
#     each shape's medians are printed and saved as soon as it is timed; then the ship rule (sparse_sm90_pick_r4.py);
#  2. ncu (source counters + warp states) of the candidate's V3.2 pair entry on V3.2 b64 h_q 128 s_q 2 (shape 0), then
#     the shipped build's when nothing ships; summarized by sparse_sm90_stalls.py (producer: empty vs load waits);
#  3. if bit 38 ships: the sparse GPU suite on the candidate's kernels (3 processes, disjoint seeds) and racecheck /
#     synccheck on V3.2 h_q-128 random cases (the pair entry bit 38 changes), side by side.
# Everything goes to $OUT/h1s12/, packed into $OUT/h1s12.tgz; the lines that decide are printed.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1s12; mkdir -p "$OUT"
M=277093343240; HB=${HB:-.devstage/s11-h1-r4}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s11-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee -a "$OUT/log.txt"
ts "s12-h1: A/B of $M (bit 38) against shipped 2215436296 ($F)"
echo "m$M: sha256 $(sha256sum < $HB/sparse_sm90_m$M.fatbin | cut -c1-16); shipped $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16)" | tee -a "$OUT/log.txt"
CASES=${CASES:-20} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} CHECK_TIMEOUT=${CHECK_TIMEOUT:-30} TIME_TIMEOUT=${TIME_TIMEOUT:-95} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-135} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "$M" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -18 | tee -a "$OUT/log.txt"
SHIP=0
if [ -s "$OUT/sparse-sm90-final-ab.json" ]; then
  python3 bench/cuda/hopper/sparse_sm90_pick_r4.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee "$OUT/pick.txt" | tee -a "$OUT/log.txt"
  grep -q "^SHIP MODE $((2215436296 + (1 << 38)))" "$OUT/pick.txt" && SHIP=1
fi
ts "ship bit 38: $SHIP"
N=$OUT/ncu; mkdir -p "$N"
ncu1() { # name kerneldir
  ts "ncu $1, V3.2 b64 h128 s2 (shape 0)"
  FLASHMLA_CUDA_KERNELS=$2 timeout -k 3 ${NCU_S:-40} ncu --clock-control none -k regex:mla_sparse_sm90 --launch-skip 3 --launch-count 1 \
    --section SourceCounters --section WarpStateStats --section SpeedOfLight -f -o "$N/$1" \
    node build/bench/cuda/hopper/sparse-sm90-bench.js "$F" --all --reps 2 --sm90-only --shape 0 > "$N/$1.log" 2>&1
  ts "ncu rc=$?"
  [ -s "$N/$1.ncu-rep" ] || return
  timeout 15 ncu -i "$N/$1.ncu-rep" --page source --csv --print-source sass > "$N/$1.sass.csv" 2>&1
  timeout 10 ncu -i "$N/$1.ncu-rep" --page details > "$N/$1.details.txt" 2>&1
  grep -E "Duration|Issue Slots Busy|No Eligible|Warp Cycles Per Issued" "$N/$1.details.txt" | head -6 | tee -a "$OUT/log.txt"
  python3 bench/cuda/hopper/sparse_sm90_stalls.py "$N/$1.sass.csv" --top 24 > "$N/$1.stalls.txt" 2>&1
  head -12 "$N/$1.stalls.txt" | tee -a "$OUT/log.txt"
}
[ -d /tmp/sab-m$M ] && ncu1 m$M /tmp/sab-m$M
[ $SHIP = 0 ] && ncu1 shipped "$PWD/dist/cuda"
if [ $SHIP = 1 ]; then
  ts "3. suites on m$M's kernels + racecheck / synccheck (V3.2 h_q 128)"
  export FLASHMLA_CUDA_KERNELS=/tmp/sab-m$M
  for i in 0 1 2; do
    FLASHMLA_GPU_SPARSE_CASES=15 FLASHMLA_GPU_DENSE90_CASES=20 FLASHMLA_GPU_SPARSE_SM90_CASES=${SUITE_CASES:-90} FLASHMLA_GPU_SPARSE_SM90_SEED=$((8000 + i * 100)) \
      timeout -k 3 ${SUITE_S:-70} node --test --test-reporter=tap build/test/gpu/sparse.test.js > "$OUT/suite-$i.tap" 2>&1 &
  done
  for tool in racecheck synccheck; do
    FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_DENSE90_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 FLASHMLA_GPU_SPARSE_SM90_HQ=128 \
      timeout -k 3 ${SAN_S:-70} compute-sanitizer --tool $tool --target-processes all --print-limit 10 \
      node --test --test-reporter=tap --test-name-pattern="v32 with 64 / 128" build/test/gpu/sparse.test.js > "$OUT/san-$tool.txt" 2>&1 &
  done
  wait
  unset FLASHMLA_CUDA_KERNELS
  for f in "$OUT"/suite-*.tap "$OUT"/san-*.txt; do
    echo "$(basename $f): $(grep -E '^# (pass|fail) ' $f | tr -d '#' | xargs) $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $f | tail -1)" | tee -a "$OUT/log.txt"
    grep -E '^\s*not ok' $f | head -3 | tee -a "$OUT/log.txt"
  done
  ts "suites done"
fi
ts end
tar czf "$OUT0/h1s12.tgz" -C "$OUT0" h1s12 && rm -rf "$OUT"

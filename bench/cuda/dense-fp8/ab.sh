#!/usr/bin/env bash
# A/B of dense_fp8_sm90.cu's build-time variants (-DMLA_DENSE_FP8_VAR=n, bits described at the top of the .cu and in
# docs/notes/cuda-dense-fp8.md, "Variants") against the shipped build, on the GPU host: from the repository root with
# .gpu-host/enter.sh sourced, dist/cuda in place (the shipped fatbins) and build/ holding the tsc output.
#   OUT=$OUT bash bench/cuda/dense-fp8/ab.sh [VARS]           (VARS default "0"; ~60-80 s)
#     MEASURE (default none): measurement-only builds (wrong results by design), timed without the checks.
#   bash bench/cuda/dense-fp8/ab.sh --build DIR [VARS]       (only the fatbins, the shipped bits and VARS, into DIR; nvcc)
# A variant's fatbin is $HB/dense_fp8_sm90_vN.fatbin when there (prebuilt, HB default .devstage/hb), else nvcc builds
# it here with scripts/build-kernels.mjs's flags (warnings as errors, no spills).
#  0. v$SHIP (the shipped bits, MLA_DENSE_FP8_SHIPPED in the .cu: 1600 since session 10; v0 is session 9's lockstep
#     design) must be the same code as dist/cuda's fatbin (scripts/compare-fatbins.py);
#  1. checks, every variant side by side: CASES (default 120, two shards) random dense90 cases of the count suite
#     (V3.2, page 64, sQ * hQ <= 32, causal sQ 1..4, NaN-poisoned unused tokens, odd scales), sparse-count.js;
#  2. timing, one process (ab.ts): the shipped build and every variant whose checks passed, interleaved rounds, on
#     b = 128 at s_k 8192 (16x1, 32x1, 16x2) and 1024 (16x1, 32x1), plus the bf16 dense path for the ratio.
# Prints one line a build; $OUT/dense-fp8-ab.json (timing) and $OUT/dense-fp8-ab.tgz (logs).
# NCU="0 4" (variant numbers; 0 = shipped) also profiles those builds on 8192x16x1 with ncu (~20-40 s each), text
# reports in the tgz; the command, for one build by hand:
#   ncu --target-processes all --kernel-name regex:mla_dense_fp8_sm90 --launch-skip 2 --launch-count 1 \
#     --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis \
#     --section MemoryWorkloadAnalysis --section SourceCounters \
#     node build/bench/cuda/dense-fp8/ab.js v4=/tmp/dab-v4 --ncu --shapes 8192x16x1
set -uo pipefail
SRC=src/backends/cuda/kernels/dense_fp8_sm90.cu
SHIP=$(sed -n 's/^#define MLA_DENSE_FP8_SHIPPED \([0-9]*\).*/\1/p' $SRC)
dfp8_build() { # VAR OUT.fatbin
  nvcc -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -Xptxas -v -DMLA_DENSE_FP8_VAR="$1" \
    -gencode arch=compute_90a,code=sm_90a -fatbin -o "$2" "$SRC"
}
if [ "${1:-}" = --build ]; then
  D=${2:?--build DIR}; mkdir -p "$D"
  for v in $SHIP ${3:-0}; do
    dfp8_build $v "$D/dense_fp8_sm90_v$v.fatbin" > "$D/nvcc-v$v.txt" 2>&1
    echo "v$v: rc $? $(grep -E 'spill stores' "$D/nvcc-v$v.txt" | tr -s ' ' | tr '\n' ' ')$(grep -cE 'C75[0-9][0-9]' "$D/nvcc-v$v.txt") wgmma notes"
  done
  exit 0
fi
VARS=${1:-${VARS:-0}}
MEASURE=${MEASURE-}
HB=${HB:-.devstage/hb}
OUT=${OUT:-/tmp}
CASES=${CASES:-120}
L=$OUT/dense-fp8-ab; rm -rf "$L"; mkdir -p "$L"
T0=$SECONDS; el() { echo "[$((SECONDS - T0))s] $*"; }
for v in $SHIP $VARS $MEASURE; do
  if [ -f "$HB/dense_fp8_sm90_v$v.fatbin" ]; then cp "$HB/dense_fp8_sm90_v$v.fatbin" "$L/v$v.fatbin"
  else dfp8_build $v "$L/v$v.fatbin" > "$L/nvcc-v$v.txt" 2>&1 &
  fi
done
wait
echo "v$SHIP (shipped bits) vs dist/cuda: $(python3 scripts/compare-fatbins.py "$L/v$SHIP.fatbin" dist/cuda/dense_fp8_sm90.fatbin 2>&1 | tail -1)"
BUILDS="shipped=$PWD/dist/cuda"
for v in $VARS $MEASURE; do
  [ -s "$L/v$v.fatbin" ] || { echo "v$v: no fatbin ($(grep -m2 -E 'error' "$L/nvcc-v$v.txt" 2>/dev/null | tr '\n' ' '))"; continue; }
  d=/tmp/dab-v$v; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/; cp "$L/v$v.fatbin" $d/dense_fp8_sm90.fatbin
  python3 - "$d" "$v" "${W3TILES:-48}" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
j = json.load(open(d + "/manifest.json"))
j["files"]["dense_fp8_sm90.fatbin"] = hashlib.sha256(open(d + "/dense_fp8_sm90.fatbin", "rb").read()).hexdigest()
# the 16-row entry's threads, which the launch takes from here: 512 with three consumer warpgroups (bit 2199023255552)
j["denseFp8Sm90Threads16"] = 512 if int(sys.argv[2]) & 2199023255552 else 384
# the dispatch build (bit 4398046511104): its n16w3 entry from W3TILES tiles an SM part (default 48)
# null for a build without it (the shipped build has it since session 18, so an absent key means 48)
j["denseFp8Sm90W3Tiles"] = int(sys.argv[3]) if int(sys.argv[2]) & 4398046511104 else None
json.dump(j, open(d + "/manifest.json", "w"), indent=1)
PY
  BUILDS="$BUILDS v$v=$d"
done
el "kernel folders: $BUILDS"
# 1. checks, all variants at once (two shards each)
for b in $BUILDS; do
  n=${b%%=*}; [ $n = shipped ] && continue
  [[ " $MEASURE " == *" ${n#v} "* ]] && continue
  for s in 0 1; do
    FLASHMLA_CUDA_KERNELS=${b#*=} timeout -k 5 ${CHECK_TIMEOUT:-40} node build/test/gpu/sparse-count.js $CASES cuda dense90 $s/2 > "$L/check-$n-$s.txt" 2>&1 &
  done
done
wait
TIMED=""
for b in $BUILDS; do
  n=${b%%=*}
  if [ $n = shipped ]; then TIMED="$b"; continue; fi
  if [[ " $MEASURE " == *" ${n#v} "* ]]; then TIMED="$TIMED $b"; continue; fi
  ok=1
  for s in 0 1; do grep -qE 'dense90 shard [0-9]/2: ([1-9][0-9]*)/\1 pass' "$L/check-$n-$s.txt" || ok=0; done
  [ $ok = 1 ] && TIMED="$TIMED $b"
done
el "checks done; timed: $TIMED"
# 2. timing on a quiet GPU
timeout -k 5 ${TIME_TIMEOUT:-60} node build/bench/cuda/dense-fp8/ab.js $TIMED --reps ${REPS:-10} --rounds ${ROUNDS:-3} \
  --json "$OUT/dense-fp8-ab.json" > "$L/time.txt" 2>&1
el "timing rc $?"
for b in $BUILDS; do
  n=${b%%=*}
  t=$(grep -E "^$n: " "$L/time.txt" | head -1 | sed "s/^$n: //"); t=${t:-not timed}
  if [ $n = shipped ]; then echo "shipped (dist/cuda): $t"; continue; fi
  if [[ " $MEASURE " == *" ${n#v} "* ]]; then echo "$n: measurement only, not checked | $t"; continue; fi
  c=$(cat "$L"/check-$n-*.txt | grep -E 'dense90 shard' | sed -E 's/.*: ([0-9]+\/[0-9]+) pass.*/\1/' | tr '\n' ' ')
  echo "$n: dense90 ${c:-no result} | $t"
  cat "$L"/check-$n-*.txt | grep -vE 'dense90 shard [0-9]/2: ([0-9]+)/\1 pass' | head -3
done
grep -vE '^(shipped|v[0-9]+): ' "$L/time.txt" | tail -8
# optional: ncu on the chosen builds, one at a time
for v in ${NCU:-}; do
  if [ $v = 0 ]; then dir=$PWD/dist/cuda; else dir=/tmp/dab-v$v; fi
  timeout -k 5 ${NCU_TIMEOUT:-90} ncu --target-processes all --kernel-name regex:mla_dense_fp8_sm90 --launch-skip 2 --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis \
    --section MemoryWorkloadAnalysis --section SourceCounters \
    node build/bench/cuda/dense-fp8/ab.js v$v=$dir --ncu --shapes 8192x16x1 > "$L/ncu-v$v.txt" 2>&1
  el "ncu v$v rc $?: $(grep -E 'Duration|Issue Slots Busy|No Eligible|Warp Cycles Per Issued' "$L/ncu-v$v.txt" | tr -s ' ' | head -4 | tr '\n' ';')"
done
rm -f "$L"/v*.fatbin
tar czf "$OUT/dense-fp8-ab.tgz" -C "$OUT" dense-fp8-ab && rm -rf "$L"

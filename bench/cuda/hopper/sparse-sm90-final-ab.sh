#!/usr/bin/env bash
# Final A/B of sparse_sm90.cu build modes (MLA_SPARSE_SM90_MODE, see the .cu) against the shipped build, on the GPU
# host, from the repository root with .gpu-host entered, dist/cuda built (the shipped fatbins) and build/ holding the
# tsc output; FlashMLA's bench_sparse.py JSON of the same call as the argument:
#   OUT=$OUT bash bench/cuda/hopper/sparse-sm90-final-ab.sh $OUT/flashmla-sparse.json [MODES]
# MODES: the candidates (session 8 compared 3592 264 3848, since removed from the .cu; session 9's second round:
# "843784 909320 1105928 1892360" with PROBES="188424", see the note's "Next call").
# PROBES (optional): measurement-only modes (their output is garbage) timed beside them without checks.
# Each one's fatbin is .devstage/hb/sparse_sm90_mN.fatbin if it is there (prebuilt, see docs/notes/cuda-sparse-decode.md
# for the command), else nvcc builds it here (~10 s, in parallel).
#  1. checks, one process per candidate side by side: FlashMLA's six sparse goldens ($FLASHMLA_GOLDEN_SPARSE) and
#     CASES (40) random V3.2 + CASES random MODEL1 cases at h_q 64/128 on sparse_sm90.cu (test/gpu/sparse.test.ts);
#  2. timing, one process: the shipped build and every candidate on FlashMLA's 12 shapes, interleaved rounds
#     (sparse-sm90-final-ab.ts).
# Prints one line per build: check pass counts, geomean vs FlashMLA, per-shape ratios. Logs in $OUT/final-ab.tgz.
# ~60-80 s of wall time with three candidates.
set -uo pipefail
F=${1:?usage: sparse-sm90-final-ab.sh FLASHMLA_SPARSE_JSON [MODES]}
MODES=${2:-${MODES:?the build modes to compare, e.g. "136"}}
PROBES=${PROBES:-}
HB=${HB:-.devstage/hb}
OUT=${OUT:-/tmp}
L=$OUT/final-ab; mkdir -p "$L"
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
. "$(dirname "${BASH_SOURCE[0]}")/sparse-sm90-modes.sh"
for m in $MODES $PROBES; do
  if [ -f "$HB/sparse_sm90_m$m.fatbin" ]; then cp "$HB/sparse_sm90_m$m.fatbin" "$L/m$m.fatbin"
  else
    sparse_sm90_build $m "$L/m$m.fatbin" > "$L/nvcc-m$m.txt" 2>&1 &
  fi
done
wait
BUILDS="shipped=$PWD/dist/cuda"
for m in $MODES $PROBES; do
  [ -s "$L/m$m.fatbin" ] || { echo "m$m: no fatbin ($(head -3 "$L/nvcc-m$m.txt" 2>/dev/null | tr '\n' ' '))"; continue; }
  d=/tmp/sab-m$m; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/; sparse_sm90_swap "$L/m$m.fatbin" $d
  BUILDS="$BUILDS m$m=$d"
done
el "kernel folders: $BUILDS"
# 1. checks (goldens + random sm90 cases of both formats), candidates side by side
for b in $BUILDS; do
  n=${b%%=*}; [ $n = shipped ] && continue
  case " $PROBES " in *" ${n#m} "*) continue ;; esac
  FLASHMLA_CUDA_KERNELS=${b#*=} FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-40} timeout -k 5 ${CHECK_TIMEOUT:-45} \
    node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" build/test/gpu/sparse.test.js > "$L/check-$n.tap" 2>&1 &
done
wait
# only candidates whose checks all passed are timed (a hung or wrong build must not cost the timing of the others)
TIMED=""
for b in $BUILDS; do
  n=${b%%=*}
  if [ $n = shipped ] || case " $PROBES " in *" ${n#m} "*) true ;; *) false ;; esac || { grep -qE '^# fail 0' "$L/check-$n.tap" && grep -qE '^# pass [1-9]' "$L/check-$n.tap"; }; then TIMED="$TIMED $b"; fi
done
el "checks done; timed:$TIMED"
# 2. timing on a quiet GPU
timeout -k 5 ${TIME_TIMEOUT:-60} node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$F" $TIMED --reps ${REPS:-10} --rounds ${ROUNDS:-2} \
  --json "$OUT/sparse-sm90-final-ab.json" > "$L/time.txt" 2>&1
el "timing rc $?"
for b in $BUILDS; do
  n=${b%%=*}; t=$(grep -E "^$n geomean" "$L/time.txt" | head -1 | sed "s/^$n //"); t=${t:-not timed}
  if [ $n = shipped ]; then echo "shipped (dist/cuda): $t"; continue; fi
  case " $PROBES " in *" ${n#m} "*) echo "$n (probe, not checked): $t"; continue ;; esac
  c=$L/check-$n.tap
  g=$(grep -E '^\s*ok [0-9]+ - sparse_' $c | grep -vc SKIP); gf=$(grep -cE '^\s*not ok [0-9]+ - sparse_' $c)
  r=$(grep -E '^\s*(not )?ok [0-9]+ - [0-9]+ cases, hQ 64 / 128' $c | sed -E 's/^\s*//; s/ - ([0-9]+) cases.*/ \1/' | awk '{ if ($1 == "ok") p += $NF; else f += $NF } END { printf "%d pass / %d in failed tests", p, f }')
  echo "$n: checks $(grep -E '^# (pass|fail) ' $c | tr -d '#' | xargs) (goldens ${g}/$((g + gf)), random sm90 cases: $r) | $t"
  grep -E '^\s*not ok|seed [0-9]+' $c | head -3
done
grep -vE ' geomean ' "$L/time.txt" | tail -14
tar czf "$OUT/final-ab.tgz" -C "$OUT" final-ab && rm -rf "$L"

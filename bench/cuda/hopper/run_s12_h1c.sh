#!/usr/bin/env bash
# Next session's sparse probe slot (issue #14, prepared in session 12 by helper h1; ≤ 60 s warm): what bounds the V3.2 /
# MODEL1 pair fill now that ncu's source page cannot show the producer's `empty` waits (their retry blocks get no
# samples). One process: the shipped 277093343240 twice (A/A noise) and three measurement-only probes of it (garbage
# output, not checked): + bit 1 (consumers skip every wgmma), + bit 2 (producer loads nothing), + bit 17 (consumers
# alone). GPU host, tree root, .gpu-host entered, build/ by tsc, dist/cuda = kernels whose sparse_sm90.fatbin is
# 277093343240 (the merged tree's own build, sha256 b5ad22c7...; this script swaps HB's copy in if it differs):
#   OUT=$OUT bash bench/cuda/hopper/run_s12_h1c.sh        (carry .devstage/s12-h1: the four fatbins, README.txt)
# Prints the A/B lines, the per-shape table and sparse_sm90_probe_s12.py's VERDICT; logs in $OUT/h1s12c.tgz.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1s12c; mkdir -p "$OUT"
HB=${HB:-.devstage/s12-h1}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s11-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
cmp -s $HB/sparse_sm90_m277093343240.fatbin dist/cuda/sparse_sm90.fatbin || sparse_sm90_swap $HB/sparse_sm90_m277093343240.fatbin dist/cuda
echo "dist/cuda sparse_sm90 $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16)" | tee -a "$OUT/log.txt"
CASES=${CASES:-10} REPS=${REPS:-10} ROUNDS=${ROUNDS:-2} CHECK_TIMEOUT=${CHECK_TIMEOUT:-25} TIME_TIMEOUT=${TIME_TIMEOUT:-70} HB=$HB OUT=$OUT \
  PROBES="277093343242 277093343244 277093474312" timeout ${AB_TIMEOUT:-100} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" 277093343240 > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -20 | tee -a "$OUT/log.txt"
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_probe_s12.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee -a "$OUT/log.txt"
ts end
tar czf "$OUT0/h1s12c.tgz" -C "$OUT0" h1s12c && rm -rf "$OUT"

#!/usr/bin/env bash
# Session 14, helper h2, sparse probe slot (docs/notes/cuda-sparse-decode.md, "Session 14, helper h2: what the second
# P V costs a tile"). Measurement only, nothing ships; run_s13_h1r2.sh's frame, <= 100 s warm, nothing built on the host.
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (sparse_sm90 70b532da =
# 35461465432072), build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/run_s14_h2.sh        # carry .devstage/s14-h2 (fatbins.tar.xz, README.txt)
#  1. the single-P build (m35461465432104 = shipped + bit 5, FlashMLA's product) through the checks (the six goldens,
#     CASES random sm90 cases a format at h_q 64 / 128, the sinks and spread-score cases): how often one bf16 P breaks
#     the project's bound on the H200 (the host emulation said 15 / 80 cases);
#  2. timing, one process, interleaved (sparse-sm90-final-ab.sh with every build a probe): shipped, + 5, + 17 (the
#     consumers alone, hi + lo P) and + 5 + 17 (the consumers alone, single P) on FlashMLA's 12 shapes;
#  3. the m1items shapes on the same builds (the b148 topk 16384 case gives µs a tile);
#  4. sparse_sm90_probe_s14.py: ratios, VERDICT lo-worth | lo-partial | lo-small, last line `KEEP 35461465432072 (...)`.
# Everything under $OUT/s14h2/, packed into $OUT/s14h2.tgz.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/s14h2; mkdir -p "$OUT"
BASE=35461465432072; P5=35461465432104; C17=35461465563144; C5=35461465563176
STAGE=${STAGE:-.devstage/s14-h2}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s13-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
HB=/tmp/s14h2-hb; sparse_slot_stage "$STAGE" $HB $BASE $P5 $C17 $C5

# 1. the single-P build's checks (as sparse-sm90-final-ab.sh runs them for a candidate)
d=/tmp/s14h2-p5; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/; sparse_sm90_swap $HB/sparse_sm90_m$P5.fatbin $d
FLASHMLA_CUDA_KERNELS=$d FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-20} timeout -k 5 ${CHECK_TIMEOUT:-28} \
  node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" build/test/gpu/sparse.test.js > "$OUT/check-m$P5.tap" 2>&1
ts "single-P checks rc=$?: $(grep -E '^# (pass|fail) ' "$OUT/check-m$P5.tap" | tr -d '#' | xargs)"
grep -E '^\s*(not )?ok [0-9]+ - ' "$OUT/check-m$P5.tap" | sed -E "s/^\s*/m$P5: /" | tee -a "$OUT/log.txt"
grep -E 'seed [0-9]+|over the bound|cos diff|expected' "$OUT/check-m$P5.tap" | head -6 | sed -E "s/^\s*/m$P5 detail: /" | tee -a "$OUT/log.txt"

# 2. timing: every build a probe (no checks there; the probes' outputs are garbage by design)
PROBES="$P5 $C17 $C5" REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} TIME_TIMEOUT=${TIME_TIMEOUT:-55} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-60} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" " " > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*#' "$OUT/ab.txt" | tail -18 | tee -a "$OUT/log.txt"

# 3. the item probe's shapes on the same builds (their folders are /tmp/sab-m*)
B="shipped=$PWD/dist/cuda"
for m in $P5 $C17 $C5; do [ -d /tmp/sab-m$m ] && B="$B m$m=/tmp/sab-m$m"; done
LEFT=$(( ${SLOT_S:-94} - (SECONDS - S) ))
if [ $LEFT -ge 8 ]; then
  timeout -k 2 $(( LEFT < 20 ? LEFT : 20 )) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$F" $B --shapes m1items --reps 10 --rounds 1 \
    --json "$OUT/items.json" > "$OUT/items.txt" 2>&1
  ts "items rc=$?"
else
  ts "items: skipped (${LEFT} s left)"
fi

# 4. the reading
I=; [ -s "$OUT/items.json" ] && I="$OUT/items.json"
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_probe_s14.py "$OUT/sparse-sm90-final-ab.json" $I 2>&1 | tee "$OUT/probe.txt" | tee -a "$OUT/log.txt"
[ -s "$OUT/probe.txt" ] || echo "KEEP $BASE (probe: no timing)" | tee "$OUT/probe.txt" | tee -a "$OUT/log.txt"
ts end
tail -1 "$OUT/probe.txt" | tee -a "$OUT/log.txt"
tar czf "$OUT0/s14h2.tgz" -C "$OUT0" s14h2 && rm -rf "$OUT"

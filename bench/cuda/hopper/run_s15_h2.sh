#!/usr/bin/env bash
# Session 15, helper h2, sparse probe slot (docs/notes/cuda-sparse-decode.md, "Session 15, helper h2: the fast path's
# balance"). Measurement only, nothing ships; run_s14_h2.sh's frame, <= 120 s warm, nothing built on the host.
# GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (35461465432072, with the _sp
# entries), build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/run_s15_h2.sh        # carry .devstage/s15-h2 (fatbins.tar.xz)
# One process, interleaved (sparse-sm90-final-ab.sh with both builds probes; precision 'fast', the default): shipped,
# + bit 1 (m35461465432074, no wgmma: producer-bound time) and + bit 2 (m35461465432076, no token loads:
# consumer-bound time) on FlashMLA's 12 shapes; sparse_sm90_probe_s15.py reads it (VERDICT producer | consumer |
# coupled, last line `KEEP 35461465432072 (...)`). Everything under $OUT/s15h2/, packed into $OUT/s15h2.tgz.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/s15h2; mkdir -p "$OUT"
BASE=35461465432072; NM=35461465432074; NL=35461465432076
STAGE=${STAGE:-.devstage/s15-h2}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-12-01-s15-callB.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
HB=/tmp/s15h2-hb; sparse_slot_stage "$STAGE" $HB $BASE $BASE $NM $NL
# dist/cuda must hold the _sp entries (main since ffd6e88); a stale one (e.g. 70b532da, session 14) takes the stage's
# build of the shipped mode instead (main 7afbb38, 0c9d2339...), logged.
grep -qa mla_sparse_sm90_v32_bf16_sp dist/cuda/sparse_sm90.fatbin || { sparse_sm90_swap $HB/sparse_sm90_m$BASE.fatbin dist/cuda; ts "dist/cuda had no _sp entries: stage's m$BASE swapped in"; }
PROBES="$NM $NL" REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} TIME_TIMEOUT=${TIME_TIMEOUT:-95} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-100} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" " " > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*#' "$OUT/ab.txt" | tail -18 | tee -a "$OUT/log.txt"
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_probe_s15.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee "$OUT/probe.txt" | tee -a "$OUT/log.txt"
[ -s "$OUT/probe.txt" ] || echo "KEEP $BASE (probe: no timing)" | tee "$OUT/probe.txt" | tee -a "$OUT/log.txt"
ts end
tar czf "$OUT0/s15h2.tgz" -C "$OUT0" s15h2
tail -1 "$OUT/probe.txt"

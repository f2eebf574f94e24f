#!/usr/bin/env bash
# Session 16, helper h2 (issue #14): bits 57 / 58 / 59 of sparse_sm90.cu on the one-CTA entries (57: the V3.2 producer's
# store phase as straight-line code, 58: the same for MODEL1, 59: FlashMLA's cache hints on the V3.2 gather), against the
# shipped 5103110557851656: builds A = +57, B = +57 +58, D = +59, E = +57 +59. Prediction and rule:
# docs/notes/cuda-sparse-decode.md, "Session 16, helper h2", written before any run; the rule is s16_h2_rule.py.
# From the merged tree's root on the GPU host, .gpu-host entered, dist/cuda and build/ present:
#   OUT=<dir> timeout 150 bash bench/cuda/hopper/s16_h2_slot.sh           (~120 s warm)
# Stage: .devstage/s16-h2/fatbins.tar.xz (STAGE=...): sparse_sm90_m<mode>.fatbin of shipped, A, B, D, E and the probe +
# SHA256SUMS. If dist/cuda's sparse_sm90.fatbin is not the staged shipped build (a stale
# .devstage/cuda), the staged one is swapped in first (logged), so "shipped" is main's mode either way. The stage also
# holds the probe's fatbin (sparse_sm90_m5103110566240264.fatbin).
# 1. sparse-sm90-final-ab.sh on B: its checks (FlashMLA's six goldens in both precisions, CASES random V3.2 + MODEL1 cases
#    at h_q 64 / 128) and FlashMLA's 12 shapes against shipped, one process, ROUNDS (3) rounds of REPS (10): the MODEL1
#    one-CTA class, and the eight pair shapes (shipped's code) as the noise guard; then the same script on A, D and E for
#    their checks only (TIME_TIMEOUT=1 cuts its timing: on the 12 shapes they run shipped's code), files under $OUT/chk;
# 2. FlashMLA's four V3.2 shapes at h_q 64 (sparse-sm90-final-ab.js --shapes v32h64), the candidates that passed, and the
#    probe m5103110566240264 (shipped + bit 23: the producer converts nothing; output garbage, not checked, not shippable);
# 3. the rule; its line is the last one: SHIP <mode> or KEEP 5103110557851656.
# FlashMLA's times are the JSONs of session 16's call F (results/gpu-host/bench/hopper/s16_callF/) unless
# FRESH_FLASHMLA=1 (then bench_sparse.py and flashmla_sparse_v32h64.py run here first, ~45 s more); the rule compares
# against shipped in the same process only, FlashMLA's numbers are for the log.
set -uo pipefail
O=${OUT:?set OUT}; T0=$SECONDS; mkdir -p "$O"; : > "$O/log.txt"
ts() { echo "[+$((SECONDS - T0))s] $*" | tee -a "$O/log.txt"; }
. "$(dirname "${BASH_SOURCE[0]}")/sparse-sm90-modes.sh"
SHIP=5103110557851656 MA=149218298633707528 MB=437448674785419272 MD=581563862861275144 ME=725679050937131016 MP=5103110566240264
STAGE=${STAGE:-.devstage/s16-h2} HB=/tmp/s16h2-hb
rm -rf "$HB"; mkdir -p "$HB"
if tar xJf "$STAGE/fatbins.tar.xz" -C "$HB" && (cd "$HB" && sha256sum -c --quiet SHA256SUMS); then ts "fatbins: $(ls "$HB" | grep -c fatbin) ok (SHA256SUMS)"
else ts "fatbins: BAD STAGE"; echo "KEEP $SHIP (stage unreadable)"; exit 1; fi
want=$(sha256sum < "$HB/sparse_sm90_m$SHIP.fatbin" | cut -c1-16); have=$(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16)
if [ "$want" = "$have" ]; then ts "dist/cuda sparse_sm90 $have = staged m$SHIP"
else sparse_sm90_swap "$HB/sparse_sm90_m$SHIP.fatbin" dist/cuda && ts "dist/cuda sparse_sm90 was $have: staged m$SHIP ($want) swapped in"; fi
R=results/gpu-host/bench/hopper/s16_callF
FM12=$R/flashmla-sparse.json FMV=$R/flashmla-sparse-v32h64.json
if [ "${FRESH_FLASHMLA:-0}" = 1 ]; then
  PYTHONUNBUFFERED=1 timeout -k 5 60 python3 .gpu-host/anchors/flashmla-sparse/bench_sparse.py --out "$O/flashmla-sparse.json" > "$O/flashmla-sparse.txt" 2>&1 \
    && FM12=$O/flashmla-sparse.json; ts "FlashMLA 12 shapes rc=$? ($FM12)"
  PYTHONUNBUFFERED=1 timeout -k 5 40 python3 bench/cuda/hopper/flashmla_sparse_v32h64.py --out "$O/flashmla-sparse-v32h64.json" > "$O/flashmla-v32h64.txt" 2>&1 \
    && FMV=$O/flashmla-sparse-v32h64.json; ts "FlashMLA v32h64 rc=$? ($FMV)"
fi
OUT=$O HB=$HB CASES=${CASES:-40} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} TIME_TIMEOUT=45 CHECK_TIMEOUT=${CHECK_TIMEOUT:-40} \
  timeout -k 5 90 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM12" "$MB" > "$O/ab.txt" 2>&1
ts "B: checks and 12 shapes: rc=$?"
mkdir -p "$O/chk"
OUT=$O/chk HB=$HB CASES=${CASES:-40} TIME_TIMEOUT=1 CHECK_TIMEOUT=${CHECK_TIMEOUT:-40} \
  timeout -k 5 50 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM12" "$MA $MD $ME" >> "$O/ab.txt" 2>&1
ts "A, D, E: checks: rc=$?"
tee -a "$O/log.txt" < "$O/ab.txt"
BV="shipped=$PWD/dist/cuda"
for m in $MA $MD $ME; do grep -qE "^m$m: checks pass [1-9][0-9]* fail 0 " "$O/ab.txt" && [ -d /tmp/sab-m$m ] && BV="$BV m$m=/tmp/sab-m$m"; done
d=/tmp/sab-m$MP; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/ && sparse_sm90_swap "$HB/sparse_sm90_m$MP.fatbin" $d && BV="$BV m$MP=$d"
timeout -k 5 40 node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FMV" $BV --shapes v32h64 --reps ${REPS:-10} --rounds ${VROUNDS:-3} \
  --json "$O/ab-v32h64.json" > "$O/time-v32h64.txt" 2>&1
ts "A/B, V3.2 h_q 64: rc=$? ($BV)"
grep -v '^\[+' "$O/time-v32h64.txt" | tee -a "$O/log.txt"
python3 bench/cuda/hopper/s16_h2_rule.py "$O/sparse-sm90-final-ab.json" "$O/ab-v32h64.json" "$O/ab.txt" > "$O/rule.txt" 2>&1
ts "end"
tee -a "$O/log.txt" < "$O/rule.txt"
tail -1 "$O/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $O/rule.txt)"

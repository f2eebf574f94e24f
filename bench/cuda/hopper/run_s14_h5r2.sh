#!/usr/bin/env bash
# Historical (session 14): the record of call E (KEEP: bit 48 1.18x slower on V3.2, fallback tests failed). Bit 48 and its GPU tests are gone again (e451100 has them).
# Session 14, helper h5 round 2 slot (docs/notes/cuda-sparse-decode.md, "Session 14, helper h5, round 2"): bit 48, the f16
# key tile on the V3.2 pair entry (m316936442142728 = shipped 35461465432072 + bit 48), against the shipped mode.
# run_s14_h2.sh's frame, <= 110 s warm, nothing built on the host. GPU host, the merged tree's root, .gpu-host entered,
# dist/cuda = the shipped kernels (sparse_sm90 70b532da = 35461465432072), build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/run_s14_h5r2.sh        # carry .devstage/s14-h5 (fatbins.tar.xz, SHA256SUMS)
#  1. checks of the bit-48 build (sparse.test.js, pattern "hQ 64 / 128|sparse_"): the six goldens, CASES random sm90 cases
#     a format at h_q 64 / 128 (the odd-scale third of the V3.2 caches takes the fallback), the sinks and spread-score
#     cases, and the new fallback cases (one token's scale 2^8 / 2^-20; one |q_nope| > 65504), F16_CASES each;
#  2. timing, one process, interleaved (sparse-sm90-final-ab.sh, the build as a probe there: its checks are step 1),
#     shipped and bit 48 on FlashMLA's 12 shapes, ROUNDS (3) rounds;
#  3. s14_h5r2_rule.py: SHIP if the checks pass, the 12-shape geomean <= 0.995x shipped and no shape > 1.01x; else KEEP;
#  4. only if SHIP: compute-sanitizer memcheck and synccheck on the bit-48 build over the two sm90 tests, 2 cases each at
#     h_q 128 (in parallel, <= 40 s); an error, or a run that does not finish, turns the SHIP into KEEP (said why).
# Last line: SHIP 316936442142728 ... | KEEP 35461465432072 ... Everything under $OUT/s14h5r2/, packed into $OUT/s14h5r2.tgz.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/s14h5r2; mkdir -p "$OUT"
BASE=35461465432072; M=316936442142728
STAGE=${STAGE:-.devstage/s14-h5}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s13-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
HB=/tmp/s14h5r2-hb; sparse_slot_stage "$STAGE" $HB $BASE $M

# 1. checks
d=/tmp/s14h5r2-m$M; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/; sparse_sm90_swap $HB/sparse_sm90_m$M.fatbin $d
FLASHMLA_CUDA_KERNELS=$d FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=${CASES:-20} FLASHMLA_GPU_SPARSE_SM90_F16_CASES=${F16_CASES:-10} \
  timeout -k 5 ${CHECK_TIMEOUT:-30} node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" build/test/gpu/sparse.test.js > "$OUT/check-m$M.tap" 2>&1
rc=$?
ts "bit-48 checks rc=$rc: $(grep -E '^# (pass|fail) ' "$OUT/check-m$M.tap" | tr -d '#' | xargs)"
grep -E '^\s*(not )?ok [0-9]+ - ' "$OUT/check-m$M.tap" | grep -v SKIP | sed -E "s/^\s*/m$M: /" | tee -a "$OUT/log.txt"
grep -E 'seed [0-9]+|over the bound|cos diff|expected' "$OUT/check-m$M.tap" | head -6 | sed -E "s/^\s*/m$M detail: /" | tee -a "$OUT/log.txt"
CHK=0; [ $rc = 0 ] && grep -qE '^# fail 0' "$OUT/check-m$M.tap" && grep -qE '^# pass [1-9]' "$OUT/check-m$M.tap" \
  && [ "$(grep -cE '^\s*ok [0-9]+ - [0-9]+ cases, hQ 64 / 128' "$OUT/check-m$M.tap")" -ge 6 ] && CHK=1
ts "checks_ok=$CHK (needs rc 0, fail 0 and 6 'N cases, hQ 64 / 128' tests: 2 random formats, 2 spread, 2 fallback; the sinks test is named otherwise)"

# 2. timing (the build as a probe in the A/B: its checks were step 1)
PROBES="$M" REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} TIME_TIMEOUT=${TIME_TIMEOUT:-50} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-55} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" " " > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*#' "$OUT/ab.txt" | tail -16 | tee -a "$OUT/log.txt"

# 3. the rule
if [ -s "$OUT/sparse-sm90-final-ab.json" ]; then
  (cd bench/cuda/hopper && python3 s14_h5r2_rule.py "$OUT/sparse-sm90-final-ab.json" $CHK) 2>&1 | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
fi
[ -s "$OUT/rule.txt" ] || echo "KEEP $BASE (bit 48: no timing)" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"

# 4. sanitizers, only for a SHIP
if tail -1 "$OUT/rule.txt" | grep -q '^SHIP'; then
  LEFT=$(( ${SLOT_S:-106} - (SECONDS - S) )); [ $LEFT -gt 40 ] && LEFT=40
  # the session 13 final call's sanitizer cases (the two sm90 tests, `$`), at h_q 128 only: the pair entry, bit 48's
  sparse_slot_san $d $LEFT "memcheck synccheck"
  if ! grep -qE 'ERROR SUMMARY: 0 errors' "$OUT/san-memcheck.txt" || ! grep -qE 'ERROR SUMMARY: 0 errors' "$OUT/san-synccheck.txt"; then
    echo "KEEP $BASE (bit 48: the timing rule passed but a sanitizer reported errors or did not finish)" | tee -a "$OUT/rule.txt" | tee -a "$OUT/log.txt"
  fi
fi
ts end
tail -1 "$OUT/rule.txt" | tee -a "$OUT/log.txt"
tar czf "$OUT0/s14h5r2.tgz" -C "$OUT0" s14h5r2 && rm -rf "$OUT"

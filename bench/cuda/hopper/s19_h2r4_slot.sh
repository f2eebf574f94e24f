#!/usr/bin/env bash
# Session 19, helper h2, round 4 (docs/notes/cuda-sparse-decode.md, "Session 19, helper h2, round 4"): on the new shipped
# 6881325685400199176 (bit 25, call C4; its fatbin is the staged r4 dist one):
#  1. bit 43 (m6881334481493221384: the one-CTA MODEL1 entries' validity flags by producer warp 0 after the rounds, bit 50's
#     detail there): checks at h_q 64 / 128 (sparse-sm90-final-ab.sh: FlashMLA's sparse goldens both precisions + CASES
#     random sm90 cases a format; needs $FLASHMLA_GOLDEN_SPARSE, i.e. .gpu-host/golden-sparse, as calls B / C4 had), memcheck
#     at h_q 64 and at h_q 128; if they passed: --shapes m1h64 (the four MODEL1 h_q 64 shapes + the h_q 128 k512 guard),
#     6 rounds of 10;
#  2. the item probes (logged only; shipped and bit 43): --shapes v32items (the V3.2 pair entries) and --shapes m1h64items
#     (the one-CTA MODEL1 entries): 32 tiles a part as 1, 2, 4 items and FlashMLA's peak case, 3 rounds (2 if time is short).
# FlashMLA's column: session 18 call A's JSON (not re-run). Prebuilt (stage .devstage/s19-h2/r4: fatbins.tar.xz with
# SHA256SUMS: shipped 9b7656e9 and bit 43; build.tar.xz: this branch's tsc output of sparse-sm90-final-ab.js, unpacked over
# build/). GPU host, the merged tree's root, .gpu-host entered, dist/cuda = the shipped kernels (an older sparse_sm90 is
# swapped for the staged shipped 9b7656e9), build/ by tsc (main's 778559e plus the staged file):
#   OUT=$OUT timeout 110 bash bench/cuda/hopper/s19_h2r4_slot.sh         (~85 s warm; every step ends by +106 s)
# Last line: `SHIP 6881334481493221384 (...)` or `KEEP 6881325685400199176 (...)` (s19_h2r4_rule.py).
set -uo pipefail
OUT=${OUT:?}; S=$SECONDS; mkdir -p "$OUT"; : > "$OUT/log.txt"; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
SHIP=6881325685400199176; CAND=6881334481493221384
STAGE=${STAGE:-.devstage/s19-h2/r4}; HB=/tmp/s19h2r4-hb; END=${END:-106} # seconds after the start by which all is done
FM=${FM:-results/gpu-host/bench/hopper/s18_callA/flashmla-sparse.json}
left() { echo $((END - (SECONDS - S))); }
cap() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo "$l"; } # a step's timeout: its own, or what is left
. bench/cuda/hopper/sparse-sm90-modes.sh
if [ -z "${FLASHMLA_GOLDEN_SPARSE:-}" ] && [ -f .gpu-host/golden-sparse.tar.xz ]; then # the goldens carried packed
  tar xJf .gpu-host/golden-sparse.tar.xz -C .gpu-host && [ -d .gpu-host/golden-sparse ] && export FLASHMLA_GOLDEN_SPARSE=$PWD/.gpu-host/golden-sparse
fi
ts "goldens: ${FLASHMLA_GOLDEN_SPARSE:-none (the checks will not pass: the rule needs the goldens)}"
tar xJf "$STAGE/build.tar.xz" && ts "build/: this branch's sparse-sm90-final-ab.js unpacked ($(sha256sum < build/bench/cuda/hopper/sparse-sm90-final-ab.js | cut -c1-16))" \
  || ts "build/: STAGED FILE MISSING (the item probes and --shapes m1h64 will fail)"
sparse_slot_stage "$STAGE" $HB $SHIP $SHIP $CAND
sparse_slot_base $HB $SHIP
cp "$FM" "$OUT/flashmla-sparse.json"
K=/tmp/s19h2r4-k; rm -rf $K
mkdir -p $K/m$CAND && cp dist/cuda/* $K/m$CAND/ && sparse_sm90_swap $HB/sparse_sm90_m$CAND.fatbin $K/m$CAND
B=(shipped=$PWD/dist/cuda m$CAND=$K/m$CAND)
# 1. checks at h_q 64 / 128, then memcheck at each (side by side)
OUT=$OUT HB=$HB CASES=${CASES:-30} TIME_TIMEOUT=1 CHECK_TIMEOUT=40 \
  timeout -k 3 48 bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$FM" "$CAND" > "$OUT/ab.txt" 2>&1
ts "checks rc=$?"; grep -E '^m[0-9]+: |^\s*not ok|seed [0-9]+' "$OUT/ab.txt" | tee -a "$OUT/log.txt"
for h in 64 128; do
  mkdir -p "$OUT/san$h/san-m$CAND"; (OUT=$OUT/san$h/san-m$CAND SAN_HQ=$h sparse_slot_san $K/m$CAND 15 memcheck > /dev/null) &
done
wait
for h in 64 128; do ts "m$CAND san-memcheck h_q $h: $(grep -hE '^# (pass|fail) ' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tr -d '#' | xargs) $(grep -hE 'ERROR SUMMARY' "$OUT/san$h/san-m$CAND/san-memcheck.txt" 2>/dev/null | tail -1)"; done
if sparse_slot_checked "$OUT/ab.txt" $CAND; then
  t=$(cap 25)
  timeout -k 2 $t node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" "${B[@]}" --shapes m1h64 --reps 10 --rounds ${HROUNDS:-6} \
    --json "$OUT/ab-m1h64.json" > "$OUT/time-m1h64.txt" 2>&1
  ts "MODEL1 h_q 64 shapes (6 rounds): rc=$?"; grep -v '^\[+' "$OUT/time-m1h64.txt" | tee -a "$OUT/log.txt"
else
  ts "bit 43 timing skipped: its checks did not pass (the item probes run on shipped alone)"; B=(shipped=$PWD/dist/cuda)
fi
# 2. the item probes, with what is left (each needs ~12 s)
for set in v32items m1h64items; do
  l=$(left)
  if [ $l -ge 11 ]; then
    timeout -k 2 $(cap $(( l > 30 ? (l - 2) / 2 + 1 : l - 1 ))) node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$FM" "${B[@]}" --shapes $set --reps 10 \
      --rounds $([ $l -ge 26 ] && echo 3 || echo 2) --json "$OUT/$set.json" > "$OUT/$set.txt" 2>&1
    ts "$set rc=$?"; grep -v '^\[+' "$OUT/$set.txt" | tail -6 | tee -a "$OUT/log.txt"
  else
    ts "$set skipped ($l s left)"
  fi
done
python3 bench/cuda/hopper/s19_h2r4_rule.py "$OUT/ab.txt" "$OUT" "$OUT/ab-m1h64.json" "$OUT/v32items.json" "$OUT/m1h64items.json" | tee "$OUT/rule.txt" | tee -a "$OUT/log.txt"
rm -rf $K $HB
tail -1 "$OUT/rule.txt" | grep -qE '^(SHIP|KEEP) ' || echo "KEEP $SHIP (the rule script failed: $OUT/rule.txt)"

#!/usr/bin/env bash
# Record of session 13 call A: sparse_sm90.cu bits 41-44 no longer exist (removed in session 14; commit d39f109 has them).
# Session 13's first sparse slot (prepared by session 12's h1; docs/notes/cuda-sparse-decode.md, "Next session's
# sparse slot, h1: the gather's hints, the next item's Q early, and the MODEL1 h_q 128 item probe"). run_s12_h1d.sh made
# to fit <= 90 s warm: no kernel build on the host (dist/cuda = the merged tree's shipped kernels, everything prebuilt),
# no bit-5 probes; plus bit 44 and the MODEL1 h_q 128 item probe. GPU host, merged tree's root, .gpu-host entered, build/ by tsc:
#   OUT=$OUT bash bench/cuda/hopper/run_s13_h1.sh          # carry .devstage/h1-s13 (fatbins.tar.xz, README.txt)
#  1. A/B (sparse-sm90-final-ab.sh): bits 41 + 42 (6874163109896), 44 (17869279387656: the next item's Q issued in
#     the last tile) and 45 (35461465432072: the softmax's exp2f as ex2.approx.ftz.f32; round 4 put it in place of
#     41 + 42 + 43 = 15670256132104, the weakest: bit 43 was predicted within +-1 % of 41 / 42, and a fifth build would
#     take the slot past 90 s) against the shipped 277093343240: checks (goldens + CASES random sm90 cases a format,
#     side by side), timing 4 builds x 12 shapes;
#  2. sparse_sm90_pick_s13.py: s12r2's per-class rule for 41 / 42, bit 44's and bit 45's over all 12 shapes, one change
#     a call, `SHIP MODE n` (any mode it can name is in the stage: 41 or 42 alone, both, 44, 45);
#  3. the MODEL1 h_q 128 item probe (unchecked timing, 4 shapes: 32 tiles a part in 1 / 2 / 4 items, FlashMLA's
#     b 148 topk 16384 case): the shipped build, bit 44 (if its checks passed), the no-wgmma probe P (277093343242)
#     and the consumers alone C (277093474312); sparse_sm90_items_s13.py prints µs an item and a tile and `VERDICT item-boundary|per-tile|both`;
#  4. if a mode other than 277093343240 ships: two processes of more random sm90 cases (SUITE_CASES a format, other
#     seeds than the checks') and memcheck on 2 cases, in what is left of the slot's 88 s (SLOT_S); the lead's final
#     call runs the full suites and sanitizers on it anyway.
# Everything under $OUT/h1s13/, packed into $OUT/h1s13.tgz.
set -uo pipefail
OUT0=${OUT:?}; OUT=$OUT0/h1s13; mkdir -p "$OUT"
BASE=277093343240; C1=6874163109896; C3=17869279387656; C4=35461465432072; PP=277093343242; PC=277093474312
STAGE=${STAGE:-.devstage/h1-s13}
F=${FLASHMLA_JSON:-results/gpu-host/bench/flashmla-sparse-h200-2026-11-30-s12-final.json}
S=$SECONDS; ts() { echo "[+$((SECONDS - S))s] $*" | tee -a "$OUT/log.txt"; }
. bench/cuda/hopper/sparse-sm90-modes.sh
HB=/tmp/h1s13-hb; rm -rf $HB; mkdir -p $HB
tar xJf "$STAGE/fatbins.tar.xz" -C $HB && (cd $HB && sha256sum -c --quiet SHA256SUMS) && ts "fatbins: $(ls $HB | grep -c fatbin) ok (SHA256SUMS)" || ts "fatbins: BAD STAGE"
echo "dist/cuda sparse_sm90 $(sha256sum < dist/cuda/sparse_sm90.fatbin | cut -c1-16) (expect b5ad22c7: $BASE)" | tee -a "$OUT/log.txt"
for m in $C1 $C3 $C4; do echo "m$m $(sha256sum < $HB/sparse_sm90_m$m.fatbin | cut -c1-16)" | tee -a "$OUT/log.txt"; done

# 1-2. the A/B and the pick
PROBES= CASES=${CASES:-20} REPS=${REPS:-10} ROUNDS=${ROUNDS:-3} CHECK_TIMEOUT=${CHECK_TIMEOUT:-30} TIME_TIMEOUT=${TIME_TIMEOUT:-62} HB=$HB OUT=$OUT \
  timeout ${AB_TIMEOUT:-97} bash bench/cuda/hopper/sparse-sm90-final-ab.sh "$F" "$C1 $C3 $C4" > "$OUT/ab.txt" 2>&1
ts "A/B rc=$?"; grep -vE '^\s*(#|ok [0-9]+ - 200 random)' "$OUT/ab.txt" | tail -20 | tee -a "$OUT/log.txt"
[ -s "$OUT/sparse-sm90-final-ab.json" ] && python3 bench/cuda/hopper/sparse_sm90_pick_s13.py "$OUT/sparse-sm90-final-ab.json" 2>&1 | tee "$OUT/pick.txt" | tee -a "$OUT/log.txt"

# 3. the MODEL1 h_q 128 item probe
B="shipped=$PWD/dist/cuda"
[ -d /tmp/sab-m$C3 ] && B="$B m$C3=/tmp/sab-m$C3" # bit 44 where its checks passed (the A/B made its folder)
for m in $PP $PC; do d=/tmp/sab-m$m; rm -rf $d; mkdir -p $d; cp dist/cuda/* $d/; sparse_sm90_swap $HB/sparse_sm90_m$m.fatbin $d; B="$B m$m=$d"; done
timeout -k 3 ${ITEMS_S:-28} node build/bench/cuda/hopper/sparse-sm90-final-ab.js "$F" $B --shapes m1items --reps 10 --rounds 2 \
  --json "$OUT/items.json" > "$OUT/items.txt" 2>&1
ts "items probe rc=$?"; grep -E '^\[\+' "$OUT/items.txt" | tee -a "$OUT/log.txt"
[ -s "$OUT/items.json" ] && python3 bench/cuda/hopper/sparse_sm90_items_s13.py "$OUT/items.json" 2>&1 | tee -a "$OUT/log.txt"

# 4. a shipped candidate's suites, in the time left
M=$(sed -nE 's/^SHIP MODE ([0-9]+).*/\1/p' "$OUT/pick.txt" 2>/dev/null)
LEFT=$(( ${SLOT_S:-88} - (SECONDS - S) - 3 ))
if [ -n "$M" ] && [ "$M" != $BASE ]; then
  K=/tmp/sab-m$M
  if [ ! -d $K ]; then # a class alone: its prebuilt fatbin (the stage holds every mode the pick can name)
    rm -rf $K; mkdir -p $K; cp dist/cuda/* $K/; sparse_sm90_swap $HB/sparse_sm90_m$M.fatbin $K
  fi
  if [ $LEFT -ge 12 ]; then
    ts "4. suites on m$M ($(sha256sum < $K/sparse_sm90.fatbin | cut -c1-16)) + memcheck, ${LEFT} s"
    export FLASHMLA_CUDA_KERNELS=$K
    for i in 0 1; do
      FLASHMLA_GPU_SPARSE_CASES=10 FLASHMLA_GPU_DENSE90_CASES=10 FLASHMLA_GPU_SPARSE_SM90_CASES=${SUITE_CASES:-30} FLASHMLA_GPU_SPARSE_SM90_SEED=$((9400 + i * 100)) \
        timeout -k 2 $LEFT node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128|sparse_" build/test/gpu/sparse.test.js > "$OUT/suite-$i.tap" 2>&1 &
    done
    FLASHMLA_GPU_SPARSE_CASES=0 FLASHMLA_GPU_DENSE90_CASES=0 FLASHMLA_GPU_SPARSE_SM90_CASES=2 timeout -k 2 $LEFT compute-sanitizer --tool memcheck \
      --target-processes all --print-limit 10 node --test --test-reporter=tap --test-name-pattern="hQ 64 / 128" build/test/gpu/sparse.test.js > "$OUT/san-memcheck.txt" 2>&1 &
    wait
    unset FLASHMLA_CUDA_KERNELS
    for f in "$OUT"/suite-*.tap "$OUT"/san-*.txt; do
      echo "$(basename $f): $(grep -E '^# (pass|fail) ' $f | tr -d '#' | xargs) $(grep -E 'ERROR SUMMARY' $f | tail -1)" | tee -a "$OUT/log.txt"
      grep -E '^\s*not ok' $f | head -3 | tee -a "$OUT/log.txt"
    done
  else
    ts "4. m$M ships by the rule; its suites need the next call (${LEFT} s left)"
  fi
fi
ts end
tar czf "$OUT0/h1s13.tgz" -C "$OUT0" h1s13 && rm -rf "$OUT"

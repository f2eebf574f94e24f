#!/bin/bash
# Session 10, first device call: the Hopper dense candidates written blind in session 9's second round, checked and
# then timed against the library's entries in one process each (~80 s; no node needed):
#   bash bench/cuda/hopper/run_s10_ab.sh [outdir]            (repository root on the GPU host; logs in $OUT/s10)
# Binaries: .devstage/hb/s10h2.tgz (carry it; built off the device from this branch's commit with the nvcc lines
# below), else BUILD=1 builds them here first (all in parallel, adds ~60-90 s).
# Candidates (VAR bits; the library's entries and cubins are unchanged, byte-identical with and without them):
#   x17   narrow (decode_sm90.cu): v7 + kNVarFuse, the splits merged inside the decode (per-request counter, every part
#         merges its slice once all splits are counted); the harness launches no combine after it.
#   x3    narrow: v7 + kNVarSplitOut, both warpgroups store half of the output slices (written in session 9, never run).
#   x2846 wide (decode_sm90_wide.cu): x798 (the library's) + kVarFoldScale, the softmax scale folded into exp2's FFMA.
# Steps: (1) random-case checks against the float64 reference (NaN in unused slots, poisoned outputs), memcheck and
# synccheck of each candidate (memcheck only for the wide one: its synccheck ran past 35 s in session 9), SASS counts
# (x17_n32 has a few LDL/STL: its merge is a call), all in parallel, ~35-40 s; (2) a candidate that ran >= 40 cases
# (wide: 30) with 0 failures goes into the interleaved A/B (harness ab / harness_wide time COMPARE=vars, three rounds),
# ~40 s; (3) one table per kernel against FlashMLA (FJ, default the session-9 final call's FlashMLA 9241ae3 JSON;
# FLASHMLA=1 times FlashMLA in this call first, ~30 s more).
# Predictions: docs/notes/cuda-hopper-decode.md, "Session 10 candidates".
set -u
S=$SECONDS
ts() { echo "[+$((SECONDS - S))s] $*"; }
O=${1:-${OUT:-./out}/s10}
mkdir -p "$O"
HB=${HB:-/tmp/s10h2-bin}
ROOT=$PWD
if [ -s .devstage/hb/s10h2.tgz ] && [ "${BUILD:-0}" != 1 ]; then
  rm -rf $HB && mkdir -p $HB && tar xzf .devstage/hb/s10h2.tgz -C $HB --strip-components=1
else
  mkdir -p $HB build/ab
  git show d2023c2:src/backends/cuda/kernels/decode_sm90.cu > build/ab/decode_sm90_d2023c2.cu 2>/dev/null || true
  N="nvcc -std=c++17 -O3 -Xptxas -warn-spills -gencode arch=compute_90a,code=sm_90a -I src/backends/cuda/kernels"
  OLD=""; [ -s build/ab/decode_sm90_d2023c2.cu ] && OLD="-DMLA_SM90_OLD_FILE=\"$ROOT/build/ab/decode_sm90_d2023c2.cu\""
  ( timeout 300 $N $OLD -o $HB/harness bench/cuda/hopper/harness.cu > "$O/build_narrow.log" 2>&1 ) &
  ( timeout 300 $N -DMLA_SM90W_SWAP_PROBE -o $HB/harness_wide bench/cuda/hopper/harness_wide.cu > "$O/build_wide.log" 2>&1 ) &
  ( timeout 300 $N -DMLA_SM90_TRACE -DMLA_SM90_LIB_VAR=17 -o $HB/harness_trace17 bench/cuda/hopper/harness.cu > "$O/build_trace17.log" 2>&1 ) &
  wait; ts "built"; grep -h -i 'spill\|error' "$O"/build_*.log | head
fi
ls $HB
echo "s10: $(nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu --format=csv,noheader 2>/dev/null)"
NC=${NCANDS-x17 x3}
WC=${WCANDS-x2846}
CS=${CHECK_S:-35}

# (1) checks, all at once
for j in 1 2 3; do # x17 in three processes (a third of the cases are long single sequences split over many parts)
  case " $NC " in *" x17 "*) ( CHECK_KERNEL=x17 timeout $CS stdbuf -oL $HB/harness check ${X17_N:-60} $((900 + j)) > "$O/ncheck_x17_$j.log" 2>&1; echo "rc=$?" >> "$O/ncheck_x17_$j.log" ) & ;; esac
done
for k in $NC; do
  [ $k = x17 ] && continue
  ( CHECK_KERNEL=$k timeout $CS stdbuf -oL $HB/harness check ${NCAND_N:-100} 701 > "$O/ncheck_$k.log" 2>&1; echo "rc=$?" >> "$O/ncheck_$k.log" ) &
done
( timeout $CS stdbuf -oL $HB/harness check ${NCASES:-40} 501 > "$O/ncheck_lib.log" 2>&1; echo "rc=$?" >> "$O/ncheck_lib.log" ) &
for k in $WC; do
  for j in 1 2 3; do # the wide cases are slow (~20 in 35 s a process in session 9)
    ( CHECK_KERNEL=$k CHECK_CHUNK=10 timeout $CS stdbuf -oL $HB/harness_wide check ${WCAND_N:-50} $((800 + j)) > "$O/wcheck_${k}_$j.log" 2>&1; echo "rc=$?" >> "$O/wcheck_${k}_$j.log" ) &
  done
done
for k in $NC; do
  for t in memcheck synccheck; do
    ( CHECK_KERNEL=$k timeout $CS compute-sanitizer --tool $t --print-limit 5 $HB/harness check 4 9 > "$O/nsan_${t}_$k.txt" 2>&1; echo "rc=$?" >> "$O/nsan_${t}_$k.txt" ) &
  done
done
for k in $WC; do
  ( CHECK_KERNEL=$k timeout $CS compute-sanitizer --tool memcheck --print-limit 5 $HB/harness_wide check 3 9 > "$O/wsan_memcheck_$k.txt" 2>&1; echo "rc=$?" >> "$O/wsan_memcheck_$k.txt" ) &
done
if [ -x $HB/harness_trace17 ] && [ "${TRACE:-1}" = 1 ]; then # x17's timeline (the library's entry is x17 in that build)
  ( timeout 20 $HB/harness_trace17 trace > "$O/trace17.txt" 2>&1; echo "rc=$?" >> "$O/trace17.txt" ) &
fi
wait
ts "checks done"
sum() { [ $# -gt 0 ] || { echo "0 0 0"; return; }; grep -ho '[0-9]* cases run, [0-9]* failed, worst rel [0-9.e+-]*' "$@" 2>/dev/null | awk '{ r += $1; f += $4; w = ($8 + 0 > w) ? $8 + 0 : w } END { printf "%d %d %.2e", r, f, w }'; }
pass=""
for k in lib $NC $WC; do
  if [ $k = lib ]; then fs="$O/ncheck_lib.log"
  elif [[ " $WC " == *" $k "* ]]; then fs=$(ls "$O"/wcheck_${k}_*.log 2>/dev/null)
  else fs=$(ls "$O"/ncheck_${k}.log "$O"/ncheck_${k}_*.log 2>/dev/null); fi
  read -r ran failed worst <<< "$(sum $fs)"
  echo "check $k: $ran cases, $failed failed, worst rel $worst; $(grep -h '^rc=' $fs | tr '\n' ' ') $(grep -h -m2 '^FAIL\|error\|Error' $fs | head -2 | tr '\n' ' ')"
  min=40; [[ " $WC " == *" $k "* ]] && min=30
  [ "$k" != lib ] && [ "$failed" = 0 ] && [ "$ran" -ge $min ] && pass="$pass $k"
done
for f in "$O"/nsan_*.txt "$O"/wsan_*.txt; do [ -f "$f" ] && echo "$(basename $f .txt): $(grep -E 'ERROR SUMMARY' $f | tail -1) $(grep -E 'cases run' $f | tail -1 | cut -c1-50) $(tail -1 $f)"; done
for k in lib $NC; do
  for n in 16 32; do
    fn=mla_decode_sm90_${k}_bf16_n$n; [ $k = lib ] && fn=mla_decode_sm90_bf16_n$n
    cuobjdump -sass -fun $fn $HB/harness > "$O/sass.txt" 2>&1
    echo "sass $fn: HGMMA $(grep -c HGMMA $O/sass.txt) LDL $(grep -c LDL $O/sass.txt) STL $(grep -c STL $O/sass.txt) ATOM $(grep -c 'ATOM\|RED\.' $O/sass.txt)"
  done
done
for fn in mla_decode_sm90w_bf16 $(for k in $WC; do echo mla_decode_sm90w_bf16_$k; done); do
  cuobjdump -sass -fun $fn $HB/harness_wide > "$O/sass.txt" 2>&1
  echo "sass $fn: HGMMA $(grep -c HGMMA $O/sass.txt) LDL $(grep -c LDL $O/sass.txt) STL $(grep -c STL $O/sass.txt) FMUL $(grep -c ' FMUL ' $O/sass.txt) FFMA $(grep -c ' FFMA ' $O/sass.txt) MUFU $(grep -c MUFU $O/sass.txt) total $(grep -c '^ */\*[0-9a-f]*\*/' $O/sass.txt)"
done
rm -f "$O/sass.txt"
[ -f "$O/trace17.txt" ] && grep -E "^trace|median|tile:|tail|^rc=" "$O/trace17.txt" | head -20
echo "s10: into the A/B:${pass:- none}"

# (2) + (3) the A/B tables (run_s9_ab.sh's ab step: narrow AB_KERNS, wide WVARS, one table each against FlashMLA)
na="lib"; wa="lib"
for k in $pass; do case " $WC " in *" $k "*) wa="$wa $k" ;; *) na="$na $k" ;; esac; done
FJ=${FJ:-$ROOT/results/gpu-host/bench/hopper/s9_final_flashmla-dense.json}
if [ "${FLASHMLA:-0}" = 1 ]; then # FlashMLA timed in this call instead (bench_flashmla.py on the A/B's shapes, ~30 s more)
  FJ=$O/flashmla.json; rm -f "$FJ"
  HB=$HB O=$O FJ=$FJ FLASHMLA_S=${FLASHMLA_S:-40} bash "$(dirname "$0")/run_s9_ab.sh" flashmla
  [ -s "$FJ" ] || FJ=$ROOT/results/gpu-host/bench/hopper/s9_final_flashmla-dense.json
fi
[ "$na" = lib ] && [ "$wa" = lib ] && { ts "nothing to time"; exit 1; }
[ "$wa" = lib ] && export AB_WIDE=0
HB=$HB O=$O FJ=$FJ AB_KERNS="${AB_KERNS:-$na}" WVARS="${WVARS:-$wa}" ROUNDS=${ROUNDS:-3} AB_S=${AB_S:-25} WAB_S=${WAB_S:-40} \
  timeout ${AB_TOTAL_S:-70} bash "$(dirname "$0")/run_s9_ab.sh" ab
ts end

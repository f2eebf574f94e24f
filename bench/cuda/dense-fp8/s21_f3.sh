#!/usr/bin/env bash
# Session 21's dense FP8 slot of helper s21-f3 (<= 65 s warm; ~40-55 s expected): the 16-row item's entry and end after
# the prefetch fix (branch s21-call: denseFp8Sm90Prefetch = -1). docs/notes/cuda-dense-fp8.md, "Session 21 (f3)": the
# design, the prediction and this rule, written before any run. Three builds of dense_fp8_sm90.cu, in the stage $HB
# (default .devstage/s21-f3; sha256 in its README):
#   shipped  v250691201304128 (dist/cuda's; the stage's build of these bits is printed against it: SAME CODE)
#   A        v2502491014989376  = shipped + 2251799813685248 (X: the Q^T fill by 16-byte loads in n16 and n16w3)
#   B        v16013289897100864 = A + 4503599627370496 (Y: X in n32 too) + 9007199254740992 (Z: n16w3's merge in two phases)
# A and B share the n16 .text; A's n32 is the shipped .text; so at 16 rows A / shipped is X, B / A at the n16w3 shapes
# is Z, at 32 rows B / shipped is Y (and A / shipped a noise control).
# From the tree's root (this branch merged) on the GPU host with .gpu-host/enter.sh sourced, dist/cuda = the shipped
# fatbins, build/ = tsc of s21-call or later (its dense-fp8-sm90-launch.js must say denseFp8Sm90Prefetch = -1; where it
# does not, the stage's copy of s21-call's is swapped in for the run and put back after), and the stage carried:
#   OUT=$OUT/f3 timeout 65 bash bench/cuda/dense-fp8/s21_f3.sh 2>&1 | tee $OUT/f3-s21.txt
# 1. checks side by side (~20-30 s): dense90 (CASES, default 120, two shards) on B (dispatch 48: n16 with X, n32 with
#    Y), A with every 16-row launch on n16w3 (X) and B likewise (X + Z); dense90q (60) on those three and the shipped
#    control; memcheck on B48 and Ball (2 cases each), synccheck on Ball.
# 2. timing, one process (ab.js --abba, compiled from this branch's ab.ts into the stage; copied into build/ as
#    s21_f3_ab.js for the run): shipped, A, B at b 128 on 8192x16x1, 8192x32x1, 4096x16x1, 1024x16x1, 1024x32x1, 6
#    rounds of 10 reps, odd rounds in reverse order, with the bf16 path for the ratio.
# 3. only with time left (LIMIT, default 55 s): s20_f2.sh's stamp probe on the shipped bits, then on B (with no
#    prefetch now), 8192x16x1, 8192x32x1, 64x16x1 (diagnostic).
# 4. s21_f3_rule.py: per-bit verdicts and the last line `SHIP v<bits> (...)` or `KEEP the shipped build (why)`.
# Files: $OUT/f3-ab.json, $OUT/f3-checks.txt, logs in $OUT/f3-logs.tgz, the stamps in $OUT/f3-st-*.tgz.
set -uo pipefail
OUT=${OUT:-/tmp/f3}; mkdir -p "$OUT"
HB=${HB:-$PWD/.devstage/s21-f3}
LIMIT=${LIMIT:-55}
T0=$SECONDS; el() { echo "[s21-f3 $((SECONDS - T0))s] $*"; }
left() { echo $((LIMIT - (SECONDS - T0))); }
here=$(dirname "${BASH_SOURCE[0]}")
SV=250691201304128 A=2502491014989376 B=16013289897100864
LOG=$OUT/f3-logs; rm -rf "$LOG"; mkdir -p "$LOG"
[ -f "$HB/dense_fp8_sm90_v$B.fatbin" ] || { [ -f "$HB/stage-f3.tar.xz" ] && xz -dc "$HB/stage-f3.tar.xz" | tar xf - -C "$HB"; }
FA=$HB/dense_fp8_sm90_v$A.fatbin FB=$HB/dense_fp8_sm90_v$B.fatbin FS=$HB/dense_fp8_sm90_v$SV.fatbin
AB=build/bench/cuda/dense-fp8/s21_f3_ab.js LJ=build/src/backends/cuda/kernels/dense-fp8-sm90-launch.js
for f in "$FA" "$FB" "$FS" "$HB/$AB" "$HB/$LJ"; do [ -f "$f" ] || { echo "KEEP the shipped build (no $f)"; exit 0; }; done
(cd "$HB" && sha256sum dense_fp8_sm90_v*.fatbin dense_fp8_sm90_stamp_v*.fatbin "$AB" "$LJ" 2>/dev/null)
echo "v$SV (shipped bits, this branch) vs dist/cuda: $(python3 scripts/compare-fatbins.py "$FS" dist/cuda/dense_fp8_sm90.fatbin 2>&1 | tail -1)"
for f in "$FA" "$FB"; do python3 bench/cuda/hopper/sass_opclass.py --text "$f" | sed "s#^text #$(basename "$f" .fatbin): #" | cut -c1-120; done
# the prefetch: every arm must run with s21-call's default (-1)
cp -p $LJ /tmp/f3-launch-host.js 2>/dev/null
pf=$(sed -n 's/.*export const denseFp8Sm90Prefetch = \(-\{0,1\}[0-9]*\).*/\1/p' $LJ 2>/dev/null)
swapped=0
if [ "$pf" != "-1" ]; then cp "$HB/$LJ" $LJ; swapped=1; fi
added=0; [ -f $AB ] || { cp "$HB/$AB" $AB; added=1; }
restore() { [ $swapped = 1 ] && cp /tmp/f3-launch-host.js $LJ; [ $added = 1 ] && rm -f $AB; swapped=0 added=0; }
trap restore EXIT
echo "build/ denseFp8Sm90Prefetch: ${pf:-?}$([ $swapped = 1 ] && echo " -> the stage's (-1) for this run"); now $(sed -n 's/.*export const denseFp8Sm90Prefetch = \(-\{0,1\}[0-9]*\).*/\1/p' $LJ)"
. "$here/pick-checks.sh"
w3Folder /tmp/f3-ship 48; w3Folder /tmp/f3-A 48 "$FA"; w3Folder /tmp/f3-B 48 "$FB"; w3Folder /tmp/f3-Aall 0 "$FA"; w3Folder /tmp/f3-Ball 0 "$FB"
el "folders ready"

# 1. checks
CASES=${CASES:-120}
for n in B Aall Ball; do
  for s in 0 1; do
    FLASHMLA_CUDA_KERNELS=/tmp/f3-$n timeout -k 3 ${CHECK_TIMEOUT:-25} node build/test/gpu/sparse-count.js $CASES cuda dense90 $s/2 > "$LOG/d90-$n-$s.txt" 2>&1 &
  done
done
for n in Aall B Ball ship; do
  FLASHMLA_CUDA_KERNELS=/tmp/f3-$n timeout -k 3 ${CHECK_TIMEOUT:-25} node build/test/gpu/sparse-count.js ${QCASES:-60} cuda dense90q > "$LOG/d90q-$n.txt" 2>&1 &
done
for ts in memcheck:B memcheck:Ball synccheck:Ball; do
  t=${ts%%:*} n=${ts#*:}
  FLASHMLA_CUDA_KERNELS=/tmp/f3-$n timeout -k 3 ${SAN_TIMEOUT:-28} compute-sanitizer --tool $t node build/test/gpu/sparse-count.js ${SAN_CASES:-2} cuda dense90 > "$LOG/$t-$n.txt" 2>&1 &
done
wait
C=$OUT/f3-checks.txt; : > "$C"
for n in B Aall Ball; do
  for s in 0 1; do
    l=$(grep -E 'dense90 shard' "$LOG/d90-$n-$s.txt" | head -1)
    echo "$l" | grep -qE ': ([1-9][0-9]*)/\1 pass' && r=1 || r=0
    echo "dense90 $n $s $r ${l:-no result: $(tail -1 "$LOG/d90-$n-$s.txt" | cut -c1-160)}" | tee -a "$C"
  done
done
for n in Aall B Ball ship; do
  l=$(grep -E 'dense90q' "$LOG/d90q-$n.txt" | head -1)
  k=$(echo "$l" | sed -nE 's/.*dense90q: ([0-9]+)\/[0-9]+ pass.*/\1/p')
  echo "dense90q $n ${k:--1} ${l:-no result: $(tail -1 "$LOG/d90q-$n.txt" | cut -c1-160)}" | tee -a "$C"
  grep -E '^  ' "$LOG/d90q-$n.txt" | head -2 | cut -c1-240
done
for ts in memcheck:B memcheck:Ball synccheck:Ball; do
  t=${ts%%:*} n=${ts#*:}
  r=$(tail -2 "$LOG/$t-$n.txt" | tr '\n' ' ')
  echo "$r" | grep -qE 'dense90: ([1-9][0-9]*)/\1 pass.*ERROR SUMMARY: 0 errors' && k=1 || k=0
  echo "$t $n $k $r" | cut -c1-260 | tee -a "$C"
done
el "checks done"

# 2. timing
timeout -k 3 ${TIME_TIMEOUT:-25} node $AB shipped=/tmp/f3-ship A=/tmp/f3-A B=/tmp/f3-B --abba --rounds 6 --reps 10 \
  --shapes ${SHAPES:-8192x16x1,8192x32x1,4096x16x1,1024x16x1,1024x32x1} --json "$OUT/f3-ab.json" > "$LOG/ab.txt" 2>&1
echo "ab rc $?"; grep -vE '^\s*$' "$LOG/ab.txt" | tail -14 | cut -c1-220
el "timing done"

# 3. stamps (diagnostic), while time is left
JS=build/bench/cuda/dense-fp8/s20_f2_stamps.js
for st in ship:$FS:$HB/dense_fp8_sm90_stamp_v$SV.fatbin B:$FB:$HB/dense_fp8_sm90_stamp_v$B.fatbin; do
  IFS=: read -r n f0 f1 <<< "$st"
  [ "$(left)" -ge 10 ] || { echo "stamps $n: skipped ($(left) s left)"; continue; }
  [ -f "$f1" ] && { [ -f $JS ] || [ -f "$HB/$JS" ]; } || { echo "stamps $n: no stamp fatbin or no $JS"; continue; }
  d=/tmp/f3-st-$n; rm -rf $d; mkdir -p $d/build/bench/cuda/dense-fp8
  cp "$f0" $d/dense_fp8_sm90_stamp0.fatbin; cp "$f1" $d/dense_fp8_sm90_stamp1.fatbin
  cp "$( [ -f $JS ] && echo $JS || echo "$HB/$JS")" $d/$JS
  mkdir -p "$OUT/f3-st-$n"
  HB=$d OUT=$OUT/f3-st-$n F2_TIMEOUT=$(( $(left) - 3 < 12 ? $(left) - 3 : 12 )) F2_SHAPES=${F2_SHAPES:-8192x16x1,8192x32x1,64x16x1} \
    timeout -k 2 $(( $(left) - 1 )) bash "$here/s20_f2.sh" > "$OUT/f3-st-$n/f2.txt" 2>&1
  grep -E '^# [0-9]+x[0-9]+x[0-9]+: bf16' "$OUT/f3-st-$n/f2.txt" | sed "s/^/stamps $n /" | cut -c1-300
  (cd "$OUT" && tar czf f3-st-$n.tgz f3-st-$n && rm -rf f3-st-$n)
  el "stamps $n done"
done

restore
(cd "$OUT" && tar czf f3-logs.tgz f3-logs && rm -rf f3-logs)
# 4. the rule (last line)
python3 "$here/s21_f3_rule.py" "$OUT/f3-ab.json" "$C"

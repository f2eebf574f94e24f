#!/usr/bin/env bash
# Session 21's dense FP8 slot of helper s21-f4 (<= 90 s warm; ~55-75 s expected): the 32-row item's output through shared
# memory and bulk copies (n32 only). docs/notes/cuda-dense-fp8.md, "Session 21 (f4)": the design, the prediction and this
# rule, written before any run. Builds of dense_fp8_sm90.cu in the stage $HB (default .devstage/s21-f4, xz; sha256 in
# its README):
#   shipped  v16013289897100864 (dist/cuda's; the stage's build of these bits is printed against it: SAME CODE)
#   E        v34027688406582848 = shipped + 18014398509481984 (n32: staged rows, bulk copies)
#   E2       v70056485425546816 = E + 36028797018963968 (n32: the staged loop without the direct stores' scalar work)
#   F        v106085282444510784 = E + 72057594037927936 (n32: also the f16 score path, on a 3-page ring at 32 rows)
# n16 and n16w3 are the shipped .text in all three, so 8192x16x1 is the noise guard.
# From the tree's root (this branch merged) on the GPU host with .gpu-host/enter.sh sourced, dist/cuda = the shipped
# fatbins, build/ = tsc of s21-call (ab.js with --abba, s20_f2_stamps.js, test/gpu/sparse-count.js; its
# dense-fp8-sm90-launch.js must say denseFp8Sm90Prefetch = -1), and the stage carried:
#   OUT=$OUT/f4 timeout 90 bash bench/cuda/dense-fp8/s21_f4.sh 2>&1 | tee $OUT/f4-s21.txt
# 1. checks side by side (~20-30 s): dense90 (CASES, default 160, two shards) on E, E2 and F; dense90q (60) on E, E2, F
#    and the shipped control; memcheck and synccheck (2 cases) on E and F, memcheck on E2.
# 2. timing, one process (ab.js --abba): shipped, E, E2, F at b 128 on 8192x32x1, 8192x16x2, 4096x32x1, 1024x32x1,
#    8192x16x1, 6 rounds of 10 reps, odd rounds reversed, with the bf16 path for the ratio.
# 3. only with time left (LIMIT, default 80 s; each run needs 12 s): s20_f2.sh's stamp probe on shipped, E, F, E2 at
#    8192x32x1 and 1024x32x1 (diagnostic).
# 4. s21_f4_rule.py: the last line `SHIP v<E, E2 or F> (...)` or `KEEP the shipped build (why)`.
# Files: $OUT/f4-ab.json, $OUT/f4-checks.txt, logs in $OUT/f4-logs.tgz, the stamps in $OUT/f4-st-*.tgz.
set -uo pipefail
OUT=${OUT:-/tmp/f4}; mkdir -p "$OUT"
HB=${HB:-$PWD/.devstage/s21-f4}
LIMIT=${LIMIT:-80}
T0=$SECONDS; el() { echo "[s21-f4 $((SECONDS - T0))s] $*"; }
left() { echo $((LIMIT - (SECONDS - T0))); }
here=$(dirname "${BASH_SOURCE[0]}")
SV=16013289897100864 E=34027688406582848 E2=70056485425546816 F=106085282444510784
LOG=$OUT/f4-logs; rm -rf "$LOG"; mkdir -p "$LOG"
W=/tmp/f4-stage; rm -rf $W; mkdir -p $W
[ -f "$HB/stage-f4.tar.xz" ] && xz -dc "$HB/stage-f4.tar.xz" | tar xf - -C $W
FS=$W/dense_fp8_sm90_v$SV.fatbin FE=$W/dense_fp8_sm90_v$E.fatbin FE2=$W/dense_fp8_sm90_v$E2.fatbin FF=$W/dense_fp8_sm90_v$F.fatbin
AB=build/bench/cuda/dense-fp8/ab.js LJ=build/src/backends/cuda/kernels/dense-fp8-sm90-launch.js
for f in "$FS" "$FE" "$FE2" "$FF" $AB $LJ; do [ -f "$f" ] || { echo "KEEP the shipped build (no $f)"; exit 0; }; done
grep -q abba $AB || { echo "KEEP the shipped build ($AB has no --abba: build/ is older than s21-call)"; exit 0; }
(cd $W && sha256sum *.fatbin)
echo "v$SV (shipped bits, this branch) vs dist/cuda: $(python3 scripts/compare-fatbins.py "$FS" dist/cuda/dense_fp8_sm90.fatbin 2>&1 | tail -1)"
for f in "$FE" "$FE2" "$FF"; do echo "$(basename "$f" .fatbin) vs dist/cuda: $(python3 scripts/compare-fatbins.py "$f" dist/cuda/dense_fp8_sm90.fatbin 2>&1 | grep -E 'identical|differs:' | tr -s ' ' | tr '\n' ' ')"; done
for f in "$FS" "$FE" "$FE2" "$FF"; do python3 bench/cuda/hopper/sass_opclass.py --text "$f" n32 | sed "s#^text #$(basename "$f" .fatbin): #" | cut -c1-170; done
pf=$(sed -n 's/.*export const denseFp8Sm90Prefetch = \(-\{0,1\}[0-9]*\).*/\1/p' $LJ 2>/dev/null)
echo "build/ denseFp8Sm90Prefetch: ${pf:-?}"
[ "$pf" = "-1" ] || { echo "KEEP the shipped build (build/'s launch still prefetches: tsc of s21-call needed)"; exit 0; }
. "$here/pick-checks.sh"
w3Folder /tmp/f4-ship 48; w3Folder /tmp/f4-E 48 "$FE"; w3Folder /tmp/f4-E2 48 "$FE2"; w3Folder /tmp/f4-F 48 "$FF"
el "folders ready"

# 1. checks
CASES=${CASES:-160}
for n in E E2 F; do
  for s in 0 1; do
    FLASHMLA_CUDA_KERNELS=/tmp/f4-$n timeout -k 3 ${CHECK_TIMEOUT:-30} node build/test/gpu/sparse-count.js $CASES cuda dense90 $s/2 > "$LOG/d90-$n-$s.txt" 2>&1 &
  done
done
for n in E E2 F ship; do
  FLASHMLA_CUDA_KERNELS=/tmp/f4-$n timeout -k 3 ${CHECK_TIMEOUT:-30} node build/test/gpu/sparse-count.js ${QCASES:-60} cuda dense90q > "$LOG/d90q-$n.txt" 2>&1 &
done
for ts in memcheck:E synccheck:E memcheck:E2 memcheck:F synccheck:F; do
  t=${ts%%:*} n=${ts#*:}
  FLASHMLA_CUDA_KERNELS=/tmp/f4-$n timeout -k 3 ${SAN_TIMEOUT:-30} compute-sanitizer --tool $t node build/test/gpu/sparse-count.js ${SAN_CASES:-2} cuda dense90 > "$LOG/$t-$n.txt" 2>&1 &
done
wait
C=$OUT/f4-checks.txt; : > "$C"
for n in E E2 F; do
  for s in 0 1; do
    l=$(grep -E 'dense90 shard' "$LOG/d90-$n-$s.txt" | head -1)
    echo "$l" | grep -qE ': ([1-9][0-9]*)/\1 pass' && r=1 || r=0
    echo "dense90 $n $s $r ${l:-no result: $(tail -1 "$LOG/d90-$n-$s.txt" | cut -c1-160)}" | tee -a "$C"
  done
done
for n in E E2 F ship; do
  l=$(grep -E 'dense90q' "$LOG/d90q-$n.txt" | head -1)
  k=$(echo "$l" | sed -nE 's/.*dense90q: ([0-9]+)\/[0-9]+ pass.*/\1/p')
  echo "dense90q $n ${k:--1} ${l:-no result: $(tail -1 "$LOG/d90q-$n.txt" | cut -c1-160)}" | tee -a "$C"
  grep -E '^  ' "$LOG/d90q-$n.txt" | head -2 | cut -c1-240
done
for ts in memcheck:E synccheck:E memcheck:E2 memcheck:F synccheck:F; do
  t=${ts%%:*} n=${ts#*:}
  r=$(tail -2 "$LOG/$t-$n.txt" | tr '\n' ' ')
  echo "$r" | grep -qE 'dense90: ([1-9][0-9]*)/\1 pass.*ERROR SUMMARY: 0 errors' && k=1 || k=0
  echo "$t $n $k $r" | cut -c1-260 | tee -a "$C"
done
el "checks done"

# 2. timing (a candidate whose dense90 failed is still timed: a wrong result does not hang the kernel, and the rule
# gates on the checks)
timeout -k 3 ${TIME_TIMEOUT:-35} node $AB ${F4_AB_ARMS:-shipped=/tmp/f4-ship E=/tmp/f4-E E2=/tmp/f4-E2 F=/tmp/f4-F} --abba --rounds 6 --reps 10 \
  --shapes ${SHAPES:-8192x32x1,8192x16x2,4096x32x1,1024x32x1,8192x16x1} --json "$OUT/f4-ab.json" > "$LOG/ab.txt" 2>&1
echo "ab rc $?"; grep -vE '^\s*$' "$LOG/ab.txt" | tail -14 | cut -c1-220
el "timing done"

# 3. stamps (diagnostic), while time is left
JS=build/bench/cuda/dense-fp8/s20_f2_stamps.js
for st in ship:$SV E:$E F:$F E2:$E2; do
  n=${st%%:*} v=${st#*:}
  [ "$(left)" -ge 12 ] || { echo "stamps $n: skipped ($(left) s left)"; continue; }
  [ -f $W/dense_fp8_sm90_stamp_v$v.fatbin ] && [ -f $JS ] || { echo "stamps $n: no stamp fatbin or no $JS"; continue; }
  d=/tmp/f4-st-$n; rm -rf $d; mkdir -p $d/build/bench/cuda/dense-fp8
  cp $W/dense_fp8_sm90_v$v.fatbin $d/dense_fp8_sm90_stamp0.fatbin; cp $W/dense_fp8_sm90_stamp_v$v.fatbin $d/dense_fp8_sm90_stamp1.fatbin
  cp $JS $d/$JS
  mkdir -p "$OUT/f4-st-$n"
  HB=$d OUT=$OUT/f4-st-$n F2_TIMEOUT=$(( $(left) - 3 < 10 ? $(left) - 3 : 10 )) F2_SHAPES=${F2_SHAPES:-8192x32x1,1024x32x1} \
    timeout -k 2 $(( $(left) - 1 )) bash "$here/s20_f2.sh" > "$OUT/f4-st-$n/f2.txt" 2>&1
  grep -E '^# [0-9]+x[0-9]+x[0-9]+: bf16' "$OUT/f4-st-$n/f2.txt" | sed "s/^/stamps $n /" | cut -c1-300
  (cd "$OUT" && tar czf f4-st-$n.tgz f4-st-$n && rm -rf f4-st-$n)
  el "stamps $n done"
done

(cd "$OUT" && tar czf f4-logs.tgz f4-logs && rm -rf f4-logs)
# 4. the rule (last line)
python3 "$here/s21_f4_rule.py" "$OUT/f4-ab.json" "$C"

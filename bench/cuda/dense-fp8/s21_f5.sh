#!/usr/bin/env bash
# Session 22's dense FP8 slot, prepared in session 21 by helper s21-f5 (<= 150 s with the builds; ~70-100 s expected): the
# f16 score path at 32 rows (bit 72057594037927936) with its fault fixed. docs/notes/cuda-dense-fp8.md, "Session 22 (f5),
# prepared in session 21": the fault, the fix, the prediction and this rule, written before any run.
# Session 21's F (s21_f4.sh) read the screening warps' flags with one 16-byte load at CK_OFF + 8 RAW_SLOTS + 16 slot: with
# the 3-page ring that is 8 mod 16 (CUDA_ERROR_MISALIGNED_ADDRESS, memcheck "Invalid __shared__ read ... misaligned" at
# 0x2c7c8 = the 1024-aligned base + CK_OFF + 24). AltLayout::CKF_OFF now rounds the flags up to 16 bytes (the same offsets
# with 4 slots: the default build is SAME CODE as dist/cuda) and static_asserts hold every region's alignment.
# Everything is built here from the tree (no stage), with nvcc ($NVCC, else nvcc on PATH, else /usr/local/cuda/bin/nvcc):
#   ship  the default bits (v16013289897100864; compared with dist/cuda, which the timing uses)
#   G     v88070883935028800 = shipped + 72057594037927936 (n32 only: the f16 score path on a 3-page ring; not session
#         21's F = E + it: E's staged output was KEEP in call F, so G carries the score path alone)
#   stamp builds of both (-DMLA_DFP8_STAMP=1), for the diagnostic at the end
# n16 and n16w3 are the shipped .text in G (compare-fatbins: 2 of 3 identical), so 8192x16x1 is the noise guard.
# From the tree's root (branch s21-f5 merged) on the GPU host with .gpu-host/enter.sh sourced, dist/cuda = the shipped
# fatbins (v16013289897100864), build/ = tsc of main (ab.js with --abba, s20_f2_stamps.js, test/gpu/sparse-count.js; its
# dense-fp8-sm90-launch.js with denseFp8Sm90Prefetch = -1), compute-sanitizer; nothing else carried:
#   OUT=$OUT/f5 timeout 150 bash bench/cuda/dense-fp8/s21_f5.sh 2>&1 | tee $OUT/f5-s21.txt
# 1. builds (ship and G first, the stamp builds beside the checks);
# 2. checks side by side (~25 s): dense90 (CASES, default 160, two shards), dense90q (60) on G and the shipped control,
#    memcheck and synccheck (2 cases) on G;
# 3. only if G's checks pass: timing in one process (ab.js --abba): shipped and G at b 128 on 8192x32x1, 8192x16x2,
#    4096x32x1, 1024x32x1, 8192x16x1, 6 rounds of 10 reps, odd rounds reversed, with the bf16 path for the ratio;
# 4. only with time left (LIMIT, default 140 s; each run needs 14 s): s20_f2.sh's stamp probe of ship and G at 8192x32x1
#    and 1024x32x1 (diagnostic);
# 5. s21_f5_rule.py: the last line `SHIP v88070883935028800 (...)` or `KEEP the shipped build (why)`.
# Files: $OUT/f5-ab.json, $OUT/f5-checks.txt, the logs and builds' logs in $OUT/f5-logs.tgz, stamps in $OUT/f5-st-*.tgz.
set -uo pipefail
OUT=${OUT:-/tmp/f5}; mkdir -p "$OUT"
LIMIT=${LIMIT:-140}
T0=$SECONDS; el() { echo "[s21-f5 $((SECONDS - T0))s] $*"; }
left() { echo $((LIMIT - (SECONDS - T0))); }
here=$(dirname "${BASH_SOURCE[0]}")
SV=16013289897100864 G=88070883935028800
LOG=$OUT/f5-logs; rm -rf "$LOG"; mkdir -p "$LOG"
W=/tmp/f5-build; rm -rf $W; mkdir -p $W
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
SRC=src/backends/cuda/kernels/dense_fp8_sm90.cu
AB=build/bench/cuda/dense-fp8/ab.js LJ=build/src/backends/cuda/kernels/dense-fp8-sm90-launch.js
fin() { (cd "$OUT" && tar czf f5-logs.tgz f5-logs && rm -rf f5-logs); }
for f in "$NVCC" $SRC $AB $LJ; do [ -f "$f" ] || { echo "KEEP the shipped build (no $f)"; fin; exit 0; }; done
grep -q abba $AB || { echo "KEEP the shipped build ($AB has no --abba: build/ is older than s21-call)"; fin; exit 0; }
grep -q CKF_OFF $SRC || { echo "KEEP the shipped build ($SRC has no CKF_OFF: branch s21-f5 is not merged)"; fin; exit 0; }
pf=$(sed -n 's/.*export const denseFp8Sm90Prefetch = \(-\{0,1\}[0-9]*\).*/\1/p' $LJ 2>/dev/null)
echo "build/ denseFp8Sm90Prefetch: ${pf:-?}"
[ "$pf" = "-1" ] || { echo "KEEP the shipped build (build/'s launch still prefetches: tsc of main needed)"; fin; exit 0; }

# 1. builds (the same flags as scripts/build-kernels.mjs's single-file build of this kernel)
nv() { # NAME VAR [extra -D]
  "$NVCC" -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -gencode arch=compute_90a,code=sm_90a -fatbin \
    -DMLA_DENSE_FP8_VAR=$2 ${3:-} -o $W/$1.fatbin $SRC > "$LOG/nvcc-$1.txt" 2>&1
  echo "nvcc $1 rc $?" >> "$LOG/nvcc-$1.txt"
}
nv ship $SV & nv G $G & wait
el "built: $(tail -qn1 "$LOG"/nvcc-ship.txt "$LOG"/nvcc-G.txt | tr '\n' ' ')"
(nv stamp_ship $SV -DMLA_DFP8_STAMP=1; nv stamp_G $G -DMLA_DFP8_STAMP=1) > /dev/null 2>&1 &
SPID=$!
for f in ship G; do [ -f $W/$f.fatbin ] || { cat "$LOG/nvcc-$f.txt" | tail -5; echo "KEEP the shipped build (the build of $f failed)"; wait; fin; exit 0; }; done
(cd $W && sha256sum ship.fatbin G.fatbin)
echo "v$SV (shipped bits, this tree) vs dist/cuda: $(python3 scripts/compare-fatbins.py $W/ship.fatbin dist/cuda/dense_fp8_sm90.fatbin 2>&1 | tail -1)"
echo "G v$G vs dist/cuda: $(python3 scripts/compare-fatbins.py $W/G.fatbin dist/cuda/dense_fp8_sm90.fatbin 2>&1 | grep -E 'identical|differs:' | tr -s ' ' | tr '\n' ' ')"
for f in dist/cuda/dense_fp8_sm90.fatbin $W/G.fatbin; do python3 bench/cuda/hopper/sass_opclass.py --text "$f" n32 | sed "s#^text #$(basename "$f" .fatbin): #" | cut -c1-170; done
. "$here/pick-checks.sh"
w3Folder /tmp/f5-ship 48; w3Folder /tmp/f5-G 48 $W/G.fatbin
el "folders ready"

# 2. checks
CASES=${CASES:-160}
for s in 0 1; do
  FLASHMLA_CUDA_KERNELS=/tmp/f5-G timeout -k 3 ${CHECK_TIMEOUT:-30} node build/test/gpu/sparse-count.js $CASES cuda dense90 $s/2 > "$LOG/d90-G-$s.txt" 2>&1 &
done
for n in G ship; do
  FLASHMLA_CUDA_KERNELS=/tmp/f5-$n timeout -k 3 ${CHECK_TIMEOUT:-30} node build/test/gpu/sparse-count.js ${QCASES:-60} cuda dense90q > "$LOG/d90q-$n.txt" 2>&1 &
done
for t in memcheck synccheck; do
  FLASHMLA_CUDA_KERNELS=/tmp/f5-G timeout -k 3 ${SAN_TIMEOUT:-30} compute-sanitizer --tool $t node build/test/gpu/sparse-count.js ${SAN_CASES:-2} cuda dense90 > "$LOG/$t-G.txt" 2>&1 &
done
for j in $(jobs -p); do [ "$j" = "$SPID" ] || wait "$j"; done
C=$OUT/f5-checks.txt; : > "$C"
for s in 0 1; do
  l=$(grep -E 'dense90 shard' "$LOG/d90-G-$s.txt" | head -1)
  echo "$l" | grep -qE ': ([1-9][0-9]*)/\1 pass' && r=1 || r=0
  echo "dense90 G $s $r ${l:-no result: $(tail -1 "$LOG/d90-G-$s.txt" | cut -c1-160)}" | tee -a "$C"
  grep -E '^  ' "$LOG/d90-G-$s.txt" | head -2 | cut -c1-240
done
for n in G ship; do
  l=$(grep -E 'dense90q' "$LOG/d90q-$n.txt" | head -1)
  k=$(echo "$l" | sed -nE 's/.*dense90q: ([0-9]+)\/[0-9]+ pass.*/\1/p')
  echo "dense90q $n ${k:--1} ${l:-no result: $(tail -1 "$LOG/d90q-$n.txt" | cut -c1-160)}" | tee -a "$C"
  grep -E '^  ' "$LOG/d90q-$n.txt" | head -2 | cut -c1-240
done
for t in memcheck synccheck; do
  r=$(tail -2 "$LOG/$t-G.txt" | tr '\n' ' ')
  echo "$r" | grep -qE 'dense90: ([1-9][0-9]*)/\1 pass.*ERROR SUMMARY: 0 errors' && k=1 || k=0
  echo "$t G $k $r" | cut -c1-260 | tee -a "$C"
  [ $k = 1 ] || grep -m3 -E 'Invalid|misaligned|Access to|at mla_' "$LOG/$t-G.txt" | cut -c1-200
done
el "checks done"

# 3. timing, only with clean checks (a fault kills the process and every arm in it)
if python3 "$here/s21_f5_rule.py" --checks "$C"; then
  timeout -k 3 ${TIME_TIMEOUT:-30} node $AB shipped=/tmp/f5-ship G=/tmp/f5-G --abba --rounds 6 --reps 10 \
    --shapes ${SHAPES:-8192x32x1,8192x16x2,4096x32x1,1024x32x1,8192x16x1} --json "$OUT/f5-ab.json" > "$LOG/ab.txt" 2>&1
  echo "ab rc $?"; grep -vE '^\s*$' "$LOG/ab.txt" | tail -10 | cut -c1-220
  el "timing done"

  # 4. stamps (diagnostic), while time is left
  JS=build/bench/cuda/dense-fp8/s20_f2_stamps.js
  wait $SPID 2>/dev/null
  for n in ship G; do
    [ "$(left)" -ge 14 ] || { echo "stamps $n: skipped ($(left) s left)"; continue; }
    [ -f $W/stamp_$n.fatbin ] && [ -f $JS ] || { echo "stamps $n: no stamp build ($(tail -1 "$LOG/nvcc-stamp_$n.txt" 2>/dev/null)) or no $JS"; continue; }
    d=/tmp/f5-st-$n; rm -rf $d; mkdir -p $d/build/bench/cuda/dense-fp8
    cp $W/$n.fatbin $d/dense_fp8_sm90_stamp0.fatbin; cp $W/stamp_$n.fatbin $d/dense_fp8_sm90_stamp1.fatbin; cp $JS $d/$JS
    mkdir -p "$OUT/f5-st-$n"
    HB=$d OUT=$OUT/f5-st-$n F2_TIMEOUT=$(( $(left) - 3 < 10 ? $(left) - 3 : 10 )) F2_SHAPES=${F2_SHAPES:-8192x32x1,1024x32x1} \
      timeout -k 2 $(( $(left) - 1 )) bash "$here/s20_f2.sh" > "$OUT/f5-st-$n/f2.txt" 2>&1
    grep -E '^# [0-9]+x[0-9]+x[0-9]+: bf16' "$OUT/f5-st-$n/f2.txt" | sed "s/^/stamps $n /" | cut -c1-300
    (cd "$OUT" && tar czf f5-st-$n.tgz f5-st-$n && rm -rf f5-st-$n)
    el "stamps $n done"
  done
else
  echo "timing skipped: G's checks did not pass"
fi
wait # (the stamp builds, done long before here)
fin
# 5. the rule (last line)
python3 "$here/s21_f5_rule.py" "$OUT/f5-ab.json" "$C"

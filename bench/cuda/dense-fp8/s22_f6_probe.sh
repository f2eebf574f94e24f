#!/usr/bin/env bash
# Session 22, helper f6: where the consumer warpgroup's ~4.06 us tile goes — timing-only probes of the shipped build
# (<= 75 s with the builds; ~45-60 s expected). From the tree's root (branch s22-f6 merged) on the GPU host with
# .gpu-host/enter.sh sourced, dist/cuda = the shipped fatbins (v16013289897100864), build/ = tsc of main (ab.js with
# --abba); nothing carried:
#   OUT=$OUT/f6p timeout 75 bash bench/cuda/dense-fp8/s22_f6_probe.sh 2>&1 | tee $OUT/f6p-s22.txt
# docs/notes/cuda-dense-fp8.md, "Session 22 (f6)": the probes, the prediction (written before any run) and how to read it.
# The arms (the shipped bits, each with a -DMLA_DFP8_PROBE value; WRONG RESULTS, never checked, never shipped; the
# probe applies to every entry, so 8192x16x1 probes n16w3 and 8192x32x1 n32):
#   ship  dist/cuda (the control; this tree's default build is compared with it first: SAME CODE)
#   O0    probe 1: no O side (no O^T product or rescale)                      -> the S side + DRAM
#   S0    probe 2: no S side (no S^T product, no softmax; P^T not written)    -> the O side + DRAM
#   M     probe 4: no DRAM (zeroed ring, the producer arrives without copying) -> the consumer chain alone
#   MO    probe 5: no DRAM, no O side                                          -> the S side alone
#   MS    probe 6: no DRAM, no S side                                          -> the O side alone
# 1. builds (five, in parallel, the library's flags); 2. a smoke launch of each probe folder (a hang or a fault keeps
# that arm out of the timing process); 3. ab.js --abba in one process: the arms that ran, 6 rounds of 10 reps, at
# 8192x32x1 and 8192x16x1, with bf16; 4. the shares (bench/cuda/dense-fp8/s22_f6_probe_read.py).
# Files: $OUT/f6p-ab.json, $OUT/f6p-logs.tgz.
set -uo pipefail
OUT=${OUT:-/tmp/f6p}; mkdir -p "$OUT"
LIMIT=${LIMIT:-70}
T0=$SECONDS; el() { echo "[s22-f6p $((SECONDS - T0))s] $*"; }
left() { echo $((LIMIT - (SECONDS - T0))); }
here=$(dirname "${BASH_SOURCE[0]}")
LOG=$OUT/f6p-logs; rm -rf "$LOG"; mkdir -p "$LOG"
W=/tmp/f6p-build; rm -rf $W; mkdir -p $W
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
SRC=src/backends/cuda/kernels/dense_fp8_sm90.cu
AB=build/bench/cuda/dense-fp8/ab.js
fin() { (cd "$OUT" && tar czf f6p-logs.tgz f6p-logs && rm -rf f6p-logs); }
for f in "$NVCC" $SRC $AB dist/cuda/dense_fp8_sm90.fatbin; do [ -f "$f" ] || { echo "no $f: nothing timed"; fin; exit 0; }; done
grep -q abba $AB || { echo "$AB has no --abba: nothing timed"; fin; exit 0; }
grep -q MLA_DFP8_PROBE $SRC || { echo "$SRC has no MLA_DFP8_PROBE (branch s22-f6 not merged): nothing timed"; fin; exit 0; }

# 1. builds
nv() { # NAME PROBE
  "$NVCC" -std=c++17 -O3 --Werror all-warnings -Xptxas -warn-spills --threads 0 -gencode arch=compute_90a,code=sm_90a -fatbin \
    -DMLA_DFP8_PROBE=$2 -o $W/$1.fatbin $SRC > "$LOG/nvcc-$1.txt" 2>&1
  echo "nvcc $1 rc $?" >> "$LOG/nvcc-$1.txt"
}
nv def 0 & nv O0 1 & nv S0 2 & nv M 4 & nv MO 5 & nv MS 6 & wait
el "built: $(tail -qn1 "$LOG"/nvcc-*.txt | tr '\n' ' ')"
echo "default build (this tree) vs dist/cuda: $(python3 scripts/compare-fatbins.py $W/def.fatbin dist/cuda/dense_fp8_sm90.fatbin 2>&1 | tail -1)"
. "$here/pick-checks.sh"
ARMS="ship=$PWD/dist/cuda"
for n in O0 S0 M MO MS; do
  [ -f $W/$n.fatbin ] || { echo "arm $n: build failed ($(grep -m1 error "$LOG/nvcc-$n.txt" | cut -c1-160))"; continue; }
  python3 bench/cuda/hopper/sass_opclass.py --text $W/$n.fatbin n32 2>/dev/null | sed "s#^text #$n: #" | cut -c1-150
  w3Folder /tmp/f6p-$n 48 $W/$n.fatbin
done

# 2. smoke launches, side by side (a probe that hangs or faults stays out of the timing process)
for n in O0 S0 M MO MS; do
  [ -d /tmp/f6p-$n ] || continue
  timeout -k 2 ${SMOKE_TIMEOUT:-20} node $AB $n=/tmp/f6p-$n --no-bf16 --rounds 1 --reps 2 --warmup 1 --shapes 512x32x1,4096x16x1 > "$LOG/smoke-$n.txt" 2>&1 &
done
wait
for n in O0 S0 M MO MS; do
  [ -d /tmp/f6p-$n ] || continue
  if grep -qE "^# 4096x16x1: $n [0-9]" "$LOG/smoke-$n.txt"; then ARMS="$ARMS $n=/tmp/f6p-$n"; echo "smoke $n ok"
  else echo "smoke $n FAILED, not timed: $(tail -2 "$LOG/smoke-$n.txt" | tr '\n' ' ' | cut -c1-200)"; fi
done
el "smoke done; timing: $ARMS"

# 3. timing in one process
T=$(( $(left) - 4 )); [ $T -gt 45 ] && T=45
if [ $T -lt 15 ]; then echo "timing skipped: $(left) s left"; fin; exit 0; fi
timeout -k 3 $T node $AB $ARMS --abba --rounds ${ROUNDS:-6} --reps ${REPS:-10} --shapes ${SHAPES:-8192x32x1,8192x16x1} \
  --json "$OUT/f6p-ab.json" > "$LOG/ab.txt" 2>&1
echo "ab rc $?"; grep -vE '^\s*$' "$LOG/ab.txt" | tail -12 | cut -c1-220
el "timing done"
fin
# 4. the reading (the last lines)
python3 "$here/s22_f6_probe_read.py" "$OUT/f6p-ab.json"
